/**
 * Connected members: open sessions to every member in parallel, identify each server's flavor and dialect, and
 * read what the provider decides on (replication threads, GTID history, TLS, read-only state). Reads only.
 */
import {
    compareWithSourceGtids,
    dialectFor,
    identifyServer,
    SEED_NOTE_EXISTS,
    SEED_NOTE_READ,
    SYSTEM_SCHEMAS,
    type Dialect,
    type ServerIdentity,
} from "./dialect";
import { mariaErrantGtids, formatMariaGtids, mariaSharedPosition, mergeMariaStates, mysqlGtidOrigins, type ReplicaHistory } from "./gtid";
import { answeredByServer, closeQuietly, connectWithin, describe, query, scalar, type ConnectOptions, type ConnectTimeout, type Session } from "./session";
import { defaultChannelRow, parseReplicaStatus, type ReplicaThreads } from "./status";
import type { MemberEndpoint, ReplicationInputs } from "./types";

/** A connected member with what the provider learned about it. */
export interface Member {
    endpoint: MemberEndpoint;
    session: Session;
    identity: ServerIdentity;
    dialect: Dialect;
}

/**
 * `alsoTrusted`: during a rotation the provider trusts the previous CA as well, since members still present
 * certificates it signed until they reload.
 */
export async function connectMember(endpoint: MemberEndpoint, inputs: ReplicationInputs, deadline: number, alsoTrusted?: string, options: ConnectOptions = {}): Promise<Member> {
    const trustedCa = inputs.tls === "verify" && inputs.tlsCertificates ? [inputs.tlsCertificates.ca, alsoTrusted ?? ""].join("\n").trim() : undefined;
    const session = await connectWithin(endpoint, { user: inputs.rootUser, password: inputs.rootPassword, trustedCa }, deadline, options);
    session.secrets.push(inputs.replicationPassword);
    try {
        const [row] = await query<{ v: string; c: string }>(session, "SELECT VERSION() AS v, @@version_comment AS c");
        const identity = identifyServer(String(row.v), String(row.c ?? ""));
        return { endpoint, session, identity, dialect: dialectFor(identity) };
    } catch (error) {
        await closeQuietly(session);
        throw error;
    }
}

/**
 * Another session to a member already connected and identified (the seed's readers and loaders): same endpoint,
 * credentials and dialect, without identifying the server again.
 */
export async function connectAnother(member: Member, inputs: ReplicationInputs, deadline: number, options: ConnectOptions = {}): Promise<Member> {
    const trustedCa = inputs.tls === "verify" && inputs.tlsCertificates ? inputs.tlsCertificates.ca : undefined;
    const session = await connectWithin(member.endpoint, { user: inputs.rootUser, password: inputs.rootPassword, trustedCa }, deadline, options);
    session.secrets.push(inputs.replicationPassword);
    return { ...member, session };
}

export async function closeAll(members: Array<Member | undefined>): Promise<void> {
    await Promise.all(members.map((m) => closeQuietly(m?.session)));
}

/**
 * A connection failure that means the server is not there: no attempt reached a server. One that answered with an
 * error (1040 Too many connections, 1129 host blocked, a refused login) is running, busy or refusing us: not gone.
 */
export function isGone(error: unknown): boolean {
    // Read by property, not instanceof: the engine runs a serialized copy of these modules.
    const answered = (error as Partial<ConnectTimeout> | undefined)?.serverAnswered;
    if (typeof answered === "boolean") return !answered && /Timed out .* to accept connections/.test(describe(error));
    return !answeredByServer(error) && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(describe(error));
}

export async function tlsAvailable(member: Member): Promise<boolean> {
    const rows = await query<{ Variable_name: string; Value: string }>(member.session, "SHOW GLOBAL VARIABLES LIKE 'have_ssl'");
    if (rows.length > 0) return String(rows[0].Value).toUpperCase() === "YES";
    // MySQL 8.4 dropped have_ssl; a loaded server certificate shows in the TLS status instead.
    const status = await query<{ Value: string }>(member.session, "SHOW GLOBAL STATUS LIKE 'Ssl_server_not_after'");
    return status.length > 0 && String(status[0].Value) !== "";
}

export async function readThreads(member: Member): Promise<ReplicaThreads> {
    return parseReplicaStatus(defaultChannelRow(await query(member.session, member.dialect.status)), member.session.secrets);
}

export async function isReadOnly(member: Member): Promise<boolean> {
    return Number(await scalar(member.session, "SELECT @@GLOBAL.read_only")) === 1;
}

/**
 * The member holds the provider's note of a copy that did not finish (seedDump.ts): its data is part of a copy,
 * whatever its GTIDs say (the copy declares its position while the rows are still coming in).
 */
export async function holdsUnfinishedCopy(member: Member): Promise<boolean> {
    if ((await query(member.session, SEED_NOTE_EXISTS)).length === 0) return false;
    return (await query(member.session, SEED_NOTE_READ)).length > 0;
}

/** The member's executed transactions, in its flavor's notation (MySQL gtid_executed, MariaDB gtid_binlog_state). */
export async function executedSet(member: Member): Promise<string> {
    const sql = member.dialect.name === "mariadb" ? "SELECT @@GLOBAL.gtid_binlog_state" : "SELECT @@GLOBAL.gtid_executed";
    return String((await scalar(member.session, sql)) ?? "").replace(/\s+/g, "");
}

/** The replica's transactions that the source lacks ("" when none). Read-only on both. */
export async function errantGtids(replica: Member, source: Member): Promise<string> {
    return (await readHistory(replica, source)).errant;
}

/**
 * The replica's transactions that the source lacks, and where they came from. `alsoHeldBy` adds the
 * executed sets of other members to the source's (a switchover judges replicas against the new source as it
 * will be once it has caught up with the previous source); it is read after the replica, since the previous
 * source may still take writes that reach the replica in between.
 */
export async function readHistory(replica: Member, source: Member, alsoHeldBy: () => Promise<string[]> = async () => []): Promise<ReplicaHistory> {
    // Which schemas the replica holds matters only when it has transactions the source lacks.
    const userSchemasIf = async (errant: string): Promise<string[]> => {
        if (errant === "") return [];
        const schemas = await query<{ name: string }>(replica.session, "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA");
        return schemas.map((s) => String(s.name)).filter((name) => !SYSTEM_SCHEMAS.includes(name.toLowerCase()));
    };
    // Read the replica first: the source's history only grows, so the comparison cannot race.
    if (replica.dialect.name === "mariadb") {
        const [mine] = await query<{ state: string; id: string; current: string; applied: string }>(
            replica.session,
            "SELECT @@GLOBAL.gtid_binlog_state AS state, @@GLOBAL.server_id AS id, " +
                "@@GLOBAL.gtid_current_pos AS current, @@GLOBAL.gtid_slave_pos AS applied",
        );
        const theirs = mergeMariaStates([String(await scalar(source.session, "SELECT @@GLOBAL.gtid_binlog_state")), ...(await alsoHeldBy())]);
        const errant = mariaErrantGtids(String(mine.state), theirs);
        return {
            errant: formatMariaGtids(errant),
            errantOrigins: errant.map((g) => String(g.server)),
            ownOrigin: String(mine.id),
            userSchemas: await userSchemasIf(formatMariaGtids(errant)),
            shared: mariaSharedPosition(String(mine.state), theirs),
            currentPosition: String(mine.current ?? ""),
            appliedPosition: String(mine.applied ?? ""),
        };
    }
    const [mine] = await query<{ gtids: string; uuid: string }>(replica.session, "SELECT @@GLOBAL.gtid_executed AS gtids, @@GLOBAL.server_uuid AS uuid");
    const [row] = await query<{ errant: string; shared: string }>(source.session, compareWithSourceGtids(String(mine.gtids), await alsoHeldBy()));
    const errant = String(row.errant ?? "").replace(/\s+/g, "");
    const shared = String(row.shared ?? "").replace(/\s+/g, "");
    return { errant, errantOrigins: mysqlGtidOrigins(errant), ownOrigin: String(mine.uuid).toLowerCase(), userSchemas: await userSchemasIf(errant), shared };
}
