/**
 * The replication dynamic provider: turns running servers into a replicating, verified set and reports each
 * replica's status. check/diff are pure; create/read/update/delete talk to the servers through session.ts.
 *
 * The engine serializes this object's code into the stack state and runs it from there, so it captures
 * nothing but code: mysql2 is required inside the functions, and passwords only ever arrive as inputs.
 */
import type * as pulumi from "@pulumi/pulumi";
import { replicaHealthy, type ReplicaStatus, type SourceStatus } from "../outputs";
import {
    alignAppliedPosition,
    changeSource,
    compareWithSourceGtids,
    dialectFor,
    dropReplicationAccount,
    makeWritable,
    ensureReplicationAccount,
    identifyServer,
    makeReadOnly,
    probeRead,
    probeSetup,
    probeWrite,
    resetLocalHistory,
    SYSTEM_SCHEMAS,
    type Dialect,
    type ServerIdentity,
} from "./dialect";
import { judgeHistory, mariaErrantGtids, formatMariaGtids, mysqlGtidOrigins, type ReplicaHistory } from "./gtid";
import { closeQuietly, connectWithin, describe, pollUntil, query, scalar, type Session } from "./session";
import { defaultChannelRow, parseReplicaStatus, type ReplicaThreads } from "./status";
import type { MemberEndpoint, ReplicationInputs, ReplicationState } from "./types";

/** A connected member with what the provider learned about it. */
interface Member {
    endpoint: MemberEndpoint;
    session: Session;
    identity: ServerIdentity;
    dialect: Dialect;
}

/** Options of one convergence run. */
interface ConvergeOptions {
    /** Replicas to re-point even when they already replicate from the source (source or credentials changed). */
    reconfigure: Set<string>;
    /** Replicas that left the set: stop and forget their channel. */
    detach: MemberEndpoint[];
    /** A replication account that is no longer wanted (user or host changed). */
    dropAccount?: { user: string; host: string };
}

// ---------------------------------------------------------------------------------------------------------
// check / diff: pure

const INPUT_KEYS: ReadonlyArray<keyof ReplicationInputs> = [
    "source",
    "replicas",
    "rootUser",
    "rootPassword",
    "replicationUser",
    "replicationPassword",
    "replicationUserHost",
    "tls",
    "connectRetrySeconds",
    "deadlineSeconds",
    "verify",
    "containerIds",
];

export function checkInputs(news: Record<string, unknown>): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const endpoint = (value: unknown, property: string) => {
        const e = value as Partial<MemberEndpoint> | undefined;
        if (!e || typeof e !== "object") {
            fail(property, "must be a member endpoint");
            return;
        }
        if (typeof e.name !== "string" || e.name === "") fail(`${property}.name`, "must be the member name");
        if (typeof e.host !== "string" || e.host === "") fail(`${property}.host`, "must be the published host address");
        if (!Number.isInteger(e.port)) fail(`${property}.port`, "must be the published port");
        if (typeof e.internalHost !== "string" || e.internalHost === "") fail(`${property}.internalHost`, "must be the network alias");
        if (!Number.isInteger(e.internalPort)) fail(`${property}.internalPort`, "must be the port inside the network");
    };
    endpoint(news.source, "source");
    if (!Array.isArray(news.replicas) || news.replicas.length === 0) fail("replicas", "must list at least one replica");
    else news.replicas.forEach((r, i) => endpoint(r, `replicas[${i}]`));
    for (const key of ["rootUser", "rootPassword", "replicationUser", "replicationPassword"] as const) {
        if (typeof news[key] !== "string" || news[key] === "") fail(key, "must be a non-empty string");
    }
    if (typeof news.replicationUserHost !== "string" || news.replicationUserHost === "") fail("replicationUserHost", "must be a host pattern");
    if (!["auto", "on", "off"].includes(news.tls as string)) fail("tls", "must be auto, on or off");
    if (!Number.isInteger(news.connectRetrySeconds) || (news.connectRetrySeconds as number) < 1) fail("connectRetrySeconds", "must be a whole number ≥ 1");
    if (typeof news.deadlineSeconds !== "number" || news.deadlineSeconds <= 0) fail("deadlineSeconds", "must be a positive number");
    if (typeof news.verify !== "boolean") fail("verify", "must be true or false");
    return failures;
}

/** Pure: which inputs changed. Replication is converged in place, so nothing forces a replacement. */
export function diffInputs(olds: Partial<ReplicationState>, news: Partial<ReplicationInputs>): pulumi.dynamic.DiffResult {
    const changed = INPUT_KEYS.filter((key) => canonical(olds[key]) !== canonical(news[key]));
    // A set last observed unhealthy (e.g. by `pulumi refresh`) is converged again by the next `pulumi up`,
    // even without a config change; a healthy one is left alone, so a second `up` changes nothing.
    const unhealthy = olds.healthy === false;
    return { changes: changed.length > 0 || unhealthy, replaces: [], deleteBeforeReplace: false, stables: [] };
}

/**
 * JSON with object keys sorted: olds come back from state through a protobuf Struct, whose map order is not
 * the order the program wrote, so plain JSON.stringify would report a change on every preview.
 */
function canonical(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) =>
        v && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
            : v,
    );
}

/** Pure: what an update has to do beyond converging the new inputs. */
export function planUpdate(olds: ReplicationInputs, news: ReplicationInputs): ConvergeOptions {
    const sourceMoved =
        olds.source.internalHost !== news.source.internalHost ||
        olds.source.internalPort !== news.source.internalPort ||
        olds.source.name !== news.source.name;
    const credentialsChanged =
        olds.replicationUser !== news.replicationUser ||
        olds.replicationPassword !== news.replicationPassword ||
        olds.replicationUserHost !== news.replicationUserHost ||
        olds.tls !== news.tls ||
        olds.connectRetrySeconds !== news.connectRetrySeconds;
    const reconfigure = new Set<string>();
    if (sourceMoved || credentialsChanged) news.replicas.forEach((r) => reconfigure.add(r.name));
    const newNames = new Set(news.replicas.map((r) => r.name));
    // A replica that left the set stops replicating; so does one promoted to source, which would otherwise keep
    // its channel to the old source (and, once that one replicates from it, replicate in a circle).
    const detach = olds.replicas.filter((r) => !newNames.has(r.name));
    const accountMoved = olds.replicationUser !== news.replicationUser || olds.replicationUserHost !== news.replicationUserHost;
    return {
        reconfigure,
        detach,
        dropAccount: accountMoved && !sourceMoved ? { user: olds.replicationUser, host: olds.replicationUserHost } : undefined,
    };
}

// ---------------------------------------------------------------------------------------------------------
// create / update: converge

function deadlineOf(inputs: ReplicationInputs): number {
    return Date.now() + inputs.deadlineSeconds * 1000;
}

async function connectMember(endpoint: MemberEndpoint, inputs: ReplicationInputs, deadline: number): Promise<Member> {
    const session = await connectWithin(endpoint, { user: inputs.rootUser, password: inputs.rootPassword }, deadline);
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

/** Opens every connection in parallel; closes what opened when any fails. */
async function connectAll(endpoints: MemberEndpoint[], inputs: ReplicationInputs, deadline: number): Promise<Member[]> {
    const settled = await Promise.allSettled(endpoints.map((e) => connectMember(e, inputs, deadline)));
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed.length > 0) {
        await Promise.all(settled.map((s) => (s.status === "fulfilled" ? closeQuietly(s.value.session) : undefined)));
        throw new Error(failed.map((f) => describe(f.reason)).join("\n"));
    }
    return settled.map((s) => (s as PromiseFulfilledResult<Member>).value);
}

async function tlsAvailable(source: Member): Promise<boolean> {
    const rows = await query<{ Variable_name: string; Value: string }>(source.session, "SHOW GLOBAL VARIABLES LIKE 'have_ssl'");
    if (rows.length > 0) return String(rows[0].Value).toUpperCase() === "YES";
    // MySQL 8.4 dropped have_ssl; a loaded server certificate shows in the TLS status instead.
    const status = await query<{ Value: string }>(source.session, "SHOW GLOBAL STATUS LIKE 'Ssl_server_not_after'");
    return status.length > 0 && String(status[0].Value) !== "";
}

async function readThreads(member: Member): Promise<ReplicaThreads> {
    return parseReplicaStatus(defaultChannelRow(await query(member.session, member.dialect.status)));
}

/** The replica's transactions that the source lacks, and where they came from. */
async function readHistory(replica: Member, source: Member): Promise<ReplicaHistory> {
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
        const theirs = String(await scalar(source.session, "SELECT @@GLOBAL.gtid_binlog_state"));
        const errant = mariaErrantGtids(String(mine.state), theirs);
        return {
            errant: formatMariaGtids(errant),
            errantOrigins: errant.map((g) => String(g.server)),
            ownOrigin: String(mine.id),
            userSchemas: await userSchemasIf(formatMariaGtids(errant)),
            shared: "",
            currentPosition: String(mine.current ?? ""),
            appliedPosition: String(mine.applied ?? ""),
        };
    }
    const [mine] = await query<{ gtids: string; uuid: string }>(replica.session, "SELECT @@GLOBAL.gtid_executed AS gtids, @@GLOBAL.server_uuid AS uuid");
    const [row] = await query<{ errant: string; shared: string }>(source.session, compareWithSourceGtids(String(mine.gtids)));
    const errant = String(row.errant ?? "").replace(/\s+/g, "");
    const shared = String(row.shared ?? "").replace(/\s+/g, "");
    return { errant, errantOrigins: mysqlGtidOrigins(errant), ownOrigin: String(mine.uuid).toLowerCase(), userSchemas: await userSchemasIf(errant), shared };
}

/** Makes one replica replicate from the source; returns once both threads run. */
async function attachReplica(replica: Member, source: Member, inputs: ReplicationInputs, tls: boolean, force: boolean, deadline: number): Promise<void> {
    const wanted = `${inputs.source.internalHost}:${inputs.source.internalPort}`;
    const before = await readThreads(replica);
    const alreadyReplicating = before.configured && before.source === wanted && before.ioRunning && before.sqlRunning;
    if (!alreadyReplicating || force) {
        const history = await readHistory(replica, source);
        const verdict = judgeHistory(history);
        if (verdict.action === "refuse") {
            throw new Error(
                `${replica.endpoint.name}: refusing to attach it to ${inputs.source.name}: ${verdict.reason}. ` +
                    `Errant GTIDs: ${verdict.errant}. Nothing was changed on ${replica.endpoint.name}. ` +
                    "Move or remove those transactions by hand (or rebuild the replica from a copy of the source), then run again.",
            );
        }
        if (replica.dialect.superReadOnly) {
            // RESET and CHANGE write replication metadata tables, which super_read_only may block on some versions.
            await query(replica.session, "SET GLOBAL super_read_only = OFF");
        }
        if (before.configured) await query(replica.session, replica.dialect.stop);
        if (verdict.action === "reset") {
            for (const statement of resetLocalHistory(replica.dialect, verdict.keep)) await query(replica.session, statement);
        } else {
            for (const statement of alignAppliedPosition(replica.dialect, history.currentPosition ?? "", history.appliedPosition ?? "")) {
                await query(replica.session, statement);
            }
        }
        await query(
            replica.session,
            changeSource(replica.dialect, {
                host: inputs.source.internalHost,
                port: inputs.source.internalPort,
                user: inputs.replicationUser,
                password: inputs.replicationPassword,
                connectRetrySeconds: inputs.connectRetrySeconds,
                tls,
            }),
        );
        await query(replica.session, replica.dialect.start);
    }
    await waitForThreads(replica, deadline);
    for (const statement of makeReadOnly(replica.dialect)) await query(replica.session, statement);
}

/**
 * IO errors that retrying does not cure: wrong password, missing privilege, source purged what we need.
 * An array, not a Set: the engine serializes this module's captured values into state, and a serialized Set
 * loses its contents (its `has` then throws "incompatible receiver"). test/unit/serializedProvider.test.ts.
 */
const FATAL_IO_ERRNOS: readonly number[] = [1045, 1236, 1593, 2061, 13114, 13117, 13120];

async function waitForThreads(replica: Member, deadline: number): Promise<ReplicaThreads> {
    let last: ReplicaThreads | undefined;
    return pollUntil(
        `${replica.endpoint.name}'s replication threads to run`,
        deadline,
        async () => {
            last = await readThreads(replica);
            if (last.ioRunning && last.sqlRunning) return last;
            if (!last.sqlRunning && last.lastSqlError) {
                throw new Error(`${replica.endpoint.name}: the SQL thread stopped: ${last.lastSqlError}`);
            }
            const ioErrno = Number(last.lastIoError.split(":")[0]);
            if (last.lastIoError && FATAL_IO_ERRNOS.includes(ioErrno)) {
                throw new Error(`${replica.endpoint.name}: the IO thread cannot replicate from the source: ${last.lastIoError}`);
            }
            if (!last.ioRunning && last.ioState === "No" && last.lastIoError) {
                throw new Error(`${replica.endpoint.name}: the IO thread stopped: ${last.lastIoError}`);
            }
            return undefined;
        },
        () => (last ? `IO=${last.ioState} SQL=${last.sqlRunning ? "Yes" : "No"} ${last.lastIoError || last.lastSqlError}`.trim() : "no status read"),
    );
}

/** Writes a probe row on the source and waits until every replica has applied it; returns lag per replica. */
async function verifyReplication(source: Member, replicas: Member[], deadline: number): Promise<Record<string, number>> {
    for (const statement of probeSetup()) await query(source.session, statement);
    const token = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    await query(source.session, probeWrite(token, source.endpoint.name));
    const written = Date.now();
    const gtids = String(await scalar(source.session, source.dialect.executedGtids));
    const lags = await Promise.all(
        replicas.map(async (replica) => {
            const started = Date.now();
            // The server does the waiting (it returns the moment the GTIDs are applied), in slices of at most 5 s:
            // between slices, an applier stopped by an error or a fatal IO error fails at once, not at the deadline.
            for (;;) {
                const slice = Math.max(1, Math.min(5, (deadline - Date.now()) / 1000));
                const result = await scalar(replica.session, replica.dialect.waitForGtids(gtids, slice));
                if (Number(result) === 0) break;
                const threads = await readThreads(replica);
                const stopped =
                    (!threads.sqlRunning && threads.lastSqlError !== "") ||
                    FATAL_IO_ERRNOS.includes(Number(threads.lastIoError.split(":")[0]));
                if (stopped || Date.now() >= deadline) {
                    throw new Error(
                        `${replica.endpoint.name} did not apply the probe row (source GTIDs ${gtids}) within ` +
                            `${((Date.now() - started) / 1000).toFixed(0)}s; ` +
                            `IO=${threads.ioState} SQL=${threads.sqlRunning ? "Yes" : "No"} ${threads.lastIoError} ${threads.lastSqlError}`.trim(),
                    );
                }
            }
            const lag = Date.now() - written;
            const rows = await query(replica.session, probeRead(token));
            if (rows.length !== 1) throw new Error(`${replica.endpoint.name} applied the source's GTIDs but the probe row ${token} is missing`);
            return [replica.endpoint.name, lag] as const;
        }),
    );
    return Object.fromEntries(lags);
}

function endpointText(e: MemberEndpoint): string {
    return `${e.host}:${e.port}`;
}

function sourceStatusOf(source: Member): SourceStatus {
    return {
        member: source.endpoint.name,
        endpoint: endpointText(source.endpoint),
        serverVersion: source.identity.versionText,
        flavor: source.identity.flavor,
        dialect: source.dialect.name,
    };
}

function replicaStatusOf(endpoint: MemberEndpoint, threads: ReplicaThreads, member: Member | undefined, probeLagMs: number | null): ReplicaStatus {
    return {
        endpoint: endpointText(endpoint),
        source: threads.source,
        ioRunning: threads.ioRunning,
        sqlRunning: threads.sqlRunning,
        secondsBehindSource: threads.secondsBehindSource,
        lastIoError: threads.lastIoError,
        lastSqlError: threads.lastSqlError,
        retrievedGtidSet: threads.retrievedGtidSet,
        executedGtidSet: threads.executedGtidSet,
        probeLagMs,
        serverVersion: member?.identity.versionText ?? "",
        dialect: member?.dialect.name ?? "",
    };
}

function stateOf(inputs: ReplicationInputs, sourceStatus: SourceStatus, replicaStatus: Record<string, ReplicaStatus>, tlsInUse: boolean): ReplicationState {
    const healthy = Object.values(replicaStatus).every(replicaHealthy);
    return { ...inputs, sourceStatus, replicaStatus, healthy, tlsInUse, observedAt: new Date().toISOString() };
}

/** Detaches replicas that left the set: stop and forget the channel. Their data stays. */
async function detachAll(endpoints: MemberEndpoint[], inputs: ReplicationInputs, deadline: number): Promise<void> {
    await Promise.all(endpoints.map((e) => detachReplica(e, inputs, deadline)));
}

async function detachReplica(endpoint: MemberEndpoint, inputs: ReplicationInputs, deadline: number): Promise<void> {
    let member: Member | undefined;
    try {
        member = await connectMember(endpoint, inputs, Math.min(deadline, Date.now() + 15000));
    } catch (error) {
        if (isGone(error)) return; // the server is already gone: nothing left to detach
        throw error;
    }
    try {
        const threads = await readThreads(member);
        if (!threads.configured) return;
        if (member.dialect.superReadOnly) await query(member.session, "SET GLOBAL super_read_only = OFF");
        await query(member.session, member.dialect.stop);
        await query(member.session, member.dialect.resetReplicaAll);
    } finally {
        await closeQuietly(member.session);
    }
}

/** A connection failure that means the server is not there (as opposed to refusing us). */
function isGone(error: unknown): boolean {
    return /Timed out .* to accept connections|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(describe(error));
}

/** create and update share this: every step is idempotent, so a run interrupted anywhere converges next time. */
export async function converge(inputs: ReplicationInputs, options: ConvergeOptions): Promise<ReplicationState> {
    const deadline = deadlineOf(inputs);
    if (options.detach.length > 0) await detachAll(options.detach, inputs, deadline);
    const members = await connectAll([inputs.source, ...inputs.replicas], inputs, deadline);
    const [source, ...replicas] = members;
    try {
        const tls = inputs.tls === "on" ? true : inputs.tls === "off" ? false : await tlsAvailable(source);
        if (inputs.tls === "on" && !(await tlsAvailable(source))) {
            throw new Error(`${source.endpoint.name} has no TLS certificate loaded, but tls is "on"; give the server certificates or set tls to auto`);
        }
        // The source takes writes: a replica promoted to source is still read-only until told otherwise.
        if (Number(await scalar(source.session, "SELECT @@GLOBAL.read_only")) === 1) {
            for (const statement of makeWritable(source.dialect)) await query(source.session, statement);
        }
        for (const statement of ensureReplicationAccount({
            user: inputs.replicationUser,
            host: inputs.replicationUserHost,
            password: inputs.replicationPassword,
            requireTls: tls,
        })) {
            await query(source.session, statement);
        }
        if (options.dropAccount) {
            const { user, host } = options.dropAccount;
            if (user !== inputs.replicationUser || host !== inputs.replicationUserHost) {
                await query(source.session, dropReplicationAccount(user, host));
            }
        }
        // Every replica at once: the set is ready when the slowest replica is, not the sum of them.
        const attached = await Promise.allSettled(
            replicas.map((r) => attachReplica(r, source, inputs, tls, options.reconfigure.has(r.endpoint.name), deadline)),
        );
        const failures = attached.filter((a): a is PromiseRejectedResult => a.status === "rejected");
        if (failures.length > 0) throw new Error(failures.map((f) => describe(f.reason)).join("\n"));

        const lags = inputs.verify ? await verifyReplication(source, replicas, deadline) : {};
        const statuses = await Promise.all(
            replicas.map(async (r) => [r.endpoint.name, replicaStatusOf(r.endpoint, await readThreads(r), r, lags[r.endpoint.name] ?? null)] as const),
        );
        return stateOf(inputs, sourceStatusOf(source), Object.fromEntries(statuses), tls);
    } finally {
        await Promise.all(members.map((m) => closeQuietly(m.session)));
    }
}

// ---------------------------------------------------------------------------------------------------------
// read: live status

/** Reads the live status of every replica; an unreachable server is reported, not thrown. */
export async function observe(state: ReplicationState): Promise<ReplicationState> {
    const deadline = Date.now() + Math.min(state.deadlineSeconds, 10) * 1000;
    const [sourceResult, ...replicaResults] = await Promise.allSettled(
        [state.source, ...state.replicas].map((e) => connectMember(e, state, deadline)),
    );
    try {
        const sourceStatus =
            sourceResult.status === "fulfilled" ? sourceStatusOf(sourceResult.value) : { ...state.sourceStatus, serverVersion: state.sourceStatus?.serverVersion ?? "" };
        const statuses = await Promise.all(
            state.replicas.map(async (endpoint, i): Promise<[string, ReplicaStatus]> => {
                const result = replicaResults[i];
                const previousLag = state.replicaStatus?.[endpoint.name]?.probeLagMs ?? null;
                if (result.status === "rejected") {
                    return [endpoint.name, {
                        ...replicaStatusOf(endpoint, parseReplicaStatus(undefined), undefined, previousLag),
                        serverVersion: state.replicaStatus?.[endpoint.name]?.serverVersion ?? "",
                        dialect: state.replicaStatus?.[endpoint.name]?.dialect ?? "",
                        lastIoError: `provider cannot reach ${endpoint.name}: ${describe(result.reason)}`,
                    }];
                }
                return [endpoint.name, replicaStatusOf(endpoint, await readThreads(result.value), result.value, previousLag)];
            }),
        );
        return stateOf(stripStatus(state), sourceStatus, Object.fromEntries(statuses), state.tlsInUse);
    } finally {
        await Promise.all(
            [sourceResult, ...replicaResults].map((r) => (r.status === "fulfilled" ? closeQuietly(r.value.session) : undefined)),
        );
    }
}

function stripStatus(state: ReplicationState): ReplicationInputs {
    const inputs: Record<string, unknown> = {};
    for (const key of INPUT_KEYS) inputs[key] = state[key];
    return inputs as unknown as ReplicationInputs;
}

// ---------------------------------------------------------------------------------------------------------
// delete

/** Stops and forgets every replica's channel. Data, the probe schema and the account stay. */
export async function detachEverything(state: ReplicationInputs): Promise<void> {
    await detachAll(state.replicas, state, deadlineOf(state));
}

// ---------------------------------------------------------------------------------------------------------
// The provider object the engine serializes.

export const replicationProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
        return { inputs: news, failures: checkInputs(news) };
    },
    async diff(_id: string, olds: ReplicationState, news: ReplicationInputs) {
        return diffInputs(olds, news);
    },
    async create(inputs: ReplicationInputs) {
        const outs = await converge(inputs, { reconfigure: new Set(), detach: [] });
        return { id: `${inputs.source.name}-replicaset`, outs };
    },
    async read(id: string, props: ReplicationState) {
        return { id, props: await observe(props) };
    },
    async update(_id: string, olds: ReplicationState, news: ReplicationInputs) {
        return { outs: await converge(news, planUpdate(olds, news)) };
    },
    async delete(_id: string, props: ReplicationState) {
        await detachEverything(props);
    },
};
