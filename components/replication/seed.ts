/**
 * Seed step: a replica the source's binary logs can no longer bring up to date (purged) gets a consistent copy
 * of the source first, then attach.ts points it at the source like any other replica.
 *
 *   planSeeds    read-only, every replica at once: who needs a seed, who is refused (own schemas without
 *                members[].reseed, seedMethod none); throws before anything is written
 *   seedReplicas the copies, in parallel: MySQL's clone plugin (seedClone.ts) or the provider's logical copy
 *                (seedDump.ts); progress lines through the engine's log
 *
 * Progress goes to the provider process's stderr, which the engine shows as the resource's diagnostics during
 * `pulumi up` (a dynamic provider runs in its own process with no engine connection: pulumi.log there is just
 * the console; pulumi/pulumi#18249, #18253).
 */
import {
    binlogStartPosition,
    LIST_SCHEMAS,
    MARIA_REPLICA_POSITIONS,
    makeReadOnly,
    purgedMissing,
    SHOW_BINARY_LOGS,
    SYSTEM_SCHEMAS,
} from "./dialect";
import { accountReads, accountsReplaced, accountsToCopy, COLUMN_GRANTS, columnsOf, danglingGrants, projectUsers, readAccounts, TABLE_GRANTS, type CopiedAccount } from "./accountCopy";
import { channelChange } from "./attach";
import { mariaSharedPosition } from "./gtid";
import { holdsUnfinishedCopy, readThreads, type Member } from "./members";
import { channelAddress } from "./route";
import { seedByClone } from "./seedClone";
import { seedByDump } from "./seedDump";
import { judgeSeed, mariaFurthest, mariaPurgedBeyond, methodFor, type SeedRecord } from "./seedPlan";
import { cleanUp, query, scalar } from "./session";
import type { ReplicationInputs } from "./types";

/** Where progress lines go. A test replaces `write` to read them; the engine's copy writes to stderr. */
export const seedLog: { write: (line: string) => void } = { write: (line: string) => console.error(line) };

/** A replica that needs a seed, and the method judgeSeed chose for it (the one decision seedReplicas follows). */
export interface PlannedSeed {
    replica: Member;
    method: "clone" | "dump";
}

/** Read-only: the replicas that need a seed. Throws, naming every refused replica and why, before any write. */
export async function planSeeds(replicas: Member[], source: Member, inputs: ReplicationInputs): Promise<PlannedSeed[]> {
    // What a copy would make of the source's accounts, read once for every replica that needs one.
    let sourceAccounts: Promise<{ accounts: CopiedAccount[]; dangling: string[] }> | undefined;
    const readSource = () => (sourceAccounts ??= Promise.all([readCopiedAccounts(source, inputs), readDanglingGrants(source, inputs)]).then(([accounts, dangling]) => ({ accounts, dangling })));
    const judged = await Promise.all(
        replicas.map(async (replica) => {
            // The address this replica's channel dials: the alias on one host, the source host's address across hosts.
            const wanted = channelAddress(inputs.source, replica.endpoint);
            // The note of an unfinished copy wins over running threads: a server starts a configured channel by itself
            // when it restarts, so a replica cut short mid-copy may replicate, on whatever part of the copy it holds.
            const [threads, unfinishedSeed] = await Promise.all([readThreads(replica), holdsUnfinishedCopy(replica)]);
            // Already replicating from this source: its IO thread is past anything purged.
            if (!unfinishedSeed && threads.configured && threads.source === wanted && threads.ioRunning && threads.sqlRunning) {
                return { replica, verdict: judgeSeed(noSeed(replica, source)) };
            }
            // Independent reads, at once (a seed's fixed cost starts here).
            const [missing, schemas] = await Promise.all([purgedAndMissing(replica, source), query<{ name: string }>(replica.session, LIST_SCHEMAS)]);
            const facts = {
                replica: replica.endpoint.name,
                source: source.endpoint.name,
                missing,
                userSchemas: schemas.map((s) => String(s.name)).filter((s) => !SYSTEM_SCHEMAS.includes(s.toLowerCase())),
                unfinishedSeed,
                reseed: (inputs.reseed ?? []).includes(replica.endpoint.name),
                method: inputs.seedMethod ?? "auto",
                cloneCapable: cloneCapable(replica, source),
            };
            if ((missing !== "" || unfinishedSeed) && methodFor(facts.method, facts.cloneCapable) === "dump") {
                const { accounts, dangling } = await readSource();
                // An unfinished copy's accounts are that copy's own (a replica's differing ones were refused before it began).
                const ownAccounts = unfinishedSeed ? [] : accountsReplaced(accounts, await readCopiedAccounts(replica, inputs, accounts));
                return { replica, verdict: judgeSeed({ ...facts, ownAccounts, danglingGrants: dangling }) };
            }
            return { replica, verdict: judgeSeed(facts) };
        }),
    );
    const refused = judged.flatMap(({ verdict }) => (verdict.action === "refuse" ? [verdict.reason] : []));
    if (refused.length > 0) throw new Error(refused.join("\n"));
    return judged.flatMap(({ replica, verdict }) => {
        if (verdict.action !== "seed") return [];
        seedLog.write(`seed ${replica.endpoint.name}: needed: ${verdict.why}`);
        return [{ replica, method: verdict.method }];
    });
}

/**
 * Throws when the declared source holds an unfinished copy: promoted, a half copy would serve its missing rows as
 * gone (its GTIDs claim the copy's whole position). Read-only; before anything is written.
 */
export async function refuseUnfinishedCopyAsSource(source: Member): Promise<void> {
    if (!(await holdsUnfinishedCopy(source))) return;
    const name = source.endpoint.name;
    // No way out by hand is offered: a DELETE of the note by a client is binlogged (an errant transaction on a table
    // only this member has, which breaks every replica), and on MariaDB a copy never attached has an empty binlog
    // state, so a failover to it is refused as behind anyway (seen in review, MySQL 9.7 and MariaDB 11.8).
    throw new Error(
        `${name} holds an unfinished copy (a seed of it was cut short: the provider's note in replicaset_probe.seed_in_progress), ` +
            `so it may have only part of the data and cannot be the source. Declare as source a member that holds the data; kept ` +
            `a replica, ${name} is copied again by the next run. Nothing was changed.`,
    );
}

/**
 * Read-only: a member's accounts as a copy reads them (accountCopy.ts), the server's and the project's left out; with
 * `among`, only those of the same user and host as one of these.
 */
async function readCopiedAccounts(member: Member, inputs: ReplicationInputs, among?: CopiedAccount[]): Promise<CopiedAccount[]> {
    const dialect = member.dialect;
    if (dialect.showAccountsSession) await query(member.session, dialect.showAccountsSession);
    const wanted = among && new Set(among.map((a) => `${a.grantee.user}\u0000${a.grantee.host}`));
    const grantees = accountsToCopy(dialect, await query(member.session, dialect.listAccounts), projectUsers(inputs)).filter(
        (g) => !wanted || wanted.has(`${g.user}\u0000${g.host}`),
    );
    const results: Array<Array<Record<string, unknown>>> = [];
    for (const statement of accountReads(dialect, grantees)) results.push(await query(member.session, statement));
    return readAccounts(dialect, grantees, results);
}

/** Read-only: the REVOKEs for the source's grants on tables or columns that are gone (accountCopy.ts danglingGrants). */
async function readDanglingGrants(source: Member, inputs: ReplicationInputs): Promise<string[]> {
    const tableGrants = await query(source.session, TABLE_GRANTS);
    const columnGrants = await query(source.session, COLUMN_GRANTS);
    const schemas = [...new Set([...tableGrants, ...columnGrants].map((g) => String(g.db)))];
    const columns = schemas.length > 0 ? await query(source.session, columnsOf(schemas)) : [];
    return danglingGrants(source.dialect, tableGrants, columnGrants, columns, projectUsers(inputs));
}

/** Both ends have the clone plugin (MySQL 8.0.17+). */
function cloneCapable(replica: Member, source: Member): boolean {
    return replica.dialect.clone === true && source.dialect.clone === true;
}

function noSeed(replica: Member, source: Member) {
    return { replica: replica.endpoint.name, source: source.endpoint.name, missing: "", userSchemas: [], unfinishedSeed: false, reseed: false, method: "auto" as const };
}

/**
 * What the source purged that the replica lacks ("" when nothing). MySQL: gtid_purged minus the replica's
 * gtid_executed. MariaDB: the GTID list at the start of the source's oldest binlog against the position the
 * replica would ask for (per domain, the furthest of what it applied and what it shares with the source).
 */
async function purgedAndMissing(replica: Member, source: Member): Promise<string> {
    if (replica.dialect.name !== "mariadb") {
        const mine = String((await scalar(replica.session, "SELECT @@GLOBAL.gtid_executed")) ?? "").replace(/\s+/g, "");
        return String((await scalar(source.session, purgedMissing(mine))) ?? "").replace(/\s+/g, "");
    }
    const [[mine], logs, sourceState] = await Promise.all([
        query<{ applied: string; state: string }>(replica.session, MARIA_REPLICA_POSITIONS),
        query<{ Log_name: string }>(source.session, SHOW_BINARY_LOGS),
        scalar(source.session, "SELECT @@GLOBAL.gtid_binlog_state").then((v) => String(v ?? "")),
    ]);
    if (logs.length === 0) return "";
    const purgedUpTo = String((await scalar(source.session, binlogStartPosition(String(logs[0].Log_name)))) ?? "");
    const position = mariaFurthest(String(mine.applied ?? ""), mariaSharedPosition(String(mine.state ?? ""), sourceState));
    return mariaPurgedBeyond(position, purgedUpTo);
}

/**
 * Seeds every replica given, in parallel, each stage with `deadlineSeconds` of its own. Returns when each was
 * seeded. A failure leaves the replica read-only with the provider's note, so the next run copies it again. A copy
 * (dump) also sets the replica's channel (attach.ts channelChange) once its note is gone, not started: attach then
 * only starts it.
 */
export async function seedReplicas(
    seeds: PlannedSeed[],
    source: Member,
    inputs: ReplicationInputs,
    links: { tls: boolean; verify?: { ca: string; cert: string; key: string } } = { tls: false },
): Promise<Record<string, SeedRecord>> {
    if (seeds.length === 0) return {};
    const records: Record<string, SeedRecord> = {};
    const results = await Promise.allSettled(
        seeds.map(async ({ replica, method }) => {
            const started = Date.now();
            let lowered = false;
            try {
                if (replica.dialect.superReadOnly) {
                    // The copy writes as root; read_only stays on, so clients still cannot write.
                    lowered = true;
                    await query(replica.session, "SET GLOBAL super_read_only = OFF");
                }
                const log = (l: string) => seedLog.write(l);
                if (method === "clone") {
                    const cloned = await seedByClone(replica, source, { inputs, stageSeconds: inputs.deadlineSeconds, ...links, log });
                    records[replica.endpoint.name] = { by: "clone", at: new Date().toISOString() };
                    seedLog.write(
                        `seed ${replica.endpoint.name}: done by clone in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
                            `${(cloned.bytes / 1048576).toFixed(1)} MiB, at GTID ${cloned.position || "(empty)"}`,
                    );
                    return;
                }
                const done = await seedByDump(replica, source, { inputs, stageSeconds: inputs.deadlineSeconds, log, channel: channelChange(replica, inputs, links.tls, links.verify) });
                records[replica.endpoint.name] = { by: "dump", at: new Date().toISOString() };
                seedLog.write(
                    `seed ${replica.endpoint.name}: done by dump in ${((Date.now() - started) / 1000).toFixed(1)} s: ${done.tables} table(s), ` +
                        `${done.rows} rows, ${(done.bytes / 1048576).toFixed(1)} MiB, at GTID ${done.position || "(empty)"}`,
                );
            } finally {
                if (lowered) for (const statement of makeReadOnly(replica.dialect)) await cleanUp(replica.session, statement);
            }
        }),
    );
    const failures = results.flatMap((r, i) =>
        r.status === "rejected"
            ? [`${seeds[i].replica.endpoint.name}: the seed did not finish (the next run copies it again, or attaches it if the copy itself was complete): ${(r.reason as Error).message ?? r.reason}`]
            : [],
    );
    if (failures.length > 0) throw new Error(failures.join("\n"));
    return records;
}
