/** Pure: the provider's state and the statuses it reports, from what it read off the members. */
import { replicaHealthy, sourceWritable, type ReplicaStatus, type SourceStatus } from "../outputs";
import type { HeartbeatLag } from "./clock";
import type { Member } from "./members";
import { INPUT_KEYS } from "./plan";
import { parseReplicaStatus, SSL_CONNECTION_ERROR, tlsRefusal, type ReplicaThreads } from "./status";
import type { MemberEndpoint, ReplicationInputs, ReplicationState } from "./types";

export function endpointText(e: MemberEndpoint): string {
    return `${e.host}:${e.port}`;
}

/** `readOnly`: the live server's @@read_only, as read by the caller. */
export function sourceStatusOf(source: Member, readOnly: boolean): SourceStatus {
    return {
        member: source.endpoint.name,
        endpoint: endpointText(source.endpoint),
        serverVersion: source.identity.versionText,
        flavor: source.identity.flavor,
        dialect: source.dialect.name,
        readOnly,
    };
}

/** What the provider measured on a replica beyond its thread status. */
export interface ReplicaMeasures extends HeartbeatLag {
    probeLagMs: number | null;
    errantGtids: string;
}

export const NOTHING_MEASURED: ReplicaMeasures = { probeLagMs: null, heartbeatLagMs: null, clockSkewMs: null, heartbeatError: "", errantGtids: "" };

export function replicaStatusOf(endpoint: MemberEndpoint, threads: ReplicaThreads, member: Member | undefined, measures: ReplicaMeasures): ReplicaStatus {
    return {
        endpoint: endpointText(endpoint),
        source: threads.source,
        ioRunning: threads.ioRunning,
        sqlRunning: threads.sqlRunning,
        secondsBehindSource: threads.secondsBehindSource,
        // A TLS handshake the replica refused, in plain words (what it checked, what to do), with the server's text.
        lastIoError: Number(threads.lastIoError.split(":")[0]) === SSL_CONNECTION_ERROR ? tlsRefusal(endpoint.name, threads.lastIoError) : threads.lastIoError,
        lastSqlError: threads.lastSqlError,
        retrievedGtidSet: threads.retrievedGtidSet,
        executedGtidSet: threads.executedGtidSet,
        probeLagMs: measures.probeLagMs,
        heartbeatLagMs: measures.heartbeatLagMs,
        clockSkewMs: measures.clockSkewMs,
        heartbeatError: measures.heartbeatError,
        errantGtids: measures.errantGtids,
        serverVersion: member?.identity.versionText ?? "",
        dialect: member?.dialect.name ?? "",
        seededBy: "",
        seededAt: "",
    };
}

export function stateOf(
    inputs: ReplicationInputs,
    sourceStatus: SourceStatus,
    replicaStatus: Record<string, ReplicaStatus>,
    tlsInUse: boolean,
    fenced: string[] = [],
): ReplicationState {
    // A read-only source (restarted since the last run: every member starts read-only) is unhealthy too, so the
    // next `pulumi up` after a refresh converges it (diffInputs) and makes it writable.
    const healthy = Object.values(replicaStatus).every(replicaHealthy) && sourceWritable(sourceStatus);
    return { ...inputs, sourceStatus, replicaStatus, healthy, tlsInUse, fenced, observedAt: new Date().toISOString() };
}

/** The status of a member the provider cannot use: unreachable, or fenced. */
export function sidelinedStatus(endpoint: MemberEndpoint, reason: string, member?: Member, errantGtids = ""): ReplicaStatus {
    return {
        ...replicaStatusOf(endpoint, parseReplicaStatus(undefined), member, { ...NOTHING_MEASURED, errantGtids }),
        lastIoError: reason,
    };
}

/** The inputs part of a state: what the next diff compares. */
export function inputsOf(state: ReplicationState): ReplicationInputs {
    const inputs: Record<string, unknown> = {};
    for (const key of INPUT_KEYS) inputs[key] = state[key];
    return inputs as unknown as ReplicationInputs;
}
