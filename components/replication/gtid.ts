/**
 * Pure GTID bookkeeping: which transactions a replica holds that its source lacks ("errant" GTIDs), and where
 * they came from. A fresh replica's only errant GTIDs are its own initialisation (the image entrypoint's
 * time-zone tables and accounts, binlogged with the replica's own identity); anything else means someone
 * wrote to the replica directly, and resetting it would silently throw that away.
 */

/** The origins (server UUIDs) named in a MySQL GTID set such as `3e11fa47-...:1-5,tagged-uuid:tag:1`. */
export function mysqlGtidOrigins(gtidSet: string): string[] {
    return gtidSet
        .replace(/\s+/g, "")
        .split(",")
        .filter((part) => part !== "")
        .map((part) => part.split(":")[0].toLowerCase());
}

/** One MariaDB GTID: domain-server-sequence, e.g. 0-100-42. */
export interface MariaGtid {
    domain: number;
    server: number;
    sequence: number;
}

/** Parses a MariaDB GTID list (`0-100-42,1-200-7`); an empty string is an empty list. */
export function parseMariaGtids(list: string): MariaGtid[] {
    return list
        .replace(/\s+/g, "")
        .split(",")
        .filter((part) => part !== "")
        .map((part) => {
            const match = /^(\d+)-(\d+)-(\d+)$/.exec(part);
            if (!match) throw new Error(`Not a MariaDB GTID: ${JSON.stringify(part)}`);
            return { domain: Number(match[1]), server: Number(match[2]), sequence: Number(match[3]) };
        });
}

export function formatMariaGtids(gtids: MariaGtid[]): string {
    return gtids.map((g) => `${g.domain}-${g.server}-${g.sequence}`).join(",");
}

/**
 * MariaDB has no GTID_SUBTRACT. gtid_binlog_state keeps the last GTID per (domain, server), so an entry of
 * the replica is errant when the source has no entry for that (domain, server) or a lower sequence there.
 */
export function mariaErrantGtids(replicaBinlogState: string, sourceBinlogState: string): MariaGtid[] {
    const source = parseMariaGtids(sourceBinlogState);
    return parseMariaGtids(replicaBinlogState).filter((mine) => {
        const theirs = source.find((g) => g.domain === mine.domain && g.server === mine.server);
        return !theirs || theirs.sequence < mine.sequence;
    });
}

/** What to do about a replica's transactions that the source lacks. */
export type HistoryVerdict =
    | { action: "keep" }
    /** Only the replica's own initialisation: safe to wipe (the runbook's `reset master`). */
    | { action: "reset"; errant: string; keep: string }
    /** Someone wrote to this replica: refuse and change nothing. */
    | { action: "refuse"; errant: string; reason: string };

export interface ReplicaHistory {
    /** Errant GTIDs as the server writes them; "" when none. */
    errant: string;
    /** Origins of the errant GTIDs (MySQL server UUIDs, MariaDB server ids as text). */
    errantOrigins: string[];
    /** The replica's own identity in the same notation. */
    ownOrigin: string;
    /** Schemas on the replica that the server did not create itself. */
    userSchemas: string[];
    /**
     * What a reset must keep: MySQL, the replica's GTIDs that the source has too (declared purged again);
     * MariaDB, the position of the last shared transaction per domain (the new gtid_slave_pos).
     */
    shared: string;
    /** MariaDB: gtid_current_pos and gtid_slave_pos of the replica; "" for MySQL. */
    currentPosition?: string;
    appliedPosition?: string;
}

export function judgeHistory(history: ReplicaHistory): HistoryVerdict {
    if (history.errant === "") return { action: "keep" };
    const foreign = history.errantOrigins.filter((origin) => origin !== history.ownOrigin);
    if (foreign.length > 0) {
        return {
            action: "refuse",
            errant: history.errant,
            reason: `it holds transactions from other servers (${[...new Set(foreign)].join(", ")}) that the source lacks`,
        };
    }
    if (history.userSchemas.length > 0) {
        return {
            action: "refuse",
            errant: history.errant,
            reason: `it holds local transactions and user schemas (${history.userSchemas.join(", ")}), so they are not just its initialisation`,
        };
    }
    return { action: "reset", errant: history.errant, keep: history.shared };
}

/** MariaDB: one binlog state that holds, per (domain, server), the highest sequence of any of the given states. */
export function mergeMariaStates(states: string[]): string {
    const merged = new Map<string, MariaGtid>();
    for (const state of states) {
        for (const g of parseMariaGtids(state)) {
            const key = `${g.domain}-${g.server}`;
            const known = merged.get(key);
            if (!known || known.sequence < g.sequence) merged.set(key, g);
        }
    }
    return formatMariaGtids([...merged.values()]);
}

/**
 * MariaDB: the position (one GTID per domain) up to which the replica holds only what the source has too —
 * per domain, the replica's highest non-errant GTID. Under gtid_strict_mode sequences only grow within a
 * domain, so that GTID is the last shared transaction the replica applied. It is the gtid_slave_pos a reset
 * replica must start from, or it would be sent everything again (RESET MASTER leaves gtid_slave_pos as it
 * was, which for a former source is empty or long stale).
 */
export function mariaSharedPosition(replicaBinlogState: string, sourceBinlogState: string): string {
    const errant = new Set(mariaErrantGtids(replicaBinlogState, sourceBinlogState).map(formatOne));
    const byDomain = new Map<number, MariaGtid>();
    for (const g of parseMariaGtids(replicaBinlogState)) {
        if (errant.has(formatOne(g))) continue;
        const known = byDomain.get(g.domain);
        if (!known || known.sequence < g.sequence) byDomain.set(g.domain, g);
    }
    return formatMariaGtids([...byDomain.values()].sort((a, b) => a.domain - b.domain));
}

function formatOne(g: MariaGtid): string {
    return `${g.domain}-${g.server}-${g.sequence}`;
}
