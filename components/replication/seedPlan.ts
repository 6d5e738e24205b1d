/**
 * Pure: which replicas need a seed (a consistent copy of the source) before they can replicate, by which
 * method, and which are refused. seed.ts gathers the facts read-only; nothing here touches a server.
 */
import { parseMariaGtids } from "./gtid";

/**
 * `auto` picks per flavor (clone on MySQL 8.0.17+, dump elsewhere); `clone` is MySQL's clone plugin; `dump` is the
 * provider's own logical copy; `none` never seeds.
 */
export type SeedMethod = "auto" | "clone" | "dump" | "none";
export const SEED_METHODS: readonly SeedMethod[] = ["auto", "clone", "dump", "none"];

/** What a seed leaves in a replica's status: how it was seeded, and when (ISO time); "" when never. */
export interface SeedRecord {
    by: "clone" | "dump" | "";
    at: string;
}

/** What the provider read about one replica, against the source. */
export interface SeedFacts {
    replica: string;
    source: string;
    /** Transactions the source purged that the replica lacks, in the flavor's notation; "" when none. */
    missing: string;
    /** Non-system schemas on the replica (the provider's replicaset_probe excluded). */
    userSchemas: string[];
    /** The replica holds the provider's note of a seed that did not finish: its schemas are that partial copy. */
    unfinishedSeed: boolean;
    /** members[].reseed: the user lets a seed replace what the replica holds. */
    reseed: boolean;
    method: SeedMethod;
    /** Source and replica both run MySQL 8.0.17+ (the clone plugin); false on MariaDB and MySQL 5.7. */
    cloneCapable?: boolean;
    /** A copy (dump) only: the replica's accounts that the source's same-named, different ones would replace (accountsReplaced). */
    ownAccounts?: string[];
    /** A copy (dump) only: the REVOKE statements for the source's grants on tables or columns gone (danglingGrants). */
    danglingGrants?: string[];
}

export type SeedVerdict =
    | { action: "attach" }
    | { action: "seed"; method: "clone" | "dump"; why: string }
    | { action: "refuse"; reason: string };

/**
 * The method a seed uses: `auto` takes the clone plugin where both ends have it (MySQL 8.0.17+: a physical copy,
 * the fastest on large data) and the provider's logical copy elsewhere (it works on every flavor and needs nothing
 * on the host). A forced `clone` without the plugin is refused by judgeSeed.
 */
export function methodFor(method: SeedMethod, cloneCapable = false): "clone" | "dump" | undefined {
    if (method === "none") return undefined;
    if (method === "dump") return "dump";
    return method === "clone" || cloneCapable ? "clone" : "dump";
}

export function judgeSeed(f: SeedFacts): SeedVerdict {
    const method = methodFor(f.method, f.cloneCapable);
    if (method === "clone" && !f.cloneCapable && (f.unfinishedSeed || f.missing !== "")) {
        return {
            action: "refuse",
            reason: `${f.replica}: seedMethod is clone, but the clone plugin needs MySQL 8.0.17 or newer on ${f.source} and ${f.replica} ` +
                "(MariaDB and MySQL 5.7 have none). Set seedMethod to auto or dump. Nothing was changed.",
        };
    }
    if (f.unfinishedSeed) {
        if (!method) return { action: "refuse", reason: `${f.replica}: an earlier seed of it did not finish, and seedMethod is none; set seedMethod to auto, clone or dump to finish it` };
        return refuseDangling(f) ?? { action: "seed", method, why: "an earlier seed did not finish; copying again" };
    }
    if (f.missing === "") return { action: "attach" };
    const purged = `${f.source} has purged from its binary logs transactions ${f.replica} lacks (${abbreviate(f.missing)})`;
    if (!method) {
        return {
            action: "refuse",
            reason: `${f.replica}: ${purged}, so it cannot replicate, and seedMethod is none. Set seedMethod to auto, clone or dump to have it ` +
                "seeded from a consistent copy of the source, or load a copy into it by hand. Nothing was changed.",
        };
    }
    const own = [
        ...(f.userSchemas.length > 0 ? [`schemas of its own (${f.userSchemas.join(", ")})`] : []),
        ...((f.ownAccounts ?? []).length > 0 ? [`accounts of its own that differ from the source's of the same name (${f.ownAccounts!.join(", ")})`] : []),
    ];
    const reasons = [
        ...(own.length > 0 && !f.reseed
            ? [
                  `${f.replica}: ${purged}, so it needs a seed, but it holds ${own.join(" and ")} that a seed ` +
                      `would replace. Nothing was changed. Move what you need elsewhere, then set reseed: true on member ${f.replica} ` +
                      "(members[].reseed) to let the seed replace them.",
              ]
            : []),
        ...[refuseDangling(f)].flatMap((v) => (v?.action === "refuse" ? [v.reason] : [])),
    ];
    return reasons.length > 0 ? { action: "refuse", reason: reasons.join("\n") } : { action: "seed", method, why: purged };
}

/** A copy cannot make a grant on a table or column that is gone: refused, with the REVOKEs to run on the source. */
function refuseDangling(f: SeedFacts): SeedVerdict | undefined {
    const revokes = f.danglingGrants ?? [];
    if (revokes.length === 0) return undefined;
    return {
        action: "refuse",
        reason: `${f.replica}: the seed's copy makes the source's accounts again, but ${f.source} holds grants on tables or columns that no ` +
            "longer exist (DROP TABLE and DROP COLUMN keep them; made again they fail with ER_NO_SUCH_TABLE). Nothing was changed. " +
            `Revoke them on ${f.source} (what they name is gone; a table made again under that name would take them up), then run again: ${revokes.map((r) => `${r};`).join(" ")}`,
    };
}

/**
 * MariaDB: the domains in which `position` (one GTID per domain: what the replica would ask for) is behind
 * `purgedUpTo` (the GTID list at the start of the source's oldest binary log). Under gtid_strict_mode sequence
 * numbers only grow within a domain, so a replica whose sequence in a domain is lower than the source's oldest
 * log starts after needs events that are gone. A domain the replica has never seen counts as sequence 0.
 */
export function mariaPurgedBeyond(position: string, purgedUpTo: string): string {
    const mine = new Map<number, number>();
    for (const g of parseMariaGtids(position)) mine.set(g.domain, Math.max(mine.get(g.domain) ?? 0, g.sequence));
    const behind = parseMariaGtids(purgedUpTo).filter((g) => (mine.get(g.domain) ?? 0) < g.sequence);
    return behind.map((g) => `${g.domain}-${g.server}-${g.sequence}`).join(",");
}

/** MariaDB: per domain, the highest GTID of several positions (what the replica holds from the source). */
export function mariaFurthest(...positions: string[]): string {
    const best = new Map<number, { server: number; sequence: number }>();
    for (const g of positions.flatMap((p) => parseMariaGtids(p))) {
        const known = best.get(g.domain);
        if (!known || g.sequence > known.sequence) best.set(g.domain, { server: g.server, sequence: g.sequence });
    }
    return [...best.entries()].sort(([a], [b]) => a - b).map(([d, g]) => `${d}-${g.server}-${g.sequence}`).join(",");
}

/** Rough time left of a copy, from what it has done so far; undefined until there is something to go on. */
export function estimateSecondsLeft(done: number, total: number, elapsedMs: number): number | undefined {
    if (done <= 0 || total <= done || elapsedMs <= 0) return total > 0 && done >= total ? 0 : undefined;
    return Math.ceil(((total - done) * elapsedMs) / done / 1000);
}

function abbreviate(text: string): string {
    return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** Statuses with each replica's seed record (seededBy, seededAt) filled in; replicas never seeded keep "". */
export function withSeedRecords<T extends { seededBy: string; seededAt: string }>(statuses: Record<string, T>, seeded: Record<string, SeedRecord> = {}): Record<string, T> {
    return Object.fromEntries(
        Object.entries(statuses).map(([name, status]) => [name, seeded[name] ? { ...status, seededBy: seeded[name].by, seededAt: seeded[name].at } : status]),
    );
}
