/**
 * Benchmark (issue 8): time from running servers to a verified replica set, the provider against the runbook
 * done by hand, for 1 master + N replicas (N = 1, 2, 4, 8) of real mariadbd servers on loopback.
 *
 *   npm run bench                        the full run: tables to stdout and to bench/results.md
 *   npm run bench -- --reps 3            fewer repetitions (default 5)
 *   npm run bench -- --sizes 1,8         other sizes
 *   npm run bench -- --profile 8         no benchmark: one traced provider create at N = 8, statement by statement
 *   npm run bench -- --out /tmp/r.md     write the results elsewhere
 *   npm run bench -- --seed-only         only the seed benchmark (bench/seed.ts), to stdout
 *   npm run bench -- --seed-profile      no benchmark: one traced update that seeds a replica, statement by statement
 *   npm run bench -- --router-only       only the router benchmark (bench/router.ts: MySQL 9.7 and MariaDB 11.8), to stdout
 *
 * Every timed run gets fresh servers (started, and torn down, outside the timing); the two methods alternate
 * which goes first from one size to the next, so drift in the machine's load falls on both.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { replicationProvider } from "../components/replication/provider";
import type { ReplicationInputs, ReplicationState } from "../components/replication/types";
import { startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../test/support/mariadb";
import { countConnections, traceStatements } from "./instrument";
import { describeMachine, finishMachine, median, renderMarkdown, type CreateRow, type DiffCount, type FailoverRow, type ReadRow } from "./report";
import { runbookByHand } from "./runbook";
import { benchSeed, profileSeed, renderSeed } from "./seed";
import { benchRouter, renderRouter } from "./router";

const ROOT_PASSWORD = "root-secret";
const REPLICATION_PASSWORD = "repl-secret";
/** Timed `read` calls after each provider create at the sizes that report read. */
const READS_PER_RUN = 5;
const READ_SIZES = [1, 8];
const DIFF_CALLS_PER_CASE = 20;

interface Args {
    reps: number;
    sizes: number[];
    profile?: number;
    out: string;
    seedOnly?: boolean;
    seedProfile?: boolean;
    routerOnly?: boolean;
}

function parseArgs(argv: string[]): Args {
    const args: Args = { reps: 5, sizes: [1, 2, 4, 8], out: join(__dirname, "results.md") };
    for (let i = 0; i < argv.length; i++) {
        const value = argv[i + 1];
        switch (argv[i]) {
            case "--reps":
                args.reps = Number(value);
                i++;
                break;
            case "--sizes":
                args.sizes = value.split(",").map(Number);
                i++;
                break;
            case "--profile":
                args.profile = Number(value);
                i++;
                break;
            case "--seed-only":
                args.seedOnly = true;
                break;
            case "--seed-profile":
                args.seedProfile = true;
                break;
            case "--router-only":
                args.routerOnly = true;
                break;
            case "--out":
                args.out = value;
                i++;
                break;
            default:
                throw new Error(`unknown argument ${argv[i]}; see the header of bench/run.ts`);
        }
    }
    if (!Number.isInteger(args.reps) || args.reps < 1) throw new Error("--reps must be a whole number ≥ 1");
    if (args.sizes.some((n) => !Number.isInteger(n) || n < 1)) throw new Error("--sizes must list whole numbers ≥ 1");
    return args;
}

function progress(line: string): void {
    process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
}

/** Fresh servers; a failed start (a flaky install or a port taken meanwhile) is retried twice. */
async function freshCluster(n: number): Promise<MariaCluster> {
    for (let attempt = 1; ; attempt++) {
        try {
            return await startCluster(runbookSpecs(n), { rootPassword: ROOT_PASSWORD, binlogInitialisation: true });
        } catch (error) {
            if (attempt >= 3) throw error;
            progress(`  server start failed (${(error as Error).message.split("\n")[0]}); retrying`);
        }
    }
}

/** Tears servers down outside the timing: their datadirs are thrown away, so no clean shutdown is needed. */
async function discard(cluster: MariaCluster): Promise<void> {
    for (const server of cluster.servers) server.process?.kill("SIGKILL");
    await cluster.destroy();
}

function endpoint(server: MariaServer) {
    // On loopback the replicas reach the source at the same address the provider does.
    return { name: server.name, host: server.host, port: server.port, internalHost: server.host, internalPort: server.port };
}

function providerInputs(cluster: MariaCluster): ReplicationInputs {
    return {
        source: endpoint(cluster.source),
        replicas: cluster.replicas.map(endpoint),
        rootUser: "root",
        rootPassword: ROOT_PASSWORD,
        replicationUser: "repl",
        replicationPassword: REPLICATION_PASSWORD,
        replicationUserHost: "127.0.0.1",
        tls: "auto",
        connectRetrySeconds: 10,
        deadlineSeconds: 60,
        verify: true,
    };
}

async function providerCreate(cluster: MariaCluster): Promise<{ ms: number; id: string; state: ReplicationState }> {
    const inputs = providerInputs(cluster);
    const started = performance.now();
    const { id, outs } = await replicationProvider.create!(inputs);
    const ms = performance.now() - started;
    const state = outs as ReplicationState;
    const notVerified = cluster.replicas.filter((r) => state.replicaStatus[r.name]?.probeLagMs == null);
    if (!state.healthy || notVerified.length > 0) {
        throw new Error(`provider create returned an unhealthy set: ${JSON.stringify(state.replicaStatus)}`);
    }
    return { ms, id, state };
}

async function timedReads(id: string, state: ReplicationState, count: number): Promise<number[]> {
    await replicationProvider.read!(id, state); // warm-up, not counted
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
        const started = performance.now();
        const { props } = await replicationProvider.read!(id, state);
        samples.push(performance.now() - started);
        if (!(props as ReplicationState).healthy) throw new Error(`read reported an unhealthy set: ${JSON.stringify(props.replicaStatus)}`);
    }
    return samples;
}

/**
 * The floor under any refresh that asks every member itself: a bare connect (TCP + handshake + auth) to every
 * member at once, then close — what `read` costs before it runs a single statement.
 */
async function connectFloor(cluster: MariaCluster, count: number): Promise<number[]> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mysql = require("mysql2/promise") as typeof import("mysql2/promise");
    const once = () =>
        Promise.all(
            cluster.servers.map(async (s) => {
                const c = await mysql.createConnection({ host: s.host, port: s.port, user: "root", password: ROOT_PASSWORD, maxPreparedStatements: 1 });
                c.destroy();
            }),
        );
    await once(); // warm-up, not counted
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
        const started = performance.now();
        await once();
        samples.push(performance.now() - started);
    }
    return samples;
}

async function byHand(cluster: MariaCluster): Promise<{ ms: number; invocations: number }> {
    const started = performance.now();
    const result = await runbookByHand({
        source: cluster.source,
        replicas: cluster.replicas,
        rootPassword: ROOT_PASSWORD,
        replicationPassword: REPLICATION_PASSWORD,
    });
    return { ms: performance.now() - started, invocations: result.invocations };
}

async function serverConnections(cluster: MariaCluster, observers: Awaited<ReturnType<MariaServer["connect"]>>[]): Promise<number> {
    let total = 0;
    for (const [i] of cluster.servers.entries()) {
        const [rows] = await observers[i].query("SHOW GLOBAL STATUS LIKE 'Connections'");
        total += Number((rows as Array<{ Value: string }>)[0].Value);
    }
    return total;
}

/** diff on a created set: counted in-process (mysql2, sockets) and on the servers (Connections counter). */
async function countDiffConnections(): Promise<DiffCount> {
    const cluster = await freshCluster(2);
    try {
        const { id, state } = await providerCreate(cluster);
        const inputs = providerInputs(cluster);
        const cases: ReplicationInputs[] = [
            inputs,
            { ...inputs, replicationPassword: "another-secret" },
            { ...inputs, replicas: inputs.replicas.slice(0, 1) },
            { ...inputs, replicas: [...inputs.replicas, { ...inputs.replicas[0], name: "db009", port: 1 }] },
            { ...inputs, source: { ...inputs.source, internalPort: 3307 } },
            { ...inputs, verify: false, deadlineSeconds: 5 },
        ];
        // Observers open before counting starts and are reused, so they add nothing to the counter.
        const observers = await Promise.all(cluster.servers.map((s) => s.connect()));
        try {
            const before = await serverConnections(cluster, observers);
            let calls = 0;
            const counted = await countConnections(async () => {
                for (let i = 0; i < DIFF_CALLS_PER_CASE; i++) {
                    for (const news of cases) {
                        await replicationProvider.diff!(id, state, news);
                        calls++;
                    }
                }
            });
            const after = await serverConnections(cluster, observers);
            return { calls, mysql2: counted.mysql2, sockets: counted.sockets, serverConnections: after - before };
        } finally {
            await Promise.all(observers.map((o) => o.end()));
        }
    } finally {
        await discard(cluster);
    }
}

/** One traced provider create: every connect and statement, with when it started and how long it took. */
async function profile(n: number): Promise<void> {
    const cluster = await freshCluster(n);
    try {
        const names = new Map(cluster.servers.map((s) => [s.port, s.name]));
        const started = performance.now();
        const { trace } = await traceStatements(() => replicationProvider.create!(providerInputs(cluster)));
        const total = performance.now() - started;
        for (const e of trace) {
            process.stdout.write(`${e.at.toFixed(1).padStart(8)} +${e.ms.toFixed(1).padStart(6)} ms  ${(names.get(e.port) ?? e.port).toString().padEnd(6)} ${e.what.slice(0, 110)}\n`);
        }
        const byStatement = new Map<string, { count: number; ms: number; max: number }>();
        for (const e of trace) {
            const key = e.what.replace(/'[^']*'/g, "'…'").replace(/\d+/g, "#").slice(0, 60);
            const s = byStatement.get(key) ?? { count: 0, ms: 0, max: 0 };
            byStatement.set(key, { count: s.count + 1, ms: s.ms + e.ms, max: Math.max(s.max, e.ms) });
        }
        process.stdout.write(`\ncreate at N = ${n}: ${total.toFixed(0)} ms, ${trace.length} connects + statements\n`);
        process.stdout.write("statement (normalised)                                        count  sum ms  max ms\n");
        for (const [key, s] of [...byStatement].sort((a, b) => b[1].max - a[1].max)) {
            process.stdout.write(`${key.padEnd(62)} ${String(s.count).padStart(5)} ${s.ms.toFixed(1).padStart(7)} ${s.max.toFixed(1).padStart(7)}\n`);
        }
    } finally {
        await discard(cluster);
    }
}

async function bench(args: Args): Promise<void> {
    const machine = describeMachine();
    progress(`bench: N = ${args.sizes.join(", ")}, ${args.reps} repetitions; ${machine.cpu}, ${machine.cores} cores, ${machine.mariadbd}, node ${machine.node}; load ${machine.loadBefore}`);

    progress("warm-up (not counted): one provider create and one runbook at N = 1");
    for (const method of [providerCreate, byHand]) {
        const cluster = await freshCluster(1);
        try {
            await method(cluster);
        } finally {
            await discard(cluster);
        }
    }

    const rows: CreateRow[] = args.sizes.map((n) => ({ n, provider: [], byHand: [] }));
    const reads: ReadRow[] = READ_SIZES.filter((n) => args.sizes.includes(n)).map((n) => ({ n, samples: [], connectFloor: [] }));
    for (let rep = 1; rep <= args.reps; rep++) {
        for (const [index, row] of rows.entries()) {
            const providerFirst = (rep + index) % 2 === 1;
            for (const method of providerFirst ? ["provider", "hand"] : ["hand", "provider"]) {
                const cluster = await freshCluster(row.n);
                try {
                    if (method === "provider") {
                        const { ms, id, state } = await providerCreate(cluster);
                        row.provider.push(ms);
                        const lags = Object.values(state.replicaStatus).map((r) => r.probeLagMs);
                        let readNote = "";
                        const readRow = reads.find((r) => r.n === row.n);
                        if (readRow) {
                            const samples = await timedReads(id, state, READS_PER_RUN);
                            const floor = await connectFloor(cluster, READS_PER_RUN);
                            readRow.samples.push(...samples);
                            readRow.connectFloor.push(...floor);
                            readNote = `; read median ${median(samples).toFixed(1)} ms (bare connects ${median(floor).toFixed(1)} ms)`;
                        }
                        progress(`rep ${rep}/${args.reps} N=${row.n} (a) provider create ${ms.toFixed(0)} ms (probe lag ${Math.max(...(lags as number[]))} ms max)${readNote}`);
                    } else {
                        const { ms, invocations } = await byHand(cluster);
                        row.byHand.push(ms);
                        progress(`rep ${rep}/${args.reps} N=${row.n} (b) runbook by hand ${ms.toFixed(0)} ms (${invocations} mysql invocations)`);
                    }
                } finally {
                    await discard(cluster);
                }
            }
        }
    }

    progress("failover: 1 + 4, source killed");
    const failover: FailoverRow = { replicas: 4, samples: [] };
    for (let rep = 1; rep <= args.reps; rep++) {
        const cluster = await freshCluster(4);
        try {
            const { state } = await providerCreate(cluster);
            await cluster.source.stop(true);
            const [dead, promoted, ...others] = cluster.servers;
            const inputs = { ...providerInputs(cluster), source: endpoint(promoted), replicas: [endpoint(dead), ...others.map(endpoint)] };
            const started = performance.now();
            const { outs } = await replicationProvider.update!("id", state, inputs);
            const took = performance.now() - started;
            const following = Object.values((outs as ReplicationState).replicaStatus).filter((r) => r.ioRunning && r.sqlRunning && r.probeLagMs !== null);
            if (following.length !== others.length) throw new Error(`failover left ${following.length} of ${others.length} replicas verified`);
            failover.samples.push(took);
            progress(`rep ${rep}/${args.reps} failover ${took.toFixed(0)} ms`);
        } finally {
            await discard(cluster);
        }
    }

    progress("diff: counting connections");
    const diff = await countDiffConnections();
    progress(`diff: ${diff.calls} calls opened ${diff.mysql2} mysql2 connections, ${diff.sockets} sockets; servers' Connections +${diff.serverConnections}`);

    progress("seed: 10 000 rows, binary logs purged, a replica added");
    const seed = await benchSeed(args.reps, ROOT_PASSWORD, REPLICATION_PASSWORD, progress);

    progress("router: endpoints following fitness");
    const router = await routerBenches(args.reps);

    const markdown = [renderMarkdown(rows, reads, diff, finishMachine(machine), args.reps, failover), ...renderSeed(seed, median), ...renderRouter(router, median)].join("\n");
    process.stdout.write(`\n${markdown}\n`);
    writeFileSync(args.out, markdown);
    progress(`written to ${args.out}`);
}

/** The router's timings on the two flavors the e2e test covers: one caching_sha2_password, one MariaDB. */
async function routerBenches(reps: number) {
    const results = [];
    for (const flavor of ["mysql-9", "mariadb-11"] as const) results.push(await benchRouter(reps, flavor, progress));
    return results;
}

async function main(): Promise<void> {
    const args = parseArgs(process.argv.slice(2));
    if (args.profile !== undefined) await profile(args.profile);
    else if (args.seedProfile) await profileSeed(ROOT_PASSWORD, REPLICATION_PASSWORD);
    else if (args.routerOnly) process.stdout.write(`${renderRouter(await routerBenches(args.reps), median).join("\n")}\n`);
    else if (args.seedOnly) process.stdout.write(`${renderSeed(await benchSeed(args.reps, ROOT_PASSWORD, REPLICATION_PASSWORD, progress), median).join("\n")}\n`);
    else await bench(args);
}

main().then(
    () => process.exit(0),
    (error) => {
        console.error(error);
        process.exit(1);
    },
);
