/**
 * Typed fixtures of the output contract (components/outputs.ts: StackOutputs) for the check command's tests:
 * the runbook's set (db001 source, db002 and db003 replicas), healthy, with per-test overrides.
 */
import { replicaHealthy, type ReplicaStatus, type SourceStatus, type StackOutputs } from "../../components/outputs";

export function sourceStatus(overrides: Partial<SourceStatus> = {}): SourceStatus {
    return {
        member: "db001",
        endpoint: "127.0.0.1:3306",
        serverVersion: "5.7.30-33-log",
        flavor: "percona",
        dialect: "mysql-5.7",
        ...overrides,
    };
}

/** A healthy replica: both threads run, no errors, caught up. */
export function replicaStatus(overrides: Partial<ReplicaStatus> = {}): ReplicaStatus {
    return {
        endpoint: "127.0.0.1:3307",
        source: "db001:3306",
        ioRunning: true,
        sqlRunning: true,
        secondsBehindSource: 0,
        lastIoError: "",
        lastSqlError: "",
        retrievedGtidSet: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-23",
        executedGtidSet: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-23",
        probeLagMs: 41,
        heartbeatLagMs: null,
        clockSkewMs: null,
        heartbeatError: "",
        errantGtids: "",
        serverVersion: "5.7.30-33-log",
        dialect: "mysql-5.7",
        seededBy: "",
        seededAt: "",
        ...overrides,
    };
}

/** The healthy runbook set; `replicas` entries given here replace (or add to) db002 / db003. */
export function stackOutputs(replicas: Record<string, Partial<ReplicaStatus>> = {}, overrides: Partial<StackOutputs> = {}): StackOutputs {
    const all: Record<string, ReplicaStatus> = {
        db002: replicaStatus({ endpoint: "127.0.0.1:3307" }),
        db003: replicaStatus({ endpoint: "127.0.0.1:3308" }),
    };
    for (const [member, patch] of Object.entries(replicas)) all[member] = { ...(all[member] ?? replicaStatus()), ...patch };
    return {
        source: sourceStatus(),
        replicas: all,
        healthy: Object.values(all).every(replicaHealthy),
        topology: "db001 (source) -> db002, db003 (replicas) on network mybridge",
        ...overrides,
    };
}

/** What `pulumi stack output --json` prints: the contract plus the password outputs, masked. */
export function cliJson(outputs: StackOutputs, secrets: Record<string, string> = { rootPassword: "[secret]", replicationPassword: "[secret]" }): string {
    return JSON.stringify({ ...outputs, ...secrets }, null, 4);
}
