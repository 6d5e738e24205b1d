/**
 * Benchmark (issue #31): how fast the router's endpoints follow fitness. The real HAProxy of the router's test
 * image (Debian bookworm's haproxy 2.6, from the same cached debootstrap tarball, run with chroot like the
 * integration servers: test/support/rootfs.sh haproxy-2.6) with the configuration render.ts makes, in front of a
 * source and two replicas of real servers on 127.0.0.1. Each repetition times, from the change to the first sample that shows
 * the endpoint moved (a lasting state: each change stays until the next step undoes it):
 *
 * - a replica's applier stopped → out of the reader pool;
 * - a replica's applier held by a global read lock (threads running) → out of the reader pool, from the moment
 *   its lag crosses readerMaxLagSeconds (the last beat it applied + the limit);
 * - the source made read-only → the writer refuses connections;
 * - a replica made writable (the source read-only) → the writer reaches it;
 * - the source writable again → the writer back on it;
 * - the source stopped → the reader on the live replicas (its own pool empty: the replicas' receivers stop, so
 *   none is fit, and the source is down too), from the stop until HAProxy has logged the reader backend empty and
 *   reads reach both replicas.
 *
 * Samples are taken every 50 ms; each is 8 connections opened together through the reader (leastconn spreads held
 * connections over every fit replica), or one through the writer.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as mysql from "mysql2/promise";
import { replicationProvider } from "../components/replication/provider";
import { ROUTER_CHECK_USER } from "../config/accounts";
import { checkFlavorFor } from "../components/router/check";
import { CHECK_TIMING, READER_PORT, renderHaproxyConfig, WRITER_PORT } from "../components/router/render";
import { inputsFor } from "../test/support/replicationInputs";
import { freePort, runbookSpecs, startCluster, type MariaServer, type ServerFlavor } from "../test/support/servers";

/** test/support/image/flavors.sh: the filesystem of mysql-replicaset-test/haproxy:2.6. */
const ROUTER_FLAVOR = "haproxy-2.6";
const LAG_LIMIT_SECONDS = 3;
const SAMPLE_EVERY_MS = 50;
const DEADLINE_MS = 60_000;

export const ROUTER_CASES = [
    "applier stopped → out of the reader",
    "lag over the limit → out of the reader",
    "source read-only → writer refuses",
    "replica writable → writer on it",
    "source writable → writer back on it",
    "source stopped → reader on the live replicas",
] as const;
export type RouterCase = (typeof ROUTER_CASES)[number];

export interface RouterBench {
    flavor: ServerFlavor;
    product: string;
    samples: Record<RouterCase, number[]>;
}

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

/**
 * Before each timed turn to unfit: HAProxy's health of a server that just came up (or of every server when it
 * starts) is the lowest UP value, so one failed check takes it down; after fall − 1 more good checks it takes
 * `fall` failures, as in steady use. Waiting that long (a measurement protocol, not a readiness wait) times the
 * steady case.
 */
const settle = () => sleep(CHECK_TIMING.fall * CHECK_TIMING.intervalMs + CHECK_TIMING.fastIntervalMs);

/** Milliseconds from `since` until `probe` holds; throws after a minute, with what `state` says. */
async function msUntil(what: string, since: number, probe: () => Promise<boolean>, state: () => Promise<string> = async () => ""): Promise<number> {
    for (;;) {
        if (await probe().catch(() => false)) return Date.now() - since;
        if (Date.now() - since > DEADLINE_MS) throw new Error(`router bench: ${what} did not happen within ${DEADLINE_MS} ms ${await state().catch((e: Error) => e.message)}`);
        await sleep(SAMPLE_EVERY_MS);
    }
}

/** The router image's filesystem (shared, cached: nothing is written there but a configuration in its /tmp). */
function routerRootfs(): string {
    return execFileSync("bash", [join(__dirname, "..", "test/support/rootfs.sh"), ROUTER_FLAVOR], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

export async function benchRouter(reps: number, flavor: ServerFlavor, progress: (line: string) => void): Promise<RouterBench> {
    const root = routerRootfs();
    const configFile = `/tmp/router-bench-${process.pid}.cfg`;
    const cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
    let router: ChildProcess | undefined;
    try {
        const created = await replicationProvider.create!(inputsFor(cluster, { routerCheckUser: ROUTER_CHECK_USER, routerCheckReads: ["threads", "heartbeat"] }));
        if (!created.outs.healthy) throw new Error(`router bench: the set is not healthy: ${JSON.stringify(created.outs.replicaStatus)}`);
        const [writerPort, readerPort] = [await freePort(), await freePort()];
        const at = (s: MariaServer) => ({ name: s.name, host: s.host, port: s.port });
        const config = renderHaproxyConfig({
            source: at(cluster.source),
            replicas: cluster.replicas.map(at),
            checkUser: ROUTER_CHECK_USER,
            checkFlavor: checkFlavorFor(cluster.source.runtime.kind, cluster.source.runtime.version),
            readerMaxLagSeconds: LAG_LIMIT_SECONDS,
        })
            // On the host's loopback, on free ports, instead of the container's fixed ones.
            .replace(`bind :${WRITER_PORT}`, `bind 127.0.0.1:${writerPort}`)
            .replace(`bind :${READER_PORT}`, `bind 127.0.0.1:${readerPort}`);
        writeFileSync(join(root, configFile), config);
        router = spawn("chroot", [root, "/usr/sbin/haproxy", "-db", "-f", configFile], { stdio: ["ignore", "ignore", "pipe"] });
        // HAProxy's state changes (stderr): the moment a backend has no server left.
        let events = "";
        router.stderr!.on("data", (chunk: Buffer) => (events += chunk.toString()));
        const emptiedSince = (mark: number, backend: string) => events.slice(mark).includes(`backend '${backend}' has no server available!`);

        const password = cluster.source.rootPassword;
        const open = (port: number) => mysql.createConnection({ host: "127.0.0.1", port, user: "root", password, connectTimeout: 2000 });
        // The servers' @@hostname is the machine's: tell them apart by server_id instead.
        const ids = async (port: number, n: number) => {
            const connections = await Promise.all(Array.from({ length: n }, () => open(port)));
            try {
                return await Promise.all(connections.map(async (c) => Number(((await c.query("SELECT @@server_id AS id"))[0] as Array<{ id: number }>)[0].id)));
            } finally {
                for (const c of connections) c.destroy();
            }
        };
        const idOf = async (s: MariaServer) => Number((await s.query<{ id: number }>("SELECT @@server_id AS id"))[0].id);
        const [sourceId, firstId, secondId] = [await idOf(cluster.source), await idOf(cluster.replicas[0]), await idOf(cluster.replicas[1])];
        const readerIs = (expected: number[]) => async () => [...new Set(await ids(readerPort, 8))].sort().join() === [...expected].sort().join();
        const writerIs = (expected: number) => async () => (await ids(writerPort, 1))[0] === expected;
        const writerRefuses = async () => {
            const started = Date.now();
            const reached = await ids(writerPort, 1).then(() => true, () => false);
            return !reached && Date.now() - started < 1000;
        };
        const maria = cluster.source.runtime.kind === "mariadb";
        const setReadOnly = async (s: MariaServer, on: boolean) => {
            const statements = maria ? [`SET GLOBAL read_only = ${on ? "ON" : "OFF"}`] : on ? ["SET GLOBAL super_read_only = ON"] : ["SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF"];
            for (const sql of statements) await s.query(sql);
        };
        const [first] = cluster.replicas;
        const replicaState = async () =>
            JSON.stringify({
                threads: await first.query(maria ? "SELECT VARIABLE_VALUE AS v FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING'" : "SELECT SERVICE_STATE AS v FROM performance_schema.replication_applier_status"),
                lagMs: await first.query("SELECT TIMESTAMPDIFF(MICROSECOND, beat, NOW(6)) / 1000 AS ms FROM replicaset_probe.heartbeat"),
                sourceBeat: await cluster.source.query("SELECT beat, NOW(6) AS now, @@GLOBAL.read_only AS ro, @@GLOBAL.event_scheduler AS sched FROM replicaset_probe.heartbeat"),
                error: (await first.query<Record<string, unknown>>(maria ? "SHOW SLAVE STATUS" : "SHOW REPLICA STATUS")).map((r) => `${r.Last_IO_Error ?? ""} ${r.Last_SQL_Error ?? ""}`),
            });
        const bothReplicas = [firstId, secondId];

        await msUntil("the router ready", Date.now(), async () => (await readerIs(bothReplicas)()) && (await writerIs(sourceId)()));
        const samples = Object.fromEntries(ROUTER_CASES.map((c) => [c, [] as number[]])) as Record<RouterCase, number[]>;
        for (let rep = 1; rep <= reps; rep++) {
            await settle();
            await first.query(maria ? "STOP SLAVE SQL_THREAD" : "STOP REPLICA SQL_THREAD");
            samples["applier stopped → out of the reader"].push(await msUntil("the stopped replica out", Date.now(), readerIs([secondId])));
            await first.query(maria ? "START SLAVE SQL_THREAD" : "START REPLICA SQL_THREAD");
            await msUntil("the replica back", Date.now(), readerIs(bothReplicas), replicaState);

            await settle();
            const lock = await open(first.port);
            try {
                await lock.query("FLUSH TABLES WITH READ LOCK");
                const beat = async () => Number(((await lock.query("SELECT UNIX_TIMESTAMP(beat) * 1000 AS ms FROM replicaset_probe.heartbeat WHERE id = 1"))[0] as Array<{ ms: string }>)[0].ms);
                const last = await beat();
                const crossesAt = last + LAG_LIMIT_SECONDS * 1000;
                await msUntil("the held replica out", Date.now(), readerIs([secondId]));
                if ((await beat()) !== last) throw new Error("router bench: a beat was applied under the read lock");
                samples["lag over the limit → out of the reader"].push(Math.round(Date.now() - crossesAt));
            } finally {
                await lock.query("UNLOCK TABLES").catch(() => undefined);
                lock.destroy();
            }
            await msUntil("the replica back", Date.now(), readerIs(bothReplicas), replicaState);

            await settle();
            await setReadOnly(cluster.source, true);
            samples["source read-only → writer refuses"].push(await msUntil("the writer refusing", Date.now(), writerRefuses));
            await setReadOnly(first, false);
            samples["replica writable → writer on it"].push(await msUntil("the writer on the replica", Date.now(), writerIs(firstId)));
            await setReadOnly(cluster.source, false);
            samples["source writable → writer back on it"].push(await msUntil("the writer back on the source", Date.now(), writerIs(sourceId)));
            await setReadOnly(first, true);
            // Heartbeats again on every replica before the next repetition.
            await msUntil("both replicas fit again", Date.now(), readerIs(bothReplicas), replicaState);

            await settle();
            const mark = events.length;
            const stopped = Date.now();
            const stopping = cluster.source.stop();
            samples["source stopped → reader on the live replicas"].push(await msUntil("the reader on the live replicas", stopped, async () => emptiedSince(mark, "reader") && (await readerIs(bothReplicas)())));
            await stopping;
            await cluster.source.start();
            await setReadOnly(cluster.source, false);
            await msUntil("the writer back on the restarted source", Date.now(), writerIs(sourceId));
            // Served by reader_any meanwhile: wait for the reader's own pool, which the next repetition times.
            const back = async () => cluster.replicas.every((r) => events.slice(mark).includes(`Server reader/${r.name} is UP`)) && (await readerIs(bothReplicas)());
            await msUntil("both replicas fit after the source's restart", Date.now(), back, replicaState);
            progress(`router rep ${rep}/${reps}: ${ROUTER_CASES.map((c) => `${samples[c][rep - 1]} ms`).join(", ")}`);
        }
        return { flavor, product: cluster.source.runtime.product, samples };
    } finally {
        router?.kill("SIGTERM");
        await cluster.destroy();
        rmSync(join(root, configFile), { force: true });
    }
}

export function renderRouter(results: RouterBench[], median: (xs: number[]) => number): string[] {
    const out = [
        "",
        "## Router: endpoints following fitness",
        "",
        `The router's HAProxy (${ROUTER_FLAVOR}, the router test image's filesystem, run with chroot) with the rendered configuration, a source and two replicas on`,
        `loopback, readerMaxLagSeconds ${LAG_LIMIT_SECONDS}; sampled every ${SAMPLE_EVERY_MS} ms (bench/router.ts). The issue's ceiling is 3 000 ms.`,
        "",
        `| what | ${results.map((r) => `${r.product}: median (min–max) ms`).join(" | ")} |`,
        `|---|${results.map(() => "---|").join("")}`,
    ];
    for (const c of ROUTER_CASES) {
        out.push(`| ${c} | ${results.map((r) => `${median(r.samples[c]).toFixed(0)} (${Math.min(...r.samples[c])}–${Math.max(...r.samples[c])})`).join(" | ")} |`);
    }
    out.push("", `${results[0]?.samples[ROUTER_CASES[0]].length ?? 0} repetitions each.`);
    return out;
}
