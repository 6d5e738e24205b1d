/**
 * components/replication/dialect.ts: every replication statement, per dialect, compared with the form the
 * reference manual gives it; server identification from real VERSION() strings; escaping of every value.
 *
 * Manual forms used below (option lists copied from the syntax blocks of these pages):
 * - MySQL 5.7 CHANGE MASTER TO: https://dev.mysql.com/doc/refman/5.7/en/change-master-to.html
 *   (no GET_MASTER_PUBLIC_KEY / MASTER_PUBLIC_KEY_PATH in 5.7)
 * - MySQL 8.0 CHANGE MASTER TO (adds GET_MASTER_PUBLIC_KEY, MASTER_PUBLIC_KEY_PATH ...):
 *   https://dev.mysql.com/doc/refman/8.0/en/change-master-to.html
 * - CHANGE REPLICATION SOURCE TO, from 8.0.23 (8.0 manual "Setting the Source Configuration on the Replica":
 *   "CHANGE REPLICATION SOURCE TO statement (from MySQL 8.0.23) or CHANGE MASTER TO statement (before MySQL 8.0.23)"):
 *   https://dev.mysql.com/doc/refman/8.0/en/change-replication-source-to.html ,
 *   https://dev.mysql.com/doc/refman/8.4/en/change-replication-source-to.html
 * - START/STOP/SHOW/RESET REPLICA from 8.0.22 (SLAVE forms deprecated then):
 *   https://dev.mysql.com/doc/refman/8.0/en/start-slave.html , .../show-slave-status.html , .../reset-slave.html
 * - 8.4: RESET BINARY LOGS AND GTIDS "takes the place of the old RESET MASTER statement, which is no longer
 *   supported"; RESET's options are only BINARY LOGS AND GTIDS | REPLICA:
 *   https://dev.mysql.com/doc/refman/8.4/en/reset-binary-logs-and-gtids.html , https://dev.mysql.com/doc/refman/8.4/en/reset.html
 * - WAIT_FOR_EXECUTED_GTID_SET(gtid_set[, timeout]) (5.7+, WL#7796): https://dev.mysql.com/doc/refman/8.4/en/gtid-functions.html
 * - MariaDB CHANGE MASTER TO (MASTER_USE_GTID = {current_pos|slave_pos|no}; no public-key options):
 *   https://mariadb.com/kb/en/change-master-to/
 * - MariaDB SHOW SLAVE STATUS: Gtid_Slave_Pos is "Returned with SHOW ALL SLAVES STATUS only":
 *   https://mariadb.com/kb/en/show-replica-status/ (checked on mariadbd 10.11.19: the plain form lacks it)
 * - MariaDB MASTER_GTID_WAIT(gtid-list[, timeout]), 0 = reached, -1 = timeout: https://mariadb.com/kb/en/master_gtid_wait/
 * - MariaDB has no super_read_only ("Unknown system variable 'super_read_only'" on 10.11.19); read_only:
 *   https://mariadb.com/kb/en/read-only-replicas/ ; MySQL super_read_only (5.7.8+):
 *   https://dev.mysql.com/doc/refman/8.0/en/server-system-variables.html#sysvar_super_read_only
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
    account,
    changeSource,
    createEventDisabledOnReplica,
    dialectFor,
    DIALECTS,
    ensureReplicationAccount,
    identifyServer,
    makeReadOnly,
    probeRead,
    probeSetup,
    probeWrite,
    PROBE_SCHEMA,
    resetLocalHistory,
    makeWritable,
    alignAppliedPosition,
    dropReplicationAccount,
    compareWithSourceGtids,
    SYSTEM_SCHEMAS,
    type Dialect,
    type DialectName,
    type SourceConnection,
} from "../../components/replication/dialect";
import { redact } from "../../components/replication/redact";

// ---------------------------------------------------------------------------------------------------------
// A small reader for MySQL's string literals (default sql_mode: backslash escapes and '' both work), so the
// tests check what the server will read, not how the text looks.

const BACKSLASH_ESCAPES: Record<string, string> = { "0": "\0", "'": "'", '"': '"', b: "\b", n: "\n", r: "\r", t: "\t", Z: "\x1a", "\\": "\\" };

/** The statement with every string literal replaced by `?`, and the literals' values in order. */
function literals(sql: string): { skeleton: string; values: string[] } {
    let skeleton = "";
    const values: string[] = [];
    for (let i = 0; i < sql.length; i++) {
        if (sql[i] !== "'") {
            skeleton += sql[i];
            continue;
        }
        let value = "";
        for (i++; ; i++) {
            assert.ok(i < sql.length, `unterminated string literal in ${sql}`);
            const c = sql[i];
            if (c === "\\") {
                i++;
                value += BACKSLASH_ESCAPES[sql[i]] ?? sql[i];
            } else if (c === "'" && sql[i + 1] === "'") {
                value += "'";
                i++;
            } else if (c === "'") {
                break;
            } else {
                value += c;
            }
        }
        values.push(value);
        skeleton += "?";
    }
    return { skeleton, values };
}

/** `PREFIX NAME = value, NAME = value` → [[NAME, value]] with string literals decoded. */
function options(statement: string, prefix: string): Array<[string, string | number]> {
    assert.ok(statement.startsWith(`${prefix} `), `${statement} does not start with ${prefix}`);
    const { skeleton, values } = literals(statement.slice(prefix.length + 1));
    return skeleton.split(", ").map((part) => {
        const match = /^([A-Z_]+) = (\?|\d+|[a-z_]+)$/.exec(part);
        assert.ok(match, `option ${JSON.stringify(part)} of ${statement} is not NAME = value`);
        const raw = match[2];
        return [match[1], raw === "?" ? values.shift()! : /^\d+$/.test(raw) ? Number(raw) : raw];
    });
}

// ---------------------------------------------------------------------------------------------------------
// The manuals' option lists.

const MYSQL_57_CHANGE_MASTER = new Set([
    "MASTER_BIND", "MASTER_HOST", "MASTER_USER", "MASTER_PASSWORD", "MASTER_PORT", "MASTER_CONNECT_RETRY",
    "MASTER_RETRY_COUNT", "MASTER_DELAY", "MASTER_HEARTBEAT_PERIOD", "MASTER_LOG_FILE", "MASTER_LOG_POS",
    "MASTER_AUTO_POSITION", "RELAY_LOG_FILE", "RELAY_LOG_POS", "MASTER_SSL", "MASTER_SSL_CA", "MASTER_SSL_CAPATH",
    "MASTER_SSL_CERT", "MASTER_SSL_CRL", "MASTER_SSL_CRLPATH", "MASTER_SSL_KEY", "MASTER_SSL_CIPHER",
    "MASTER_SSL_VERIFY_SERVER_CERT", "MASTER_TLS_VERSION", "IGNORE_SERVER_IDS",
]);
const MYSQL_80_CHANGE_MASTER = new Set([
    ...MYSQL_57_CHANGE_MASTER,
    "PRIVILEGE_CHECKS_USER", "REQUIRE_ROW_FORMAT", "REQUIRE_TABLE_PRIMARY_KEY_CHECK", "ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS",
    "SOURCE_CONNECTION_AUTO_FAILOVER", "MASTER_COMPRESSION_ALGORITHMS", "MASTER_ZSTD_COMPRESSION_LEVEL",
    "MASTER_TLS_CIPHERSUITES", "MASTER_PUBLIC_KEY_PATH", "GET_MASTER_PUBLIC_KEY", "NETWORK_NAMESPACE", "GTID_ONLY",
]);
const CHANGE_REPLICATION_SOURCE = new Set([
    "SOURCE_BIND", "SOURCE_HOST", "SOURCE_USER", "SOURCE_PASSWORD", "SOURCE_PORT", "PRIVILEGE_CHECKS_USER",
    "REQUIRE_ROW_FORMAT", "REQUIRE_TABLE_PRIMARY_KEY_CHECK", "ASSIGN_GTIDS_TO_ANONYMOUS_TRANSACTIONS", "SOURCE_LOG_FILE",
    "SOURCE_LOG_POS", "SOURCE_AUTO_POSITION", "RELAY_LOG_FILE", "RELAY_LOG_POS", "SOURCE_HEARTBEAT_PERIOD",
    "SOURCE_CONNECT_RETRY", "SOURCE_RETRY_COUNT", "SOURCE_CONNECTION_AUTO_FAILOVER", "SOURCE_DELAY",
    "SOURCE_COMPRESSION_ALGORITHMS", "SOURCE_ZSTD_COMPRESSION_LEVEL", "SOURCE_SSL", "SOURCE_SSL_CA", "SOURCE_SSL_CAPATH",
    "SOURCE_SSL_CERT", "SOURCE_SSL_CRL", "SOURCE_SSL_CRLPATH", "SOURCE_SSL_KEY", "SOURCE_SSL_CIPHER",
    "SOURCE_SSL_VERIFY_SERVER_CERT", "SOURCE_TLS_VERSION", "SOURCE_TLS_CIPHERSUITES", "SOURCE_PUBLIC_KEY_PATH",
    "GET_SOURCE_PUBLIC_KEY", "NETWORK_NAMESPACE", "IGNORE_SERVER_IDS", "GTID_ONLY",
]);
const MARIADB_CHANGE_MASTER = new Set([
    "MASTER_BIND", "MASTER_HOST", "MASTER_USER", "MASTER_PASSWORD", "MASTER_PORT", "MASTER_CONNECT_RETRY",
    "MASTER_HEARTBEAT_PERIOD", "MASTER_LOG_FILE", "MASTER_LOG_POS", "RELAY_LOG_FILE", "RELAY_LOG_POS", "MASTER_DELAY",
    "MASTER_SSL", "MASTER_SSL_CA", "MASTER_SSL_CAPATH", "MASTER_SSL_CERT", "MASTER_SSL_CRL", "MASTER_SSL_CRLPATH",
    "MASTER_SSL_KEY", "MASTER_SSL_CIPHER", "MASTER_SSL_VERIFY_SERVER_CERT", "MASTER_USE_GTID", "MASTER_DEMOTE_TO_SLAVE",
    "IGNORE_SERVER_IDS", "DO_DOMAIN_IDS", "IGNORE_DOMAIN_IDS",
]);

/** What each dialect must say, per the manuals. */
interface Expected {
    /** A real VERSION() (and @@version_comment) of a server of this dialect. */
    servers: Array<[string, string]>;
    change: string;
    optionNames: Set<string>;
    o: "MASTER" | "SOURCE";
    autoPosition: [string, string | number];
    /** Sent only without TLS (caching_sha2_password needs the source's RSA key then). */
    publicKey?: string;
    start: string;
    stop: string;
    status: string;
    resetReplicaAll: string;
    resetLocalHistory: string[];
    readOnly: string[];
    waitFunction: string;
    executedGtids: string;
}

const MYSQL_OLD = {
    change: "CHANGE MASTER TO",
    o: "MASTER",
    autoPosition: ["MASTER_AUTO_POSITION", 1],
    start: "START SLAVE",
    stop: "STOP SLAVE",
    status: "SHOW SLAVE STATUS",
    resetReplicaAll: "RESET SLAVE ALL",
    resetLocalHistory: ["RESET MASTER"],
    readOnly: ["SET GLOBAL super_read_only = ON"],
    waitFunction: "WAIT_FOR_EXECUTED_GTID_SET",
    executedGtids: "SELECT @@GLOBAL.gtid_executed AS gtids",
} as const;
const MYSQL_NEW = {
    ...MYSQL_OLD,
    change: "CHANGE REPLICATION SOURCE TO",
    optionNames: CHANGE_REPLICATION_SOURCE,
    o: "SOURCE",
    autoPosition: ["SOURCE_AUTO_POSITION", 1],
    publicKey: "GET_SOURCE_PUBLIC_KEY",
    start: "START REPLICA",
    stop: "STOP REPLICA",
    status: "SHOW REPLICA STATUS",
    resetReplicaAll: "RESET REPLICA ALL",
} as const;

const EXPECTED: Record<DialectName, Expected> = {
    "mysql-5.7": {
        ...MYSQL_OLD,
        servers: [["5.7.30-33-log", "Percona Server (GPL), Release 33, Revision 6517692"], ["5.7.44", "MySQL Community Server (GPL)"]],
        optionNames: MYSQL_57_CHANGE_MASTER,
        autoPosition: [...MYSQL_OLD.autoPosition],
        resetLocalHistory: [...MYSQL_OLD.resetLocalHistory],
        readOnly: [...MYSQL_OLD.readOnly],
    },
    "mysql-8.0-legacy": {
        ...MYSQL_OLD,
        servers: [["8.0.22", "MySQL Community Server - GPL"], ["8.0.20-11", "Percona Server (GPL), Release 11, Revision 5b5a5d2"]],
        optionNames: MYSQL_80_CHANGE_MASTER,
        autoPosition: [...MYSQL_OLD.autoPosition],
        publicKey: "GET_MASTER_PUBLIC_KEY",
        resetLocalHistory: [...MYSQL_OLD.resetLocalHistory],
        // SET PERSIST (8.0): super_read_only survives a restart of the replica's container.
        readOnly: ["SET PERSIST super_read_only = ON"],
    },
    "mysql-8.0": {
        ...MYSQL_NEW,
        servers: [["8.0.23", "MySQL Community Server - GPL"], ["8.0.36-28", "Percona Server (GPL), Release 28, Revision 47601f19"], ["8.3.0", "MySQL Community Server - GPL"]],
        autoPosition: [...MYSQL_NEW.autoPosition],
        // RESET BINARY LOGS AND GTIDS only exists from 8.2; 8.0.23-8.3 all take RESET MASTER.
        resetLocalHistory: ["RESET MASTER"],
        readOnly: ["SET PERSIST super_read_only = ON"],
    },
    "mysql-8.4": {
        ...MYSQL_NEW,
        servers: [["8.4.3", "MySQL Community Server - GPL"], ["9.1.0", "MySQL Community Server - GPL"], ["8.4.2-2", "Percona Server (GPL), Release 2, Revision 2d2d2d2"]],
        autoPosition: [...MYSQL_NEW.autoPosition],
        resetLocalHistory: ["RESET BINARY LOGS AND GTIDS"],
        readOnly: ["SET PERSIST super_read_only = ON"],
    },
    mariadb: {
        servers: [["10.11.6-MariaDB-0+deb12u1-log", "Debian 12"], ["11.4.2-MariaDB-ubu2404", "mariadb.org binary distribution"], ["10.5.27-MariaDB", "MariaDB Server"]],
        change: "CHANGE MASTER TO",
        optionNames: MARIADB_CHANGE_MASTER,
        o: "MASTER",
        autoPosition: ["MASTER_USE_GTID", "slave_pos"],
        start: "START SLAVE",
        stop: "STOP SLAVE",
        status: "SHOW ALL SLAVES STATUS",
        resetReplicaAll: "RESET SLAVE ALL",
        resetLocalHistory: ["FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS", "RESET MASTER"],
        readOnly: ["SET GLOBAL read_only = ON"],
        waitFunction: "MASTER_GTID_WAIT",
        executedGtids: "SELECT @@GLOBAL.gtid_binlog_pos AS gtids",
    },
};

const CONNECTION: SourceConnection = { host: "db001", port: 3306, user: "repl", password: "s3cret", connectRetrySeconds: 10, tls: false };

function dialectOf(version: string, comment = ""): Dialect {
    return dialectFor(identifyServer(version, comment));
}

/** Every SQL text a dialect can produce. */
function everyStatement(d: Dialect): string[] {
    return [
        d.change,
        d.autoPosition,
        d.getPublicKey ?? "",
        d.start,
        d.stop,
        d.status,
        d.resetReplicaAll,
        d.resetBinaryLogs,
        d.executedGtids,
        d.waitForGtids("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", 30),
        changeSource(d, CONNECTION),
        changeSource(d, { ...CONNECTION, tls: true }),
        ...makeReadOnly(d),
        ...resetLocalHistory(d),
    ];
}

// ---------------------------------------------------------------------------------------------------------

describe("every dialect, statement by statement", () => {
    test("the table has exactly the five dialects", () => {
        // Several rows can share a name: they differ only in what a version added (TLS reload, verification by default).
        assert.deepEqual([...new Set(DIALECTS.map((row) => row.dialect.name))].sort(), Object.keys(EXPECTED).sort());
    });

    for (const [name, want] of Object.entries(EXPECTED) as Array<[DialectName, Expected]>) {
        describe(name, () => {
            const d = dialectOf(...want.servers[0]);

            test(`chosen for ${want.servers.map(([v]) => v).join(", ")}`, () => {
                for (const [version, comment] of want.servers) assert.equal(dialectOf(version, comment).name, name, version);
            });
            test(`configures with ${want.change} and only options its manual lists`, () => {
                const statement = changeSource(d, CONNECTION);
                const opts = options(statement, want.change);
                for (const [option] of opts) assert.ok(want.optionNames.has(option), `${option} is not a ${want.change} option of ${name}`);
                const o = want.o;
                assert.deepEqual(opts.slice(0, 5), [
                    [`${o}_HOST`, "db001"],
                    [`${o}_PORT`, 3306],
                    [`${o}_USER`, "repl"],
                    [`${o}_PASSWORD`, "s3cret"],
                    [`${o}_CONNECT_RETRY`, 10],
                ]);
                assert.deepEqual(opts.find(([option]) => option === want.autoPosition[0]), want.autoPosition);
                assert.deepEqual(opts.find(([option]) => option === `${o}_SSL`), [`${o}_SSL`, 0]);
            });
            test(want.publicKey ? `asks for the source's key (${want.publicKey} = 1) only without TLS` : "has no public-key option", () => {
                const plain = options(changeSource(d, CONNECTION), want.change);
                const tls = options(changeSource(d, { ...CONNECTION, tls: true }), want.change);
                assert.deepEqual(tls.find(([option]) => option === `${want.o}_SSL`), [`${want.o}_SSL`, 1]);
                assert.ok(!tls.some(([option]) => /PUBLIC_KEY/.test(option)), "TLS already satisfies caching_sha2_password");
                const keys = plain.filter(([option]) => /PUBLIC_KEY/.test(option));
                assert.deepEqual(keys, want.publicKey ? [[want.publicKey, 1]] : []);
            });
            test(d.name === "mariadb" ? "sets no retry count (a server variable there, 86400 by default)" : "keeps reconnecting for long: RETRY_COUNT = 86400 (8.4 lowered the default to 10)", () => {
                const opts = options(changeSource(d, CONNECTION), want.change);
                const retry = opts.filter(([option]) => /RETRY_COUNT/.test(option));
                assert.deepEqual(retry, d.name === "mariadb" ? [] : [[`${want.o}_RETRY_COUNT`, 86400]]);
            });
            test(`${want.start} / ${want.stop} / ${want.status} / ${want.resetReplicaAll}`, () => {
                assert.equal(d.start, want.start);
                assert.equal(d.stop, want.stop);
                assert.equal(d.status, want.status);
                assert.equal(d.resetReplicaAll, want.resetReplicaAll);
            });
            test(`wipes local history with ${want.resetLocalHistory.join("; ")}`, () => {
                const statements = resetLocalHistory(d);
                for (const reset of want.resetLocalHistory) assert.ok(statements.includes(reset), `${reset} missing from ${statements.join("; ")}`);
            });
            test("defects 6 and 7: a reset keeps what was applied from the source, and a run cut short after any statement can finish it", () => {
                const keep = d.name === "mariadb" ? "0-100-40" : "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-40";
                const declare = d.name === "mariadb" ? `SET GLOBAL gtid_slave_pos = '${keep}'` : `SET GLOBAL gtid_purged = '${keep}'`;
                const statements = resetLocalHistory(d, keep);
                const reset = statements.indexOf(want.resetLocalHistory[want.resetLocalHistory.length - 1]);
                const declared = statements.indexOf(declare);
                const noted = statements.findIndex((s) => /^REPLACE INTO `replicaset_probe`\.`pending_reset`/.test(s) && s.includes(keep));
                const cleared = statements.findIndex((s) => /^DELETE FROM `replicaset_probe`\.`pending_reset`/.test(s));
                // The note of what to keep is written before the reset and removed only once the server holds it
                // (MariaDB refuses a gtid_slave_pos older than its binlog under strict mode: after the reset too).
                assert.ok(noted >= 0 && noted < reset && reset < declared && declared < cleared, statements.join("\n"));
                // The note is the server's own business: written with the binary log off.
                assert.equal(statements[noted - 3], "SET SESSION sql_log_bin = 0");
                assert.equal(statements[cleared - 1], "SET SESSION sql_log_bin = 0");
                // MySQL with nothing to keep: no gtid_purged; MariaDB: the position is set (to empty) all the same.
                if (d.name !== "mariadb") assert.ok(!resetLocalHistory(d, "").some((s) => s.includes("gtid_purged")));
                else assert.ok(resetLocalHistory(d, "").includes("SET GLOBAL gtid_slave_pos = ''"));
            });
            test(`makes replicas read-only with ${want.readOnly.join("; ")}`, () => {
                assert.deepEqual(makeReadOnly(d), want.readOnly);
                assert.equal(d.superReadOnly, want.readOnly[0].includes("super_read_only"));
            });
            test(`waits for GTIDs with ${want.waitFunction}(set, timeout) and reads ${want.executedGtids}`, () => {
                assert.equal(d.waitForGtids("0-100-42", 30), `SELECT ${want.waitFunction}('0-100-42', 30) AS result`);
                assert.equal(d.executedGtids, want.executedGtids);
            });
        });
    }

    test("mysql-8.4 (also 9.x) contains no MASTER token at all: the old forms and MASTER_* options are removed", () => {
        for (const version of ["8.4.0", "8.4.3", "9.1.0"]) {
            for (const sql of everyStatement(dialectOf(version))) {
                assert.doesNotMatch(literals(sql).skeleton, /MASTER/i, `${version}: ${sql}`);
                assert.doesNotMatch(literals(sql).skeleton, /SLAVE/i, `${version}: ${sql}`);
            }
        }
    });
    test("mysql-8.0 (8.0.23+) uses no MASTER_* option (only RESET MASTER, which has no other form before 8.2)", () => {
        const d = dialectOf("8.0.23");
        for (const sql of everyStatement(d).filter((s) => s !== "RESET MASTER")) {
            assert.doesNotMatch(literals(sql).skeleton, /MASTER/i, sql);
        }
    });
    test("5.7 and MariaDB never use a SOURCE_* option or a REPLICA keyword", () => {
        for (const d of [dialectOf("5.7.30-33-log"), dialectOf("10.11.6-MariaDB-0+deb12u1-log")]) {
            for (const sql of everyStatement(d)) assert.doesNotMatch(literals(sql).skeleton, /SOURCE|REPLICA/, `${d.name}: ${sql}`);
        }
    });
    test("the wait timeout is whole seconds, at least 1", () => {
        const d = dialectOf("8.0.36");
        assert.match(d.waitForGtids("", 0.2), /, 1\) AS result$/);
        assert.match(d.waitForGtids("", 2.5), /, 3\) AS result$/);
        assert.match(dialectOf("11.4.2-MariaDB").waitForGtids("", 0), /, 1\) AS result$/);
    });
});

describe("identifyServer / dialectFor on real VERSION() strings", () => {
    const cases: Array<[string, string, string, string, DialectName]> = [
        ["5.7.30-33-log", "Percona Server (GPL), Release 33, Revision 6517692", "percona", "5.7.30", "mysql-5.7"],
        ["8.0.22", "MySQL Community Server - GPL", "mysql", "8.0.22", "mysql-8.0-legacy"],
        ["8.0.23", "MySQL Community Server - GPL", "mysql", "8.0.23", "mysql-8.0"],
        ["8.3.0", "MySQL Community Server - GPL", "mysql", "8.3.0", "mysql-8.0"],
        ["8.4.3", "MySQL Community Server - GPL", "mysql", "8.4.3", "mysql-8.4"],
        ["9.1.0", "MySQL Community Server - GPL", "mysql", "9.1.0", "mysql-8.4"],
        ["10.11.6-MariaDB-0+deb12u1-log", "Debian 12", "mariadb", "10.11.6", "mariadb"],
        ["11.4.2-MariaDB-ubu2404", "mariadb.org binary distribution", "mariadb", "11.4.2", "mariadb"],
    ];
    for (const [versionText, comment, flavor, version, dialect] of cases) {
        test(`${versionText} → ${flavor} ${version}, ${dialect}`, () => {
            const identity = identifyServer(versionText, comment);
            assert.deepEqual(identity, { flavor, version, versionText });
            assert.equal(dialectFor(identity).name, dialect);
        });
    }
    test("a MariaDB that says so only in @@version_comment is MariaDB", () => {
        assert.equal(identifyServer("10.6.18", "MariaDB Server").flavor, "mariadb");
    });
    test("MySQL 5.6.51 is refused as too old, naming 5.7.8", () => {
        assert.throws(() => dialectFor(identifyServer("5.6.51-log", "MySQL Community Server (GPL)")), /mysql 5\.6\.51 is too old.*MySQL\/Percona 5\.7\.8 or newer/);
    });
    for (const [version, comment, flavor] of [
        ["5.7.0", "MySQL Community Server (GPL)", "mysql"],
        ["5.7.7-rc-log", "MySQL Community Server (GPL)", "mysql"],
        ["5.7.7-7-log", "Percona Server (GPL), Release 7", "percona"],
    ]) {
        test(`defect 9: ${flavor} ${version} is refused, naming the version and 5.7.8 (no CREATE USER IF NOT EXISTS, no super_read_only)`, () => {
            const numeric = version.replace(/-.*$/, "");
            assert.throws(
                () => dialectFor(identifyServer(version, comment)),
                new RegExp(
                    `^Error: ${flavor} ${numeric.replace(/\./g, "\\.")} is too old for GTID auto-positioned replication here ` +
                        "\\(CREATE USER IF NOT EXISTS and super_read_only first appear in 5\\.7\\.8\\); use MySQL/Percona 5\\.7\\.8 or newer$",
                ),
            );
        });
    }
    test("defect 9: 5.7.8 is the oldest MySQL the mysql-5.7 dialect takes", () => {
        assert.equal(dialectFor(identifyServer("5.7.8-rc-log", "MySQL Community Server (GPL)")).name, "mysql-5.7");
        assert.equal(dialectFor(identifyServer("5.7.8-rc-log", "MySQL Community Server (GPL)")).superReadOnly, true);
    });
    test("MariaDB 10.4.32 is refused as too old, naming 10.5", () => {
        assert.throws(() => dialectFor(identifyServer("10.4.32-MariaDB", "MariaDB Server")), /mariadb 10\.4\.32 is too old.*MariaDB 10\.5 or newer/);
    });
    test("a VERSION() without a version number is refused", () => {
        assert.throws(() => identifyServer("unknown", ""), /Cannot read a server version from VERSION\(\) = "unknown"/);
    });
});

describe("escaping", () => {
    const NASTY = [
        "O'Brien\\",
        "it's",
        'say "hi"',
        "back\\slash",
        "trailing\\",
        "with space",
        "tab\tnew\nline\r",
        "nul\0ctrlZ\x1a",
        "pässwörd-ünïcødé",
        "密码🙂",
        "'; DROP USER root; --",
        "\\'; GRANT ALL ON *.* TO x; -- ",
        "%_wild",
    ];

    test("O'Brien\\ comes out as 'O\\'Brien\\\\' (quote and backslash escaped)", () => {
        const statement = changeSource(dialectOf("8.4.3"), { ...CONNECTION, user: "O'Brien\\", password: "O'Brien\\" });
        assert.ok(statement.includes("SOURCE_USER = 'O\\'Brien\\\\'"), statement);
        assert.ok(statement.includes("SOURCE_PASSWORD = 'O\\'Brien\\\\'"), statement);
    });

    for (const name of Object.keys(EXPECTED) as DialectName[]) {
        test(`${name}: every user, password and host reads back exactly, and nothing escapes its literal`, () => {
            const d = dialectOf(...EXPECTED[name].servers[0]);
            const cleanSkeleton = literals(changeSource(d, CONNECTION)).skeleton;
            for (const value of NASTY) {
                const statement = changeSource(d, { ...CONNECTION, host: value, user: value, password: value });
                const { skeleton, values } = literals(statement);
                assert.equal(skeleton, cleanSkeleton, `the statement's structure changed for ${JSON.stringify(value)}`);
                // Then the cleared certificate files of a channel that does not verify (MASTER_SSL_CA = '' ...).
                assert.deepEqual(values, [value, value, value, "", "", ""]);
                // No control character travels raw: each is written as its backslash escape.
                assert.doesNotMatch(statement, /[\0\b\t\n\r\x1a]/, `raw control character in ${JSON.stringify(statement)}`);
            }
        });
    }

    test("the replication account statements: CREATE USER IF NOT EXISTS / ALTER USER / GRANT REPLICATION SLAVE, escaped", () => {
        for (const value of NASTY) {
            const statements = ensureReplicationAccount({ user: value, host: "172.18.0.0/255.255.0.0", password: value, requireTls: false });
            // defect 2: with the binary log off, so no password reaches a binlog (MariaDB logs it as typed).
            assert.deepEqual(statements.map((s) => literals(s).skeleton), [
                "SET SESSION sql_log_bin = 0",
                "CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ? REQUIRE NONE",
                "ALTER USER ?@? IDENTIFIED BY ? REQUIRE NONE",
                "GRANT REPLICATION SLAVE ON *.* TO ?@?",
                "SET SESSION sql_log_bin = 1",
            ]);
            assert.deepEqual(literals(statements[1]).values, [value, "172.18.0.0/255.255.0.0", value]);
            assert.deepEqual(literals(statements[3]).values, [value, "172.18.0.0/255.255.0.0"]);
        }
        const tls = ensureReplicationAccount({ user: "repl", host: "%", password: "x", requireTls: true });
        assert.ok(tls[1].endsWith(" REQUIRE SSL") && tls[2].endsWith(" REQUIRE SSL"), tls.join("\n"));
    });
    test("account() quotes user and host separately", () => {
        assert.equal(account("re'pl", "172.18.%"), "'re\\'pl'@'172.18.%'");
    });
    test("the GTID set given to the wait function is a literal", () => {
        const sql = dialectOf("8.0.36").waitForGtids("x'), SLEEP(100), ('", 5);
        assert.equal(literals(sql).skeleton, "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, 5) AS result");
        assert.deepEqual(literals(sql).values, ["x'), SLEEP(100), ('"]);
    });
    test("probe statements quote the schema as an identifier and the token as a literal", () => {
        const [database, table] = probeSetup();
        assert.equal(database, "CREATE DATABASE IF NOT EXISTS `replicaset_probe`");
        assert.ok(table.startsWith("CREATE TABLE IF NOT EXISTS `replicaset_probe`.`probe` ("), table);
        const write = probeWrite("t'1", "db'001");
        assert.equal(literals(write).skeleton, "REPLACE INTO `replicaset_probe`.`probe` (token, written_by) VALUES (?, ?)");
        assert.deepEqual(literals(write).values, ["t'1", "db'001"]);
        assert.deepEqual(literals(probeRead("t'1")).values, ["t'1"]);
        assert.ok(SYSTEM_SCHEMAS.includes(PROBE_SCHEMA));
    });
});

describe("redact", () => {
    test("a password disappears from a server error that quotes the statement, raw or escaped", () => {
        for (const password of ["s3cret", "O'Brien\\", 'say "hi"', "tab\tnew\nline", "nul\0z\x1a", "pässwörd"]) {
            const statement = changeSource(dialectOf("8.0.36"), { ...CONNECTION, password });
            const message = `You have an error in your SQL syntax; check the manual near '${statement}' at line 1`;
            const escapedBody = literals(statement).values.includes(password) ? statement.match(/SOURCE_PASSWORD = '(.*?)', SOURCE_CONNECT_RETRY/)![1] : "";
            const clean = redact(`${message} / raw: ${password}`, [password]);
            assert.ok(!clean.includes(password), `raw ${JSON.stringify(password)} left in ${clean}`);
            assert.ok(!clean.includes(escapedBody), `escaped ${JSON.stringify(escapedBody)} left in ${clean}`);
            assert.match(clean, /SOURCE_PASSWORD = '\[secret\]'/);
            assert.match(clean, /raw: \[secret\]$/);
        }
    });
    test("empty or missing secrets change nothing", () => {
        assert.equal(redact("nothing to hide", ["", undefined]), "nothing to hide");
    });
});

describe("promotion: making a source writable and aligning a former source's position", () => {
    const server = (version: string, comment = "MySQL Community Server - GPL") => dialectFor(identifyServer(version, comment));
    test("MySQL 8 keeps super_read_only persisted (a restart comes back fenced) and turns read_only off for this run only", () => {
        for (const version of ["8.0.36", "8.4.3"]) {
            assert.deepEqual(makeWritable(server(version)), ["SET PERSIST_ONLY super_read_only = ON", "SET GLOBAL read_only = OFF"]);
        }
    });
    test("MySQL 8.0.0-8.0.25 restart the event scheduler after read_only is off: super_read_only stopped it for good there", () => {
        // A restarted source comes back super_read_only (persisted): its scheduler stops at the heartbeat event's first
        // run ("Unable to schedule event"). Before 8.0.26 lifting super_read_only does not start it again, although
        // @@event_scheduler still reads ON (MySQL 8.0.26 release notes, Bug #31633859): the heartbeat would stay dead.
        const restart = ["SET GLOBAL event_scheduler = OFF", "SET GLOBAL event_scheduler = ON"];
        for (const version of ["8.0.16", "8.0.22", "8.0.23", "8.0.25"]) {
            assert.deepEqual(makeWritable(server(version)), ["SET PERSIST_ONLY super_read_only = ON", "SET GLOBAL read_only = OFF", ...restart], version);
        }
        for (const version of ["8.0.26", "8.0.36", "8.4.3", "9.7.4"]) {
            assert.deepEqual(makeWritable(server(version)), ["SET PERSIST_ONLY super_read_only = ON", "SET GLOBAL read_only = OFF"], version);
        }
    });
    test("MySQL 5.7 and MariaDB only turn read_only off (it also turns super_read_only off)", () => {
        assert.deepEqual(makeWritable(server("5.7.30-33-log", "Percona Server (GPL)")), ["SET GLOBAL read_only = OFF"]);
        assert.deepEqual(makeWritable(server("10.11.6-MariaDB", "")), ["SET GLOBAL read_only = OFF"]);
    });
    test("MariaDB starts a former source from its current position; MySQL needs nothing", () => {
        const mariadb = server("10.11.6-MariaDB", "");
        assert.deepEqual(alignAppliedPosition(mariadb, "0-100-42", ""), ["SET GLOBAL gtid_slave_pos = '0-100-42'"]);
        assert.deepEqual(alignAppliedPosition(mariadb, "0-100-42", "0-100-42"), []);
        assert.deepEqual(alignAppliedPosition(server("8.0.36"), "x", "y"), []);
    });
});

describe("statements the provider runs outside the dialect table", () => {
    test("dropping an old replication account escapes user and host", () => {
        assert.deepEqual(dropReplicationAccount("re'pl", "172.18.0.0/255.255.0.0"), [
            "SET SESSION sql_log_bin = 0",
            "DROP USER IF EXISTS 're\\'pl'@'172.18.0.0/255.255.0.0'",
            "SET SESSION sql_log_bin = 1",
        ]);
    });
    test("comparing a replica's GTIDs with the source's: errant and shared, the set escaped", () => {
        const sql = compareWithSourceGtids("uuid:1-5'");
        assert.equal(
            sql,
            "SELECT GTID_SUBTRACT('uuid:1-5\\'', @@GLOBAL.gtid_executed) AS errant, " +
                "GTID_SUBTRACT('uuid:1-5\\'', GTID_SUBTRACT('uuid:1-5\\'', @@GLOBAL.gtid_executed)) AS shared",
        );
    });
    test("during a switchover, the previous source's GTIDs count as the new source's", () => {
        assert.equal(
            compareWithSourceGtids("a:1-5", ["b:1-3"]),
            "SELECT GTID_SUBTRACT(GTID_SUBTRACT('a:1-5', @@GLOBAL.gtid_executed), 'b:1-3') AS errant, " +
                "GTID_SUBTRACT('a:1-5', GTID_SUBTRACT(GTID_SUBTRACT('a:1-5', @@GLOBAL.gtid_executed), 'b:1-3')) AS shared",
        );
    });
});


describe("mutual TLS statements (issue #13)", () => {
    const files = { ca: "/etc/mysql-replicaset-tls/ca.pem", cert: "/etc/mysql-replicaset-tls/client-cert.pem", key: "/etc/mysql-replicaset-tls/client-key.pem" };
    for (const [version, comment, o] of [["9.7.4", "MySQL Community Server - GPL", "SOURCE"], ["8.0.20", "MySQL Community Server - GPL", "MASTER"], ["10.11.19-MariaDB", "Debian", "MASTER"], ["11.8.9-MariaDB", "Debian", "MASTER"]] as const) {
        test(`${version}: a verifying channel names the CA, its client pair, and verifies the source's certificate`, () => {
            const d = dialectFor(identifyServer(version, comment));
            const statement = changeSource(d, { ...CONNECTION, tls: true, verify: files });
            for (const part of [`${o}_SSL = 1`, `${o}_SSL_CA = '${files.ca}'`, `${o}_SSL_CERT = '${files.cert}'`, `${o}_SSL_KEY = '${files.key}'`, `${o}_SSL_VERIFY_SERVER_CERT = 1`]) {
                assert.ok(statement.includes(part), `${part} in ${statement}`);
            }
            assert.ok(!statement.includes("PUBLIC_KEY"), "TLS carries the password: no RSA key exchange");
        });
        test(`${version}: a channel that does not verify clears the files (CHANGE keeps what it is not given)`, () => {
            const d = dialectFor(identifyServer(version, comment));
            const statement = changeSource(d, { ...CONNECTION, tls: true });
            assert.ok(statement.includes(`${o}_SSL_CA = ''`) && statement.includes(`${o}_SSL_KEY = ''`), statement);
            // MariaDB 11.4+ verifies by default (its own certificate passes by the password fingerprint): left alone there.
            assert.equal(statement.includes(`${o}_SSL_VERIFY_SERVER_CERT = 0`), version !== "11.8.9-MariaDB", statement);
        });
    }
    test("the account requires a certificate (REQUIRE X509) in verify mode, SSL otherwise", () => {
        const base = { user: "repl", host: "%", password: "pw-123456" };
        assert.ok(ensureReplicationAccount({ ...base, requireTls: true, requireCertificate: true })[1].endsWith("REQUIRE X509"));
        assert.ok(ensureReplicationAccount({ ...base, requireTls: true })[1].endsWith("REQUIRE SSL"));
    });
    test("reloading TLS: ALTER INSTANCE RELOAD TLS from MySQL 8.0.16, FLUSH SSL never binlogged on MariaDB, none before", () => {
        assert.equal(dialectFor(identifyServer("9.7.4", "")).reloadTls, "ALTER INSTANCE RELOAD TLS");
        assert.equal(dialectFor(identifyServer("8.0.16", "")).reloadTls, "ALTER INSTANCE RELOAD TLS");
        assert.equal(dialectFor(identifyServer("8.0.15", "")).reloadTls, undefined);
        assert.equal(dialectFor(identifyServer("5.7.30-33", "Percona Server (GPL)")).reloadTls, undefined);
        assert.equal(dialectFor(identifyServer("10.11.19-MariaDB", "")).reloadTls, "FLUSH NO_WRITE_TO_BINLOG SSL");
    });
});

describe("createEventDisabledOnReplica: a copied event never runs on the replica, not even once", () => {
    const shown = "CREATE DEFINER=`root`@`localhost` EVENT `nightly` ON SCHEDULE EVERY 1 DAY STARTS '2026-11-28 20:00:00' ON COMPLETION NOT PRESERVE ENABLE DO INSERT INTO app1.audit VALUES (-1)";
    test("an enabled event is created replica-side disabled, in each dialect's words", () => {
        assert.match(createEventDisabledOnReplica(dialectOf("11.8.9-MariaDB"), shown), /NOT PRESERVE DISABLE ON SLAVE DO INSERT/);
        assert.match(createEventDisabledOnReplica(dialectOf("9.7.4"), shown), /NOT PRESERVE DISABLE ON REPLICA DO INSERT/);
    });
    test("a disabled event stays as it is; an unexpected text is refused rather than run enabled", () => {
        const off = shown.replace("PRESERVE ENABLE", "PRESERVE DISABLE");
        assert.equal(createEventDisabledOnReplica(dialectOf("11.8.9-MariaDB"), off), off);
        assert.throws(() => createEventDisabledOnReplica(dialectOf("9.7.4"), "CREATE EVENT e DO SELECT 1"), /unexpected SHOW CREATE EVENT output/);
    });
});
