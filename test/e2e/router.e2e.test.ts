/**
 * End to end: the router (issue #15) on a real Docker engine, with the HAProxy test image
 * (mysql-replicaset-test/haproxy:2.6, Debian bookworm's haproxy with the official image's contract). One set per
 * server image, reused across steps: writes through the writer endpoint are read through the reader endpoint;
 * the reader endpoint reaches every replica over 8 connections; a stopped replica leaves the reader pool and
 * returns by itself; fitness (issue #31): a stopped applier, or a SOURCE_DELAY over readerMaxLagSeconds, takes a
 * replica out of the reader pool and a fix brings it back; the writer leaves a read-only source (new connections
 * fail fast, held ones are cut), follows a replica made writable, returns to the source when it is writable again,
 * and with two writable members reaches one; after a role swap in config and an update (as `pulumi up`: no member's container changes —
 * the role is part of nothing declared for it —, the replication resource is updated by its provider, the router
 * replaced with the re-rendered configuration), the writer endpoint reaches the new source.
 *
 * Needs a Docker engine; without one it skips loudly, or fails when E2E_REQUIRED=1.
 */
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import * as mysql from "mysql2/promise";
import * as pulumi from "@pulumi/pulumi";
import { validateConfig } from "../../config/validate";
import { parseImageReference, versionFromTag } from "../../config/imageRef";
import type { ReplicaSetSettings } from "../../config/types";
import { ReplicaSet } from "../../components/replicaSet";
import { CHECK_TIMING } from "../../components/router/render";
import { ROUTER_CHECK_USER } from "../../config/accounts";
import { containerLogTail, DockerHooks } from "./dockerHooks";
import { SETTLE_SECONDS, eventually, freePorts, readVersions, removeRun, runtimeSettings, stepsOf, type TestImage, testImages, valueOf } from "./support";

const REPO = resolve(__dirname, "..", "..");
const REQUIRED = process.env.E2E_REQUIRED === "1";
const RUN = `rt${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 5)}`;
const ROUTER_IMAGE = "mysql-replicaset-test/haproxy:2.6";
const LAG_LIMIT_SECONDS = 3;
/**
 * The issue's ceilings are 3 s; a check sees a change within 1.5 s plus its own time (render.ts CHECK_TIMING).
 * Asserted with room for the shared 2-core machine and for the sampling: a ceiling that a check that stopped working,
 * or one run every 30 s, would not pass.
 */
const MOVE_CEILING_MS = 10_000;
const docker = new Docker();

/** MySQL 9.7 (caching_sha2_password, performance_schema) and MariaDB 11.8 (mysql_native_password, Slave_running). */
const IMAGES: TestImage[] = testImages().filter((i) => i.image !== "mysql-replicaset-test/mariadb:10.11");

function prepare(): { engine?: string; problem?: string } {
    let engine: string;
    try {
        engine = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 }).trim();
    } catch (error) {
        for (const i of IMAGES) i.title = `[${i.image}]`;
        return { problem: `no Docker engine answers (${(error as Error).message.split("\n")[0]}); start one with scripts/dockerd.sh start` };
    }
    try {
        execFileSync("bash", [join(REPO, "test/support/image/build-image.sh"), ...IMAGES.map((i) => i.image), ROUTER_IMAGE], { stdio: ["ignore", "ignore", "inherit"], timeout: 25 * 60_000 });
    } catch (error) {
        for (const i of IMAGES) i.title = `[${i.image}]`;
        return { engine, problem: `building the test images failed: ${(error as Error).message}` };
    }
    readVersions(IMAGES);
    return { engine };
}
const PREPARED = prepare();

/** 1 source + 2 replicas with the router on free ports. */
async function settingsWithRouter(image: TestImage, run: string): Promise<ReplicaSetSettings> {
    const [p1, p2, p3, writerPort, readerPort] = await freePorts(5);
    const tagSaysVersion = versionFromTag(parseImageReference(image.image)?.tag) !== undefined;
    return validateConfig({
        image: image.image,
        ...(tagSaysVersion ? {} : { version: image.version }),
        networkName: `${run}-net`,
        members: [
            { name: `${run}-db001`, role: "source", serverId: 100, hostPort: p1 },
            { name: `${run}-db002`, role: "replica", serverId: 200, hostPort: p2 },
            { name: `${run}-db003`, role: "replica", serverId: 300, hostPort: p3 },
        ],
        // Generous: MySQL's first initialisation took over 120 s on the shared 2-core machine under load.
        readinessTimeoutSeconds: 300,
        deleteDataOnDestroy: true,
        router: "haproxy",
        routerImage: ROUTER_IMAGE,
        // Small, so a SOURCE_DELAY of a few seconds crosses it; over the 1 s heartbeat with room for a loaded machine.
        readerMaxLagSeconds: LAG_LIMIT_SECONDS,
        writerPort,
        readerPort,
    });
}

const allHooks: DockerHooks[] = [];

async function runProgram(run: string, settings: ReplicaSetSettings, passwords: { rootPassword: string; replicationPassword: string }, previous?: DockerHooks) {
    const hooks = new DockerHooks({ docker, runId: RUN, projectDir: REPO, previous });
    allHooks.push(hooks);
    await pulumi.runtime.setMocks(hooks, "mysql-replicaset", `e2e-${run}`, false);
    hooks.observeResourceOptions();
    const set = new ReplicaSet(run, { settings, ...passwords });
    const values = Promise.all([valueOf(set.healthy), valueOf(set.endpoints), valueOf(set.router!.id)]);
    await values.catch(() => undefined);
    await runtimeSettings.waitForRPCs().catch(() => undefined);
    const [healthy, endpoints] = await values;
    return { hooks, healthy, endpoints };
}

function hostPort(endpoint: string): { host: string; port: number } {
    const i = endpoint.lastIndexOf(":");
    return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
}

async function onEndpoint<T = Record<string, unknown>>(endpoint: string, password: string, sql: string): Promise<T[]> {
    const connection = await mysql.createConnection({ ...hostPort(endpoint), user: "root", password, connectTimeout: 3000 });
    connection.on("error", () => undefined);
    try {
        const [result] = await connection.query(sql);
        return result as T[];
    } finally {
        await connection.end().catch(() => connection.destroy());
    }
}

/** The @@hostname of each of `n` connections opened together (held open, so leastconn spreads them). */
async function hostnamesOver(endpoint: string, password: string, n: number): Promise<string[]> {
    const connections = await Promise.all(
        Array.from({ length: n }, () => mysql.createConnection({ ...hostPort(endpoint), user: "root", password, connectTimeout: 3000 })),
    );
    try {
        const names: string[] = [];
        for (const c of connections) {
            c.on("error", () => undefined);
            const [rows] = await c.query("SELECT @@hostname AS h");
            names.push(String((rows as Array<{ h: string }>)[0].h));
        }
        return names;
    } finally {
        await Promise.all(connections.map((c) => c.end().catch(() => c.destroy())));
    }
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

/** An open connection through an endpoint, held: where it landed, and whether the router has cut it since. */
async function holdConnection(endpoint: string, password: string): Promise<{ host: string; alive: () => Promise<boolean>; close: () => void }> {
    const c = await mysql.createConnection({ ...hostPort(endpoint), user: "root", password, connectTimeout: 3000 });
    c.on("error", () => undefined);
    const [rows] = await c.query("SELECT @@hostname AS h");
    return {
        host: String((rows as Array<{ h: string }>)[0].h),
        alive: async () => c.query("SELECT 1").then(() => true, () => false),
        close: () => c.destroy(),
    };
}

/** Connections through the writer until one lands on `host` (held), the others closed. */
async function holdOn(endpoint: string, password: string, host: string): Promise<Awaited<ReturnType<typeof holdConnection>>> {
    return eventually(`a connection through ${endpoint} on ${host}`, SETTLE_SECONDS, async () => {
        const held = await holdConnection(endpoint, password);
        if (held.host === host) return held;
        held.close();
        return undefined;
    });
}

/** Milliseconds from `since` until `probe` holds (a lasting state: the caller makes it so). */
async function msUntil(what: string, since: number, probe: () => Promise<boolean>): Promise<number> {
    await eventually(what, SETTLE_SECONDS, async () => ((await probe()) ? true : undefined));
    return Date.now() - since;
}

after(async () => {
    for (const hooks of allHooks) hooks.host.stop();
    try {
        await removeRun(docker, RUN);
    } catch (error) {
        if (allHooks.length > 0) console.error(`router e2e cleanup of run ${RUN} failed: ${(error as Error).message}`);
    }
});

IMAGES.forEach((image, index) => {
    const T = image.title;
    const run = `${RUN}${index}`;
    test(`the router's endpoints follow the set on a real Docker engine ${T}`, { timeout: 15 * 60_000 }, async (t: TestContext) => {
        if (!PREPARED.engine) {
            const message = PREPARED.problem ?? "no Docker engine";
            if (REQUIRED) throw new Error(`E2E_REQUIRED=1 but ${message}`);
            console.error(`e2e: SKIPPED: ${message}`);
            t.skip(message);
            return;
        }
        if (PREPARED.problem) throw new Error(PREPARED.problem);

        // Steps share state; once one fails the rest are skipped.
        const step = stepsOf(t, T);

        const settings = await settingsWithRouter(image, run);
        const [source, ...replicas] = settings.members;
        const passwords = { rootPassword: "root-pw-e2e-router", replicationPassword: "repl-pw-e2e-router" };
        let first: Awaited<ReturnType<typeof runProgram>>;
        const routerLog = async () => `router log:\n${await containerLogTail(docker.getContainer(`${run}-router`), 40)}`;

        await step("the set with router: haproxy is up, healthy, and exports its endpoints", async () => {
            first = await runProgram(run, settings, passwords);
            assert.equal(first.healthy, true);
            assert.deepEqual(first.endpoints, { writer: `127.0.0.1:${settings.writerPort}`, reader: `127.0.0.1:${settings.readerPort}` });
            const info = await docker.getContainer(`${run}-router`).inspect();
            assert.equal(info.State.Running, true, await routerLog());
            // The check account: host limited to the network, on every member (replicated).
            for (const m of settings.members) {
                const grants = await onEndpoint<Record<string, string>>(`127.0.0.1:${m.hostPort}`, passwords.rootPassword,
                    `SELECT CONCAT(User, '@', Host) AS who FROM mysql.user WHERE User = '${ROUTER_CHECK_USER}'`);
                assert.equal(grants.length, 1, `${m.name} has the check account`);
                assert.match(String(grants[0].who), /^replicaset_check@\d+\.\d+\.\d+\.\d+\/[\d.]+$/, `${m.name}: host limited to the network`);
            }
        });

        await step("the writer endpoint reaches the declared source; rows written through it are read through the reader", async () => {
            const { writer, reader } = first.endpoints;
            await eventually("the writer endpoint to reach the source", SETTLE_SECONDS, async () => {
                const [row] = await onEndpoint<{ h: string }>(writer, passwords.rootPassword, "SELECT @@hostname AS h");
                return row.h === source.name ? row : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
            await onEndpoint(writer, passwords.rootPassword, "CREATE DATABASE IF NOT EXISTS app");
            await onEndpoint(writer, passwords.rootPassword, "CREATE TABLE IF NOT EXISTS app.t (id VARCHAR(32) PRIMARY KEY)");
            await onEndpoint(writer, passwords.rootPassword, "INSERT INTO app.t VALUES ('through-writer')");
            const [row] = await eventually("the row through the reader endpoint", SETTLE_SECONDS, async () => {
                const found = await onEndpoint<{ id: string; h: string }>(reader, passwords.rootPassword, "SELECT id, @@hostname AS h FROM app.t");
                return found.length === 1 ? found : undefined;
            });
            assert.equal(row.id, "through-writer");
            assert.ok(replicas.some((r) => r.name === row.h), `the reader endpoint answered from a replica, not ${row.h}`);
        });

        await step("over 8 connections the reader endpoint reaches every replica, and never the source while they are up", async () => {
            const names = await eventually("every replica behind the reader endpoint", SETTLE_SECONDS, async () => {
                const seen = await hostnamesOver(first.endpoints.reader, passwords.rootPassword, 8);
                return sorted(seen).join() === sorted(replicas.map((r) => r.name)).join() ? seen : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
            assert.equal(names.length, 8);
            // The wait above kept only a sample without the source: a fresh one must have none either.
            const again = await hostnamesOver(first.endpoints.reader, passwords.rootPassword, 8);
            assert.ok(!again.includes(source.name), `the source answered on the reader endpoint with every replica up: ${again.join(", ")}`);
        });

        await step("a stopped replica leaves the reader pool within seconds; with none up the source serves reads; they return by themselves", async () => {
            const [stopped, other] = replicas;
            await docker.getContainer(stopped.name).stop({ t: 10 });
            const leftAfter = Date.now();
            await eventually(`${stopped.name} to leave the reader pool`, SETTLE_SECONDS, async () => {
                const seen = await hostnamesOver(first.endpoints.reader, passwords.rootPassword, 8);
                return sorted(seen).join() === other.name ? seen : undefined;
            });
            const tookMs = Date.now() - leftAfter;
            console.log(`router e2e ${T}: ${stopped.name} out of the reader pool ${tookMs} ms after docker stop returned`);
            // The checks take it out in about (fall + 1) × interval (3 s); the bound is ten times that, so a loaded
            // machine passes and a check that stopped working (or runs every 30 s) does not.
            const bound = 10 * (CHECK_TIMING.fall + 1) * CHECK_TIMING.intervalMs;
            assert.ok(tookMs < bound, `${stopped.name} left the reader pool after ${tookMs} ms (bound ${bound} ms)`);
            // The source is a backup server of the reader: it answers only once no replica is up.
            await docker.getContainer(other.name).stop({ t: 10 });
            await eventually("the source behind the reader endpoint with no replica up", SETTLE_SECONDS, async () => {
                const seen = await hostnamesOver(first.endpoints.reader, passwords.rootPassword, 4);
                return sorted(seen).join() === source.name ? seen : undefined;
            });
            await Promise.all([docker.getContainer(stopped.name).start(), docker.getContainer(other.name).start()]);
            await eventually("both replicas back in the reader pool, and the source out of it", SETTLE_SECONDS, async () => {
                const seen = await hostnamesOver(first.endpoints.reader, passwords.rootPassword, 8);
                return sorted(seen).join() === sorted(replicas.map((r) => r.name)).join() ? seen : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
        });

        const direct = (m: { hostPort: number }, sql: string) => onEndpoint(`127.0.0.1:${m.hostPort}`, passwords.rootPassword, sql);
        const maria = image.kind === "mariadb";
        const timings: string[] = [];
        const readerSees = async (names: string[]) => sorted(await hostnamesOver(first.endpoints.reader, passwords.rootPassword, 8)).join() === sorted(names).join();
        const writerHost = async () => (await onEndpoint<{ h: string }>(first.endpoints.writer, passwords.rootPassword, "SELECT @@hostname AS h"))[0].h;
        const writerReaches = (name: string) => async () => writerHost().then((h) => h === name, () => false);
        const readOnly = (on: boolean) => (maria ? [`SET GLOBAL read_only = ${on ? "ON" : "OFF"}`] : on ? ["SET GLOBAL super_read_only = ON"] : ["SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"]);
        /** How often the router's log has said `<backend>/<server> is UP` so far. */
        const upCount = async (server: string) => (await containerLogTail(docker.getContainer(`${run}-router`), 100_000)).split(`${server} is UP`).length - 1;
        const setReadOnly = async (m: { hostPort: number }, on: boolean) => {
            for (const sql of readOnly(on)) await direct(m, sql);
        };

        await step("a stopped applier takes a replica out of the reader pool within seconds, its clients cut; a restart brings it back", async () => {
            const [stopped, other] = replicas;
            await eventually("both replicas in the reader pool", SETTLE_SECONDS, async () => ((await readerSees(replicas.map((r) => r.name))) ? true : undefined));
            const held = await holdOn(first.endpoints.reader, passwords.rootPassword, stopped.name);
            try {
                await direct(stopped, maria ? "STOP SLAVE SQL_THREAD" : "STOP REPLICA SQL_THREAD");
                const out = await msUntil(`${stopped.name} out of the reader pool`, Date.now(), () => readerSees([other.name]));
                timings.push(`applier stopped -> out of the reader pool: ${out} ms`);
                assert.ok(out < MOVE_CEILING_MS, `${stopped.name} left the reader pool ${out} ms after its applier stopped`);
                assert.equal(await held.alive(), false, "a connection held on the unfit replica is cut");
                // A lasting state: a fresh sample still has it out.
                assert.ok(await readerSees([other.name]));
            } finally {
                held.close();
                await direct(stopped, maria ? "START SLAVE SQL_THREAD" : "START REPLICA SQL_THREAD");
            }
            const back = await msUntil(`${stopped.name} back in the reader pool`, Date.now(), () => readerSees(replicas.map((r) => r.name)));
            timings.push(`applier started -> back in the reader pool: ${back} ms`);
        });

        await step(`a SOURCE_DELAY over readerMaxLagSeconds (${LAG_LIMIT_SECONDS}) takes a replica out while its threads run; no delay brings it back`, async () => {
            const [delayed, other] = replicas;
            const delay = (seconds: number) =>
                maria
                    ? ["STOP SLAVE", `CHANGE MASTER TO MASTER_DELAY = ${seconds}`, "START SLAVE"]
                    : ["STOP REPLICA", `CHANGE REPLICATION SOURCE TO SOURCE_DELAY = ${seconds}`, "START REPLICA"];
            const lagMs = async () => Number((await direct(delayed, "SELECT TIMESTAMPDIFF(MICROSECOND, beat, NOW(6)) / 1000 AS ms FROM replicaset_probe.heartbeat WHERE id = 1"))[0]?.ms ?? NaN);
            for (const sql of delay(3 * LAG_LIMIT_SECONDS)) await direct(delayed, sql);
            try {
                // The restart of its threads may take it out for a moment already: what counts is that it is out
                // with both threads running and its lag over the limit, and stays out.
                await eventually(`${delayed.name} out of the reader pool with its lag over ${LAG_LIMIT_SECONDS} s`, SETTLE_SECONDS, async () =>
                    (await lagMs()) > LAG_LIMIT_SECONDS * 1000 && (await readerSees([other.name])) ? true : undefined);
                const threads = maria
                    ? await direct(delayed, "SELECT VARIABLE_VALUE AS v FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING'")
                    : await direct(delayed, "SELECT IF(c.SERVICE_STATE = 'ON' AND a.SERVICE_STATE = 'ON', 'ON', 'OFF') AS v FROM performance_schema.replication_connection_status c JOIN performance_schema.replication_applier_status a USING (CHANNEL_NAME)");
                assert.equal(String(threads[0].v), "ON", "out for its lag, with both threads running");
                assert.ok((await lagMs()) > LAG_LIMIT_SECONDS * 1000);
                assert.ok(await readerSees([other.name]), "still out");
            } finally {
                for (const sql of delay(0)) await direct(delayed, sql);
            }
            const back = await msUntil(`${delayed.name} back in the reader pool`, Date.now(), () => readerSees(replicas.map((r) => r.name)));
            timings.push(`delay removed -> back in the reader pool: ${back} ms`);
        });

        await step("a replica whose applier is held (threads running) leaves the reader pool within seconds of its lag crossing the limit", async () => {
            const [held, other] = replicas;
            await eventually("both replicas in the reader pool", SETTLE_SECONDS, async () => ((await readerSees(replicas.map((r) => r.name))) ? true : undefined));
            // A global read lock on the replica holds its applier at the next beat, its threads still ON: the lag
            // then grows from the last beat applied, so the moment it crosses the limit is that beat + the limit.
            const lock = await mysql.createConnection({ host: "127.0.0.1", port: held.hostPort, user: "root", password: passwords.rootPassword });
            lock.on("error", () => undefined);
            try {
                await lock.query("FLUSH TABLES WITH READ LOCK");
                const beatMs = async () => Number(((await lock.query("SELECT UNIX_TIMESTAMP(beat) * 1000 AS ms FROM replicaset_probe.heartbeat WHERE id = 1"))[0] as Array<{ ms: string }>)[0].ms);
                // The beat applied last, once no newer one can be (the applier waits for the lock).
                const lastBeat = await eventually("the applier held", SETTLE_SECONDS, async () => {
                    const a = await beatMs();
                    await new Promise((ok) => setTimeout(ok, 1500));
                    return (await beatMs()) === a ? a : undefined;
                });
                const crossesAt = lastBeat + LAG_LIMIT_SECONDS * 1000;
                assert.ok(Date.now() < crossesAt + 1000, "the lag crossed the limit before the measurement began");
                await eventually(`${held.name} out of the reader pool`, SETTLE_SECONDS, async () => ((await readerSees([other.name])) ? true : undefined));
                const out = Math.round(Date.now() - crossesAt);
                timings.push(`lag over the limit (applier held) -> out of the reader pool: ${out} ms`);
                assert.ok(out > 0, `${held.name} left the reader pool ${-out} ms before its lag crossed the limit`);
                assert.ok(out < MOVE_CEILING_MS, `${held.name} left the reader pool ${out} ms after its lag crossed the limit`);
            } finally {
                await lock.query("UNLOCK TABLES").catch(() => undefined);
                await lock.end().catch(() => lock.destroy());
            }
            const back = await msUntil(`${held.name} back in the reader pool`, Date.now(), () => readerSees(replicas.map((r) => r.name)));
            timings.push(`applier released -> back in the reader pool: ${back} ms`);
        });

        await step("the writer leaves a read-only source (new connections fail fast, held ones are cut) and follows a replica made writable", async () => {
            // The later replica in declared order first: the earlier one turning writable after it must not take over.
            const [earlier, promoted] = replicas;
            assert.equal(await writerHost(), source.name);
            const held = await holdOn(first.endpoints.writer, passwords.rootPassword, source.name);
            try {
                await setReadOnly(source, true);
                const refused = async () => {
                    const started = Date.now();
                    const reached = await writerHost().then(() => true, () => false);
                    return !reached && Date.now() - started < 2000;
                };
                const out = await msUntil("the writer to refuse connections fast", Date.now(), refused);
                timings.push(`source read-only -> writer refuses: ${out} ms`);
                assert.ok(out < MOVE_CEILING_MS, `the writer refused ${out} ms after the source became read-only`);
                assert.equal(await held.alive(), false, "a connection held on the read-only source is cut");
                const started = Date.now();
                await assert.rejects(writerHost());
                assert.ok(Date.now() - started < 2000, `a refused connection took ${Date.now() - started} ms`);
            } finally {
                held.close();
            }
            await setReadOnly(promoted, false);
            const moved = await msUntil(`the writer on ${promoted.name}`, Date.now(), writerReaches(promoted.name));
            timings.push(`replica writable -> writer on it: ${moved} ms`);
            assert.ok(moved < MOVE_CEILING_MS, `the writer reached ${promoted.name} ${moved} ms after it became writable`);
            // Two writable replicas, the source read-only: the writer stays on the one it went to, held and new
            // connections alike, although the other comes first in declared order — once HAProxy has seen that one
            // fit (its log says so), or the assertions below could not fail.
            const heldOnPromoted = await holdOn(first.endpoints.writer, passwords.rootPassword, promoted.name);
            const upBefore = await upCount(`writer/${earlier.name}`);
            await setReadOnly(earlier, false);
            try {
                await eventually(`HAProxy to mark writer/${earlier.name} up`, SETTLE_SECONDS, async () => ((await upCount(`writer/${earlier.name}`)) > upBefore ? true : undefined));
                const names = await hostnamesOver(first.endpoints.writer, passwords.rootPassword, 8);
                assert.deepEqual(sorted(names), [promoted.name], `both replicas writable, the writer reached ${names.join(", ")}`);
                assert.equal(await heldOnPromoted.alive(), true, `the connection held on ${promoted.name} stays`);
            } finally {
                heldOnPromoted.close();
                await setReadOnly(earlier, true);
            }
        });

        await step("the source writable again takes the writer back at once: with two writable members the writer reaches only one", async () => {
            const promoted = replicas[1];
            const held = await holdOn(first.endpoints.writer, passwords.rootPassword, promoted.name);
            // The replica stays fit for the writer throughout: it stays writable, so HAProxy keeps it up.
            const downBefore = (await containerLogTail(docker.getContainer(`${run}-router`), 100_000)).split(`writer/${promoted.name} is DOWN`).length;
            try {
                await setReadOnly(source, false);
                const back = await msUntil("the writer back on the source", Date.now(), writerReaches(source.name));
                timings.push(`source writable -> writer back on it: ${back} ms`);
                assert.ok(back < MOVE_CEILING_MS, `the writer returned ${back} ms after the source became writable`);
                assert.equal(await held.alive(), false, "the connection held on the replica is cut when the source takes the writer back");
                const names = await hostnamesOver(first.endpoints.writer, passwords.rootPassword, 8);
                assert.deepEqual(sorted(names), [source.name], `both ${source.name} and ${promoted.name} writable, the writer reached ${names.join(", ")}`);
                const [row] = await direct(promoted, "SELECT @@GLOBAL.read_only AS ro");
                assert.equal(Number(row.ro), 0, `${promoted.name} is still writable`);
                assert.equal((await containerLogTail(docker.getContainer(`${run}-router`), 100_000)).split(`writer/${promoted.name} is DOWN`).length, downBefore, `HAProxy still has ${promoted.name} up`);
            } finally {
                held.close();
                await setReadOnly(promoted, true);
            }
            await eventually("both replicas back in the reader pool (heartbeats again)", SETTLE_SECONDS, async () => ((await readerSees(replicas.map((r) => r.name))) ? true : undefined));
            console.log(`router e2e ${T} timings:\n  ${timings.join("\n  ")}`);
        });

        await step("after a role swap in config and an update, the writer endpoint reaches the new source", async () => {
            const promoted = replicas[0];
            const swapped: ReplicaSetSettings = {
                ...settings,
                members: settings.members.map((m) => ({ ...m, role: m.name === promoted.name ? "source" : "replica" })),
            };
            const configBefore = (await docker.getContainer(`${run}-router`).inspect()).Id;
            const membersBefore = await Promise.all(settings.members.map(async (m) => (await docker.getContainer(m.name).inspect()).Id));
            const second = await runProgram(run, swapped, passwords, first.hooks);
            assert.equal(second.healthy, true);
            assert.notEqual((await docker.getContainer(`${run}-router`).inspect()).Id, configBefore, "the router was replaced with the re-rendered configuration");
            const membersAfter = await Promise.all(settings.members.map(async (m) => (await docker.getContainer(m.name).inspect()).Id));
            assert.deepEqual(membersAfter, membersBefore, "a member's container was replaced by the role swap");
            await eventually("the writer endpoint to reach the new source", SETTLE_SECONDS, async () => {
                const [row] = await onEndpoint<{ h: string; ro: number }>(second.endpoints.writer, passwords.rootPassword, "SELECT @@hostname AS h, @@read_only AS ro");
                return row.h === promoted.name ? row : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
            await onEndpoint(second.endpoints.writer, passwords.rootPassword, "INSERT INTO app.t VALUES ('after-swap')");
            const names = await eventually("the old source among the readers", SETTLE_SECONDS, async () => {
                const seen = await hostnamesOver(second.endpoints.reader, passwords.rootPassword, 8);
                return sorted(seen).join() === sorted([source.name, replicas[1].name]).join() ? seen : undefined;
            });
            assert.ok(!names.includes(promoted.name));
            await eventually("the new row through the reader", SETTLE_SECONDS, async () => {
                const rows = await onEndpoint<{ id: string }>(second.endpoints.reader, passwords.rootPassword, "SELECT id FROM app.t WHERE id = 'after-swap'");
                return rows.length === 1 ? rows : undefined;
            });
            await second.hooks.destroy();
        });
    });
});
