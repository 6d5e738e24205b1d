/**
 * Seed benchmark (issue 18): a replica added to a source whose binary logs are purged (10 000 rows in two
 * schemas, test/support/seedData.ts), on the bench's servers (Debian's mariadbd on loopback):
 *   (a) the provider: `update` adding the replica — seed (consistent copy), attach, probe row verified
 *   (b) by hand: `mariadb-dump --single-transaction --routines --triggers --events --databases app1 app2 | mariadb`
 *       into another fresh replica of the same source, in the same run (copy only: no position, no replication)
 * Fresh servers per repetition; the two alternate which goes first.
 */
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { replicationProvider } from "../components/replication/provider";
import { seedLog } from "../components/replication/seed";
import type { ReplicationInputs, ReplicationState } from "../components/replication/types";
import { startCluster, runbookSpecs, type MariaServer } from "../test/support/mariadb";
import { HISTORY_TABLES, loadHistory } from "../test/support/seedData";
import { traceStatements } from "./instrument";

export interface SeedBench {
    provider: number[];
    /** The seed alone, from the provider's own "done by dump in" line. */
    seedOnly: number[];
    byHand: number[];
    /**
     * (a) cut at the seed's progress lines: per stage (named by the line that opens it), one sample per repetition of
     * its wall time and of the CPU of the provider process, the source and the replica during it.
     */
    stages: Map<string, { ms: number[]; cpu: number[][] }>;
    /** CPU ms per repetition: (a) this process (the provider), the source, the seeded replica; (b) the pipe's two clients, the source, the target. */
    cpu: { provider: number[][]; byHand: number[][] };
    /** os.loadavg() before and after the run, "1 / 5 / 15". */
    loadBefore?: string;
    loadAfter?: string;
}

function endpoint(s: MariaServer) {
    return { name: s.name, host: s.host, port: s.port, internalHost: s.host, internalPort: s.port };
}

/**
 * mariadb-dump | mariadb between two servers; resolves when the load has finished, with the CPU ms the two clients
 * used (bash's `times`: its children's user and system time).
 */
function dumpPipe(source: MariaServer, target: MariaServer, password: string): Promise<number> {
    const dump = `mariadb-dump -h${source.host} -P${source.port} -uroot -p'${password}' --single-transaction --routines --triggers --events --databases app1 app2`;
    const load = `mariadb -h${target.host} -P${target.port} -uroot -p'${password}'`;
    return new Promise((resolve, reject) =>
        execFile("bash", ["-o", "pipefail", "-c", `${dump} | ${load} && times`], (error, stdout, stderr) => {
            if (error) return reject(new Error(`dump | load failed: ${stderr || error.message}`));
            // `times`: the shell's own user/system, then its children's, e.g. "0m0.123s 0m0.045s".
            const children = stdout.trim().split("\n").pop() ?? "";
            const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
            resolve(seconds * 1000);
        }),
    );
}

async function checksums(server: MariaServer): Promise<string> {
    return JSON.stringify((await server.query<{ Checksum: string }>(`CHECKSUM TABLE ${HISTORY_TABLES.join(", ")}`)).map((r) => String(r.Checksum)));
}

function seedInputs(source: MariaServer, replicas: MariaServer[], rootPassword: string, replicationPassword: string): ReplicationInputs {
    return {
        source: endpoint(source), replicas: replicas.map(endpoint), rootUser: "root", rootPassword, replicationUser: "repl",
        replicationPassword, replicationUserHost: "127.0.0.1", tls: "auto", connectRetrySeconds: 1, deadlineSeconds: 120, verify: true,
        heartbeatIntervalMs: 1000,
    };
}

/** CPU time (user + system, ms) used so far by processes (Linux /proc, every thread; 0 for one unreadable). */
function cpuMs(pids: number[]): number {
    return pids.reduce((sum, pid) => {
        try {
            const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
            return sum + (Number(fields[11]) + Number(fields[12])) * 10; // USER_HZ is 100 on Linux
        } catch {
            return sum;
        }
    }, 0);
}

/** A process and its descendants (a server started through a wrapper, e.g. chroot), read once. */
function processTree(pid: number | undefined): number[] {
    if (pid === undefined) return [];
    const parents = new Map<number, number>();
    for (const entry of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
        try {
            parents.set(Number(entry), Number(readFileSync(`/proc/${entry}/stat`, "utf8").replace(/^.*\) /, "").split(" ")[1]));
        } catch {
            // gone meanwhile
        }
    }
    const tree = [pid];
    for (let i = 0; i < tree.length; i++) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
    return tree;
}

function treeCpuMs(pid: number | undefined): number {
    return cpuMs(processTree(pid));
}

/** CPU used by this process, the servers and (through bash's `times`) the pipe's clients while `fn` runs. */
async function cpuDuring<T>(servers: MariaServer[], fn: () => Promise<T>): Promise<{ value: T; node: number; servers: number[] }> {
    const nodeBefore = process.cpuUsage();
    const before = servers.map((s) => treeCpuMs(s.process?.pid));
    const value = await fn();
    const node = process.cpuUsage(nodeBefore);
    return { value, node: (node.user + node.system) / 1000, servers: servers.map((s, i) => treeCpuMs(s.process?.pid) - before[i]) };
}

/**
 * `npm run bench -- --seed-profile`: one traced `update` that seeds a replica (as in benchSeed, after one seed not
 * traced, so the code is warm), every connect and
 * statement with when it started and how long it took (high-resolution clock), the seed's progress lines among
 * them, then the time between consecutive progress lines (the seed's stages) and the statements by kind.
 */
export async function profileSeed(rootPassword: string, replicationPassword: string): Promise<void> {
    const cluster = await startCluster(runbookSpecs(4), { rootPassword, binlogInitialisation: true });
    const write = seedLog.write;
    try {
        const [source, first, warm, seeded, byHand] = cluster.servers;
        const names = new Map(cluster.servers.map((s) => [s.port, s.name]));
        let state = (await replicationProvider.create!(seedInputs(source, [first], rootPassword, replicationPassword))).outs as ReplicationState;
        await loadHistory(source);
        // A first seed, not traced: the code of the one traced is warm (compiled), as in the bench's later repetitions.
        seedLog.write = () => undefined;
        state = (await replicationProvider.update!("id", state, seedInputs(source, [first, warm], rootPassword, replicationPassword))).outs as ReplicationState;
        const lines: Array<{ at: number; line: string }> = [];
        // CPU of the provider, the source and the replica at each stage line: where each stage's CPU goes.
        const trees = [processTree(source.process?.pid), processTree(seeded.process?.pid)];
        const cpuAt = () => {
            const own = process.cpuUsage();
            return [(own.user + own.system) / 1000, cpuMs(trees[0]), cpuMs(trees[1])];
        };
        const cpuMarks: number[][] = [cpuAt()];
        const started = performance.now();
        seedLog.write = (line) => {
            lines.push({ at: performance.now() - started, line });
            if (!/ of ~\d+ rows/.test(line)) cpuMarks.push(cpuAt());
        };
        const { value: { trace }, node, servers: serverCpu } = await cpuDuring([source, seeded], () =>
            traceStatements(() => replicationProvider.update!("id", state, seedInputs(source, [first, warm, seeded], rootPassword, replicationPassword))),
        );
        const total = performance.now() - started;
        cpuMarks.push(cpuAt());
        seedLog.write = write;
        const pipeStarted = performance.now();
        const pipe = await cpuDuring([source, byHand], () => dumpPipe(source, byHand, rootPassword));
        const pipeMs = performance.now() - pipeStarted;
        lines.push({ at: total, line: "(update returned)" });
        const events = [
            ...trace.map((e) => ({ at: e.at, text: `+${e.ms.toFixed(1).padStart(6)} ms  ${String(names.get(e.port) ?? e.port).padEnd(6)} ${e.what.replace(/\s+/g, " ").slice(0, 110)}` })),
            ...lines.map((l) => ({ at: l.at, text: `${"".padEnd(16)}>> ${l.line}` })),
        ].sort((a, b) => a.at - b.at);
        for (const e of events) process.stdout.write(`${e.at.toFixed(1).padStart(8)} ${e.text}\n`);
        process.stdout.write(`\nupdate with seed: ${total.toFixed(1)} ms, ${trace.filter((e) => e.what === "(connect)").length} connections opened, ${trace.length} connects + statements\n`);
        process.stdout.write(
            `CPU ms during the update: provider (node) ${node.toFixed(0)}, source ${serverCpu[0].toFixed(0)}, replica ${serverCpu[1].toFixed(0)}\n` +
                `then mariadb-dump | mariadb into ${byHand.name}: ${pipeMs.toFixed(1)} ms; CPU ms: clients ${pipe.value.toFixed(0)}, source ${pipe.servers[0].toFixed(0)}, target ${pipe.servers[1].toFixed(0)}\n`,
        );
        process.stdout.write("stages (from one progress line to the next), wall ms, then CPU ms of the provider / source / replica:\n");
        const marked = lines.slice(0, -1).filter((l) => !/ of ~\d+ rows/.test(l.line)).map((l, i) => ({ ...l, cpu: cpuMarks[i + 1] }));
        for (const { name, ms, cpu } of stageDurations(marked, { at: total, line: "", cpu: cpuMarks[cpuMarks.length - 1] }, { at: 0, line: "", cpu: cpuMarks[0] })) {
            process.stdout.write(`${ms.toFixed(1).padStart(8)} ms ${(cpu ?? []).map((v) => v.toFixed(0).padStart(4)).join(" /").padStart(18)}  ${name}\n`);
        }
    } finally {
        seedLog.write = write;
        await cluster.destroy();
    }
}

/** A progress line's stage name: without the seed's prefix, member names, numbers and what follows a colon. */
export function stageName(line: string): string {
    return line
        .replace(/^seed \S+( from \S+)?: /, "")
        .replace(/ at GTID .*$/, "")
        .replace(/: .*$/, "")
        .replace(/\bdb\d+\b/g, "the source")
        .replace(/\d+/g, "#")
        .slice(0, 120);
}

/** A progress line and when it came: ms since the update started, and the CPU ms used so far by the processes watched. */
interface StageLine {
    at: number;
    line: string;
    cpu?: number[];
}

/**
 * Durations between the stage lines of one update (progress lines of the row copy are not stage lines): the time
 * before the first line, each stage until the next line, and after the last (the seed's "done") until `end`; with the
 * CPU used meanwhile when the lines carry it (`start` and `end` hold the values at the update's start and end).
 */
export function stageDurations(lines: StageLine[], end: StageLine, start: StageLine = { at: 0, line: "" }): Array<{ name: string; ms: number; cpu?: number[] }> {
    const marks = lines.filter((l) => !/ of ~\d+ rows/.test(l.line));
    const out: Array<{ name: string; ms: number; cpu?: number[] }> = [];
    let from = { ...start, name: "(before the seed: connect, read, plan, the source's account)" };
    for (const mark of [...marks, end]) {
        out.push({ name: from.name, ms: mark.at - from.at, cpu: mark.cpu && from.cpu ? mark.cpu.map((v, k) => v - from.cpu![k]) : undefined });
        from = { ...mark, name: /done by /.test(mark.line) ? "(after the seed: attach, heartbeat, probe row verified, statuses)" : stageName(mark.line) };
    }
    return out;
}

export async function benchSeed(reps: number, rootPassword: string, replicationPassword: string, progress: (line: string) => void): Promise<SeedBench> {
    const load = () => loadavg().map((x) => x.toFixed(2)).join(" / ");
    const result: SeedBench = { provider: [], seedOnly: [], byHand: [], stages: new Map(), cpu: { provider: [], byHand: [] }, loadBefore: load() };
    const write = seedLog.write;
    try {
        for (let rep = 1; rep <= reps; rep++) {
            const cluster = await startCluster(runbookSpecs(3), { rootPassword, binlogInitialisation: true });
            try {
                const [source, first, seeded, byHand] = cluster.servers;
                const inputs = (replicas: MariaServer[]) => seedInputs(source, replicas, rootPassword, replicationPassword);
                const state = (await replicationProvider.create!(inputs([first]))).outs as ReplicationState;
                await loadHistory(source);
                const [sourcePids, seededPids, byHandPids] = [source, seeded, byHand].map((s) => processTree(s.process?.pid));
                for (const method of rep % 2 === 1 ? ["provider", "hand"] : ["hand", "provider"]) {
                    if (method === "provider") {
                        // The seed alone: from its first progress line ("needed") to its last ("done by dump").
                        let seedStarted = NaN;
                        let seedMs = NaN;
                        const lines: StageLine[] = [];
                        const cpuNow = () => {
                            const own = process.cpuUsage();
                            return [(own.user + own.system) / 1000, cpuMs(sourcePids), cpuMs(seededPids)];
                        };
                        seedLog.write = (line) => {
                            lines.push({ at: performance.now() - started, line, cpu: cpuNow() });
                            if (/: needed: /.test(line) && Number.isNaN(seedStarted)) seedStarted = performance.now();
                            if (/ done by dump in /.test(line)) seedMs = performance.now() - seedStarted;
                        };
                        const cpuBefore = cpuNow();
                        const started = performance.now();
                        const { outs } = await replicationProvider.update!("id", state, inputs([first, seeded]));
                        const took = performance.now() - started;
                        const cpuAfter = cpuNow();
                        result.cpu.provider.push(cpuAfter.map((v, k) => v - cpuBefore[k]));
                        for (const { name, ms, cpu } of stageDurations(lines, { at: took, line: "", cpu: cpuAfter }, { at: 0, line: "", cpu: cpuBefore })) {
                            const stage = result.stages.get(name) ?? { ms: [], cpu: [] };
                            stage.ms.push(ms);
                            if (cpu) stage.cpu.push(cpu);
                            result.stages.set(name, stage);
                        }
                        if (!(outs as ReplicationState).healthy || (outs as ReplicationState).replicaStatus[seeded.name].seededBy !== "dump") throw new Error("the provider's seed did not end healthy");
                        result.provider.push(took);
                        result.seedOnly.push(seedMs);
                        progress(`seed rep ${rep}/${reps} (a) provider update with seed ${took.toFixed(0)} ms (seed alone ${seedMs.toFixed(0)} ms)`);
                    } else {
                        const cpuBefore = [cpuMs(sourcePids), cpuMs(byHandPids)];
                        const started = performance.now();
                        const clients = await dumpPipe(source, byHand, rootPassword);
                        const took = performance.now() - started;
                        result.byHand.push(took);
                        result.cpu.byHand.push([clients, cpuMs(sourcePids) - cpuBefore[0], cpuMs(byHandPids) - cpuBefore[1]]);
                        progress(`seed rep ${rep}/${reps} (b) mariadb-dump | mariadb ${took.toFixed(0)} ms`);
                    }
                }
                const want = await checksums(source);
                for (const s of [seeded, byHand]) if ((await checksums(s)) !== want) throw new Error(`${s.name}'s copy differs from the source (CHECKSUM TABLE)`);
            } finally {
                await cluster.destroy();
            }
        }
    } finally {
        seedLog.write = write;
    }
    result.loadAfter = load();
    return result;
}

/** CPU per repetition (median of each part, and of the totals): what the load of the machine moves least. */
function cpuLines(r: SeedBench, median: (xs: number[]) => number): string[] {
    if (r.cpu.provider.length === 0 || r.cpu.byHand.length === 0) return [];
    const parts = (rows: number[][], k: number) => median(rows.map((x) => x[k])).toFixed(0);
    const total = (rows: number[][]) => median(rows.map((x) => x[0] + x[1] + x[2]));
    return [
        `CPU per repetition (median ms, /proc at 10 ms resolution for the servers): (a) provider process ${parts(r.cpu.provider, 0)}, source ${parts(r.cpu.provider, 1)}, ` +
            `replica ${parts(r.cpu.provider, 2)}, total ${total(r.cpu.provider).toFixed(0)}; (b) mariadb-dump and mariadb ${parts(r.cpu.byHand, 0)}, source ${parts(r.cpu.byHand, 1)}, ` +
            `target ${parts(r.cpu.byHand, 2)}, total ${total(r.cpu.byHand).toFixed(0)}. (a) is the whole update (seed, attach, probe row), (b) the copy alone.`,
    ];
}

export function renderSeed(r: SeedBench, median: (xs: number[]) => number): string[] {
    const a = median(r.provider);
    const s = median(r.seedOnly);
    const b = median(r.byHand);
    // Each repetition times (a) and (b) back to back on the same servers: the ratio of a pair cancels the load
    // of that moment, which on a shared machine moves both by 2-3x between repetitions.
    const pairs = r.provider.map((x, i) => x / r.byHand[i]);
    const seedPairs = r.seedOnly.map((x, i) => x / r.byHand[i]);
    return [
        "",
        "## Seed: a replica added after the source purged its binary logs (issue 18)",
        "",
        "10 000 rows in two schemas (test/support/seedData.ts), binary logs purged; median of " + `${r.provider.length} fresh clusters.`,
        "(a) `update` adding the replica: the provider's seed (consistent snapshot, copy, GTID position), attach, probe row",
        "verified. (b) `mariadb-dump --single-transaction --routines --triggers --events --databases app1 app2 | mariadb`",
        "into another fresh replica of the same source, in the same run. Every copy's CHECKSUM TABLE equals the source's.",
        "",
        "| what | median (ms) |",
        "|---|---|",
        `| (a) provider update with seed | ${a.toFixed(0)} |`,
        `| (a') of which the seed alone | ${s.toFixed(0)} |`,
        `| (b) mariadb-dump \\| mariadb | ${b.toFixed(0)} |`,
        `| (a)/(b) of the medians | ${(a / b).toFixed(2)} |`,
        `| median of each repetition's (a)/(b) (target ≤ 1.0) | ${median(pairs).toFixed(2)} ${median(pairs) <= 1 ? "**met**" : "**not met**"} |`,
        `| median of each repetition's (a')/(b), the seed alone against the pipe (target ≤ 0.8) | ${median(seedPairs).toFixed(2)} ${median(seedPairs) <= 0.8 ? "**met**" : "**not met**"} |`,
        "",
        "(a) by stage (each stage named by the progress line that opens it; medians over the repetitions; CPU of the",
        "provider process and of the replica meanwhile, the servers' at /proc's 10 ms resolution):",
        "",
        "| stage of (a) | wall (ms) | provider CPU (ms) | replica CPU (ms) |",
        "|---|---|---|---|",
        ...[...r.stages].map(([name, { ms, cpu }]) =>
            `| ${name.replace(/\|/g, "\\|")} | ${median(ms).toFixed(1)}${ms.length < r.provider.length ? ` (${ms.length} of ${r.provider.length})` : ""} | ` +
                `${cpu.length ? median(cpu.map((c) => c[0])).toFixed(0) : ""} | ${cpu.length ? median(cpu.map((c) => c[2])).toFixed(0) : ""} |`),
        "",
        ...cpuLines(r, median),
        "",
        `Samples (ms): (a) ${r.provider.map((x) => x.toFixed(0)).join(", ")}; (a') ${r.seedOnly.map((x) => x.toFixed(0)).join(", ")}; ` +
            `(b) ${r.byHand.map((x) => x.toFixed(0)).join(", ")}. Load average (1/5/15 min) before: ${r.loadBefore ?? "?"}; after: ${r.loadAfter ?? "?"}.`,
    ];
}
