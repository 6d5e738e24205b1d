/**
 * End to end on a real Docker engine, once per test image: the ReplicaSet component, with the dev stack's topology,
 * runs under pulumi.runtime.setMocks whose hooks (dockerHooks.ts) apply every declared resource to the engine, and
 * run the replication dynamic provider from its serialized text. Then it checks that the set really replicates,
 * survives a replica restart, that a restarted source comes back read-only until the provider's next run, that a
 * destroy honours the declared retainOnDelete, and that a second run on the retained volumes converges without a
 * reset.
 *
 * Images (test/support/image/build-image.sh, built when missing): mysql-replicaset-test/mysql:9 (MySQL 9.7 of
 * Debian sid), mysql-replicaset-test/mariadb:11 (MariaDB 11.8 of sid), mysql-replicaset-test/mariadb:10.11
 * (bookworm). Every title ends with the server's version, read from the image's binary and checked against the
 * live server's VERSION().
 *
 * Needs a Docker engine (scripts/dockerd.sh start). Without one it skips loudly, or fails when E2E_REQUIRED=1.
 */
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import { load as loadYaml } from "js-yaml";
import * as mysql from "mysql2/promise";
import * as pulumi from "@pulumi/pulumi";
import { validateConfig } from "../../config/validate";
import { parseImageReference, versionFromTag } from "../../config/imageRef";
import type { ReplicaSetSettings } from "../../config/types";
import { ReplicaSet } from "../../components/replicaSet";
import type { ReplicaStatus } from "../../components/outputs";
import type { ReplicationState } from "../../components/replication/types";
import { containerLog, containerLogTail, DockerHooks, RUN_LABEL, type Applied } from "./dockerHooks";
import { SETTLE_SECONDS, eventually, freePort, readVersions, runtimeSettings, stepsOf, type TestImage, testImages, valueOf } from "./support";

const REPO = resolve(__dirname, "..", "..");
const REQUIRED = process.env.E2E_REQUIRED === "1";
/** Per run: names that collide with nothing (the dev stack's db001/mybridge, or another run). */
const RUN = `e2e${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 5)}`;
const docker = new Docker();
/** What a server logs when it starts on a datadir it did not shut down: MySQL, then MariaDB. */
const CRASH_RECOVERY = /Starting XA crash recovery|Starting crash recovery from checkpoint|Recovering after a crash/;

// ---------------------------------------------------------------------------------------------------------
// the images, and the version each one's server reports (for the titles)

const IMAGES: TestImage[] = testImages();

/**
 * Titles are fixed before any test runs, so the engine is asked here, synchronously: build the images when
 * missing (idempotent, cached), then run each image's server binary with --version.
 */
function prepare(): { engine?: string; problem?: string } {
    let engine: string;
    try {
        engine = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 }).trim();
    } catch (error) {
        const message = `no Docker engine answers on ${process.env.DOCKER_HOST ?? "/var/run/docker.sock"} (${(error as Error).message.split("\n")[0]}); start one with scripts/dockerd.sh start`;
        for (const i of IMAGES) i.title = `[${i.image}]`;
        return { problem: message };
    }
    try {
        execFileSync("bash", [join(REPO, "test/support/image/build-image.sh"), ...IMAGES.map((i) => i.image)], { stdio: ["ignore", "ignore", "inherit"], timeout: 25 * 60_000 });
    } catch (error) {
        for (const i of IMAGES) i.title = `[${i.image}]`;
        return { engine, problem: `building the test images failed: ${(error as Error).message}` };
    }
    readVersions(IMAGES);
    return { engine };
}
const PREPARED = prepare();

/** "9.7.4-2" → "[MySQL 9.7.4]", "11.8.9-MariaDB-4 from Debian-log" → "[MariaDB 11.8.9]". */
function titleOfVersion(text: string): string {
    return `[${/mariadb/i.test(text) ? "MariaDB" : "MySQL"} ${/^\d+\.\d+\.\d+/.exec(text)?.[0] ?? text}]`;
}

// ---------------------------------------------------------------------------------------------------------
// helpers

/**
 * The dev stack's config with the test's image, unique names and free host ports. The version is stated only
 * when the tag does not say it (config/imageRef.ts reads `10.11`, not `9` or `11`).
 */
async function settingsLikeDev(image: TestImage, run: string): Promise<ReplicaSetSettings> {
    const doc = loadYaml(readFileSync(join(REPO, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(doc.config)) raw[key.replace(/^mysql-replicaset:/, "")] = value;
    const ports = new Set<number>();
    while (ports.size < (raw.members as unknown[]).length) ports.add(await freePort());
    const hostPorts = [...ports];
    const tagSaysVersion = versionFromTag(parseImageReference(image.image)?.tag) !== undefined;
    return validateConfig({
        ...raw,
        image: image.image,
        ...(tagSaysVersion ? {} : { version: image.version }),
        networkName: `${run}-net`,
        members: (raw.members as Array<Record<string, unknown>>).map((m, i) => ({ ...m, name: `${run}-${m.name}`, hostPort: hostPorts[i] })),
        bindAddress: "127.0.0.1", // tests reach containers on loopback only
        storage: "volume", // named volumes: retained by destroy, reused by run 2
        replicationUserHost: "", // the network's subnet
        // The product default: a busy CI machine initialised MySQL 9.7 in over 120 s (load average 30+ on 2 cores).
        readinessTimeoutSeconds: 300,
    });
}

interface Run {
    hooks: DockerHooks;
    replication: Applied;
    healthy: boolean;
    replicas: Record<string, ReplicaStatus>;
    rootPassword: string;
    replicationPassword: string;
    /** The stack's CA (PEM): replicationTls verify is the default. */
    caCertificate: string;
}

/** Runs the program (the component as index.ts declares it) with the engine behind the mocks. */
async function runProgram(run: string, settings: ReplicaSetSettings, passwords?: { rootPassword: string; replicationPassword: string }): Promise<Run> {
    const hooks = new DockerHooks({ docker, runId: RUN, projectDir: REPO });
    allHooks.push(hooks);
    await pulumi.runtime.setMocks(hooks, "mysql-replicaset", `e2e-${run}`, false);
    hooks.observeResourceOptions();
    const set = new ReplicaSet(run, { settings, ...passwords });
    const values = Promise.all([valueOf(set.healthy), valueOf(set.replicas), valueOf(set.rootPassword), valueOf(set.replicationPassword), valueOf(set.caCertificate)]);
    // Let every registration (and a failure's echoes in dependent outputs) finish inside this step.
    await values.catch(() => undefined);
    await runtimeSettings.waitForRPCs().catch(() => undefined);
    const [healthy, replicas, rootPassword, replicationPassword, caCertificate] = await values;
    return { hooks, replication: hooks.dynamicResource(`${run}-replication`), healthy, replicas, rootPassword, replicationPassword, caCertificate };
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

/** The sequence number of domain 0 in a MariaDB GTID position ("0-100-42" → 42), 0 when absent. */
function sequence(position: string): number {
    const match = /(?:^|,)0-\d+-(\d+)/.exec(position);
    return match ? Number(match[1]) : 0;
}

/** A replica's status in one shape: MySQL 8.4+ has only SHOW REPLICA STATUS (Source_*, Replica_*). */
interface Threads {
    source: string;
    io: string;
    sql: string;
    lastIoError: string;
    lastSqlError: string;
    /** MySQL: Auto_Position "1"; MariaDB: Using_Gtid "Slave_Pos". */
    gtidMode: string;
    /** *_SSL_Allowed and *_SSL_Verify_Server_Cert. */
    tls: string;
    verifies: string;
}

async function replicaThreads(kind: TestImage["kind"], port: number, password: string): Promise<Threads> {
    if (kind === "mysql") {
        const [r = {}] = await rows<Record<string, string>>(port, password, "SHOW REPLICA STATUS");
        return { source: `${r.Source_Host}:${r.Source_Port}`, io: r.Replica_IO_Running, sql: r.Replica_SQL_Running, lastIoError: r.Last_IO_Error, lastSqlError: r.Last_SQL_Error, gtidMode: String(r.Auto_Position), tls: r.Source_SSL_Allowed, verifies: r.Source_SSL_Verify_Server_Cert };
    }
    const [r = {}] = await rows<Record<string, string>>(port, password, "SHOW SLAVE STATUS");
    return { source: `${r.Master_Host}:${r.Master_Port}`, io: r.Slave_IO_Running, sql: r.Slave_SQL_Running, lastIoError: r.Last_IO_Error, lastSqlError: r.Last_SQL_Error, gtidMode: r.Using_Gtid, tls: r.Master_SSL_Allowed, verifies: r.Master_SSL_Verify_Server_Cert };
}

/** What a replica has applied: MySQL gtid_executed, MariaDB gtid_slave_pos. */
async function appliedPosition(kind: TestImage["kind"], port: number, password: string): Promise<string> {
    const [row] = await rows<{ p: string }>(port, password, kind === "mysql" ? "SELECT @@GLOBAL.gtid_executed AS p" : "SELECT @@gtid_slave_pos AS p");
    return row.p;
}

// ---------------------------------------------------------------------------------------------------------
// cleanup: everything this run created, whatever failed

const allHooks: DockerHooks[] = [];
const volumeNames: string[] = [];

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

IMAGES.forEach((image, index) => {
    const T = image.title;
    const run = `${RUN}${index}`;
    test(`the declared replica set replicates on a real Docker engine ${T}`, { timeout: 15 * 60_000 }, async (t: TestContext) => {
        if (!PREPARED.engine) {
            const message = PREPARED.problem ?? "no Docker engine";
            if (REQUIRED) throw new Error(`E2E_REQUIRED=1 but ${message}`);
            console.error(`e2e: SKIPPED: ${message}`);
            t.skip(message);
            return;
        }
        if (PREPARED.problem) throw new Error(PREPARED.problem);
        console.log(`e2e: real Docker engine ${PREPARED.engine}, image ${image.image} ${T}, run ${run}`);

        // Steps share state; once one fails the rest are skipped.
        const step = stepsOf(t, T);

        const settings = await settingsLikeDev(image, run);
        const source = settings.members.find((m) => m.role === "source")!;
        const replicas = settings.members.filter((m) => m.role === "replica");
        const volumes = settings.members.flatMap((m) => [`${m.name}-data`, `${m.name}-log`]);
        volumeNames.push(...volumes);
        const mysqlFlavor = image.kind === "mysql";
        let first!: Run;

        await step("run 1: every declared resource applies and the replication resource converges", async () => {
            first = await runProgram(run, settings);
            assert.equal(first.healthy, true, `healthy output: ${JSON.stringify(first.replicas)}`);
            const [v] = await rows<{ v: string }>(source.hostPort, first.rootPassword, "SELECT VERSION() AS v");
            assert.equal(titleOfVersion(v.v), T, `the live server's VERSION() is ${v.v}`);
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
                    "SELECT @@server_id AS serverId, @@log_bin AS logBin, @@binlog_format AS format, @@report_host AS reportHost, @@read_only AS readOnly, " +
                        (mysqlFlavor
                            ? "@@log_replica_updates AS logReplicaUpdates, @@gtid_mode AS gtid, @@enforce_gtid_consistency AS strict"
                            : "@@log_slave_updates AS logReplicaUpdates, 'ON' AS gtid, @@gtid_strict_mode AS strict"));
                assert.deepEqual(
                    { ...v, serverId: Number(v.serverId), strict: String(v.strict) },
                    { serverId: m.serverId, logBin: 1, format: "ROW", logReplicaUpdates: 1, gtid: "ON", strict: mysqlFlavor ? "ON" : "1", reportHost: m.name, readOnly: m.role === "replica" ? 1 : 0 },
                    `${m.name}'s server variables`,
                );
            }
            // The source knows its replicas by the names they report (MySQL 8.4 removed SHOW SLAVE HOSTS).
            const hosts = await rows<{ Host: string }>(source.hostPort, first.rootPassword, mysqlFlavor ? "SHOW REPLICAS" : "SHOW SLAVE HOSTS");
            assert.deepEqual(hosts.map((h) => h.Host).sort(), replicas.map((r) => r.name).sort());
        });

        await step("replicas replicate from the source by its alias, and the outputs say so", async () => {
            for (const r of replicas) {
                const status = await replicaThreads(image.kind, r.hostPort, first.rootPassword);
                assert.equal(status.source, `${source.name}:3306`, `${r.name} points at the source's alias`);
                assert.equal(status.io, "Yes", `${r.name} IO thread: ${status.lastIoError}`);
                assert.equal(status.sql, "Yes", `${r.name} SQL thread: ${status.lastSqlError}`);
                assert.equal(status.gtidMode, mysqlFlavor ? "1" : "Slave_Pos", `${r.name} replicates by GTID`);
                // replicationTls verify (the default): TLS, the source's certificate verified against the stack's CA.
                assert.deepEqual([status.tls, status.verifies], ["Yes", "Yes"], `${r.name} replicates over verified TLS`);
                const out = first.replicas[r.name];
                assert.equal(out.source, `${source.name}:3306`);
                assert.ok(out.ioRunning && out.sqlRunning && out.lastIoError === "" && out.lastSqlError === "", JSON.stringify(out));
                assert.equal(out.endpoint, `127.0.0.1:${r.hostPort}`);
                assert.equal(titleOfVersion(out.serverVersion), T, `${r.name}'s serverVersion output`);
            }
            assert.equal(first.replication.state.healthy, true);
        });

        await step("caCertificate verifies every member at its published address; the keys are the server's alone", async () => {
            const tls = await import("node:tls");
            assert.match(first.caCertificate, /^-----BEGIN CERTIFICATE-----/);
            for (const m of settings.members) {
                const c = await mysql.createConnection({ host: "127.0.0.1", port: m.hostPort, user: "root", password: first.rootPassword, ssl: { ca: first.caCertificate, rejectUnauthorized: true } });
                try {
                    const stream = (c as unknown as { connection: { stream: import("node:tls").TLSSocket } }).connection.stream;
                    const peer = stream.getPeerCertificate(true);
                    assert.equal(tls.checkServerIdentity("127.0.0.1", peer), undefined, `${m.name}'s certificate names 127.0.0.1`);
                    assert.match(peer.subjectaltname ?? "", new RegExp(`DNS:${m.name}\\b`), `${m.name}'s certificate names its alias`);
                } finally {
                    await c.end();
                }
                const exec = await docker.getContainer(m.name).exec({ Cmd: ["stat", "-c", "%a %u %n", "/etc/mysql-replicaset-tls/server-key.pem", "/etc/mysql-replicaset-tls/client-key.pem"], AttachStdout: true, AttachStderr: true });
                const stream = await exec.start({});
                const chunks: Buffer[] = [];
                await new Promise<void>((ok) => { stream.on("data", (d: Buffer) => chunks.push(d)); stream.on("end", () => ok()); });
                const text = Buffer.concat(chunks).toString("utf8");
                assert.match(text, /600 999 \/etc\/mysql-replicaset-tls\/server-key\.pem/, text);
                assert.match(text, /600 999 \/etc\/mysql-replicaset-tls\/client-key\.pem/, text);
            }
        });

        await step("a row written on the source through 127.0.0.1 is read on every replica", async () => {
            await rows(source.hostPort, first.rootPassword, "CREATE DATABASE IF NOT EXISTS e2e");
            await rows(source.hostPort, first.rootPassword, "CREATE TABLE IF NOT EXISTS e2e.t (id VARCHAR(64) PRIMARY KEY) ENGINE=InnoDB");
            await rows(source.hostPort, first.rootPassword, "INSERT INTO e2e.t VALUES ('run1-row')");
            for (const r of replicas) {
                await eventually(`run1-row on ${r.name}`, SETTLE_SECONDS, async () =>
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
                const s = await replicaThreads(image.kind, replica.hostPort, first.rootPassword);
                return s.io === "Yes" && s.sql === "Yes" ? s : undefined;
            }).catch(async (error: Error) => {
                throw new Error(`${error.message}\n${replica.name}'s log:\n${await containerLogTail(docker.getContainer(replica.name))}`);
            });
            // read_only comes back from the server flags, not from what the provider set at runtime; MySQL's
            // super_read_only from what the provider persisted (SET PERSIST).
            const [ro] = await rows<{ ro: number; sro: number | null }>(replica.hostPort, first.rootPassword,
                `SELECT @@read_only AS ro, ${mysqlFlavor ? "@@super_read_only" : "NULL"} AS sro`);
            assert.equal(ro.ro, 1, `${replica.name} is read-only again after its restart`);
            if (mysqlFlavor) assert.equal(ro.sro, 1, `${replica.name} is super_read_only again after its restart`);
            await rows(source.hostPort, first.rootPassword, "INSERT INTO e2e.t VALUES ('after-restart')");
            await eventually(`after-restart row on ${replica.name}`, SETTLE_SECONDS, async () =>
                (await rows(replica.hostPort, first.rootPassword, "SELECT id FROM e2e.t WHERE id = 'after-restart'")).length === 1 || undefined);
            const read = await first.hooks.provider<{ props: { healthy: boolean } }>(first.replication, "read", first.replication.id, first.replication.state);
            assert.equal(read.props.healthy, true, JSON.stringify(read.props));
        });

        await step("the source restarted by docker comes back read-only; the serialized provider's read reports it, its next update makes it writable", async () => {
            await docker.getContainer(source.name).restart({ t: 30 });
            // Every member's command holds --read-only=ON; on MySQL, super_read_only comes back from what the provider
            // persisted (SET PERSIST_ONLY) while it made the source writable for the running server only.
            const fence = await eventually(`${source.name} to serve again after its restart`, 120, async () =>
                (await rows<{ ro: number; sro: number | null }>(source.hostPort, first.rootPassword, `SELECT @@read_only AS ro, ${mysqlFlavor ? "@@super_read_only" : "NULL"} AS sro`))[0],
            ).catch(async (error: Error) => {
                throw new Error(`${error.message}\n${source.name}'s log:\n${await containerLogTail(docker.getContainer(source.name))}`);
            });
            assert.equal(Number(fence.ro), 1, `${source.name} came back writable`);
            if (mysqlFlavor) assert.equal(Number(fence.sro), 1, `${source.name} came back without super_read_only`);
            const read = await first.hooks.provider<{ props: ReplicationState }>(first.replication, "read", first.replication.id, first.replication.state);
            assert.equal(read.props.sourceStatus.readOnly, true);
            assert.equal(read.props.healthy, false, "a read-only source makes the set unhealthy");
            // As `pulumi up` after that refresh: a set last observed unhealthy is converged again.
            const diff = await first.hooks.provider<{ changes: boolean }>(first.replication, "diff", first.replication.id, read.props, first.replication.inputs);
            assert.equal(diff.changes, true);
            const updated = await first.hooks.provider<{ outs: ReplicationState }>(first.replication, "update", first.replication.id, read.props, first.replication.inputs);
            assert.equal(updated.outs.healthy, true, JSON.stringify(updated.outs.replicaStatus));
            assert.equal(updated.outs.sourceStatus.readOnly, false);
            first.replication.state = { ...(updated.outs as unknown as Record<string, unknown>), __provider: first.replication.inputs.__provider };
            const [ro] = await rows<{ ro: number }>(source.hostPort, first.rootPassword, "SELECT @@read_only AS ro");
            assert.equal(Number(ro.ro), 0, `${source.name} is writable again`);
        });

        // What a reset (RESET MASTER / RESET BINARY LOGS AND GTIDS) would throw away: binary logs and GTID history.
        const before: Record<string, { binlogs: string[]; position: string }> = {};

        await step("the volumes are declared retainOnDelete, and a destroy honouring it deletes everything else", async () => {
            const declared = first.hooks.applied.filter((a) => a.type === "docker:index/volume:Volume");
            assert.deepEqual(declared.map((a) => a.inputs.name).sort(), [...volumes].sort(), "one data and one log volume per member");
            for (const a of declared) assert.equal(a.retainOnDelete, true, `${a.name} is declared retainOnDelete (deleteDataOnDestroy is off)`);
            for (const r of replicas) {
                const logs = await rows<{ Log_name: string }>(r.hostPort, first.rootPassword, "SHOW BINARY LOGS");
                before[r.name] = { binlogs: logs.map((l) => l.Log_name), position: await appliedPosition(image.kind, r.hostPort, first.rootPassword) };
            }
            await first.hooks.destroy();
            const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${RUN_LABEL}=${RUN}`] }) });
            assert.deepEqual(left.map((c) => c.Names), [], "no container is left");
            await assert.rejects(docker.getNetwork(settings.networkName).inspect(), /no such network|404/i, "the network is gone");
            for (const name of volumes) await docker.getVolume(name).inspect(); // retained
        });

        await step("run 2 on the retained volumes converges without a reset; the first run's data is there", async () => {
            // Generated passwords do not outlive a destroy; the servers on the volumes keep theirs. As a user would
            // (`pulumi stack output --show-secrets`, then `pulumi config set --secret`), run 2 is given run 1's.
            // deleteDataOnDestroy only changes the volumes' retainOnDelete: the destroy below must delete them.
            const second = await runProgram(run, { ...settings, deleteDataOnDestroy: true }, { rootPassword: first.rootPassword, replicationPassword: first.replicationPassword });
            assert.equal(second.healthy, true, JSON.stringify(second.replicas));
            for (const r of replicas) {
                const ids = await rows<{ id: string }>(r.hostPort, first.rootPassword, "SELECT id FROM e2e.t ORDER BY id");
                assert.deepEqual(ids.map((x) => x.id), ["after-restart", "run1-row"], `${r.name} still has the first run's rows`);
                const logs = (await rows<{ Log_name: string }>(r.hostPort, first.rootPassword, "SHOW BINARY LOGS")).map((l) => l.Log_name);
                for (const name of before[r.name].binlogs) assert.ok(logs.includes(name), `${r.name} kept binlog ${name} (no reset): ${logs}`);
                const position = await appliedPosition(image.kind, r.hostPort, first.rootPassword);
                if (mysqlFlavor) {
                    const [kept] = await rows<{ kept: number }>(r.hostPort, first.rootPassword, `SELECT GTID_SUBSET(${mysql.escape(before[r.name].position)}, @@GLOBAL.gtid_executed) AS kept`);
                    assert.ok(before[r.name].position !== "" && kept.kept === 1, `${r.name} went on from its GTID history: ${before[r.name].position} → ${position}`);
                } else {
                    assert.ok(sequence(position) >= sequence(before[r.name].position) && sequence(position) > 0, `${r.name} went on from its GTID position: ${before[r.name].position} → ${position}`);
                }
                assert.equal(second.replicas[r.name].source, `${source.name}:3306`);
            }
            for (const a of second.hooks.applied.filter((x) => x.type === "docker:index/volume:Volume")) {
                assert.equal(a.retainOnDelete, false, `${a.name} is not retained when deleteDataOnDestroy is set`);
            }
            // Run 1's destroy stopped every server cleanly (destroyGraceSeconds), so none of run 2's started by
            // recovering from a crash (what a killed server's next start logs, seen on MySQL 9.7 and MariaDB 10.11/11.8).
            for (const m of settings.members) {
                const log = await containerLog(docker.getContainer(m.name));
                assert.match(log, /ready for connections/, `${m.name}'s log is the server's`);
                assert.doesNotMatch(log, CRASH_RECOVERY, `${m.name} recovered from a crash at run 2's start: run 1's destroy killed its server`);
            }
        });

        await step("a destroy with deleteDataOnDestroy deletes the volumes", async () => {
            const second = allHooks[allHooks.length - 1];
            await second.destroy();
            for (const name of volumes) {
                await assert.rejects(docker.getVolume(name).inspect(), /no such volume|404/i, `${name} is deleted`);
            }
        });
    });
});
