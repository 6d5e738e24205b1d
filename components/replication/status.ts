/**
 * Pure: one replica status shape from SHOW SLAVE STATUS / SHOW REPLICA STATUS rows of any dialect.
 * Columns are read by name, never by position: MySQL 8.0.22+ renames them after the statement used
 * (Replica_IO_Running vs Slave_IO_Running), and MariaDB orders and extends them by version.
 */
import { redact } from "./redact";

/** What one replica reports about its replication threads. */
export interface ReplicaThreads {
    /** False when the server has no replication configured at all (no status row). */
    configured: boolean;
    ioRunning: boolean;
    /** Yes / No / Connecting, as the server says it. */
    ioState: string;
    sqlRunning: boolean;
    secondsBehindSource: number | null;
    /** "errno: message", or "" when the thread has no error. */
    lastIoError: string;
    lastSqlError: string;
    /** Where the replica points, as "host:port" (the source's alias inside the network). */
    source: string;
    retrievedGtidSet: string;
    executedGtidSet: string;
    /** Whether the channel is configured to use TLS (Master_SSL_Allowed / Source_SSL_Allowed: Yes). */
    tls: boolean;
    /** Whether the channel verifies the source's certificate (Master_SSL_Verify_Server_Cert / Source_SSL_Verify_Server_Cert: Yes). */
    tlsVerified: boolean;
    /** The channel's CA file (Master_SSL_CA_File / Source_SSL_CA_File), "" when none. */
    tlsCaFile: string;
}

/** CR_SSL_CONNECTION_ERROR: the IO thread's TLS handshake failed (on a verifying channel: the source's certificate). */
export const SSL_CONNECTION_ERROR = 2026;

/** A replica's TLS refusal in plain words. */
export function tlsRefusal(replicaName: string, ioError: string): string {
    return (
        `${replicaName} refuses the source's TLS certificate: ${ioError}. The replica only accepts a source whose certificate ` +
        "the stack's CA signed and that names the source's network alias; the source is presenting another certificate " +
        "(an old one, another stack's, or another server answering on that address). Re-issue the certificates " +
        "(pulumi up replaces the members' files), or check which server answers at the source's address."
    );
}

type Row = Record<string, unknown>;

/**
 * Picks the default channel's row: MySQL lists one row per channel (Channel_Name), MariaDB's SHOW ALL SLAVES
 * STATUS one per connection (Connection_name); the default one is named ''.
 */
export function defaultChannelRow(rows: Row[]): Row | undefined {
    return rows.find((r) => text(column(r, "Channel_Name", "Connection_name")) === "") ?? rows[0];
}

/**
 * `secrets` are redacted from the error texts: an IO error can quote a statement or a connection string that
 * holds the replication password.
 */
export function parseReplicaStatus(row: Row | undefined, secrets: string[] = []): ReplicaThreads {
    if (!row) {
        return {
            configured: false,
            ioRunning: false,
            ioState: "No",
            sqlRunning: false,
            secondsBehindSource: null,
            lastIoError: "",
            lastSqlError: "",
            source: "",
            retrievedGtidSet: "",
            executedGtidSet: "",
            tls: false,
            tlsVerified: false,
            tlsCaFile: "",
        };
    }
    const ioState = text(column(row, "Replica_IO_Running", "Slave_IO_Running")) || "No";
    const sqlState = text(column(row, "Replica_SQL_Running", "Slave_SQL_Running")) || "No";
    const lag = column(row, "Seconds_Behind_Source", "Seconds_Behind_Master");
    const host = text(column(row, "Source_Host", "Master_Host"));
    const port = text(column(row, "Source_Port", "Master_Port"));
    return {
        configured: host !== "",
        ioRunning: ioState === "Yes",
        ioState,
        sqlRunning: sqlState === "Yes",
        secondsBehindSource: lag === null || lag === undefined || lag === "" ? null : Number(lag),
        lastIoError: redact(error(column(row, "Last_IO_Errno"), column(row, "Last_IO_Error")), secrets),
        lastSqlError: redact(error(column(row, "Last_SQL_Errno"), column(row, "Last_SQL_Error")), secrets),
        source: host ? `${host}:${port}` : "",
        // MariaDB: Gtid_IO_Pos is what the IO thread received, Gtid_Slave_Pos what the SQL thread applied.
        retrievedGtidSet: normaliseGtids(column(row, "Retrieved_Gtid_Set", "Gtid_IO_Pos")),
        executedGtidSet: normaliseGtids(column(row, "Executed_Gtid_Set", "Gtid_Slave_Pos")),
        tls: text(column(row, "Source_SSL_Allowed", "Master_SSL_Allowed")) === "Yes",
        tlsVerified: text(column(row, "Source_SSL_Verify_Server_Cert", "Master_SSL_Verify_Server_Cert")) === "Yes",
        tlsCaFile: text(column(row, "Source_SSL_CA_File", "Master_SSL_CA_File")),
    };
}

function column(row: Row, ...names: string[]): unknown {
    for (const name of names) if (name in row) return row[name];
    return undefined;
}

function text(value: unknown): string {
    if (value === null || value === undefined) return "";
    return Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
}

function error(errno: unknown, message: unknown): string {
    const code = Number(errno ?? 0);
    const msg = text(message);
    if (!code && !msg) return "";
    return code ? `${code}: ${msg}` : msg;
}

/** GTID sets come with newlines after commas (MySQL wraps long sets); one line reads better in outputs. */
export function normaliseGtids(value: unknown): string {
    return text(value).replace(/\s+/g, "");
}
