/**
 * End to end on several Docker hosts (issue 17), once per test image: three engines on this machine, each in
 * its own network namespace on a bridge (test/support/hosts.ts), stand for three machines. The ReplicaSet
 * component, with the dev topology and one member per host (each on the same port of its host), runs under
 * pulumi.runtime.setMocks whose hooks (dockerHooks.ts) apply every resource to the engine of the explicit
 * provider it was declared with, and run the replication provider from its serialized text. Then: rows written
 * on the source appear on both replicas; with a replica's engine stopped that replica is reported unhealthy
 * and the other healthy; a switchover to the member on another host re-points everyone at that host's
 * address; a destroy keeps every host's volumes.
 *
 * Needs root, iproute2, util-linux (nsenter), iptables, dockerd and the test images on the local engine
 * (built by replicaSet.e2e.test.ts / test/support/image/build-image.sh). Without them it skips loudly, or
 * fails when E2E_REQUIRED=1.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import Docker from "dockerode";
import * as mysql from "mysql2/promise";
import * as pulumi from "@pulumi/pulumi";
import { validateConfig } from "../../config/validate";
import { parseImageReference, versionFromTag } from "../../config/imageRef";
import type { ReplicaSetSettings } from "../../config/types";
import { ReplicaSet } from "../../components/replicaSet";
import { memberEndpoint } from "../../components/placement";
import { cidrToAccountHost } from "../../components/network";
import { replicaHealthy, type ReplicaStatus } from "../../components/outputs";
import type { ReplicationInputs, ReplicationState } from "../../components/replication/types";
import { harnessProblem, startHarness, type Harness, type HarnessHost } from "../support/hosts";
import { containerLogTail, DockerHooks, type Applied } from "./dockerHooks";
import { eventually, readVersions, runtimeSettings, stepsOf, type TestImage, testImages, valueOf } from "./support";

const REPO = resolve(__dirname, "..", "..");
const REQUIRED = process.env.E2E_REQUIRED === "1";
const RUN = `mh${Date.now().toString(36).slice(-5)}`;
const local = new Docker();

const ALL_IMAGES: TestImage[] = testImages();
/**
 * E2E_HOSTS_IMAGES (comma-separated image references) narrows the run; default: every image. CI runs MySQL 9.7
 * only to stay within its 30 minutes: placement and addressing do not depend on the flavor, and every flavor's
 * SQL, TLS (IP subjectAltNames included) and failover run in test/integration on every server of the matrix.
 */
const IMAGES: TestImage[] = (() => {
    const wanted = (process.env.E2E_HOSTS_IMAGES ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    if (wanted.length === 0) return ALL_IMAGES;
    const unknown = wanted.filter((w) => !ALL_IMAGES.some((i) => i.image === w));
    if (unknown.length > 0) throw new Error(`E2E_HOSTS_IMAGES names ${unknown.join(", ")}; use any of ${ALL_IMAGES.map((i) => i.image).join(", ")}`);
    return ALL_IMAGES.filter((i) => wanted.includes(i.image));
})();

/** Titles are fixed before any test runs: each image's server binary says its version (as replicaSet.e2e). */
function prepare(): string | undefined {
    const problem = harnessProblem();
    if (problem) return problem;
    try {
        execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { stdio: "ignore", timeout: 30_000 });
        execFileSync("bash", [resolve(REPO, "test/support/image/build-image.sh"), ...IMAGES.map((i) => i.image)], { stdio: ["ignore", "ignore", "inherit"], timeout: 25 * 60_000 });
    } catch (error) {
        return `no local Docker engine with the test images: ${(error as Error).message.split("\n")[0]}`;
    }
    readVersions(IMAGES);
    return undefined;
}
const PROBLEM = prepare();
for (const i of IMAGES) if (!i.title) i.title = `[${i.image}]`;

/** The port every member publishes on its host in this flavor's run (one per flavor: a failed run leaves its containers). */
let PORT = 3306;

async function rows<T = Record<string, unknown>>(host: string, password: string, sql: string): Promise<T[]> {
    const connection = await mysql.createConnection({ host, port: PORT, user: "root", password, connectTimeout: 5000 });
    connection.on("error", () => undefined);
    try {
        const [result] = await connection.query(sql);
        return result as T[];
    } finally {
        await connection.end().catch(() => connection.destroy());
    }
}

/** Where a replica's channel points, and whether both threads run (any dialect). */
async function channel(kind: TestImage["kind"], host: string, password: string): Promise<{ source: string; running: boolean; error: string }> {
    const [r = {}] = await rows<Record<string, string>>(host, password, kind === "mysql" ? "SHOW REPLICA STATUS" : "SHOW SLAVE STATUS");
    return kind === "mysql"
        ? { source: `${r.Source_Host}:${r.Source_Port}`, running: r.Replica_IO_Running === "Yes" && r.Replica_SQL_Running === "Yes", error: `${r.Last_IO_Error ?? ""}${r.Last_SQL_Error ?? ""}` }
        : { source: `${r.Master_Host}:${r.Master_Port}`, running: r.Slave_IO_Running === "Yes" && r.Slave_SQL_Running === "Yes", error: `${r.Last_IO_Error ?? ""}${r.Last_SQL_Error ?? ""}` };
}

// ---------------------------------------------------------------------------------------------------------

let harness: Harness | undefined;
const allHooks: DockerHooks[] = [];

before(async () => {
    if (PROBLEM) return;
    const started = Date.now();
    harness = await startHarness(3, IMAGES.map((i) => i.image));
    console.log(`e2e hosts: 3 engines in network namespaces with ${IMAGES.length} images loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

after(async () => {
    for (const hooks of allHooks) hooks.host.stop();
    // The engines go with everything on them: containers, networks, volumes.
    await harness?.stop();
});

function settingsFor(image: TestImage, run: string, hosts: HarnessHost[], port: number, sourceIndex = 0): ReplicaSetSettings {
    const tagSaysVersion = versionFromTag(parseImageReference(image.image)?.tag) !== undefined;
    return validateConfig({
        image: image.image,
        ...(tagSaysVersion ? {} : { version: image.version }),
        networkName: `${run}-net`,
        hosts: hosts.map((h) => ({ name: h.name, docker: h.docker, address: h.address })),
        // The dev topology, one member per host, each on the same port of its own host.
        members: [100, 200, 300].map((serverId, i) => ({
            name: `${run}-db00${i + 1}`,
            role: i === sourceIndex ? "source" : "replica",
            serverId,
            hostPort: port,
            host: hosts[i].name,
        })),
        storage: "volume",
        // The default: three servers initialising at once on a loaded 2-core machine took up to 140 s.
        readinessTimeoutSeconds: 300,
    });
}

interface Run {
    hooks: DockerHooks;
    replication: Applied;
    healthy: boolean;
    replicas: Record<string, ReplicaStatus>;
    rootPassword: string;
}

async function runProgram(run: string, settings: ReplicaSetSettings, hosts: HarnessHost[]): Promise<Run> {
    const engines = Object.fromEntries(hosts.map((h) => [h.docker, h.client]));
    const hooks = new DockerHooks({ docker: local, runId: RUN, projectDir: REPO, engines });
    allHooks.push(hooks);
    await pulumi.runtime.setMocks(hooks, "mysql-replicaset", `e2e-${run}`, false);
    hooks.observeResourceOptions();
    const set = new ReplicaSet(run, { settings });
    const values = Promise.all([valueOf(set.healthy), valueOf(set.replicas), valueOf(set.rootPassword)]);
    await values.catch(() => undefined);
    await runtimeSettings.waitForRPCs().catch(() => undefined);
    const [healthy, replicas, rootPassword] = await values;
    return { hooks, replication: hooks.dynamicResource(`${run}-replication`), healthy, replicas, rootPassword };
}

IMAGES.forEach((image, index) => {
    const T = image.title;
    const run = `${RUN}${index}`;
    test(`members on three Docker hosts replicate, survive a host's loss and switch over ${T}`, { timeout: 15 * 60_000 }, async (t: TestContext) => {
        if (PROBLEM) {
            if (REQUIRED) throw new Error(`E2E_REQUIRED=1 but ${PROBLEM}`);
            console.error(`e2e hosts: SKIPPED: ${PROBLEM}`);
            t.skip(PROBLEM);
            return;
        }
        const hosts = harness!.hosts;
        // Steps share state; once one fails the rest are skipped.
        const step = stepsOf(t, T);

        const port = 3306 + 10 * index;
        PORT = port;
        const settings = settingsFor(image, run, hosts, port);
        const [db001, db002, db003] = settings.members;
        const addressOf = (name: string) => hosts[settings.members.findIndex((m) => m.name === name)].address;
        let first!: Run;

        await step("run 1: each member's resources on its own host's engine; the set converges healthy", async () => {
            const started = Date.now();
            first = await runProgram(run, settings, hosts);
            console.log(`e2e hosts ${T}: run 1 converged in ${((Date.now() - started) / 1000).toFixed(1)} s`);
            assert.equal(first.healthy, true, `healthy output: ${JSON.stringify(first.replicas)}`);
            settings.members.forEach((m, i) => {
                const container = first.hooks.applied.find((a) => a.type === "docker:index/container:Container" && a.inputs.name === m.name);
                assert.equal(container?.engine, hosts[i].docker, `${m.name} was created on ${hosts[i].name}'s engine`);
            });
            for (const [i, m] of settings.members.entries()) {
                const info = await hosts[i].client.getContainer(m.name).inspect();
                assert.equal(info.State.Running, true);
                assert.deepEqual(info.HostConfig.PortBindings, { "3306/tcp": [{ HostIp: hosts[i].address, HostPort: String(port) }] }, `${m.name} publishes on its host's address only`);
                // No engine but its own knows the member.
                for (const other of hosts.filter((_, j) => j !== i)) {
                    await assert.rejects(other.client.getContainer(m.name).inspect(), /no such container|404/i);
                }
            }
        });

        await step("each replica replicates from the source host's address; a row written on the source is on both replicas", async () => {
            for (const r of [db002, db003]) {
                const c = await channel(image.kind, addressOf(r.name), first.rootPassword);
                assert.equal(c.source, `${hosts[0].address}:${port}`, `${r.name} points at the source host's address`);
                assert.ok(c.running, `${r.name}'s threads run: ${c.error}`);
                assert.equal(first.replicas[r.name].endpoint, `${addressOf(r.name)}:${port}`, "the provider reached it at its host's address");
            }
            const source = addressOf(db001.name);
            // One account row per pattern: every host's bridge subnet, and every host's address.
            const accounts = await rows<{ host: string }>(source, first.rootPassword, "SELECT Host AS host FROM mysql.user WHERE User = 'repl'");
            const subnets = await Promise.all(hosts.map(async (h) => cidrToAccountHost((await h.client.getNetwork(settings.networkName).inspect()).IPAM?.Config?.[0]?.Subnet)));
            assert.deepEqual(accounts.map((a) => a.host).sort(), [...new Set([...subnets, ...hosts.map((h) => h.address)])].sort());
            await rows(source, first.rootPassword, "CREATE DATABASE IF NOT EXISTS e2e");
            await rows(source, first.rootPassword, "CREATE TABLE IF NOT EXISTS e2e.t (id VARCHAR(64) PRIMARY KEY) ENGINE=InnoDB");
            await rows(source, first.rootPassword, "INSERT INTO e2e.t VALUES ('across-hosts')");
            for (const r of [db002, db003]) {
                await eventually(`the row on ${r.name}`, 30, async () =>
                    (await rows(addressOf(r.name), first.rootPassword, "SELECT id FROM e2e.t WHERE id = 'across-hosts'")).length === 1 || undefined);
            }
        });

        await step("with db003's engine stopped, a refresh reports db003 unhealthy and db002 healthy; back, healthy again", async () => {
            await harness!.stopEngine(hosts[2]);
            try {
                const read = await first.hooks.provider<{ props: ReplicationState }>(first.replication, "read", first.replication.id, first.replication.state);
                const statuses = read.props.replicaStatus;
                assert.equal(replicaHealthy(statuses[db003.name]), false, JSON.stringify(statuses[db003.name]));
                assert.match(statuses[db003.name].lastIoError, /cannot reach/);
                assert.equal(replicaHealthy(statuses[db002.name]), true, JSON.stringify(statuses[db002.name]));
                assert.equal(read.props.healthy, false);
            } finally {
                await harness!.startEngine(hosts[2]);
            }
            // The engine restarts the container (restart policy unless-stopped); its replica resumes.
            await eventually(`${db003.name} to replicate again`, 180, async () => {
                const read = await first.hooks.provider<{ props: ReplicationState }>(first.replication, "read", first.replication.id, first.replication.state);
                return read.props.healthy ? read : undefined;
            }).catch(async (error: Error) => {
                throw new Error(`${error.message}\n${db003.name}'s log:\n${await containerLogTail(hosts[2].client.getContainer(db003.name))}`);
            });
        });

        await step("a switchover to db002 on another host re-points db001 and db003 at db002's host address", async () => {
            const swapped = settingsFor(image, run, hosts, port, 1);
            const olds = first.replication.state as unknown as ReplicationState;
            const news: ReplicationInputs & { __provider: unknown } = {
                ...(first.replication.inputs as unknown as ReplicationInputs),
                source: memberEndpoint(swapped, swapped.members[1]),
                replicas: [memberEndpoint(swapped, swapped.members[0]), memberEndpoint(swapped, swapped.members[2])],
                __provider: first.replication.inputs.__provider,
            };
            const updated = await first.hooks.provider<{ outs: ReplicationState }>(first.replication, "update", first.replication.id, olds, news);
            assert.equal(updated.outs.healthy, true, JSON.stringify(updated.outs.replicaStatus));
            // As the engine would: the state is now the update's outputs.
            first.replication.state = { ...(updated.outs as unknown as Record<string, unknown>), __provider: first.replication.inputs.__provider };
            first.replication.inputs = news as unknown as Record<string, unknown>;
            for (const r of [db001, db003]) {
                const c = await channel(image.kind, addressOf(r.name), first.rootPassword);
                assert.equal(c.source, `${hosts[1].address}:${port}`, `${r.name} points at db002's host`);
                assert.ok(c.running, `${r.name}'s threads run: ${c.error}`);
            }
            const [ro] = await rows<{ ro: number }>(addressOf(db001.name), first.rootPassword, "SELECT @@read_only AS ro");
            assert.equal(Number(ro.ro), 1, "the previous source is read-only");
            await rows(addressOf(db002.name), first.rootPassword, "INSERT INTO e2e.t VALUES ('after-switchover')");
            for (const r of [db001, db003]) {
                await eventually(`the switchover row on ${r.name}`, 30, async () =>
                    (await rows(addressOf(r.name), first.rootPassword, "SELECT id FROM e2e.t ORDER BY id")).map((x) => x.id).join(",") === "across-hosts,after-switchover" || undefined);
            }
        });

        await step("a destroy removes containers and networks on every host and keeps every host's volumes", async () => {
            await first.hooks.destroy();
            for (const [i, m] of settings.members.entries()) {
                const client = hosts[i].client;
                await assert.rejects(client.getContainer(m.name).inspect(), /no such container|404/i, `${m.name} is gone`);
                await assert.rejects(client.getNetwork(settings.networkName).inspect(), /no such network|404|not found/i, `the network on ${hosts[i].name} is gone`);
                for (const kind of ["data", "log"]) await client.getVolume(`${m.name}-${kind}`).inspect(); // retained
            }
        });
    });
});
