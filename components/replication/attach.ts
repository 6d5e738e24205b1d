/**
 * Converge step: make one replica replicate from the source, GTID auto-positioned, read-only, its threads
 * running. Checks the replica's history before it writes anything; every statement sequence is safe to cut
 * short at any point (the next run converges from where it stopped).
 */
import {
    alignAppliedPosition,
    changeSource,
    type ChannelTlsFiles,
    dropReplicationAccount,
    makeReadOnly,
    PENDING_RESET_EXISTS,
    READ_PENDING_RESET,
    resetLocalHistory,
    resumeInterruptedReset,
} from "./dialect";
import { judgeHistory, type HistoryVerdict, type ReplicaHistory } from "./gtid";
import { silenceHeartbeat } from "./heartbeat";
import { executedSet, readHistory, readThreads, type Member } from "./members";
import { channelAddress, channelTarget } from "./route";
import { cleanUp, pollUntil, query } from "./session";
import { SSL_CONNECTION_ERROR, tlsRefusal, type ReplicaThreads } from "./status";
import type { ReplicationInputs } from "./types";

/**
 * IO errors that retrying does not cure: wrong password, missing privilege, source purged what we need.
 * An array, not a Set: the engine serializes this module's captured values into state, and a serialized Set
 * loses its contents (its `has` then throws "incompatible receiver"). test/unit/serializedProvider.test.ts.
 */
export const FATAL_IO_ERRNOS: readonly number[] = [1045, 1236, 1593, 2061, 13114, 13117, 13120];

export interface AttachOptions {
    /** Use TLS on the channel (resolved from the `tls` input and the source). */
    tls: boolean;
    /** tls verify: the channel verifies the source with these files on the replica, and presents its certificate. */
    verify?: ChannelTlsFiles;
    /** Re-point even when the replica already replicates from the source. */
    force: boolean;
    /** Accounts to drop on this replica (binlog off) while it is writable for the provider. */
    dropAccounts: Array<{ user: string; host: string }>;
    deadline: number;
    /**
     * This run's seed (seedDump.ts) already set the channel with channelChange's statement for these very inputs, at the
     * end of its copy: the attach starts it without the CHANGE (5-40 ms of the replica's time, on the bench).
     */
    channelSet?: boolean;
}

/** The CHANGE statement pointing a replica at the source: the one attach runs, and a seed runs ahead of it. */
export function channelChange(replica: Member, inputs: ReplicationInputs, tls: boolean, verify?: ChannelTlsFiles): string {
    // The source's alias on a shared host, else its host's address and published port (route.ts).
    const target = channelTarget(inputs.source, replica.endpoint);
    return changeSource(replica.dialect, {
        host: target.host,
        port: target.port,
        user: inputs.replicationUser,
        password: inputs.replicationPassword,
        connectRetrySeconds: inputs.connectRetrySeconds,
        tls,
        verify,
    });
}

function refusal(replica: Member, sourceName: string, verdict: Extract<HistoryVerdict, { action: "refuse" }>): Error {
    return new Error(
        `${replica.endpoint.name}: refusing to attach it to ${sourceName}: ${verdict.reason}. ` +
            `Errant GTIDs: ${verdict.errant}. Nothing was changed on ${replica.endpoint.name}. ` +
            "Move or remove those transactions by hand (or rebuild the replica from a copy of the source), then run again.",
    );
}

/** Makes one replica replicate from the source; returns once both threads run. */
export async function attachReplica(replica: Member, source: Member, inputs: ReplicationInputs, options: AttachOptions): Promise<void> {
    // Whatever happens below, a replica whose super_read_only was lowered gets it back: a failed run must not
    // leave a replica that root (or an event defined by root) can write to.
    const guard = { lowered: false };
    try {
        // A copy of the source's heartbeat event that runs here (a former source, a replica rebuilt from a copy of
        // the source) would write transactions of this replica's own.
        guard.lowered = await silenceHeartbeat(replica);
        await converge(replica, source, inputs, options, guard);
        await waitForThreads(replica, options.deadline);
        for (const statement of makeReadOnly(replica.dialect)) await query(replica.session, statement);
        guard.lowered = false;
    } finally {
        if (guard.lowered) for (const statement of makeReadOnly(replica.dialect)) await cleanUp(replica.session, statement);
    }
}

/** The writes of an attach, checked first; `guard.lowered` says whether super_read_only was lowered. */
async function converge(replica: Member, source: Member, inputs: ReplicationInputs, options: AttachOptions, guard: { lowered: boolean }): Promise<void> {
    const wanted = channelAddress(inputs.source, replica.endpoint);
    const before = await readThreads(replica);
    const pendingReset = await readPendingReset(replica);
    // A channel that verifies less (or other files) than asked for is re-pointed, as is one whose TLS differs.
    const sameTls = before.tls === options.tls && (options.verify ? before.tlsVerified && before.tlsCaFile === options.verify.ca : true);
    const alreadyReplicating = before.configured && before.source === wanted && before.ioRunning && before.sqlRunning && sameTls;
    const needsWork = !alreadyReplicating || options.force || pendingReset !== undefined || options.dropAccounts.length > 0;
    if (!needsWork) return;
    // Judge before writing anything: a refused replica is left exactly as it was.
    const first = await readHistory(replica, source);
    const firstVerdict = judgeHistory(first);
    if (firstVerdict.action === "refuse" && pendingReset === undefined) throw refusal(replica, inputs.source.name, firstVerdict);

    if (replica.dialect.superReadOnly) {
        // RESET, CHANGE and account statements write system tables, which super_read_only blocks even for
        // the provider; read_only stays on, so clients still cannot write.
        guard.lowered = true;
        await query(replica.session, "SET GLOBAL super_read_only = OFF");
    }
    // Stop before reading what to keep: an applier still running would add to the history after the read. A channel
    // with both threads stopped (one this run's seed set) has nothing to stop.
    const running = before.configured && (before.ioState !== "No" || before.sqlRunning);
    if (running) await query(replica.session, replica.dialect.stop);
    if (pendingReset !== undefined) {
        // A previous run stopped between RESET MASTER and declaring what the replica had applied.
        for (const statement of resumeInterruptedReset(replica.dialect, pendingReset, await executedSet(replica))) await query(replica.session, statement);
    }
    // Read again after the stop and an interrupted reset's resumption; with neither, nothing could have changed it.
    const history = running || pendingReset !== undefined ? await readHistory(replica, source) : first;
    const verdict = judgeHistory(history);
    if (verdict.action === "refuse") {
        if (before.configured && before.ioRunning && before.sqlRunning) await query(replica.session, replica.dialect.start);
        throw refusal(replica, inputs.source.name, verdict);
    }
    for (const statement of historyStatements(replica, verdict, history)) await query(replica.session, statement);
    for (const { user, host } of options.dropAccounts) {
        for (const statement of dropReplicationAccount(user, host)) await query(replica.session, statement);
    }
    if (!options.channelSet) await query(replica.session, channelChange(replica, inputs, options.tls, options.verify));
    await query(replica.session, replica.dialect.start);
}

/** Read-only: throws, naming every replica the source's history cannot take, before a run writes anything. */
export async function preflightReplicas(replicas: Member[], source: Member): Promise<void> {
    const refused = await Promise.all(
        replicas.map(async (replica) => {
            const verdict = judgeHistory(await readHistory(replica, source));
            return verdict.action === "refuse" ? refusal(replica, source.endpoint.name, verdict).message : undefined;
        }),
    );
    const problems = refused.filter((r): r is string => r !== undefined);
    if (problems.length > 0) throw new Error(problems.join("\n"));
}

function historyStatements(replica: Member, verdict: HistoryVerdict, history: ReplicaHistory): string[] {
    if (verdict.action === "reset") return resetLocalHistory(replica.dialect, history.shared);
    return alignAppliedPosition(replica.dialect, history.currentPosition ?? "", history.appliedPosition ?? "");
}

/** The `keep` of a reset a previous run left unfinished, or undefined. */
async function readPendingReset(replica: Member): Promise<string | undefined> {
    if ((await query(replica.session, PENDING_RESET_EXISTS)).length === 0) return undefined;
    const rows = await query<{ keep_gtids: string }>(replica.session, READ_PENDING_RESET);
    return rows.length === 0 ? undefined : String(rows[0].keep_gtids);
}

export async function waitForThreads(replica: Member, deadline: number): Promise<ReplicaThreads> {
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
            if (ioErrno === SSL_CONNECTION_ERROR) throw new Error(tlsRefusal(replica.endpoint.name, last.lastIoError));
            if (last.lastIoError && FATAL_IO_ERRNOS.includes(ioErrno)) {
                throw new Error(`${replica.endpoint.name}: the IO thread cannot replicate from the source: ${last.lastIoError}`);
            }
            if (!last.ioRunning && last.ioState === "No" && last.lastIoError) {
                throw new Error(`${replica.endpoint.name}: the IO thread stopped: ${last.lastIoError}`);
            }
            return undefined;
        },
        () => (last ? `IO=${last.ioState} SQL=${last.sqlRunning ? "Yes" : "No"} ${last.lastIoError || last.lastSqlError}`.trim() : "no status read"),
        // Right after START, the IO thread connects within milliseconds (it was still connecting at the first read in
        // most runs): a first pause of 20 ms cost most of that wait. 2 ms, growing 1.6× a time, reads the status
        // about five more times in the first 20 ms.
        2,
    );
}

/** An applier stopped by an error, or an IO thread that retrying will not cure. */
export function stoppedForGood(threads: ReplicaThreads): boolean {
    return (!threads.sqlRunning && threads.lastSqlError !== "") || FATAL_IO_ERRNOS.includes(Number(threads.lastIoError.split(":")[0]));
}
