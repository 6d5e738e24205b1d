/**
 * End to end on a real Docker engine: the ReplicaSet component, with the dev stack's topology and the local
 * MariaDB test image, runs under pulumi.runtime.setMocks whose hooks (dockerHooks.ts) apply every declared
 * resource to the engine, and run the replication dynamic provider from its serialized text. Then it checks
 * that the set really replicates, survives a replica restart, and that a second run on the retained volumes
 * converges without a reset.
 *
 * Needs a Docker engine (scripts/dockerd.sh start) and builds the test image when it is missing
 * (test/support/image/build-image.sh). Without an engine it skips loudly, or fails when E2E_REQUIRED=1.
 */
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { load as loadYaml } from "js-yaml";
import * as mysql from "mysql2/promise";
import * as pulumi from "@pulumi/pulumi";
import { validateConfig } from "../../config/validate";
import type { ReplicaSetSettings } from "../../config/types";
import { ReplicaSet } from "../../components/replicaSet";
import type { ReplicaStatus } from "../../components/outputs";
import { containerLogTail, DockerHooks, RUN_LABEL, type Applied } from "./dockerHooks";

const REPO = resolve(__dirname, "..", "..");
const IMAGE = "mysql-replicaset-test/mariadb:10.11";
const REQUIRED = process.env.E2E_REQUIRED === "1";
/** Per run: names that collide with nothing (the dev stack's db001/mybridge, or another run). */
const RUN = `e2e${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 5)}`;
const docker = new Docker();
// The SDK's RPC queue drain (internal, stable since 3.x).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeSettings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

// ---------------------------------------------------------------------------------------------------------
// helpers

/** An Output's value; rejects when the resource behind it failed (apply would wait forever). */
function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return (output as unknown as { promise(): Promise<T> }).promise();
}

async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((ok, fail) => server.once("error", fail).listen(0, "127.0.0.1", ok));
    const port = (server.address() as { port: number }).port;
    await new Promise((ok) => server.close(ok));
    return port;
}

/** The dev stack's config with the test's image, unique names and free host ports. */
async function settingsLikeDev(): Promise<ReplicaSetSettings> {
    const doc = loadYaml(readFileSync(join(REPO, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(doc.config)) raw[key.replace(/^mysql-replicaset:/, "")] = value;
    const ports = new Set<number>();
    while (ports.size < (raw.members as unknown[]).length) ports.add(await freePort());
    const hostPorts = [...ports];
    return validateConfig({
        ...raw,
        image: IMAGE,
        networkName: `${RUN}-net`,
        members: (raw.members as Array<Record<string, unknown>>).map((m, i) => ({ ...m, name: `${RUN}-${m.name}`, hostPort: hostPorts[i] })),
        bindAddress: "127.0.0.1", // tests reach containers on loopback only
        storage: "volume", // named volumes: retained by destroy, reused by run 2
        replicationUserHost: "", // the network's subnet
        readinessTimeoutSeconds: 120,
    });
}

interface Run {
    hooks: DockerHooks;
    replication: Applied;
    healthy: boolean;
    replicas: Record<string, ReplicaStatus>;
    rootPassword: string;
    replicationPassword: string;
}

/** Runs the program (the component as index.ts declares it) with the engine behind the mocks. */
async function runProgram(settings: ReplicaSetSettings, passwords?: { rootPassword: string; replicationPassword: string }): Promise<Run> {
    const hooks = new DockerHooks({ docker, runId: RUN, projectDir: REPO });
    allHooks.push(hooks);
    await pulumi.runtime.setMocks(hooks, "mysql-replicaset", `e2e-${RUN}`, false);
    const set = new ReplicaSet(RUN, { settings, ...passwords });
    const values = Promise.all([valueOf(set.healthy), valueOf(set.replicas), valueOf(set.rootPassword), valueOf(set.replicationPassword)]);
    // Let every registration (and a failure's echoes in dependent outputs) finish inside this step.
    await values.catch(() => undefined);
    await runtimeSettings.waitForRPCs().catch(() => undefined);
    const [healthy, replicas, rootPassword, replicationPassword] = await values;
    return { hooks, replication: hooks.dynamicResource(`${RUN}-replication`), healthy, replicas, rootPassword, replicationPassword };
}

async function connect(port: number, password: string): Promise<mysql.Connection> {
    const connection = await mysql.createConnection({ host: "127.0.0.1", port, user: "root", password, connectTimeout: 5000 });
    connection.on("error", () => undefined);
    return connection;
}

async function rows<T = Record<string, unknown>>(port: number, password: string, sql: string): Promise<T[]> {
    const connection = await connect(port, password);
    try {
        const [result] = await connection.query(sql);
        return result as T[];
    } finally {
        await connection.end().catch(() => connection.destroy());
    }
}

/** Polls `probe` with short backoff until it returns a value; on the deadline, says what it waited for and saw last. */
async function eventually<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    let last = "no attempt finished";
    for (let attempt = 0; ; attempt++) {
        try {
            const value = await probe();
            if (value !== undefined) return value;
            last = "not yet";
        } catch (error) {
            last = (error as Error).message;
        }
        if (Date.now() >= deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}; last seen: ${last}`);
        await new Promise((ok) => setTimeout(ok, Math.min(50 * 1.5 ** attempt, 1000)));
    }
}

/** The sequence number of domain 0 in a MariaDB GTID position ("0-100-42" → 42), 0 when absent. */
function sequence(position: string): number {
    const match = /(?:^|,)0-\d+-(\d+)/.exec(position);
    return match ? Number(match[1]) : 0;
}

async function slaveStatus(port: number, password: string): Promise<Record<string, string>> {
    const [row] = await rows<Record<string, string>>(port, password, "SHOW SLAVE STATUS");
    return row ?? {};
}

// ---------------------------------------------------------------------------------------------------------
// cleanup: everything this run created, whatever failed

const allHooks: DockerHooks[] = [];
let volumeNames: string[] = [];

after(async () => {
    for (const hooks of allHooks) hooks.host.stop();
    const byRun = { filters: JSON.stringify({ label: [`${RUN_LABEL}=${RUN}`] }) };
    try {
        for (const c of await docker.listContainers({ all: true, ...byRun })) await docker.getContainer(c.Id).remove({ force: true, v: true });
        for (const n of await docker.listNetworks(byRun)) await docker.getNetwork(n.Id).remove();
        const labelled = (await docker.listVolumes(byRun)).Volumes?.map((v) => v.Name) ?? [];
        for (const name of new Set([...labelled, ...volumeNames])) {
            await docker.getVolume(name).remove().catch((e: { statusCode?: number }) => {
                if (e.statusCode !== 404) throw e;
            });
        }
    } catch (error) {
        // No engine (the test skipped) or a failure here: say so, never hide it.
        if (allHooks.length > 0) console.error(`e2e cleanup of run ${RUN} failed: ${(error as Error).message}`);
    }
});

// ---------------------------------------------------------------------------------------------------------

test("the declared replica set replicates on a real Docker engine", { timeout: 15 * 60_000 }, async (t: TestContext) => {
    let engine: Docker.DockerVersion;
    try {
        engine = await docker.version();
    } catch (error) {
        const message = `no Docker engine answers on ${process.env.DOCKER_HOST ?? "/var/run/docker.sock"} (${(error as Error).message}); start one with scripts/dockerd.sh start`;
        if (REQUIRED) throw new Error(`E2E_REQUIRED=1 but ${message}`);
        console.error(`e2e: SKIPPED: ${message}`);
        t.skip(message);
        return;
    }
    console.log(`e2e: real Docker engine ${engine.Version} (API ${engine.ApiVersion}, ${engine.Os}/${engine.Arch}), run ${RUN}`);
    await promisify(execFile)("bash", [join(REPO, "test/support/image/build-image.sh")], { timeout: 10 * 60_000 });

    // Steps share state; once one fails the rest are skipped (they would only fail for the same reason).
    let broken = false;
    const step = (name: string, fn: () => Promise<void>) =>
        t.test(name, async (s) => {
            if (broken) return s.skip("an earlier step failed");
            try {
                await fn();
            } catch (error) {
                broken = true;
                throw error;
            }
        });

    const settings = await settingsLikeDev();
    const source = settings.members.find((m) => m.role === "source")!;
    const replicas = settings.members.filter((m) => m.role === "replica");
    volumeNames = settings.members.flatMap((m) => [`${m.name}-data`, `${m.name}-log`]);
    let first!: Run;

    await step("run 1: every declared resource applies and the replication resource converges", async () => {
        first = await runProgram(settings);
        assert.equal(first.healthy, true, `healthy output: ${JSON.stringify(first.replicas)}`);
    });

    await step("every container runs as declared: hostname, alias on the network, port on 127.0.0.1, volumes", async () => {
        for (const m of settings.members) {
            // Docker also resolves the container name and hostname (both the member name here), so replication
            // alone cannot tell a missing alias: check that it is declared, and below that the engine has it.
            const declared = first.hooks.applied.find((a) => a.type === "docker:index/container:Container" && a.inputs.name === m.name);
            assert.deepEqual(declared?.inputs.networksAdvanced, [{ name: settings.networkName, aliases: [m.name] }], `${m.name}'s declared network and alias`);
            const info = await docker.getContainer(m.name).inspect();
            assert.equal(info.State.Running, true, `${m.name} runs`);
            assert.equal(info.State.Health?.Status, "healthy", `${m.name} is healthy`);
            assert.equal(info.Config.Hostname, m.name);
            assert.ok(info.NetworkSettings.Networks[settings.networkName]?.Aliases?.includes(m.name), `${m.name} has its alias on ${settings.networkName}`);
            assert.deepEqual(info.HostConfig.PortBindings, { "3306/tcp": [{ HostIp: settings.bindAddress, HostPort: String(m.hostPort) }] });
            const mounts = Object.fromEntries(info.Mounts.map((x) => [x.Destination, x.Name]));
            assert.deepEqual(mounts, { "/var/lib/mysql": `${m.name}-data`, "/var/log/mysql": `${m.name}-log` });
        }
    });

    await step("the servers run with the replication settings: server ids, binlog, GTID, read-only replicas", async () => {
        for (const m of settings.members) {
            const [v] = await rows(m.hostPort, first.rootPassword,
                "SELECT @@server_id AS serverId, @@log_bin AS logBin, @@binlog_format AS format, @@log_slave_updates AS logReplicaUpdates, " +
                    "@@gtid_strict_mode AS strict, @@report_host AS reportHost, @@read_only AS readOnly");
            assert.deepEqual(
                { ...v, serverId: Number(v.serverId) },
                { serverId: m.serverId, logBin: 1, format: "ROW", logReplicaUpdates: 1, strict: 1, reportHost: m.name, readOnly: m.role === "replica" ? 1 : 0 },
                `${m.name}'s server variables`,
            );
        }
        // The source knows its replicas by the names they report.
        const hosts = await rows<{ Host: string }>(source.hostPort, first.rootPassword, "SHOW SLAVE HOSTS");
        assert.deepEqual(hosts.map((h) => h.Host).sort(), replicas.map((r) => r.name).sort());
    });

    await step("replicas replicate from the source by its alias, and the outputs say so", async () => {
        for (const r of replicas) {
            const status = await slaveStatus(r.hostPort, first.rootPassword);
            assert.equal(`${status.Master_Host}:${status.Master_Port}`, `${source.name}:3306`, `${r.name} points at the source's alias`);
            assert.equal(status.Slave_IO_Running, "Yes", `${r.name} IO thread: ${status.Last_IO_Error}`);
            assert.equal(status.Slave_SQL_Running, "Yes", `${r.name} SQL thread: ${status.Last_SQL_Error}`);
            assert.equal(status.Using_Gtid, "Slave_Pos");
            const out = first.replicas[r.name];
            assert.equal(out.source, `${source.name}:3306`);
            assert.ok(out.ioRunning && out.sqlRunning && out.lastIoError === "" && out.lastSqlError === "", JSON.stringify(out));
            assert.equal(out.endpoint, `127.0.0.1:${r.hostPort}`);
        }
        assert.equal(first.replication.state.healthy, true);
    });

    await step("a row written on the source through 127.0.0.1 is read on every replica", async () => {
        await rows(source.hostPort, first.rootPassword, "CREATE DATABASE IF NOT EXISTS e2e");
        await rows(source.hostPort, first.rootPassword, "CREATE TABLE IF NOT EXISTS e2e.t (id VARCHAR(64) PRIMARY KEY) ENGINE=InnoDB");
        await rows(source.hostPort, first.rootPassword, "INSERT INTO e2e.t VALUES ('run1-row')");
        for (const r of replicas) {
            await eventually(`run1-row on ${r.name}`, 30, async () =>
                (await rows(r.hostPort, first.rootPassword, "SELECT id FROM e2e.t WHERE id = 'run1-row'")).length === 1 || undefined);
        }
    });

    await step("the serialized provider reads the set as healthy and sees no change to make", async () => {
        const read = await first.hooks.provider<{ id: string; props: { healthy: boolean } }>(first.replication, "read", first.replication.id, first.replication.state);
        assert.equal(read.props.healthy, true, JSON.stringify(read.props));
        const diff = await first.hooks.provider<{ changes: boolean }>(first.replication, "diff", first.replication.id, first.replication.state, first.replication.inputs);
        assert.equal(diff.changes, false);
    });

    await step("a replica restarted by docker resumes replication", async () => {
        const replica = replicas[0];
        await docker.getContainer(replica.name).restart({ t: 30 });
        await eventually(`${replica.name}'s threads to run again after its restart`, 120, async () => {
            const s = await slaveStatus(replica.hostPort, first.rootPassword);
            return s.Slave_IO_Running === "Yes" && s.Slave_SQL_Running === "Yes" ? s : undefined;
        }).catch(async (error: Error) => {
            throw new Error(`${error.message}\n${replica.name}'s log:\n${await containerLogTail(docker.getContainer(replica.name))}`);
        });
        // read_only comes back from the server flags, not from what the provider set at runtime.
        const [ro] = await rows<{ ro: number }>(replica.hostPort, first.rootPassword, "SELECT @@read_only AS ro");
        assert.equal(ro.ro, 1, `${replica.name} is read-only again after its restart`);
        await rows(source.hostPort, first.rootPassword, "INSERT INTO e2e.t VALUES ('after-restart')");
        await eventually(`after-restart row on ${replica.name}`, 30, async () =>
            (await rows(replica.hostPort, first.rootPassword, "SELECT id FROM e2e.t WHERE id = 'after-restart'")).length === 1 || undefined);
        const read = await first.hooks.provider<{ props: { healthy: boolean } }>(first.replication, "read", first.replication.id, first.replication.state);
        assert.equal(read.props.healthy, true, JSON.stringify(read.props));
    });

    // What a reset (RESET MASTER) would throw away: the replicas' binary logs and GTID history.
    const before: Record<string, { binlogs: string[]; gtidSlavePos: string }> = {};

    await step("destroy deletes in reverse order and leaves the data volumes", async () => {
        for (const r of replicas) {
            const logs = await rows<{ Log_name: string }>(r.hostPort, first.rootPassword, "SHOW BINARY LOGS");
            const [pos] = await rows<{ p: string }>(r.hostPort, first.rootPassword, "SELECT @@gtid_slave_pos AS p");
            before[r.name] = { binlogs: logs.map((l) => l.Log_name), gtidSlavePos: pos.p };
        }
        await first.hooks.destroy();
        const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${RUN_LABEL}=${RUN}`] }) });
        assert.deepEqual(left.map((c) => c.Names), [], "no container is left");
        await assert.rejects(docker.getNetwork(settings.networkName).inspect(), /no such network|404/i, "the network is gone");
        for (const name of volumeNames) await docker.getVolume(name).inspect(); // retained
    });

    await step("run 2 on the retained volumes converges without a reset; the first run's data is there", async () => {
        // Generated passwords do not outlive a destroy; the servers on the volumes keep theirs. As a user would
        // (`pulumi stack output --show-secrets`, then `pulumi config set --secret`), run 2 is given run 1's.
        const second = await runProgram(settings, { rootPassword: first.rootPassword, replicationPassword: first.replicationPassword });
        assert.equal(second.healthy, true, JSON.stringify(second.replicas));
        for (const r of replicas) {
            const ids = await rows<{ id: string }>(r.hostPort, first.rootPassword, "SELECT id FROM e2e.t ORDER BY id");
            assert.deepEqual(ids.map((x) => x.id), ["after-restart", "run1-row"], `${r.name} still has the first run's rows`);
            const logs = (await rows<{ Log_name: string }>(r.hostPort, first.rootPassword, "SHOW BINARY LOGS")).map((l) => l.Log_name);
            for (const name of before[r.name].binlogs) assert.ok(logs.includes(name), `${r.name} kept binlog ${name} (no RESET MASTER): ${logs}`);
            const [pos] = await rows<{ p: string }>(r.hostPort, first.rootPassword, "SELECT @@gtid_slave_pos AS p");
            assert.ok(sequence(pos.p) >= sequence(before[r.name].gtidSlavePos) && sequence(pos.p) > 0, `${r.name} went on from its GTID position: ${before[r.name].gtidSlavePos} → ${pos.p}`);
            assert.equal(second.replicas[r.name].source, `${source.name}:3306`);
        }
        await second.hooks.destroy();
    });
});
