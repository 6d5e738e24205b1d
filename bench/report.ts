/**
 * The benchmark's arithmetic and its markdown: medians, the tables, the targets, and the machine it ran on.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";

export function median(samples: number[]): number {
    if (samples.length === 0) return NaN;
    const sorted = [...samples].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface CreateRow {
    n: number;
    provider: number[];
    byHand: number[];
}

export interface ReadRow {
    n: number;
    samples: number[];
    /** Bare parallel connects to every member, on the same servers: the floor under any per-member refresh. */
    connectFloor: number[];
}

export interface DiffCount {
    calls: number;
    mysql2: number;
    sockets: number;
    /** Sum over every server of the change in SHOW GLOBAL STATUS LIKE 'Connections'. */
    serverConnections: number;
}

export interface Machine {
    cpu: string;
    cores: number;
    memoryGiB: number;
    mariadbd: string;
    mysqlClient: string;
    node: string;
    date: string;
    loadBefore: string;
    loadAfter?: string;
}

function firstLine(command: string, args: string[]): string {
    try {
        return execFileSync(command, args, { encoding: "utf8" }).split("\n")[0].trim();
    } catch {
        return "unknown";
    }
}

function load(): string {
    return loadavg()
        .map((l) => l.toFixed(2))
        .join(" / ");
}

export function describeMachine(): Machine {
    let cpu = cpus()[0]?.model ?? "unknown";
    try {
        cpu = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpu;
    } catch {
        // not Linux: os.cpus() said enough
    }
    return {
        cpu,
        cores: cpus().length,
        memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        mariadbd: firstLine("/usr/sbin/mariadbd", ["--version"]).replace(/^\S*mariadbd\s+/, ""),
        mysqlClient: firstLine("mysql", ["--version"]),
        node: process.version,
        date: new Date().toISOString(),
        loadBefore: load(),
    };
}

export function finishMachine(machine: Machine): Machine {
    return { ...machine, loadAfter: load() };
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : "—");
const ms1 = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : "—");
const ratio = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : "—");

export interface Targets {
    ratioAt8: { value: number; met: boolean };
    growth8over2: { value: number; met: boolean };
    read8over1: { value: number; met: boolean };
    diffOpensNothing: { met: boolean };
}

export function judgeTargets(rows: CreateRow[], reads: ReadRow[], diff: DiffCount): Targets {
    const providerAt = (n: number) => median(rows.find((r) => r.n === n)?.provider ?? []);
    const byHandAt = (n: number) => median(rows.find((r) => r.n === n)?.byHand ?? []);
    const readAt = (n: number) => median(reads.find((r) => r.n === n)?.samples ?? []);
    const r8 = providerAt(8) / byHandAt(8);
    const g = providerAt(8) / providerAt(2);
    const rd = readAt(8) / readAt(1);
    return {
        ratioAt8: { value: r8, met: r8 <= 0.5 },
        growth8over2: { value: g, met: g <= 1.5 },
        read8over1: { value: rd, met: rd <= 2 },
        diffOpensNothing: { met: diff.mysql2 === 0 && diff.sockets === 0 && diff.serverConnections === 0 },
    };
}

function floorRatio(reads: ReadRow[]): number {
    const at = (n: number) => median(reads.find((r) => r.n === n)?.connectFloor ?? []);
    return at(8) / at(1);
}

/** Failover timings: provider update from its start to the new source writable, replicas re-pointed, verified. */
export interface FailoverRow {
    replicas: number;
    samples: number[];
}

/** The failover target of issue 19: at most 2 s with 1 + 4 members. */
export const FAILOVER_TARGET_MS = 2000;

export function renderMarkdown(rows: CreateRow[], reads: ReadRow[], diff: DiffCount, machine: Machine, repetitions: number, failover?: FailoverRow): string {
    const t = judgeTargets(rows, reads, diff);
    const yes = (met: boolean) => (met ? "**met**" : "**not met**");
    const lines = [
        "# Benchmark: time to a healthy replica set",
        "",
        "`npm run bench` (bench/run.ts). 1 master + N replicas of Debian's mariadbd on loopback, fresh servers for",
        "every timed run (start-up not timed), the two methods alternating in the same run.",
        "",
        "- **(a) provider create**: `replicationProvider.create` with `verify: true` — servers up → every replica",
        "  running and the probe row read back on every replica.",
        "- **(b) runbook by hand**: the runbook's steps as written, one `mysql -h127.0.0.1 -P… -uroot -p… -e '…'`",
        "  invocation per step, one replica after the other: CREATE USER + GRANT on the master; per replica RESET",
        "  MASTER, CHANGE MASTER TO … MASTER_USE_GTID=slave_pos, START SLAVE, `SHOW SLAVE STATUS\\G` every 100 ms",
        "  until both threads say Yes; then a table and a row on the master, and each replica polled every 100 ms",
        "  until the row is there.",
        "",
        `Median of ${repetitions} runs per cell.`,
        "",
        "| N | provider create median (ms) | runbook by hand median (ms) | (a)/(b) |",
        "|---|---|---|---|",
        ...rows.map((r) => {
            const a = median(r.provider);
            const b = median(r.byHand);
            return `| ${r.n} | ${ms(a)} | ${ms(b)} | ${ratio(a / b)} |`;
        }),
        "",
        "| refresh (`read`) and `diff` | value |",
        "|---|---|",
        ...reads.map((r) => `| read median, N = ${r.n} (ms, ${r.samples.length} calls) | ${ms1(median(r.samples))} |`),
        `| read N = 8 / read N = 1 | ${ratio(t.read8over1.value)} |`,
        ...reads.map((r) => `| floor: bare connect to all ${r.n + 1} members at once, N = ${r.n} (ms) | ${ms1(median(r.connectFloor))} |`),
        `| floor N = 8 / floor N = 1 | ${ratio(floorRatio(reads))} |`,
        `| connections opened by ${diff.calls} \`diff\` calls (mysql2 / TCP sockets / servers' Connections counter) | ${diff.mysql2} / ${diff.sockets} / ${diff.serverConnections} |`,
        "",
        "## Targets",
        "",
        `- (a)/(b) ≤ 0.5 at N = 8: ${ratio(t.ratioAt8.value)} — ${yes(t.ratioAt8.met)}`,
        `- provider at N = 8 ≤ 1.5 × provider at N = 2: ${ratio(t.growth8over2.value)}× — ${yes(t.growth8over2.met)}`,
        `- read at N = 8 ≤ 2 × read at N = 1: ${ratio(t.read8over1.value)}× — ${yes(t.read8over1.met)}`,
        `- diff opens no database connection: ${yes(t.diffOpensNothing.met)}`,
        "",
        ...(failover
            ? [
                  "## Failover",
                  "",
                  `1 source + ${failover.replicas} replicas, the source's process killed (SIGKILL), then \`update\` with db002 declared the`,
                  "source: every reachable replica applies what it received, db002 is detached, made writable, every other",
                  "reachable replica re-pointed, and the probe row read back on each (the dead member waits at most 1 s).",
                  "",
                  `- median ${ms(median(failover.samples))} ms over ${failover.samples.length} runs (samples: ${failover.samples.map(ms).join(", ")}); ` +
                      `target ≤ ${FAILOVER_TARGET_MS} ms — ${yes(median(failover.samples) <= FAILOVER_TARGET_MS)}`,
                  "",
              ]
            : []),
        "## Machine",
        "",
        `- CPU: ${machine.cpu}, ${machine.cores} cores; memory ${machine.memoryGiB} GiB`,
        `- mariadbd: ${machine.mariadbd}`,
        `- client: ${machine.mysqlClient}`,
        `- node: ${machine.node}`,
        `- date: ${machine.date}`,
        `- load average (1/5/15 min) before: ${machine.loadBefore}; after: ${machine.loadAfter ?? "—"}`,
        "",
        "Raw samples (ms):",
        "",
        ...rows.map((r) => `- N = ${r.n}: provider [${r.provider.map(ms).join(", ")}]; by hand [${r.byHand.map(ms).join(", ")}]`),
        ...reads.map((r) => `- read N = ${r.n}: [${r.samples.map(ms1).join(", ")}]; bare connects [${r.connectFloor.map(ms1).join(", ")}]`),
        "",
    ];
    return lines.join("\n");
}
