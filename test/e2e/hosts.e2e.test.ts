/**
 * End to end on several Docker hosts (issue 17), once per test image: three engines on this machine, each in
 * its own network namespace on a bridge (test/support/hosts.ts), stand for three machines. The ReplicaSet
 * component, with the dev topology and one member per host (each on the same port of its host), runs under
 * pulumi.runtime.setMocks whose hooks (dockerHooks.ts) apply every resource to the engine of the explicit
 * provider it was declared with, and run the replication provider from its serialized text. The router
 * (`router: haproxy`) runs on node1. Then: rows written on the source appear on both replicas; a row written
 * through the router's writer endpoint is read through its reader endpoint, which reaches the replicas on the
 * other hosts; with a replica's engine stopped that replica is reported unhealthy and the other healthy; after a
 * binlog purge on the source a fourth member added on node3 is seeded by the provider's dump and replicates;
 * a switchover to the member on another host, declared in config and run through the whole component, replaces
 * no member's container and re-points everyone at that host's address; with the new source's engine stopped, a
 * failover declared in config and run through the whole component changes nothing on the lost host (a change
 * there would have to reach its engine, and fail), promotes a member of a third host with no row lost, and the
 * dead member rejoins when its host is back; a destroy keeps every host's volumes.
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
import { CHECK_TIMING } from "../../components/router/render";
import { ROUTER_CHECK_USER } from "../../config/accounts";
import { cidrToAccountHost } from "../../components/network";
import { replicaHealthy, type Endpoints, type ReplicaStatus } from "../../components/outputs";
import type { ReplicationState } from "../../components/replication/types";
import { harnessProblem, startHarness, type Harness, type HarnessHost } from "../support/hosts";
import { HISTORY_TABLES, loadHistory, type StatementRunner } from "../support/seedData";
import { containerLogTail, DockerHooks, type Applied } from "./dockerHooks";
import { SETTLE_SECONDS, eventually, readVersions, runtimeSettings, stepsOf, type TestImage, testImages, valueOf } from "./support";

const REPO = resolve(__dirname, "..", "..");
const REQUIRED = process.env.E2E_REQUIRED === "1";
const RUN = `mh${Date.now().toString(36).slice(-5)}`;
/** The router's test image (Debian bookworm's HAProxy with the official image's contract), loaded into every engine. */
const ROUTER_IMAGE = "mysql-replicaset-test/haproxy:2.6";
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
        execFileSync("bash", [resolve(REPO, "test/support/image/build-image.sh"), ...IMAGES.map((i) => i.image), ROUTER_IMAGE], { stdio: ["ignore", "ignore", "inherit"], timeout: 25 * 60_000 });
    } catch (error) {
        return `no local Docker engine with the test images: ${(error as Error).message.split("\n")[0]}`;
    }
    readVersions(IMAGES);
    return undefined;
}
const PROBLEM = prepare();
for (const i of IMAGES) if (!i.title) i.title = `[${i.image}]`;

/** A published address, "host:port". */
interface At {
    host: string;
    port: number;
}

/** Statements in order over one TCP connection as root; the last one's rows. */
function runner(at: At, password: string): StatementRunner {
    return {
        async query<T = Record<string, unknown>>(...statements: string[]): Promise<T[]> {
            const connection = await mysql.createConnection({ ...at, user: "root", password, connectTimeout: 5000 });
            connection.on("error", () => undefined);
            try {
                let result: unknown = [];
                for (const sql of statements) [result] = await connection.query(sql);
                return result as T[];
            } finally {
                await connection.end().catch(() => connection.destroy());
            }
        },
    };
}

async function rows<T = Record<string, unknown>>(at: At, password: string, sql: string): Promise<T[]> {
    return runner(at, password).query<T>(sql);
}

function parseAt(endpoint: string): At {
    const i = endpoint.lastIndexOf(":");
    return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
}

/** The @@hostname of each of `n` connections opened together (held open, so leastconn spreads them). */
async function hostnamesOver(endpoint: string, password: string, n: number): Promise<string[]> {
    const connections = await Promise.all(Array.from({ length: n }, () => mysql.createConnection({ ...parseAt(endpoint), user: "root", password, connectTimeout: 3000 })));
    try {
        const names: string[] = [];
        for (const c of connections) {
            c.on("error", () => undefined);
            const [result] = await c.query("SELECT @@hostname AS h");
            names.push(String((result as Array<{ h: string }>)[0].h));
        }
        return names;
    } finally {
        await Promise.all(connections.map((c) => c.end().catch(() => c.destroy())));
    }
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort().join(",");

/**
 * HAProxy takes a server for UP until a check of it failed (the first failure after start marks it DOWN, `status:
 * 0/1 DOWN` on HAProxy 2.6.12; the margin below covers `fall`): right after the router (re)starts, a member
 * whose check account is missing still gets connections. A sample counts only once every server has had its
 * `fall` checks (plus the check timeout) since the container started.
 */
async function routerSettled(client: Docker, name: string): Promise<boolean> {
    const started = Date.parse((await client.getContainer(name).inspect()).State.StartedAt);
    return Date.now() - started > (CHECK_TIMING.fall + 1) * CHECK_TIMING.intervalMs + 2000;
}

async function checksums(member: StatementRunner): Promise<Record<string, string>> {
    const result = await member.query<{ Table: string; Checksum: string | number | null }>(`CHECKSUM TABLE ${HISTORY_TABLES.join(", ")}`);
    return Object.fromEntries(result.map((r) => [r.Table, String(r.Checksum)]));
}

/** Where a replica's channel points, and whether both threads run (any dialect). */
async function channel(kind: TestImage["kind"], at: At, password: string): Promise<{ source: string; running: boolean; error: string }> {
    const [r = {}] = await rows<Record<string, string>>(at, password, kind === "mysql" ? "SHOW REPLICA STATUS" : "SHOW SLAVE STATUS");
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
    const images = [...IMAGES.map((i) => i.image), ROUTER_IMAGE];
    harness = await startHarness(3, images);
    console.log(`e2e hosts: 3 engines in network namespaces with ${images.length} images loaded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

after(async () => {
    for (const hooks of allHooks) hooks.host.stop();
    // The engines go with everything on them: containers, networks, volumes.
    await harness?.stop();
});

/** The host the router runs on: node1, a host that stays up through the failover away from node2. */
const ROUTER_HOST = 0;

/**
 * The dev topology, one member per host, each on the same port of its own host; with `withDb004`, a fourth member
 * on node3 (the next port). `source`: the index of the declared source. The router runs on node1.
 */
function settingsFor(image: TestImage, run: string, hosts: HarnessHost[], port: number, source = 0, withDb004 = false): ReplicaSetSettings {
    const tagSaysVersion = versionFromTag(parseImageReference(image.image)?.tag) !== undefined;
    const placed = [
        { serverId: 100, host: 0, hostPort: port },
        { serverId: 200, host: 1, hostPort: port },
        { serverId: 300, host: 2, hostPort: port },
        ...(withDb004 ? [{ serverId: 400, host: 2, hostPort: port + 1 }] : []),
    ];
    return validateConfig({
        image: image.image,
        ...(tagSaysVersion ? {} : { version: image.version }),
        networkName: `${run}-net`,
        hosts: hosts.map((h) => ({ name: h.name, docker: h.docker, address: h.address })),
        members: placed.map((p, i) => ({
            name: `${run}-db00${i + 1}`,
            role: i === source ? "source" : "replica",
            serverId: p.serverId,
            hostPort: p.hostPort,
            host: hosts[p.host].name,
        })),
        storage: "volume",
        // The default: three servers initialising at once on a loaded 2-core machine took up to 140 s.
        readinessTimeoutSeconds: 300,
        router: "haproxy",
        routerImage: ROUTER_IMAGE,
        routerHost: hosts[ROUTER_HOST].name,
        writerPort: port + 5,
        readerPort: port + 6,
    });
}

interface Run {
    hooks: DockerHooks;
    replication: Applied;
    healthy: boolean;
    replicas: Record<string, ReplicaStatus>;
    rootPassword: string;
}

/** The program once (`previous`: as `pulumi up` on the stack the previous run left). */
async function runProgram(run: string, settings: ReplicaSetSettings, hosts: HarnessHost[], previous?: DockerHooks): Promise<Run & { endpoints: Endpoints }> {
    const engines = Object.fromEntries(hosts.map((h) => [h.docker, h.client]));
    const hooks = new DockerHooks({ docker: local, runId: RUN, projectDir: REPO, engines, previous });
    allHooks.push(hooks);
    await pulumi.runtime.setMocks(hooks, "mysql-replicaset", `e2e-${run}`, false);
    hooks.observeResourceOptions();
    const set = new ReplicaSet(run, { settings });
    const values = Promise.all([valueOf(set.healthy), valueOf(set.replicas), valueOf(set.rootPassword), valueOf(set.endpoints), ...(set.router ? [valueOf(set.router.id)] : [])]);
    await values.catch(() => undefined);
    await runtimeSettings.waitForRPCs().catch(() => undefined);
    const [healthy, replicas, rootPassword, endpoints] = await values;
    return { hooks, replication: hooks.dynamicResource(`${run}-replication`), healthy, replicas, rootPassword, endpoints };
}

IMAGES.forEach((image, index) => {
    const T = image.title;
    const run = `${RUN}${index}`;
    test(`members on three Docker hosts replicate, route, seed, survive a host's loss, switch and fail over ${T}`, { timeout: 20 * 60_000 }, async (t: TestContext) => {
        if (PROBLEM) {
            if (REQUIRED) throw new Error(`E2E_REQUIRED=1 but ${PROBLEM}`);
            console.error(`e2e hosts: SKIPPED: ${PROBLEM}`);
            t.skip(PROBLEM);
            return;
        }
        const hosts = harness!.hosts;
        // Steps share state; once one fails the rest are skipped.
        const step = stepsOf(t, T);
        /** Seconds each step took, printed at the end (the CI budget is measured by these). */
        const timings: string[] = [];
        const timed = (name: string, fn: () => Promise<void>) => step(name, async () => {
            const started = Date.now();
            try {
                await fn();
            } finally {
                timings.push(`${((Date.now() - started) / 1000).toFixed(1)} s  ${name.split(":")[0]}`);
            }
        });

        // One port per flavor: a failed run leaves its containers.
        const port = 3306 + 10 * index;
        const settings = settingsFor(image, run, hosts, port);
        const [db001, db002, db003] = settings.members;
        const db004Name = `${run}-db004`;
        const hostIndex: Record<string, number> = { [db001.name]: 0, [db002.name]: 1, [db003.name]: 2, [db004Name]: 2 };
        const at = (name: string): At => ({ host: hosts[hostIndex[name]].address, port: name === db004Name ? port + 1 : port });
        let first!: Run & { endpoints: Endpoints };
        /** The run whose state the later steps update (the second, once db004 is added). */
        let current!: Run & { endpoints: Endpoints };
        let password = "";
        const routerHost = hosts[ROUTER_HOST];
        const routerLog = async () => `router log:\n${await containerLogTail(routerHost.client.getContainer(`${run}-router`), 40)}`;
        /** The member's container on its host: its id and when it last started (a replacement changes both). */
        const containerOf = async (name: string) => {
            const info = await hosts[hostIndex[name]].client.getContainer(name).inspect();
            return { id: info.Id, startedAt: info.State.StartedAt };
        };

        await timed("run 1: each member's resources on its own host's engine, the router on node1's; the set converges healthy", async () => {
            const started = Date.now();
            first = current = await runProgram(run, settings, hosts);
            password = first.rootPassword;
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
            const router = await routerHost.client.getContainer(`${run}-router`).inspect();
            assert.equal(router.State.Running, true, await routerLog());
            assert.deepEqual(Object.keys(router.HostConfig.PortBindings ?? {}).sort().map((k) => router.HostConfig.PortBindings[k][0]), [
                { HostIp: routerHost.address, HostPort: String(port + 5) },
                { HostIp: routerHost.address, HostPort: String(port + 6) },
            ], "the router publishes on node1's address");
            for (const other of hosts.filter((h) => h !== routerHost)) await assert.rejects(other.client.getContainer(`${run}-router`).inspect(), /no such container|404/i);
            assert.deepEqual(first.endpoints, { writer: `${routerHost.address}:${port + 5}`, reader: `${routerHost.address}:${port + 6}` });
        });

        await timed("each replica replicates from the source host's address; a row written on the source is on both replicas", async () => {
            for (const r of [db002, db003]) {
                const c = await channel(image.kind, at(r.name), password);
                assert.equal(c.source, `${hosts[0].address}:${port}`, `${r.name} points at the source host's address`);
                assert.ok(c.running, `${r.name}'s threads run: ${c.error}`);
                assert.equal(first.replicas[r.name].endpoint, `${at(r.name).host}:${port}`, "the provider reached it at its host's address");
            }
            const source = at(db001.name);
            // One account row per pattern: every host's bridge subnet, and every host's address.
            const accounts = await rows<{ host: string }>(source, password, "SELECT Host AS host FROM mysql.user WHERE User = 'repl'");
            const subnets = await Promise.all(hosts.map(async (h) => cidrToAccountHost((await h.client.getNetwork(settings.networkName).inspect()).IPAM?.Config?.[0]?.Subnet)));
            assert.deepEqual(accounts.map((a) => a.host).sort(), [...new Set([...subnets, ...hosts.map((h) => h.address)])].sort());
            // The router's check account: node1's subnet (db001, by alias) and node1's address (the others).
            const checks = await rows<{ host: string }>(source, password, `SELECT Host AS host FROM mysql.user WHERE User = '${ROUTER_CHECK_USER}'`);
            assert.deepEqual(checks.map((a) => a.host).sort(), [subnets[ROUTER_HOST], routerHost.address].sort());
            await rows(source, password, "CREATE DATABASE IF NOT EXISTS e2e");
            await rows(source, password, "CREATE TABLE IF NOT EXISTS e2e.t (id VARCHAR(64) PRIMARY KEY) ENGINE=InnoDB");
            await rows(source, password, "INSERT INTO e2e.t VALUES ('across-hosts')");
            for (const r of [db002, db003]) {
                await eventually(`the row on ${r.name}`, SETTLE_SECONDS, async () =>
                    (await rows(at(r.name), password, "SELECT id FROM e2e.t WHERE id = 'across-hosts'")).length === 1 || undefined);
            }
        });

        await timed("the router on node1: a row written through the writer is read through the reader, which reaches the replicas on node2 and node3", async () => {
            const { writer, reader } = first.endpoints;
            await eventually("the writer endpoint to reach the source on node1 (by alias)", SETTLE_SECONDS, async () => {
                const [row] = await rows<{ h: string }>(parseAt(writer), password, "SELECT @@hostname AS h");
                return row.h === db001.name ? row : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
            await rows(parseAt(writer), password, "INSERT INTO e2e.t VALUES ('through-writer')");
            const [row] = await eventually("the row through the reader endpoint", SETTLE_SECONDS, async () => {
                const found = await rows<{ id: string; h: string }>(parseAt(reader), password, "SELECT id, @@hostname AS h FROM e2e.t WHERE id = 'through-writer'");
                return found.length === 1 ? found : undefined;
            });
            assert.ok([db002.name, db003.name].includes(row.h), `the reader answered from a replica, not ${row.h}`);
            await eventually("both replicas behind the reader endpoint (db002 at node2's address, db003 at node3's)", SETTLE_SECONDS, async () => {
                if (!(await routerSettled(routerHost.client, `${run}-router`))) return undefined;
                const seen = await hostnamesOver(reader, password, 8);
                return sorted(seen) === sorted([db002.name, db003.name]) ? seen : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
        });

        await timed("with db003's engine stopped, a refresh reports db003 unhealthy and db002 healthy; back, healthy again", async () => {
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

        await timed("seeding across hosts: after a binlog purge on the source, db004 added on node3 is seeded (clone on MySQL, the copy on MariaDB) and replicates", async () => {
            const source = runner(at(db001.name), password);
            // The history, its binary logs purged to the current one (loadHistory waits for the dump threads to move on).
            await loadHistory(source);
            const started = Date.now();
            current = await runProgram(run, settingsFor(image, run, hosts, port, 0, true), hosts, first.hooks);
            console.log(`e2e hosts ${T}: run 2 (db004 created and seeded) took ${((Date.now() - started) / 1000).toFixed(1)} s`);
            assert.equal(current.healthy, true, `the four-member set is healthy: ${JSON.stringify(current.replicas)}`);
            // seedMethod auto: the clone plugin on MySQL 8.0.17+ (its donor dialled at node1's address), the copy elsewhere.
            const method = image.kind === "mysql" ? "clone" : "dump";
            assert.equal(current.replicas[db004Name].seededBy, method, `${db004Name} was seeded by ${method}`);
            assert.equal(current.replicas[db002.name].seededBy, "", "a replica that followed all along is not seeded");
            const c = await channel(image.kind, at(db004Name), password);
            assert.equal(c.source, `${hosts[0].address}:${port}`, `${db004Name} points at the source host's address`);
            const newcomer = runner(at(db004Name), password);
            assert.deepEqual(await checksums(newcomer), await checksums(source), "every table of the copy equals the source's");
            await source.query("INSERT INTO app2.ledger VALUES (900001, 1.50, 'after the seed', b'1', '2026-11-28')");
            await eventually(`the row written after the seed on ${db004Name}`, SETTLE_SECONDS, async () =>
                (await newcomer.query("SELECT id FROM app2.ledger WHERE id = 900001")).length === 1 || undefined);
            // The seed made the router's check account there too (the copy leaves out the mysql schema): the
            // re-rendered router reaches db004 at node3's address.
            await eventually("the three replicas behind the reader endpoint", SETTLE_SECONDS, async () => {
                if (!(await routerSettled(routerHost.client, `${run}-router`))) return undefined;
                const seen = await hostnamesOver(current.endpoints.reader, password, 9);
                return sorted(seen) === sorted([db002.name, db003.name, db004Name]) ? seen : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
        });

        await timed("a switchover to db002 on another host, declared in config: no member's container replaced; db001, db003 and db004 re-pointed at db002's host address", async () => {
            const members = [db001.name, db002.name, db003.name, db004Name];
            const containersBefore = await Promise.all(members.map(containerOf));
            current = await runProgram(run, settingsFor(image, run, hosts, port, 1, true), hosts, current.hooks);
            assert.equal(current.healthy, true, JSON.stringify(current.replicas));
            assert.deepEqual(await Promise.all(members.map(containerOf)), containersBefore, "a member's container was replaced or restarted by the switchover");
            for (const name of [db001.name, db003.name, db004Name]) {
                const c = await channel(image.kind, at(name), password);
                assert.equal(c.source, `${hosts[1].address}:${port}`, `${name} points at db002's host`);
                assert.ok(c.running, `${name}'s threads run: ${c.error}`);
            }
            const [ro] = await rows<{ ro: number }>(at(db001.name), password, "SELECT @@read_only AS ro");
            assert.equal(Number(ro.ro), 1, "the previous source is read-only");
            await rows(at(db002.name), password, "INSERT INTO e2e.t VALUES ('after-switchover')");
            for (const name of [db001.name, db003.name, db004Name]) {
                await eventually(`the switchover row on ${name}`, SETTLE_SECONDS, async () =>
                    (await rows(at(name), password, "SELECT id FROM e2e.t WHERE id = 'after-switchover'")).length === 1 || undefined);
            }
            // The router's configuration followed the declared source: its writer reaches db002 at node2's address.
            await eventually("the writer endpoint to reach db002 on node2", SETTLE_SECONDS, async () => {
                const [row] = await rows<{ h: string }>(parseAt(current.endpoints.writer), password, "SELECT @@hostname AS h");
                return row.h === db002.name ? row : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
        });

        await timed("failover through the component: node2's engine stopped, db003 on node3 declared the source; nothing on node2 changes; no row lost; db002 rejoins when node2 is back", async () => {
            // Every row acknowledged by the source is on every replica before its host goes.
            await rows(at(db002.name), password, "INSERT INTO e2e.t VALUES ('before-failover')");
            for (const name of [db001.name, db003.name, db004Name]) {
                await eventually(`the last row before the failover on ${name}`, SETTLE_SECONDS, async () =>
                    (await rows(at(name), password, "SELECT id FROM e2e.t WHERE id = 'before-failover'")).length === 1 || undefined);
            }
            const expected = (await rows<{ id: string }>(at(db001.name), password, "SELECT id FROM e2e.t ORDER BY id")).map((r) => r.id);
            const toDb003 = settingsFor(image, run, hosts, port, 2, true);
            const onNode2 = (hooks: DockerHooks) => hooks.applied.filter((a) => a.engine === hosts[1].docker).map((a) => `${a.type} ${a.name} ${a.id}`).sort();
            const beforeOnNode2 = onNode2(current.hooks);
            await harness!.stopEngine(hosts[1]);
            const started = Date.now();
            try {
                // As `pulumi up` with the changed config: the hooks replace a resource whose inputs changed (on node2,
                // against an engine that is gone: that fails) and update the replication resource through its provider.
                current = await runProgram(run, toDb003, hosts, current.hooks);
            } catch (error) {
                await harness!.startEngine(hosts[1]);
                throw error;
            }
            console.log(`e2e hosts ${T}: the failover run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
            assert.deepEqual(onNode2(current.hooks), beforeOnNode2, "what node2 carries, kept as it was (same resources, same ids)");
            assert.equal(current.healthy, false, "the dead member keeps the set unhealthy");
            assert.match(current.replicas[db002.name].lastIoError, /fenced .* unreachable/);
            for (const name of [db001.name, db004Name]) assert.equal(replicaHealthy(current.replicas[name]), true, `${name}: ${JSON.stringify(current.replicas[name])}`);
            // node1 dials node3's address; db004, on node3 itself, the alias.
            assert.equal((await channel(image.kind, at(db001.name), password)).source, `${hosts[2].address}:${port}`);
            assert.equal((await channel(image.kind, at(db004Name), password)).source, `${db003.name}:3306`);
            const [writable] = await rows<{ ro: number }>(at(db003.name), password, "SELECT @@read_only AS ro");
            assert.equal(Number(writable.ro), 0, "the new source takes writes");
            assert.deepEqual((await rows<{ id: string }>(at(db003.name), password, "SELECT id FROM e2e.t ORDER BY id")).map((r) => r.id), expected, "no row lost");
            await rows(at(db003.name), password, "INSERT INTO e2e.t VALUES ('after-failover')");
            for (const name of [db001.name, db004Name]) {
                await eventually(`the failover row on ${name}`, SETTLE_SECONDS, async () =>
                    (await rows(at(name), password, "SELECT id FROM e2e.t WHERE id = 'after-failover'")).length === 1 || undefined);
            }
            // The router, on node1, was re-rendered there: its writer reaches db003 at node3's address.
            await eventually("the writer endpoint to reach db003 on node3", SETTLE_SECONDS, async () => {
                const [row] = await rows<{ h: string }>(parseAt(current.endpoints.writer), password, "SELECT @@hostname AS h");
                return row.h === db003.name ? row : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));

            // node2 back: its containers restart with the command they always had (every member starts read-only),
            // so db002 takes no writes; the next run fences it first, then rejoins it.
            await harness!.startEngine(hosts[1]);
            const back = await eventually(`${db002.name} to serve again`, 180, async () =>
                (await rows<{ ro: number }>(at(db002.name), password, "SELECT @@read_only AS ro"))[0]);
            assert.equal(Number(back.ro), 1, `${db002.name} came back writable`);
            const rejoined = await eventually(`${db002.name} to rejoin`, 180, async () => {
                const again = await runProgram(run, toDb003, hosts, current.hooks).catch(() => undefined);
                if (again) current = again;
                return again?.healthy ? again : undefined;
            });
            assert.deepEqual((rejoined.replication.state as unknown as ReplicationState).fenced ?? [], []);
            assert.equal((await channel(image.kind, at(db002.name), password)).source, `${hosts[2].address}:${port}`);
            await eventually(`every row on ${db002.name}`, SETTLE_SECONDS, async () =>
                (await rows(at(db002.name), password, "SELECT id FROM e2e.t WHERE id = 'after-failover'")).length === 1 || undefined);
        });

        await timed("a destroy removes containers and networks on every host and keeps every host's volumes", async () => {
            await current.hooks.destroy();
            for (const m of settingsFor(image, run, hosts, port, 0, true).members) {
                const client = hosts[hostIndex[m.name]].client;
                await assert.rejects(client.getContainer(m.name).inspect(), /no such container|404/i, `${m.name} is gone`);
                for (const kind of ["data", "log"]) await client.getVolume(`${m.name}-${kind}`).inspect(); // retained
            }
            for (const h of hosts) await assert.rejects(h.client.getNetwork(settings.networkName).inspect(), /no such network|404|not found/i, `the network on ${h.name} is gone`);
            await assert.rejects(routerHost.client.getContainer(`${run}-router`).inspect(), /no such container|404/i, "the router is gone");
        });
        console.log(`e2e hosts ${T}: steps\n  ${timings.join("\n  ")}`);
    });
});
