/**
 * Pure: every replication statement this project runs, by server flavor and version.
 *
 * One table of statement forms, chosen by (flavor, minimum version) from the live server's VERSION(); the rows
 * follow the reference manuals (see docs/dialects.md for sources):
 * - MySQL 8.0.22/8.0.23 added START/STOP/SHOW/RESET REPLICA and CHANGE REPLICATION SOURCE TO with SOURCE_*
 *   options; 8.4.0 removed the old forms and every MASTER_* option outright (a syntax error, not a warning).
 * - RESET BINARY LOGS AND GTIDS exists from 8.2.0, so 8.0–8.3 keep RESET MASTER.
 * - MariaDB (10.5–11.x) has only CHANGE MASTER TO, positions replicas by GTID with MASTER_USE_GTID=slave_pos
 *   (current_pos breaks when a replica has local transactions) and has no super_read_only.
 * Values are escaped with sqlstring, the escaping mysql2 itself uses; nothing is concatenated raw.
 */
import * as SqlString from "sqlstring";
import { CLONE_DONOR_USER } from "../../config/accounts";
import { CHECK_DIALECTS, CHECK_FLAVOR_OF_DIALECT, HEARTBEAT } from "../router/check";

export type Flavor = "mysql" | "percona" | "mariadb";
export type DialectName = "mysql-5.7" | "mysql-8.0-legacy" | "mysql-8.0" | "mysql-8.4" | "mariadb";

/** The statement forms of one dialect. */
export interface Dialect {
    name: DialectName;
    /** "CHANGE MASTER TO" or "CHANGE REPLICATION SOURCE TO". */
    change: string;
    /** Prefix of the connection options: MASTER or SOURCE (MASTER_HOST / SOURCE_HOST, ...). */
    option: "MASTER" | "SOURCE";
    /** The GTID positioning clause. */
    autoPosition: string;
    /** caching_sha2_password over a plain connection needs the source's RSA key (MySQL 8.0+ only). */
    getPublicKey?: string;
    start: string;
    /** Starts the SQL (applier) thread only. */
    startApplier: string;
    stop: string;
    status: string;
    resetReplicaAll: string;
    /** Wipes the binary logs and GTID history (the runbook's `reset master`). */
    resetBinaryLogs: string;
    /** Reads a server's executed GTIDs, comparable with a replica's. */
    executedGtids: string;
    /** super_read_only exists (MySQL/Percona 5.7.8+); MariaDB's read_only already binds SUPER in 11.x. */
    superReadOnly: boolean;
    /**
     * MySQL 8.0.0-8.0.25: an event scheduler that super_read_only stopped stays stopped when super_read_only is
     * lifted (while @@event_scheduler still reads ON); from 8.0.26 the server starts it again by itself (8.0.26
     * release notes, Bug #31633859).
     */
    schedulerStaysStopped?: boolean;
    /**
     * The longest replication password CHANGE ... TO accepts, in UTF-8 bytes: MySQL refuses more than 32
     * (ER_CHANGE_SOURCE_PASSWORD_LENGTH, seen on 9.7.4 with 33 ASCII or 17 × "ä"); MariaDB takes 96 (not checked).
     */
    maxSourcePasswordLength?: number;
    /** The server waits for a replica to apply a GTID set: returns 0 on success. */
    waitForGtids: (gtids: string, timeoutSeconds: number) => string;
    /**
     * A new channel verifies the source's certificate unless told not to (MariaDB 11.4+: MASTER_SSL_VERIFY_SERVER_CERT
     * defaults to 1, and a self-signed certificate passes by the password fingerprint). Elsewhere it defaults to 0.
     */
    verifiesSourceByDefault?: boolean;
    /**
     * Re-reads the server's certificate, key and CA files, for new connections: MySQL 8.0.16+ ALTER INSTANCE
     * RELOAD TLS (never binlogged), MariaDB 10.4+ FLUSH SSL.
     */
    reloadTls?: string;
    /**
     * The clone plugin (MySQL 8.0.17+: CLONE INSTANCE FROM, a physical copy that replaces the recipient's data and
     * restarts it). MariaDB has none (it ships mariadb-backup instead); MySQL 5.7 neither.
     */
    clone?: boolean;
    /**
     * Accounts the server or its image makes on every member, each member its own (root's password, the MariaDB
     * image's healthcheck user with a password per container): a seed never copies them, on any host.
     */
    serverAccounts: readonly string[];
    /** Every account and role: user, host, is_role ('Y' for a MariaDB role, which has no host and no SHOW CREATE USER). */
    listAccounts: string;
    /**
     * Run before SHOW CREATE USER so that the statement it prints makes the same account again: MySQL 8.0.17+ prints
     * a binary hash (caching_sha2_password's) as a hex literal only when asked (print_identified_with_as_hex).
     */
    showAccountsSession?: string;
    /** Roles are not accounts: made by CREATE ROLE, read by SHOW GRANTS only (MariaDB). Elsewhere a role is a locked account. */
    rolesApart?: boolean;
    /** Grantees that exist without being made (MariaDB 10.11+: PUBLIC): their grants are copied, the grantee never made or dropped. */
    implicitGrantees?: readonly string[];
}

const MYSQL_OLD_TERMS = {
    change: "CHANGE MASTER TO",
    option: "MASTER",
    autoPosition: "MASTER_AUTO_POSITION = 1",
    start: "START SLAVE",
    startApplier: "START SLAVE SQL_THREAD",
    stop: "STOP SLAVE",
    status: "SHOW SLAVE STATUS",
    resetReplicaAll: "RESET SLAVE ALL",
    resetBinaryLogs: "RESET MASTER",
    executedGtids: "SELECT @@GLOBAL.gtid_executed AS gtids",
    superReadOnly: true,
    serverAccounts: ["root", "mysql.sys", "mysql.session", "mysql.infoschema", ""],
    listAccounts: "SELECT User AS user, Host AS host, 'N' AS is_role FROM mysql.user",
    maxSourcePasswordLength: 32,
    waitForGtids: (gtids: string, timeout: number) =>
        `SELECT WAIT_FOR_EXECUTED_GTID_SET(${SqlString.escape(gtids)}, ${Math.max(1, Math.ceil(timeout))}) AS result`,
} as const;

/** MySQL 8.0.17+: SHOW CREATE USER prints a binary hash as a hex literal that CREATE USER takes back. */
const HEX_HASHES = "SET SESSION print_identified_with_as_hex = ON";

const MYSQL_NEW_TERMS = {
    ...MYSQL_OLD_TERMS,
    showAccountsSession: HEX_HASHES,
    change: "CHANGE REPLICATION SOURCE TO",
    option: "SOURCE",
    autoPosition: "SOURCE_AUTO_POSITION = 1",
    getPublicKey: "GET_SOURCE_PUBLIC_KEY = 1",
    start: "START REPLICA",
    startApplier: "START REPLICA SQL_THREAD",
    stop: "STOP REPLICA",
    status: "SHOW REPLICA STATUS",
    resetReplicaAll: "RESET REPLICA ALL",
} as const;

const MARIADB: Dialect = {
    ...MYSQL_OLD_TERMS,
    name: "mariadb",
    autoPosition: "MASTER_USE_GTID = slave_pos",
    // Plain SHOW SLAVE STATUS has no Gtid_Slave_Pos (the applied position): MariaDB returns it "with SHOW
    // ALL SLAVES STATUS only" (KB show-replica-status), one row per connection, the default one named ''.
    status: "SHOW ALL SLAVES STATUS",
    executedGtids: "SELECT @@GLOBAL.gtid_binlog_pos AS gtids",
    superReadOnly: false,
    serverAccounts: ["root", "mariadb.sys", "mysql", "healthcheck", ""],
    listAccounts: "SELECT User AS user, Host AS host, is_role FROM mysql.user",
    rolesApart: true,
    implicitGrantees: ["PUBLIC"],
    waitForGtids: (gtids: string, timeout: number) =>
        `SELECT MASTER_GTID_WAIT(${SqlString.escape(gtids)}, ${Math.max(1, Math.ceil(timeout))}) AS result`,
    // FLUSH is binlogged by default (it would replicate, and be a transaction of a replica's own): not this one.
    reloadTls: "FLUSH NO_WRITE_TO_BINLOG SSL",
};

/** The table, newest first within a flavor: the first row whose minimum the server meets applies. */
export const DIALECTS: ReadonlyArray<{ flavor: "mysql" | "mariadb"; min: [number, number, number]; dialect: Dialect }> = [
    {
        flavor: "mysql",
        min: [8, 4, 0],
        dialect: { ...MYSQL_NEW_TERMS, name: "mysql-8.4", resetBinaryLogs: "RESET BINARY LOGS AND GTIDS", reloadTls: "ALTER INSTANCE RELOAD TLS", clone: true },
    },
    { flavor: "mysql", min: [8, 0, 26], dialect: { ...MYSQL_NEW_TERMS, name: "mysql-8.0", reloadTls: "ALTER INSTANCE RELOAD TLS", clone: true } },
    // Before 8.0.26 a scheduler stopped by super_read_only is not started again when it is lifted.
    {
        flavor: "mysql",
        min: [8, 0, 23],
        dialect: { ...MYSQL_NEW_TERMS, name: "mysql-8.0", reloadTls: "ALTER INSTANCE RELOAD TLS", clone: true, schedulerStaysStopped: true },
    },
    // The clone plugin arrived in 8.0.17.
    {
        flavor: "mysql",
        min: [8, 0, 17],
        dialect: {
            ...MYSQL_OLD_TERMS,
            name: "mysql-8.0-legacy",
            getPublicKey: "GET_MASTER_PUBLIC_KEY = 1",
            reloadTls: "ALTER INSTANCE RELOAD TLS",
            clone: true,
            schedulerStaysStopped: true,
            showAccountsSession: HEX_HASHES,
        },
    },
    {
        flavor: "mysql",
        min: [8, 0, 16],
        dialect: {
            ...MYSQL_OLD_TERMS,
            name: "mysql-8.0-legacy",
            getPublicKey: "GET_MASTER_PUBLIC_KEY = 1",
            reloadTls: "ALTER INSTANCE RELOAD TLS",
            schedulerStaysStopped: true,
        },
    },
    {
        flavor: "mysql",
        min: [8, 0, 0],
        dialect: { ...MYSQL_OLD_TERMS, name: "mysql-8.0-legacy", getPublicKey: "GET_MASTER_PUBLIC_KEY = 1", schedulerStaysStopped: true },
    },
    // 5.7.8, not 5.7.0: CREATE USER IF NOT EXISTS and super_read_only first appear in 5.7.8.
    { flavor: "mysql", min: [5, 7, 8], dialect: { ...MYSQL_OLD_TERMS, name: "mysql-5.7" } },
    // MariaDB 11.4 made a channel verify the source's certificate by default.
    { flavor: "mariadb", min: [11, 4, 0], dialect: { ...MARIADB, verifiesSourceByDefault: true } },
    { flavor: "mariadb", min: [10, 5, 0], dialect: MARIADB },
];

/** What a live server says about itself. */
export interface ServerIdentity {
    flavor: Flavor;
    /** Numeric version, e.g. "8.0.36" (Percona's "-28" suffix and MariaDB's "-MariaDB-1:10.11.6" are dropped). */
    version: string;
    /** VERSION() as the server returned it. */
    versionText: string;
}

/** Reads flavor and version from `SELECT VERSION()` and `@@version_comment`. */
export function identifyServer(versionText: string, versionComment: string): ServerIdentity {
    const match = /(\d+)\.(\d+)\.(\d+)/.exec(versionText);
    if (!match) throw new Error(`Cannot read a server version from VERSION() = ${JSON.stringify(versionText)}`);
    const flavor: Flavor = /mariadb/i.test(versionText) || /mariadb/i.test(versionComment)
        ? "mariadb"
        : /percona/i.test(versionComment)
          ? "percona"
          : "mysql";
    return { flavor, version: `${match[1]}.${match[2]}.${match[3]}`, versionText };
}

/** The dialect of a server; refuses versions older than any row (MySQL 5.6 and 5.7.0–5.7.7, MariaDB 10.4). */
export function dialectFor(server: ServerIdentity): Dialect {
    const family = server.flavor === "mariadb" ? "mariadb" : "mysql";
    const [major, minor, patch] = server.version.split(".").map(Number);
    for (const row of DIALECTS) {
        if (row.flavor !== family) continue;
        const [a, b, c] = row.min;
        if (major !== a ? major > a : minor !== b ? minor > b : patch >= c) return row.dialect;
    }
    throw new Error(
        `${server.flavor} ${server.version} is too old for GTID auto-positioned replication here` +
            (family === "mysql" && major === 5 && minor === 7 ? " (CREATE USER IF NOT EXISTS and super_read_only first appear in 5.7.8)" : "") +
            `; use ${family === "mariadb" ? "MariaDB 10.5" : "MySQL/Percona 5.7.8"} or newer`,
    );
}

/** `'user'@'host'`, escaped. */
export function account(user: string, host: string): string {
    return `${SqlString.escape(user)}@${SqlString.escape(host)}`;
}

/** Drops a replication account that is no longer wanted (user or host changed), on this member only. */
export function dropReplicationAccount(user: string, host: string): string[] {
    return withoutBinlog([`DROP USER IF EXISTS ${account(user, host)}`]);
}

/**
 * MySQL, run on the source: of a replica's gtid_executed, the GTIDs the source lacks (errant) and the ones it
 * has too (shared, kept across a reset). `alsoHeldBy` are GTID sets counted as the source's as well (during a
 * switchover, the previous source's: the new source catches up with it before anyone replicates from it).
 */
export function compareWithSourceGtids(replicaGtids: string, alsoHeldBy: string[] = []): string {
    const mine = SqlString.escape(replicaGtids);
    let errant = `GTID_SUBTRACT(${mine}, @@GLOBAL.gtid_executed)`;
    for (const held of alsoHeldBy) errant = `GTID_SUBTRACT(${errant}, ${SqlString.escape(held)})`;
    return `SELECT ${errant} AS errant, GTID_SUBTRACT(${mine}, ${errant}) AS shared`;
}

/** MySQL: of a GTID set, what this server has not executed. */
export function missingGtids(gtids: string): string {
    return `SELECT GTID_SUBTRACT(${SqlString.escape(gtids)}, @@GLOBAL.gtid_executed) AS missing`;
}

export interface ReplicationAccount {
    user: string;
    /** Host part: a netmask pattern such as 172.18.0.0/255.255.0.0, or '%'. */
    host: string;
    password: string;
    requireTls: boolean;
    /** Mutual TLS: the account needs a client certificate the server's CA (the stack's) signed. */
    requireCertificate?: boolean;
}

/**
 * Statements that make the replication account exist with exactly this password, TLS requirement and the
 * REPLICATION SLAVE privilege, whether or not it existed before. They run with the session's binary log off:
 * MariaDB writes CREATE/ALTER USER ... IDENTIFIED BY to the binlog as typed, password in clear (MySQL rewrites
 * it to a hash), and a binlogged account statement is a transaction of its own on a server about to be
 * promoted. Each source gets the account when it becomes the source, so no replica needs it from the binlog.
 */
export function ensureReplicationAccount(acc: ReplicationAccount): string[] {
    const who = account(acc.user, acc.host);
    const password = SqlString.escape(acc.password);
    // REQUIRE X509: a certificate the server verifies against its --ssl-ca, the stack's CA alone.
    const tls = acc.requireCertificate ? "REQUIRE X509" : acc.requireTls ? "REQUIRE SSL" : "REQUIRE NONE";
    return withoutBinlog([
        `CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY ${password} ${tls}`,
        `ALTER USER ${who} IDENTIFIED BY ${password} ${tls}`,
        // REPLICATION SLAVE is the one privilege the IO thread needs; every server spells it so.
        `GRANT REPLICATION SLAVE ON *.* TO ${who}`,
    ]);
}

/** Statements run with this session's binary log off: they become no transaction and reach no replica. */
export function withoutBinlog(statements: string[]): string[] {
    return ["SET SESSION sql_log_bin = 0", ...statements, "SET SESSION sql_log_bin = 1"];
}

export interface SourceConnection {
    /** The source's address as replicas see it: its network alias. */
    host: string;
    port: number;
    user: string;
    password: string;
    connectRetrySeconds: number;
    /**
     * Replicate over TLS (MASTER_SSL / SOURCE_SSL = 1). Certificates are not verified, except on MariaDB 11.4+,
     * which verifies by default and accepts its own zero-configuration certificate through the password
     * fingerprint of the (password-protected) replication account.
     */
    tls: boolean;
    /**
     * Mutual, verified TLS: files on the replica's own filesystem (CHANGE ... TO reads them there, at every
     * connection of the IO thread). The source's certificate must chain to `ca` and name the host dialled.
     */
    verify?: ChannelTlsFiles;
}

export interface ChannelTlsFiles {
    ca: string;
    cert: string;
    key: string;
}

/** How many times a MySQL replica tries to reconnect before it stops for good. */
export const SOURCE_RETRY_COUNT = 86400;

/** The CHANGE ... TO statement that points a replica at the source, positioned by GTID. */
export function changeSource(dialect: Dialect, source: SourceConnection): string {
    const o = dialect.option;
    const options = [
        `${o}_HOST = ${SqlString.escape(source.host)}`,
        `${o}_PORT = ${Number(source.port)}`,
        `${o}_USER = ${SqlString.escape(source.user)}`,
        `${o}_PASSWORD = ${SqlString.escape(source.password)}`,
        `${o}_CONNECT_RETRY = ${Number(source.connectRetrySeconds)}`,
        dialect.autoPosition,
        `${o}_SSL = ${source.tls || source.verify ? 1 : 0}`,
        ...channelTlsOptions(dialect, source.verify),
    ];
    // MySQL gives up reconnecting after SOURCE_RETRY_COUNT attempts, 10 by default from 8.4 (seen on 9.7.4: a
    // source down for 10 × connectRetrySeconds left every replica's IO thread stopped for good). 86400 is the
    // old default: with the 10 s retry, ten days. MariaDB has no such CHANGE option (master_retry_count is a
    // server variable whose default is already 86400).
    if (dialect.name !== "mariadb") options.push(`${o}_RETRY_COUNT = ${SOURCE_RETRY_COUNT}`);
    // Without TLS, caching_sha2_password (MySQL 8 default) needs the source's public key to send the password.
    if (!source.tls && !source.verify && dialect.getPublicKey) options.push(dialect.getPublicKey);
    return `${dialect.change} ${options.join(", ")}`;
}

/**
 * The certificate options of a channel. CHANGE ... TO keeps every option it is not given, so a channel that
 * no longer verifies clears the files and the verification (except where verifying is the server's default:
 * MariaDB 11.4+ checks its own self-signed certificate by the password fingerprint).
 */
export function channelTlsOptions(dialect: Dialect, files: ChannelTlsFiles | undefined): string[] {
    const o = dialect.option;
    if (files) {
        return [
            `${o}_SSL_CA = ${SqlString.escape(files.ca)}`,
            `${o}_SSL_CERT = ${SqlString.escape(files.cert)}`,
            `${o}_SSL_KEY = ${SqlString.escape(files.key)}`,
            `${o}_SSL_VERIFY_SERVER_CERT = 1`,
        ];
    }
    return [
        `${o}_SSL_CA = ''`,
        `${o}_SSL_CERT = ''`,
        `${o}_SSL_KEY = ''`,
        ...(dialect.verifiesSourceByDefault ? [] : [`${o}_SSL_VERIFY_SERVER_CERT = 0`]),
    ];
}

/**
 * Statements that make the declared source writable for as long as its server runs. Every member starts with
 * --read-only=ON (serverFlags.ts), and nothing here persists writability: a source that restarts comes back
 * fenced and takes writes again only once the provider's next run has found it to be the declared source.
 * Persisting read_only = OFF would win over the command line (mysqld-auto.cnf is read last; seen on MySQL 9.7.4),
 * so an old source coming back after a failover would be writable again, and its heartbeat event would commit a
 * transaction of its own within a second, leaving it with errant GTIDs. On MySQL 8+ super_read_only stays persisted
 * ON (PERSIST_ONLY: the running server is not changed by it), so a restart comes back as fenced as a replica; 5.7
 * and MariaDB have no SET PERSIST and come back with read_only only. read_only = OFF also turns super_read_only off
 * (MySQL WL#6799).
 */
export function makeWritable(dialect: Dialect): string[] {
    // A restarted 8.0 source comes back super_read_only, which stops its scheduler at the heartbeat's first run;
    // before 8.0.26 lifting it does not start the scheduler again (and @@event_scheduler still reads ON, so the
    // heartbeat step cannot tell): restart it here, or the heartbeat stays dead until the next restart stops it again.
    const restartScheduler = dialect.schedulerStaysStopped ? ["SET GLOBAL event_scheduler = OFF", "SET GLOBAL event_scheduler = ON"] : [];
    if (dialect.superReadOnly && dialect.name !== "mysql-5.7") return ["SET PERSIST_ONLY super_read_only = ON", "SET GLOBAL read_only = OFF", ...restartScheduler];
    return ["SET GLOBAL read_only = OFF"];
}

/**
 * MariaDB positions a replica by gtid_slave_pos, which only replication advances. A server whose history came
 * from its own binlog (a former source, or data loaded with the binlog on) and holds no errant GTIDs has applied
 * exactly gtid_current_pos: start from there, or everything would be sent again. MySQL's auto-position reads
 * gtid_executed, which already says so.
 */
export function alignAppliedPosition(dialect: Dialect, currentPosition: string, appliedPosition: string): string[] {
    if (dialect.name !== "mariadb" || currentPosition === appliedPosition) return [];
    return [`SET GLOBAL gtid_slave_pos = ${SqlString.escape(currentPosition)}`];
}

/**
 * Statements that make a configured replica read-only for everyone but its replication threads. MySQL 8
 * persists super_read_only (mysqld-auto.cnf in the datadir), so it survives a restart of the container; the
 * entrypoint's init server never sees it, since it only runs on an empty datadir. 5.7 has no SET PERSIST: after
 * a restart only the --read-only flag (every member's) holds until the next `pulumi up`. MariaDB has no
 * super_read_only.
 */
export function makeReadOnly(dialect: Dialect): string[] {
    if (!dialect.superReadOnly) return ["SET GLOBAL read_only = ON"];
    return dialect.name === "mysql-5.7" ? ["SET GLOBAL super_read_only = ON"] : ["SET PERSIST super_read_only = ON"];
}

/**
 * Wipes a replica's own binlog and GTID history (the runbook's `reset master`) while keeping what it already
 * applied from the source (`keep`), so auto-positioning does not send those transactions again (row events
 * applied twice fail with duplicate keys):
 * - MySQL: RESET MASTER empties gtid_executed; `keep` is declared purged again (gtid_purged may be set only
 *   while gtid_executed is empty, i.e. after the reset).
 * - MariaDB: the applied position is gtid_slave_pos, which RESET MASTER leaves as it was (for a former source,
 *   empty or long stale); it is set to `keep`, the last shared GTID per domain. Under gtid_strict_mode it can
 *   only be set once the binlog no longer holds later GTIDs of the domain, i.e. after the reset as well.
 * Either way a run cut short between the reset and the position would leave a replica that holds the data but
 * claims no history, and would be sent everything again. So `keep` is first written down in the provider's
 * schema (binlog off: no transaction) and removed only once the server holds it; `resumeInterruptedReset`
 * finishes such a reset on the next run. Every prefix of the list leaves a state the next run converges from.
 *
 * MariaDB's RESET MASTER first waits for a binlog checkpoint, i.e. for InnoDB to make its redo log durable up
 * to the current LSN; on a server that has just initialised, that happens at the next once-a-second background
 * flush, so RESET MASTER alone took 0.2–1 s (bench/). Flushing the redo log first (not binlogged: no GTID)
 * makes it return in tens of ms. The flush changes no data.
 */
export function resetLocalHistory(dialect: Dialect, keep = ""): string[] {
    const reset = dialect.name === "mariadb" ? ["FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS", dialect.resetBinaryLogs] : [dialect.resetBinaryLogs];
    return [
        ...withoutBinlog([...pendingResetSetup(), `REPLACE INTO ${PENDING_RESET} (id, keep_gtids) VALUES (1, ${SqlString.escape(keep)})`]),
        ...reset,
        ...declareApplied(dialect, keep),
        ...withoutBinlog([`DELETE FROM ${PENDING_RESET} WHERE id = 1`]),
    ];
}

/** Right after a reset: what the replica had applied from the source. */
function declareApplied(dialect: Dialect, keep: string): string[] {
    if (dialect.name === "mariadb") return [`SET GLOBAL gtid_slave_pos = ${SqlString.escape(keep)}`];
    return keep === "" ? [] : [`SET GLOBAL gtid_purged = ${SqlString.escape(keep)}`];
}

/** The provider's note of a reset in progress (one row, never binlogged). */
const PENDING_RESET = "`replicaset_probe`.`pending_reset`";

function pendingResetSetup(): string[] {
    return [
        "CREATE DATABASE IF NOT EXISTS `replicaset_probe`",
        `CREATE TABLE IF NOT EXISTS ${PENDING_RESET} (id TINYINT NOT NULL PRIMARY KEY, keep_gtids LONGTEXT NOT NULL) ENGINE=InnoDB`,
    ];
}

/** Whether the provider's note of resets exists on this member (one row when it does). */
export const PENDING_RESET_EXISTS =
    "SELECT 1 AS present FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'replicaset_probe' AND TABLE_NAME = 'pending_reset'";

/** Reads the note of an unfinished reset: its `keep`, or no row. */
export const READ_PENDING_RESET = `SELECT keep_gtids FROM ${PENDING_RESET} WHERE id = 1`;

/**
 * Finishes a reset cut short after RESET MASTER (the server's own history still empty: MySQL gtid_executed,
 * MariaDB gtid_binlog_state) by declaring `keep` applied. When the history is not empty the reset never
 * happened, or finished: the note is dropped and the history judged afresh.
 */
export function resumeInterruptedReset(dialect: Dialect, keep: string, executedNow: string): string[] {
    const finish = executedNow === "" ? declareApplied(dialect, keep) : [];
    return [...finish, ...withoutBinlog([`DELETE FROM ${PENDING_RESET} WHERE id = 1`])];
}

/** Schema and table of the replication probe: one row per verification, nothing else is written there. */
export const PROBE_SCHEMA = "replicaset_probe";
export const PROBE_TABLE = "probe";

export function probeSetup(): string[] {
    return [
        `CREATE DATABASE IF NOT EXISTS ${SqlString.escapeId(PROBE_SCHEMA)}`,
        `CREATE TABLE IF NOT EXISTS ${SqlString.escapeId(PROBE_SCHEMA)}.${SqlString.escapeId(PROBE_TABLE)} (` +
            "token VARCHAR(64) NOT NULL PRIMARY KEY, written_by VARCHAR(64) NOT NULL, " +
            "written_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB",
    ];
}

export function probeWrite(token: string, writtenBy: string): string {
    return `REPLACE INTO ${SqlString.escapeId(PROBE_SCHEMA)}.${SqlString.escapeId(PROBE_TABLE)} (token, written_by) ` +
        `VALUES (${SqlString.escape(token)}, ${SqlString.escape(writtenBy)})`;
}

export function probeRead(token: string): string {
    return `SELECT token, written_by FROM ${SqlString.escapeId(PROBE_SCHEMA)}.${SqlString.escapeId(PROBE_TABLE)} ` +
        `WHERE token = ${SqlString.escape(token)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Heartbeat: the source's own event scheduler writes its NOW(6) into one row every interval; a replica's lag is
// its NOW(6) minus the last beat it applied (pt-heartbeat's idea without a sidecar).

const HEARTBEAT_TABLE = "`replicaset_probe`.`heartbeat`";
const HEARTBEAT_EVENT = "`replicaset_probe`.`heartbeat_writer`";

/**
 * Binlogged on purpose: every replica gets the table and the event; a replicated event arrives disabled
 * (MariaDB SLAVESIDE_DISABLED, MySQL 8.4+ REPLICA_SIDE_DISABLED), so only the source writes beats.
 */
export function heartbeatSetup(everySeconds: number): string[] {
    return [
        "CREATE DATABASE IF NOT EXISTS `replicaset_probe`",
        `CREATE TABLE IF NOT EXISTS ${HEARTBEAT_TABLE} (id TINYINT NOT NULL PRIMARY KEY, beat TIMESTAMP(6) NOT NULL) ENGINE=InnoDB`,
        // Only while the server is writable: every member starts read-only, so a source that restarted, or a dead
        // one that came back after a failover, does not beat before the provider has made it writable or fenced it,
        // although its definer may bypass read_only (MariaDB: root holds READ ONLY ADMIN; on MySQL the persisted
        // super_read_only keeps the scheduler from running it at all).
        `CREATE EVENT IF NOT EXISTS ${HEARTBEAT_EVENT} ON SCHEDULE EVERY ${Math.max(1, Math.round(everySeconds))} SECOND ` +
            `DO IF @@GLOBAL.read_only = 0 THEN REPLACE INTO ${HEARTBEAT_TABLE} (id, beat) VALUES (1, NOW(6)); END IF`,
    ];
}

/** The heartbeat event on this member (status ENABLED / DISABLED / SLAVESIDE_DISABLED / REPLICA_SIDE_DISABLED, interval), and the scheduler. */
export const HEARTBEAT_EVENT_STATE =
    "SELECT STATUS AS status, INTERVAL_VALUE AS every, @@GLOBAL.event_scheduler AS scheduler FROM information_schema.EVENTS " +
    "WHERE EVENT_SCHEMA = 'replicaset_probe' AND EVENT_NAME = 'heartbeat_writer'";

/**
 * Makes this member's copy of the event write (a new source's copy arrived disabled). Binlog off: a replicated
 * ALTER EVENT would be this member's own transaction on every replica, and must not enable theirs.
 */
export function heartbeatEnable(everySeconds: number): string[] {
    return withoutBinlog([`ALTER EVENT ${HEARTBEAT_EVENT} ON SCHEDULE EVERY ${Math.max(1, Math.round(everySeconds))} SECOND ENABLE`]);
}

/**
 * Stops this member's beats (a fenced source, a replica that once was one). On MariaDB the event's definer
 * (root) holds READ ONLY ADMIN, so an enabled event would keep writing on a read-only server: errant GTIDs.
 */
export function heartbeatDisable(): string[] {
    return withoutBinlog([`ALTER EVENT ${HEARTBEAT_EVENT} DISABLE`]);
}

/** heartbeatIntervalMs 0: the heartbeat is dropped everywhere (binlogged). */
export const HEARTBEAT_DROP = `DROP EVENT IF EXISTS ${HEARTBEAT_EVENT}`;

export const EVENT_SCHEDULER_ON = "SET GLOBAL event_scheduler = ON";

export const HEARTBEAT_TABLE_EXISTS =
    "SELECT 1 AS present FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'replicaset_probe' AND TABLE_NAME = 'heartbeat'";

/** The server's clock as microseconds since the epoch (UTC_TIMESTAMP: no time zone in the way). */
const EPOCH_US = "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6))";

/**
 * This member's clock minus the last beat it holds, in microseconds (no row: no beat applied yet), and its clock
 * (`now_us`, read at the same statement: clock.ts corrects the first by the second's offset).
 */
export const HEARTBEAT_LAG = `SELECT TIMESTAMPDIFF(MICROSECOND, beat, NOW(6)) AS us, ${EPOCH_US} AS now_us FROM ${HEARTBEAT_TABLE} WHERE id = 1`;

/** The member's clock, microseconds since the epoch. */
export const CLOCK_NOW = `SELECT ${EPOCH_US} AS now_us`;

/** Schemas a server creates itself; anything else on a replica is user data. */
export const SYSTEM_SCHEMAS: readonly string[] = ["mysql", "sys", "information_schema", "performance_schema", PROBE_SCHEMA];

// ---------------------------------------------------------------------------------------------------------
// The router's health-check account (issue #15): no password, host limited to the network, SELECT on what the
// checks read (routerCheckTables).

/** Whether an account exists on this member (one row when it does). */
export function accountExists(user: string, host: string): string {
    return `SELECT 1 AS present FROM mysql.user WHERE User = ${SqlString.escape(user)} AND Host = ${SqlString.escape(host)}`;
}

/**
 * Creates the router's check account with an empty password and no privilege (USAGE; grants follow). Binlogged on
 * purpose, unlike the replication account: it holds no secret, and replicated it exists on every member —
 * replicas, members added later, and whichever member becomes the source — without writing to read-only
 * replicas. Run only when accountExists finds none on the source (else every run would add a transaction to the
 * binlog); IF NOT EXISTS all the same, so a replica that already has the account (made by hand) applies it with a
 * warning instead of stopping its applier with 1396 (ER_CANNOT_USER, seen on MariaDB 10.11.19). The plugin is the
 * one the router's check names in its handshake (components/router/check.ts CHECK_DIALECTS): caching_sha2_password
 * on MySQL 8.0+ (mysql_native_password is off in 8.4 and gone in 9.x), mysql_native_password on MySQL 5.7 and
 * MariaDB. Its only privileges: SELECT on the tables the checks read (routerCheckTables).
 */
/**
 * The router's check account at a host pattern no longer declared: dropped on the source binlogged, as it was
 * created, so every member following it drops it too (IF EXISTS: a member that never had it keeps applying).
 */
export function dropRouterCheckAccount(user: string, host: string): string {
    return `DROP USER IF EXISTS ${account(user, host)}`;
}

export function createRouterCheckAccount(dialect: Dialect, user: string, host: string): string {
    return `CREATE USER IF NOT EXISTS ${account(user, host)} IDENTIFIED WITH ${CHECK_DIALECTS[CHECK_FLAVOR_OF_DIALECT[dialect.name]].plugin}`;
}

/**
 * The tables the router's checks read on this member (components/router/check.ts), each granted SELECT to the
 * check account and nothing else: the flavor's replication status tables (`threads`), and the heartbeat table
 * (`heartbeat`: only when it exists, as a table grant needs its table). Binlogged like the account.
 */
export function routerCheckTables(dialect: Dialect, reads: { threads: boolean; heartbeat: boolean }): Array<{ schema: string; table: string }> {
    return [...(reads.threads ? CHECK_DIALECTS[CHECK_FLAVOR_OF_DIALECT[dialect.name]].statusTables : []), ...(reads.heartbeat ? [HEARTBEAT] : [])];
}

/** Whether the account may SELECT from the table already (one row when it may). */
export function tableGrantExists(user: string, host: string, t: { schema: string; table: string }): string {
    return `SELECT 1 AS present FROM mysql.tables_priv WHERE User = ${SqlString.escape(user)} AND Host = ${SqlString.escape(host)} ` +
        `AND Db = ${SqlString.escape(t.schema)} AND Table_name = ${SqlString.escape(t.table)} AND FIND_IN_SET('Select', Table_priv) > 0`;
}

export function grantTableSelect(user: string, host: string, t: { schema: string; table: string }): string {
    return `GRANT SELECT ON ${SqlString.escapeId(t.schema)}.${SqlString.escapeId(t.table)} TO ${account(user, host)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Seeding a replica from a consistent copy of the source (seed.ts, seedDump.ts). Everything written on the
// replica runs with the session's binary log off: the copy is the source's history, not the replica's own.

/**
 * MySQL, run on the source: the purged transactions a replica lacks ("" when its binlogs still hold everything
 * the replica needs). A replica whose history misses part of gtid_purged would stop with 1236.
 */
export function purgedMissing(replicaGtids: string): string {
    return `SELECT GTID_SUBTRACT(@@GLOBAL.gtid_purged, ${SqlString.escape(replicaGtids)}) AS missing`;
}

/** MariaDB: the oldest binary log the source still has (first row of SHOW BINARY LOGS). */
export const SHOW_BINARY_LOGS = "SHOW BINARY LOGS";

/**
 * MariaDB, run on the source: the GTID position at the start of its oldest binary log (the Gtid_list event
 * there: one GTID per domain, the last one purged before it, seen as '0-100-6' on 10.11.19). A replica behind it
 * in some domain cannot be sent what it lacks (KB "BINLOG_GTID_POS").
 */
export function binlogStartPosition(oldestLog: string): string {
    return `SELECT BINLOG_GTID_POS(${SqlString.escape(oldestLog)}, 4) AS pos`;
}

/** MariaDB: what a replica has applied (slave_pos) and holds in its own binlog, for the purge check. */
export const MARIA_REPLICA_POSITIONS = "SELECT @@GLOBAL.gtid_slave_pos AS applied, @@GLOBAL.gtid_binlog_state AS state";

/** Schemas on a member, and what holds user data. */
export const LIST_SCHEMAS = "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA";

/**
 * The provider's note on a replica that a seed is under way (binlog off, never replicated): a replica that
 * holds it holds the provider's own unfinished copy, which the next run throws away and copies again. The note is
 * the row; a finished copy deletes it and keeps the (empty) table: a DELETE commits in a millisecond where the
 * DROP TABLE it replaced, a DDL, took 5-30 ms at the end of every seed. Versions before kept no table: both read
 * the same (no table, or no row: no seed under way).
 */
const SEED_NOTE = "`replicaset_probe`.`seed_in_progress`";
export const SEED_NOTE_TABLE = "seed_in_progress";
export const SEED_NOTE_EXISTS =
    "SELECT 1 AS present FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'replicaset_probe' AND TABLE_NAME = 'seed_in_progress'";
/** Read only where SEED_NOTE_EXISTS found the table. */
export const SEED_NOTE_READ = `SELECT source FROM ${SEED_NOTE} WHERE id = 1`;
export function seedNoteWrite(sourceName: string): string[] {
    return [
        "CREATE DATABASE IF NOT EXISTS `replicaset_probe`",
        `CREATE TABLE IF NOT EXISTS ${SEED_NOTE} (id TINYINT NOT NULL PRIMARY KEY, source VARCHAR(255) NOT NULL, ` +
            "started_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB",
        `REPLACE INTO ${SEED_NOTE} (id, source) VALUES (1, ${SqlString.escape(sourceName)})`,
    ];
}
export const SEED_NOTE_REMOVE = `DELETE FROM ${SEED_NOTE} WHERE id = 1`;

/**
 * The replica session that loads a copy: binlog off (no transaction of the replica's own), no foreign-key or
 * unique checks while loading (the source enforced them), UTC and a permissive sql_mode for exact values, as
 * mysqldump's own header does (zero dates, explicit 0 in AUTO_INCREMENT columns).
 */
export const SEED_LOAD_SESSION = [
    // One statement, one round trip (each assignment names its scope; sql_log_bin is session-only).
    "SET SESSION sql_log_bin = 0, SESSION foreign_key_checks = 0, SESSION unique_checks = 0, SESSION time_zone = '+00:00', " +
        "SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'",
];

/**
 * The copy's consistent point, opened by its one reader in one round trip: UTC (TIMESTAMP values as stored), a
 * REPEATABLE READ snapshot that every read of the copy then sees, and the GTID position that names it exactly.
 * `position` is the index of the statement whose one row's `pos` is that position. `release` ends what the opening
 * holds (run once the accounts are read: SHOW CREATE USER and SHOW GRANTS read the server's privilege cache, not the
 * snapshot).
 * - MariaDB: the binary log's coordinates at the snapshot (binlog_snapshot_file / _position, kept by START TRANSACTION
 *   WITH CONSISTENT SNAPSHOT through group commit), turned into a GTID position by BINLOG_GTID_POS: no lock on the
 *   source at all, as mariadb-dump --single-transaction --master-data --gtid does (KB "Enhancements for START
 *   TRANSACTION WITH CONSISTENT SNAPSHOT"). BINLOG_GTID_POS reads the current binlog up to that point. The row also
 *   has the coordinates (`binlog_file`, `binlog_pos`): an account statement committed between them and the accounts' read is found
 *   in the binary log (accountsHeld false: see accountChangeInWindow).
 * - MySQL (no such status): commits blocked by FLUSH TABLES WITH READ LOCK while the snapshot opens, gtid_executed
 *   and the accounts are read, then UNLOCK TABLES, on the same connection, as mysqldump --single-transaction does (the
 *   lock is not released by START TRANSACTION). It waits for running statements first, then is held for two round
 *   trips. The lock also holds account statements (seen on MySQL 9.7.4 and MariaDB 11.8: CREATE USER waited for it).
 */
export function openSnapshot(dialect: Dialect): { statements: string[]; position: number; release: string[]; accountsHeld: boolean } {
    const session = ["SET SESSION time_zone = '+00:00'", "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"];
    if (dialect.name === "mariadb") {
        const status = (name: string) => `(SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = '${name}')`;
        return {
            statements: [
                ...session,
                "START TRANSACTION WITH CONSISTENT SNAPSHOT",
                `SELECT BINLOG_GTID_POS(binlog_file, binlog_pos) AS pos, binlog_file, binlog_pos FROM ` +
                    `(SELECT ${status("BINLOG_SNAPSHOT_FILE")} AS binlog_file, ${status("BINLOG_SNAPSHOT_POSITION")} AS binlog_pos) AS snapshot`,
            ],
            position: 3,
            release: [],
            accountsHeld: false,
        };
    }
    return {
        statements: [...session, "FLUSH TABLES WITH READ LOCK", "START TRANSACTION WITH CONSISTENT SNAPSHOT", "SELECT @@GLOBAL.gtid_executed AS pos"],
        position: 4,
        release: ["UNLOCK TABLES"],
        accountsHeld: true,
    };
}

/** Where the source's binary log ends now (MariaDB: File, Position). */
export const BINLOG_END = "SHOW MASTER STATUS";

/** Events of a binary log from a position on, at most `limit` (Event_type, Info, End_log_pos). */
export function binlogEventsFrom(file: string, at: number, limit: number): string {
    return `SHOW BINLOG EVENTS IN ${SqlString.escape(file)} FROM ${Math.max(4, Math.floor(at))} LIMIT ${Math.max(1, Math.floor(limit))}`;
}

/** A grantee as SHOW GRANTS and DROP name it: 'user'@'host', a MariaDB role by its name, PUBLIC bare. */
export function grantee(dialect: Dialect, g: { user: string; host: string; role: boolean }): string {
    if (dialect.implicitGrantees?.includes(g.user) && g.host === "") return g.user;
    if (dialect.rolesApart && g.role) return SqlString.escapeId(g.user);
    return account(g.user, g.host);
}

export function showCreateAccount(dialect: Dialect, g: { user: string; host: string; role: boolean }): string {
    return `SHOW CREATE USER ${grantee(dialect, g)}`;
}

export function showGrants(dialect: Dialect, g: { user: string; host: string; role: boolean }): string {
    return `SHOW GRANTS FOR ${grantee(dialect, g)}`;
}

/** Drops a grantee on a replica before the source's copy is made (IF EXISTS: most replicas have none). */
export function dropGrantee(dialect: Dialect, g: { user: string; host: string; role: boolean }): string {
    return dialect.rolesApart && g.role ? `DROP ROLE IF EXISTS ${grantee(dialect, g)}` : `DROP USER IF EXISTS ${grantee(dialect, g)}`;
}

/** A MariaDB role, made again (its grants follow from SHOW GRANTS). */
export function createRole(dialect: Dialect, g: { user: string; host: string; role: boolean }): string {
    return `CREATE ROLE ${grantee(dialect, g)}`;
}

/**
 * Tables and views of the copied schemas, largest first by the server's estimates (the copy's order; TABLE_ROWS also
 * for progress). DATA_LENGTH lags a bulk load (seen on MariaDB 10.11/11.8 right after 5 000 rows: 16 KiB, as for one
 * row) while MariaDB's TABLE_ROWS follows every insert, so a table counts at least 64 bytes a row. MySQL 8+ caches both
 * (information_schema_stats_expiry): the order may be off there, which loaders that help each other make up for.
 */
export function listTables(schemas: string[]): string {
    return "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, TABLE_TYPE AS type, TABLE_ROWS AS estRows " +
        `FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (${schemas.map((s) => SqlString.escape(s)).join(", ")}) ` +
        "ORDER BY GREATEST(IFNULL(DATA_LENGTH, 0), IFNULL(TABLE_ROWS, 0) * 64) DESC, TABLE_SCHEMA, TABLE_NAME";
}

/** The columns a copy writes: every stored, non-generated column (invisible ones included), in order, per table, with its type and character set. */
export function listColumns(schemas: string[]): string {
    return "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, COLUMN_NAME AS name, DATA_TYPE AS type, CHARACTER_SET_NAME AS charset FROM information_schema.COLUMNS " +
        `WHERE TABLE_SCHEMA IN (${schemas.map((s) => SqlString.escape(s)).join(", ")}) ` +
        // MySQL marks generated columns 'VIRTUAL GENERATED' / 'STORED GENERATED' (and expression defaults
        // 'DEFAULT_GENERATED', which are written); MariaDB 'VIRTUAL GENERATED' / 'STORED GENERATED'.
        "AND EXTRA NOT LIKE '%VIRTUAL GENERATED%' AND EXTRA NOT LIKE '%STORED GENERATED%' AND EXTRA NOT LIKE '%PERSISTENT GENERATED%' " +
        "ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION";
}

/** SHOW CREATE TABLE's statement names the table alone; qualified, it needs no USE first. */
export function qualifyCreateTable(createTable: string, db: string, table: string): string {
    const head = `CREATE TABLE ${SqlString.escapeId(table)}`;
    if (!createTable.startsWith(head)) throw new Error(`unexpected SHOW CREATE TABLE output for ${qualified(db, table)}: ${createTable.slice(0, 60)}`);
    return `CREATE TABLE ${qualified(db, table)}${createTable.slice(head.length)}`;
}

export function qualified(db: string, name: string): string {
    return `${SqlString.escapeId(db)}.${SqlString.escapeId(name)}`;
}
export const showCreateDatabase = (db: string) => `SHOW CREATE DATABASE ${SqlString.escapeId(db)}`;
export const showCreateTable = (db: string, t: string) => `SHOW CREATE TABLE ${qualified(db, t)}`;
export const showCreateView = (db: string, v: string) => `SHOW CREATE VIEW ${qualified(db, v)}`;
export const useSchema = (db: string) => `USE ${SqlString.escapeId(db)}`;
export const dropSchema = (db: string) => `DROP DATABASE IF EXISTS ${SqlString.escapeId(db)}`;
export const dropTable = (db: string, t: string) => `DROP TABLE IF EXISTS ${qualified(db, t)}`;
export const dropView = (db: string, v: string) => `DROP VIEW IF EXISTS ${qualified(db, v)}`;

/** Types whose values travel as hexadecimal literals (bytes, not characters): binary strings, geometry, vectors. */
const BYTE_TYPES: readonly string[] = [
    "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point", "linestring", "polygon",
    "multipoint", "multilinestring", "multipolygon", "geometrycollection", "geomcollection", "vector",
];

/** Character columns (ENUM and SET take their values from the definition and travel as QUOTE()d text). */
const TEXT_TYPES: readonly string[] = ["char", "varchar", "tinytext", "text", "mediumtext", "longtext"];
/** Numbers whose text is a literal of the same value: integers and DECIMAL (not FLOAT/DOUBLE, not YEAR: '0000' is not 0). */
const UNQUOTED_NUMBER_TYPES: readonly string[] = ["tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric"];
/** Character sets that reach the session's utf8mb4 and come back unchanged. */
const UTF8_CHARSETS: readonly string[] = ["utf8mb4", "utf8mb3", "utf8"];

/**
 * One column as the SQL literal that writes its value back exactly, computed by the source server itself:
 * QUOTE() (NULL as NULL, strings escaped, FLOAT/DOUBLE, dates and JSON as the server's own text in the session's
 * UTC), integers and DECIMAL as their digits, bytes as X'...', BIT as its number. The provider then only joins literals into INSERTs: no value is
 * converted or escaped in JavaScript (mysql2's own float parser is off in the last place for some values).
 */
export function columnLiteral(column: { name: string; type: string; charset?: string | null }): string {
    const id = SqlString.escapeId(column.name);
    const type = column.type.toLowerCase();
    if (BYTE_TYPES.includes(type)) return `IF(${id} IS NULL, 'NULL', CONCAT('X''', HEX(${id}), ''''))`;
    // Text of another character set than UTF-8 travels as its own bytes, with an introducer: converted to the
    // session's utf8mb4 and back, an sjis backslash (5C after a double-byte character) came back as 815F on MariaDB
    // 10.11.19. Hex with `_sjis` is the bytes exactly, with no conversion either way.
    const charset = String(column.charset ?? "").toLowerCase();
    if (TEXT_TYPES.includes(type) && /^[a-z0-9_]+$/.test(charset) && !UTF8_CHARSETS.includes(charset)) {
        return `IF(${id} IS NULL, 'NULL', CONCAT('_${charset} X''', HEX(${id}), ''''))`;
    }
    if (type === "bit") return `IFNULL(${id} + 0, 'NULL')`;
    // Integers and DECIMAL as their own digits, unquoted: a numeric literal is the same value (DECIMAL up to its 65
    // digits), and the replica parses it for less CPU than a quoted string it must convert (13-37 % of a load).
    if (UNQUOTED_NUMBER_TYPES.includes(type)) return `IFNULL(${id}, 'NULL')`;
    // A FLOAT converts to text with 6 significant digits (16777216 as '16777200', 3.1415927 as '3.14159' on MySQL
    // 9.7 and MariaDB 10.11/11.8): read back, that is another float. Widened to DOUBLE first (+ 0e0, also on 5.7,
    // which has no CAST AS DOUBLE), its text has every digit of the float, which the replica rounds back exactly.
    if (type === "float") return `QUOTE(${id} + 0e0)`;
    return `QUOTE(${id})`;
}

/** Reads every row of a table as SQL literals, stored columns only (columnLiteral). */
export function selectRows(db: string, table: string, columns: Array<{ name: string; type: string; charset?: string | null }>): string {
    return `SELECT ${columns.map(columnLiteral).join(", ")} FROM ${qualified(db, table)}`;
}

/** One row read by selectRows as the tuple an INSERT lists: each value is already the literal the source wrote. */
export function rowTuple(row: string[]): string {
    return `(${row.join(",")})`;
}

/** One multi-row INSERT of tuples made by rowTuple. */
export function insertRows(db: string, table: string, columns: string[], tuples: string[]): string {
    return `INSERT INTO ${qualified(db, table)} (${columns.map((c) => SqlString.escapeId(c)).join(", ")}) VALUES ${tuples.join(",")}`;
}

/**
 * Routines, triggers (with their table, `tbl`) and events of the copied schemas: one list, then SHOW CREATE of each
 * (with its sql_mode). Triggers of a table in their action order.
 */
export function listProgrammes(schemas: string[]): string {
    const inList = schemas.map((s) => SqlString.escape(s)).join(", ");
    return `SELECT ROUTINE_SCHEMA AS db, ROUTINE_NAME AS name, ROUTINE_TYPE AS kind, NULL AS tbl, 1 AS ord, 0 AS sub FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (${inList}) ` +
        `UNION ALL SELECT TRIGGER_SCHEMA, TRIGGER_NAME, 'TRIGGER', EVENT_OBJECT_TABLE, 2, ACTION_ORDER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (${inList}) ` +
        `UNION ALL SELECT EVENT_SCHEMA, EVENT_NAME, 'EVENT', NULL, 3, 0 FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (${inList}) ` +
        "ORDER BY ord, db, sub, name";
}
export const showCreateRoutine = (db: string, type: string, name: string) =>
    `SHOW CREATE ${type === "FUNCTION" ? "FUNCTION" : "PROCEDURE"} ${qualified(db, name)}`;
export const showCreateTrigger = (db: string, name: string) => `SHOW CREATE TRIGGER ${qualified(db, name)}`;
export const showCreateEvent = (db: string, name: string) => `SHOW CREATE EVENT ${qualified(db, name)}`;
export const setSqlMode = (mode: string) => `SET SESSION sql_mode = ${SqlString.escape(mode)}`;
export const setTimeZone = (zone: string) => `SET SESSION time_zone = ${SqlString.escape(zone)}`;

/**
 * A copied event stays off on the replica, as a replicated one arrives (MariaDB SLAVESIDE_DISABLED, MySQL
 * REPLICA_SIDE_DISABLED): only the source runs its events. MySQL spells it DISABLE ON REPLICA from 8.0.22.
 */
export function disableEventOnReplica(dialect: Dialect, db: string, name: string): string {
    return `ALTER EVENT ${qualified(db, name)} ${replicaSideDisabled(dialect)}`;
}

function replicaSideDisabled(dialect: Dialect): string {
    return `DISABLE ON ${dialect.name === "mysql-8.0" || dialect.name === "mysql-8.4" ? "REPLICA" : "SLAVE"}`;
}

/**
 * SHOW CREATE EVENT's statement with an enabled event created replica-side disabled from the start. Created
 * enabled and altered afterwards, an EVERY event fires at once on the replica (its scheduler is on): a local,
 * binlogged write — an errant transaction — before the ALTER lands (seen on MariaDB 10.11 and 11.8).
 */
export function createEventDisabledOnReplica(dialect: Dialect, createEvent: string): string {
    const status = /(\bON COMPLETION (?:NOT )?PRESERVE )(ENABLE|DISABLE ON (?:SLAVE|REPLICA)|DISABLE)\b/;
    const match = status.exec(createEvent);
    if (!match) throw new Error(`unexpected SHOW CREATE EVENT output (no ON COMPLETION … status): ${createEvent.slice(0, 120)}`);
    return match[2] === "ENABLE" ? createEvent.replace(status, `$1${replicaSideDisabled(dialect)}`) : createEvent;
}

/**
 * A seeded replica's history: its own binlog and GTIDs wiped (the runbook's `reset master`), then the copy's
 * position declared applied — MySQL gtid_purged (settable only while gtid_executed is empty), MariaDB
 * gtid_slave_pos (under gtid_strict_mode only once the binlog holds no later GTID of the domain).
 */
export function declareSeedPosition(dialect: Dialect, position: string): string[] {
    if (dialect.name === "mariadb") {
        return ["FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS", dialect.resetBinaryLogs, `SET GLOBAL gtid_slave_pos = ${SqlString.escape(position)}`];
    }
    return [dialect.resetBinaryLogs, ...(position === "" ? [] : [`SET GLOBAL gtid_purged = ${SqlString.escape(position)}`])];
}

// ---------------------------------------------------------------------------------------------------------
// Seeding by the clone plugin (seedClone.ts; MySQL 8.0.17+, dialect.clone). Facts with sources: docs/dialects.md.

/** The clone plugin's state on a member: no row when it is not installed. */
export const CLONE_PLUGIN_STATUS = "SELECT PLUGIN_STATUS AS status FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'clone'";

/**
 * Installs the clone plugin (registered in mysql.plugin: it loads again at every start). Binlog off all the same:
 * on a replica anything binlogged is a transaction of its own (an errant GTID), and the source's must not reach
 * replicas that have the plugin already.
 */
export const INSTALL_CLONE_PLUGIN = withoutBinlog(["INSTALL PLUGIN clone SONAME 'mysql_clone.so'"]);

/**
 * The donor account on the source, binlog off (it is the provider's, for the length of one clone; the clone copies
 * it to the recipient with the rest of the mysql schema, and both copies are dropped after). The password is the
 * replication account's, a Pulumi secret.
 */
export function ensureCloneDonorAccount(host: string, password: string, tls: "x509" | "ssl" | "none"): string[] {
    const who = account(CLONE_DONOR_USER, host);
    const require = tls === "x509" ? "REQUIRE X509" : tls === "ssl" ? "REQUIRE SSL" : "REQUIRE NONE";
    return withoutBinlog([
        `CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY ${SqlString.escape(password)} ${require}`,
        `ALTER USER ${who} IDENTIFIED BY ${SqlString.escape(password)} ${require}`,
        `GRANT BACKUP_ADMIN ON *.* TO ${who}`,
    ]);
}
export function dropCloneDonorAccount(host: string): string[] {
    return withoutBinlog([`DROP USER IF EXISTS ${account(CLONE_DONOR_USER, host)}`]);
}

/**
 * The recipient's side: the one donor it may clone from (clone_valid_donor_list, host:port as it dials the source)
 * and, with verified TLS, the stack's CA and the replication client's certificate for the clone's connection.
 * SET GLOBAL is never binlogged; these are not persisted (gone after the clone's restart).
 */
export function cloneRecipientSettings(donor: string, files?: { ca: string; clientCert: string; clientKey: string }): string[] {
    return [
        `SET GLOBAL clone_valid_donor_list = ${SqlString.escape(donor)}`,
        ...(files
            ? [
                  `SET GLOBAL clone_ssl_ca = ${SqlString.escape(files.ca)}`,
                  `SET GLOBAL clone_ssl_cert = ${SqlString.escape(files.clientCert)}`,
                  `SET GLOBAL clone_ssl_key = ${SqlString.escape(files.clientKey)}`,
              ]
            : []),
    ];
}

/**
 * Replaces the recipient's data with the donor's and restarts the recipient (only when a supervisor runs it:
 * otherwise error 3707 after the copy, and the data takes effect at the next start). CLONE is not binlogged.
 */
export function cloneInstance(donorHost: string, donorPort: number, password: string, tls: boolean): string {
    return `CLONE INSTANCE FROM ${account(CLONE_DONOR_USER, donorHost)}:${donorPort} ` +
        `IDENTIFIED BY ${SqlString.escape(password)} REQUIRE ${tls ? "" : "NO "}SSL`;
}

/** The last clone on this recipient (performance_schema.clone_status has one row, kept across the restart). */
export const CLONE_STATUS =
    "SELECT STATE AS state, ERROR_NO AS errno, ERROR_MESSAGE AS message, GTID_EXECUTED AS gtids, END_TIME AS ended FROM performance_schema.clone_status";

/** Error 3707 ER_CLONE_RESTART (... not managed by supervisor process): the clone finished, mysqld did not restart. */
export const CLONE_NOT_RESTARTED = 3707;

/** Events enabled on this member (a clone brings the donor's enabled): each is then disabled on the replica. */
export const ENABLED_EVENTS = "SELECT EVENT_SCHEMA AS db, EVENT_NAME AS name FROM information_schema.EVENTS WHERE STATUS = 'ENABLED'";
