/**
 * The stack's output contract: what `pulumi stack output --json` prints, what CI reads, and what the check
 * command (bin/check.ts) validates. One definition, used by index.ts and by the check command alike.
 */

/** The source (the runbook's master). */
export interface SourceStatus {
    /** Member name, e.g. db001. */
    member: string;
    /** Published address, host:port. */
    endpoint: string;
    /** VERSION() of the live server, e.g. "5.7.30-33-log" or "10.11.6-MariaDB-0+deb12u1-log". */
    serverVersion: string;
    /** mysql | percona | mariadb, as detected on the live server. */
    flavor: string;
    /** SQL dialect the provider chose for it (mysql-5.7, mysql-8.0-legacy, mysql-8.0, mysql-8.4, mariadb). */
    dialect: string;
}

/** One replica's replication status. */
export interface ReplicaStatus {
    /** Published address, host:port. */
    endpoint: string;
    /** Where the replica points inside the network, host:port ("" when not configured). */
    source: string;
    /** The IO (receiver) thread runs: Slave_IO_Running / Replica_IO_Running = Yes. */
    ioRunning: boolean;
    /** The SQL (applier) thread runs. */
    sqlRunning: boolean;
    /** Seconds_Behind_Source/Master; null when a thread is not running. */
    secondsBehindSource: number | null;
    /** "errno: message" of the last IO error, "" when none. */
    lastIoError: string;
    /** "errno: message" of the last SQL error, "" when none. */
    lastSqlError: string;
    /** GTIDs received from the source (MariaDB: Gtid_IO_Pos). */
    retrievedGtidSet: string;
    /** GTIDs applied (MariaDB: Gtid_Slave_Pos). */
    executedGtidSet: string;
    /** Milliseconds from writing the probe row on the source to reading it here; null when not verified. */
    probeLagMs: number | null;
    /** VERSION() of the live server. */
    serverVersion: string;
    /** SQL dialect the provider chose for it. */
    dialect: string;
}

/** The top-level stack outputs. */
export interface StackOutputs {
    source: SourceStatus;
    /** Keyed by member name. */
    replicas: Record<string, ReplicaStatus>;
    /** True when every replica's threads run and no error is set. */
    healthy: boolean;
    /** A short human-readable summary, e.g. "db001 (source) -> db002, db003 on network mybridge". */
    topology: string;
}

/** True when both threads run and neither reports an error. */
export function replicaHealthy(status: ReplicaStatus): boolean {
    return status.ioRunning && status.sqlRunning && status.lastIoError === "" && status.lastSqlError === "";
}

export function topologySummary(source: string, replicas: string[], network: string): string {
    return `${source} (source) -> ${replicas.join(", ")} (replicas) on network ${network}`;
}
