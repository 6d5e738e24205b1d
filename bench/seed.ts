/**
 * Seed benchmark (issue 18): a replica added to a source whose binary logs are purged (10 000 rows in two
 * schemas, test/support/seedData.ts), on the bench's servers (Debian's mariadbd on loopback):
 *   (a) the provider: `update` adding the replica — seed (consistent copy), attach, probe row verified
 *   (b) by hand: `mariadb-dump --single-transaction --routines --triggers --events --databases app1 app2 | mariadb`
 *       into another fresh replica of the same source, in the same run (copy only: no position, no replication)
 * Fresh servers per repetition; the two alternate which goes first.
 */
import { execFile } from "node:child_process";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { replicationProvider } from "../components/replication/provider";
import { seedLog } from "../components/replication/seed";
import type { ReplicationInputs, ReplicationState } from "../components/replication/types";
import { startCluster, runbookSpecs, type MariaServer } from "../test/support/mariadb";
import { HISTORY_TABLES, loadHistory } from "../test/support/seedData";

export interface SeedBench {
    provider: number[];
    /** The seed alone, from the provider's own "done by dump in" line. */
    seedOnly: number[];
    byHand: number[];
    /** os.loadavg() before and after the run, "1 / 5 / 15". */
    loadBefore?: string;
    loadAfter?: string;
}

function endpoint(s: MariaServer) {
    return { name: s.name, host: s.host, port: s.port, internalHost: s.host, internalPort: s.port };
}

/** mariadb-dump | mariadb between two servers; resolves when the load has finished. */
function dumpPipe(source: MariaServer, target: MariaServer, password: string): Promise<void> {
    const dump = `mariadb-dump -h${source.host} -P${source.port} -uroot -p'${password}' --single-transaction --routines --triggers --events --databases app1 app2`;
    const load = `mariadb -h${target.host} -P${target.port} -uroot -p'${password}'`;
    return new Promise((resolve, reject) =>
        execFile("bash", ["-o", "pipefail", "-c", `${dump} | ${load}`], (error, _stdout, stderr) => (error ? reject(new Error(`dump | load failed: ${stderr || error.message}`)) : resolve())),
    );
}

async function checksums(server: MariaServer): Promise<string> {
    return JSON.stringify((await server.query<{ Checksum: string }>(`CHECKSUM TABLE ${HISTORY_TABLES.join(", ")}`)).map((r) => String(r.Checksum)));
}

export async function benchSeed(reps: number, rootPassword: string, replicationPassword: string, progress: (line: string) => void): Promise<SeedBench> {
    const load = () => loadavg().map((x) => x.toFixed(2)).join(" / ");
    const result: SeedBench = { provider: [], seedOnly: [], byHand: [], loadBefore: load() };
    const write = seedLog.write;
    try {
        for (let rep = 1; rep <= reps; rep++) {
            const cluster = await startCluster(runbookSpecs(3), { rootPassword, binlogInitialisation: true });
            try {
                const [source, first, seeded, byHand] = cluster.servers;
                const inputs = (replicas: MariaServer[]): ReplicationInputs => ({
                    source: endpoint(source), replicas: replicas.map(endpoint), rootUser: "root", rootPassword, replicationUser: "repl",
                    replicationPassword, replicationUserHost: "127.0.0.1", tls: "auto", connectRetrySeconds: 1, deadlineSeconds: 120, verify: true,
                    heartbeatIntervalMs: 1000,
                });
                const state = (await replicationProvider.create!(inputs([first]))).outs as ReplicationState;
                await loadHistory(source);
                for (const method of rep % 2 === 1 ? ["provider", "hand"] : ["hand", "provider"]) {
                    if (method === "provider") {
                        // The seed alone: from its first progress line ("needed") to its last ("done by dump").
                        let seedStarted = NaN;
                        let seedMs = NaN;
                        seedLog.write = (line) => {
                            if (/: needed: /.test(line) && Number.isNaN(seedStarted)) seedStarted = performance.now();
                            if (/ done by dump in /.test(line)) seedMs = performance.now() - seedStarted;
                        };
                        const started = performance.now();
                        const { outs } = await replicationProvider.update!("id", state, inputs([first, seeded]));
                        const took = performance.now() - started;
                        if (!(outs as ReplicationState).healthy || (outs as ReplicationState).replicaStatus[seeded.name].seededBy !== "dump") throw new Error("the provider's seed did not end healthy");
                        result.provider.push(took);
                        result.seedOnly.push(seedMs);
                        progress(`seed rep ${rep}/${reps} (a) provider update with seed ${took.toFixed(0)} ms (seed alone ${seedMs.toFixed(0)} ms)`);
                    } else {
                        const started = performance.now();
                        await dumpPipe(source, byHand, rootPassword);
                        const took = performance.now() - started;
                        result.byHand.push(took);
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
        `| (a)/(b) of the medians (target ≤ 1) | ${(a / b).toFixed(2)} ${a <= b ? "**met**" : "**not met**"} |`,
        `| median of each repetition's (a)/(b) | ${median(pairs).toFixed(2)} |`,
        `| median of each repetition's (a')/(b) (the seed alone against the pipe) | ${median(seedPairs).toFixed(2)} |`,
        "",
        `Samples (ms): (a) ${r.provider.map((x) => x.toFixed(0)).join(", ")}; (a') ${r.seedOnly.map((x) => x.toFixed(0)).join(", ")}; ` +
            `(b) ${r.byHand.map((x) => x.toFixed(0)).join(", ")}. Load average (1/5/15 min) before: ${r.loadBefore ?? "?"}; after: ${r.loadAfter ?? "?"}.`,
    ];
}
