/**
 * Pure: the router's fitness checks (issue #31) as the bytes HAProxy's `tcp-check` sends, and the SQL they run.
 * No I/O.
 *
 * A check is one TCP exchange with no binary beyond HAProxy itself: a HandshakeResponse41 for the check account
 * (empty password, the account's own plugin: the server answers OK without any further exchange), a COM_QUERY,
 * then COM_QUIT, all sent at once (the server reads them in order). The query answers with a row holding
 * FIT_MARKER only when the member is fit; HAProxy waits for that string in the reply. An unfit member, an error
 * (a missing grant, a missing table) or a closed connection never carries it: the query builds the marker with
 * CONCAT, so an error message that quotes the query text does not either.
 *
 * Flavor differences live in CHECK_DIALECTS; the rest is one protocol for MySQL 5.7, 8.0+ and MariaDB.
 */
import type { Flavor, ServerVersion } from "../../config/types";
import type { DialectName } from "../replication/dialect";

/** What a fit member's answer carries. */
export const FIT_MARKER = "replicaset-fit";

/** The table the source's heartbeat event writes (components/replication/dialect.ts heartbeatSetup). */
export const HEARTBEAT = { schema: "replicaset_probe", table: "heartbeat" } as const;

export type CheckFlavor = "mysql-5.7" | "mysql-8" | "mariadb";

export interface CheckDialect {
    /** The check account's authentication plugin, named in the handshake response (no auth switch). */
    plugin: "mysql_native_password" | "caching_sha2_password";
    /** True (1) when both threads of the default replication channel run, false (0) otherwise. */
    threadsRunning: string;
    /** Tables `threadsRunning` reads, granted SELECT (the heartbeat's is granted besides, when it exists). */
    statusTables: ReadonlyArray<{ schema: string; table: string }>;
}

const MYSQL_THREADS =
    "EXISTS(SELECT 1 FROM performance_schema.replication_connection_status c JOIN performance_schema.replication_applier_status a " +
    "USING (CHANNEL_NAME) WHERE CHANNEL_NAME = '' AND c.SERVICE_STATE = 'ON' AND a.SERVICE_STATE = 'ON')";
const MYSQL_STATUS_TABLES = [
    { schema: "performance_schema", table: "replication_connection_status" },
    { schema: "performance_schema", table: "replication_applier_status" },
] as const;

/**
 * MySQL: performance_schema's SERVICE_STATE per thread ('ON'; the receiver reads 'CONNECTING' while it retries,
 * 'OFF' when stopped), readable with a table grant. MariaDB: the global status Slave_running, 'ON' only while
 * both threads of the default connection run (seen on 11.8 and 10.11: 'OFF' with either thread stopped);
 * information_schema needs no grant.
 */
export const CHECK_DIALECTS: Readonly<Record<CheckFlavor, CheckDialect>> = {
    "mysql-5.7": { plugin: "mysql_native_password", threadsRunning: MYSQL_THREADS, statusTables: MYSQL_STATUS_TABLES },
    // caching_sha2_password is the default from 8.0 (mysql_native_password is off in 8.4 and gone in 9.x).
    "mysql-8": { plugin: "caching_sha2_password", threadsRunning: MYSQL_THREADS, statusTables: MYSQL_STATUS_TABLES },
    mariadb: {
        plugin: "mysql_native_password",
        threadsRunning: "(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING') = 'ON'",
        statusTables: [],
    },
};

/** The check flavor of the configured image (the router's side). */
export function checkFlavorFor(flavor: Flavor, version: ServerVersion): CheckFlavor {
    if (flavor === "mariadb") return "mariadb";
    return version.major >= 8 ? "mysql-8" : "mysql-5.7";
}

/** The check flavor of a server the provider identified (the account's side). */
export const CHECK_FLAVOR_OF_DIALECT: Readonly<Record<DialectName, CheckFlavor>> = {
    "mysql-5.7": "mysql-5.7",
    "mysql-8.0-legacy": "mysql-8",
    "mysql-8.0": "mysql-8",
    "mysql-8.4": "mysql-8",
    mariadb: "mariadb",
};

/** What a check asks of a member. */
export type CheckKind = "writer" | "reader" | "alive";

const MARKER_SQL = `CONCAT('${FIT_MARKER.slice(0, 10)}', '${FIT_MARKER.slice(10)}')`;

/**
 * The query of a check:
 * - writer: `read_only = 0` (on MySQL, lowering read_only lowers super_read_only too);
 * - reader: both replication threads running and, when `maxLagSeconds` > 0, the heartbeat applied at most that
 *   long ago (no heartbeat row, no table: NULL, unfit);
 * - alive: the login works (the source as the reader's backup).
 */
export function checkQuery(flavor: CheckFlavor, kind: CheckKind, maxLagSeconds = 0): string {
    if (kind === "alive") return `SELECT ${MARKER_SQL} AS f`;
    const conditions =
        kind === "writer"
            ? ["@@GLOBAL.read_only = 0"]
            : [
                  CHECK_DIALECTS[flavor].threadsRunning,
                  ...(maxLagSeconds > 0
                      ? [`(SELECT TIMESTAMPDIFF(MICROSECOND, beat, NOW(6)) FROM ${HEARTBEAT.schema}.${HEARTBEAT.table} WHERE id = 1) <= ${maxLagSeconds * 1_000_000}`]
                      : []),
              ];
    return `SELECT IF(${conditions.join(" AND ")}, ${MARKER_SQL}, 'unfit') AS f`;
}

/** A MySQL packet: 3-byte little-endian payload length, sequence number, payload. */
export function packet(sequence: number, payload: Buffer): Buffer {
    if (payload.length >= 0xffffff) throw new Error(`a ${payload.length}-byte payload needs several packets`);
    const header = Buffer.alloc(4);
    header.writeUIntLE(payload.length, 0, 3);
    header[3] = sequence;
    return Buffer.concat([header, payload]);
}

/** CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH: no database, no TLS, no EOF deprecation. */
export const CHECK_CAPABILITIES = 0x00000200 | 0x00008000 | 0x00080000;

/**
 * HandshakeResponse41 (sequence 1) for `user` with an empty password: capabilities, max packet 16 MiB, charset
 * 0x21 (utf8), 23 zero bytes, the user name, an empty auth response, the plugin name. An empty password needs no
 * scramble, and with the account's own plugin named the server answers OK at once (caching_sha2_password: no
 * fast-auth or RSA exchange, seen on MySQL 9.7.4).
 */
export function handshakeResponse(user: string, plugin: CheckDialect["plugin"]): Buffer {
    const fixed = Buffer.alloc(32);
    fixed.writeUInt32LE(CHECK_CAPABILITIES, 0);
    fixed.writeUInt32LE(0x01000000, 4);
    fixed[8] = 0x21;
    return packet(1, Buffer.concat([fixed, Buffer.from(`${user}\0`, "utf8"), Buffer.from([0]), Buffer.from(`${plugin}\0`, "utf8")]));
}

/** COM_QUERY (0x03), sequence 0. */
export function comQuery(sql: string): Buffer {
    return packet(0, Buffer.concat([Buffer.from([0x03]), Buffer.from(sql, "utf8")]));
}

/** COM_QUIT (0x01), sequence 0: the server closes the connection, leaving no aborted connection behind. */
export const COM_QUIT: Buffer = packet(0, Buffer.from([0x01]));

/** The whole exchange a check sends. */
export function checkExchange(user: string, flavor: CheckFlavor, kind: CheckKind, maxLagSeconds = 0): Buffer {
    return Buffer.concat([handshakeResponse(user, CHECK_DIALECTS[flavor].plugin), comQuery(checkQuery(flavor, kind, maxLagSeconds)), COM_QUIT]);
}

/** The backend lines of a check: HAProxy's own tcp-check, no external program. */
export function tcpCheckLines(user: string, flavor: CheckFlavor, kind: CheckKind, maxLagSeconds = 0): string[] {
    if (!/^[A-Za-z0-9_]{1,32}$/.test(user)) throw new Error(`checkUser ${JSON.stringify(user)}: use 1 to 32 letters, digits or _`);
    return [
        "option tcp-check",
        "tcp-check connect",
        `tcp-check send-binary ${checkExchange(user, flavor, kind, maxLagSeconds).toString("hex")}`,
        // Matched anywhere in the reply; HAProxy waits for more data until it appears, the server closes, or
        // `timeout check` passes.
        `tcp-check expect string ${FIT_MARKER}`,
    ];
}
