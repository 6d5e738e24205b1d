/**
 * components/replication/status.ts: status rows of every dialect → one ReplicaThreads shape. Rows are read
 * by column name: MySQL 8.0.22+ names columns after the statement used (SHOW REPLICA STATUS → Replica_*,
 * Source_*), 5.7 and MariaDB use Slave_* / Master_*, and MariaDB adds Using_Gtid, Gtid_IO_Pos and (in SHOW ALL
 * SLAVES STATUS only) Gtid_Slave_Pos. Column lists: https://dev.mysql.com/doc/refman/8.0/en/show-replica-status.html ,
 * https://mariadb.com/kb/en/show-replica-status/
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defaultChannelRow, normaliseGtids, parseReplicaStatus, type ReplicaThreads } from "../../components/replication/status";
import { replicaHealthy as isHealthy } from "../../components/outputs";

const SOURCE_UUID = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const REPLICA_UUID = "9b2f4e10-5a1c-11ef-8a3e-0242ac120003";

/** A SHOW SLAVE STATUS row of MySQL/Percona 5.7 (as mysql2 returns it: numbers for integer columns). */
function mysql57Row(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        Slave_IO_State: "Waiting for master to send event",
        Master_Host: "db001",
        Master_User: "repl",
        Master_Port: 3306,
        Connect_Retry: 10,
        Master_Log_File: "mysql-bin.000003",
        Read_Master_Log_Pos: 1547,
        Relay_Log_File: "db002-relay-bin.000002",
        Relay_Log_Pos: 1760,
        Relay_Master_Log_File: "mysql-bin.000003",
        Slave_IO_Running: "Yes",
        Slave_SQL_Running: "Yes",
        Last_Errno: 0,
        Last_Error: "",
        Exec_Master_Log_Pos: 1547,
        Seconds_Behind_Master: 0,
        Master_SSL_Allowed: "No",
        Last_IO_Errno: 0,
        Last_IO_Error: "",
        Last_SQL_Errno: 0,
        Last_SQL_Error: "",
        Master_Server_Id: 100,
        Master_UUID: SOURCE_UUID,
        Retrieved_Gtid_Set: `${SOURCE_UUID}:1-7`,
        Executed_Gtid_Set: `${SOURCE_UUID}:1-7`,
        Auto_Position: 1,
        Channel_Name: "",
        ...overrides,
    };
}

/** A SHOW REPLICA STATUS row of MySQL 8.0.22+ (new column names). */
function mysql80Row(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        Replica_IO_State: "Waiting for source to send event",
        Source_Host: "db001",
        Source_User: "repl",
        Source_Port: 3306,
        Connect_Retry: 10,
        Source_Log_File: "binlog.000002",
        Read_Source_Log_Pos: 2048,
        Relay_Source_Log_File: "binlog.000002",
        Replica_IO_Running: "Yes",
        Replica_SQL_Running: "Yes",
        Last_Errno: 0,
        Last_Error: "",
        Exec_Source_Log_Pos: 2048,
        Seconds_Behind_Source: 2,
        Source_SSL_Allowed: "Yes",
        Last_IO_Errno: 0,
        Last_IO_Error: "",
        Last_SQL_Errno: 0,
        Last_SQL_Error: "",
        Source_Server_Id: 100,
        Source_UUID: SOURCE_UUID,
        Retrieved_Gtid_Set: `${SOURCE_UUID}:1-12`,
        Executed_Gtid_Set: `${SOURCE_UUID}:1-11`,
        Auto_Position: 1,
        Channel_Name: "",
        ...overrides,
    };
}

/** A SHOW ALL SLAVES STATUS row of MariaDB 10.11 (column set as mariadbd 10.11.19 returns it, abridged). */
function mariaRow(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        Connection_name: "",
        Slave_SQL_State: "Slave has read all relay log; waiting for more updates",
        Slave_IO_State: "Waiting for master to send event",
        Master_Host: "db001",
        Master_User: "repl",
        Master_Port: 3306,
        Connect_Retry: 10,
        Slave_IO_Running: "Yes",
        Slave_SQL_Running: "Yes",
        Last_Errno: 0,
        Last_Error: "",
        Seconds_Behind_Master: 0,
        Last_IO_Errno: 0,
        Last_IO_Error: "",
        Last_SQL_Errno: 0,
        Last_SQL_Error: "",
        Master_Server_Id: 100,
        Using_Gtid: "Slave_Pos",
        Gtid_IO_Pos: "0-100-6",
        Parallel_Mode: "optimistic",
        Slave_SQL_Running_State: "Slave has read all relay log; waiting for more updates",
        Gtid_Slave_Pos: "0-100-6",
        ...overrides,
    };
}

const HEALTHY: Omit<ReplicaThreads, "secondsBehindSource" | "retrievedGtidSet" | "executedGtidSet"> = {
    configured: true,
    ioRunning: true,
    ioState: "Yes",
    sqlRunning: true,
    lastIoError: "",
    lastSqlError: "",
    source: "db001:3306",
    tls: false,
    tlsVerified: false,
    tlsCaFile: "",
};

describe("parseReplicaStatus", () => {
    test("MySQL 5.7 SHOW SLAVE STATUS (old names)", () => {
        const threads = parseReplicaStatus(mysql57Row());
        assert.deepEqual(threads, {
            ...HEALTHY,
            secondsBehindSource: 0,
            retrievedGtidSet: `${SOURCE_UUID}:1-7`,
            executedGtidSet: `${SOURCE_UUID}:1-7`,
        });
        assert.equal(isHealthy(threads), true);
    });
    test("MySQL 8.0.22+ SHOW REPLICA STATUS (new names)", () => {
        const threads = parseReplicaStatus(mysql80Row());
        assert.deepEqual(threads, {
            ...HEALTHY,
            secondsBehindSource: 2,
            retrievedGtidSet: `${SOURCE_UUID}:1-12`,
            executedGtidSet: `${SOURCE_UUID}:1-11`,
            // Source_SSL_Allowed: Yes in the 8.0 row.
            tls: true,
        });
        assert.equal(isHealthy(threads), true);
    });
    test("the channel's TLS state is read from Master_SSL_Allowed / Source_SSL_Allowed (Ignored is not TLS)", () => {
        assert.equal(parseReplicaStatus(mariaRow({ Master_SSL_Allowed: "Yes" })).tls, true);
        assert.equal(parseReplicaStatus(mariaRow({ Master_SSL_Allowed: "Ignored" })).tls, false);
        assert.equal(parseReplicaStatus(mariaRow({ Master_SSL_Allowed: "No" })).tls, false);
    });

    test("a verifying channel: Verify_Server_Cert Yes and its CA file, under either name", () => {
        const maria = parseReplicaStatus(mariaRow({ Master_SSL_Verify_Server_Cert: "Yes", Master_SSL_CA_File: "/etc/mysql-replicaset-tls/ca.pem" }));
        assert.equal(maria.tlsVerified, true);
        assert.equal(maria.tlsCaFile, "/etc/mysql-replicaset-tls/ca.pem");
        const mysql = parseReplicaStatus({ Source_Host: "db001", Source_SSL_Verify_Server_Cert: "No", Source_SSL_CA_File: "" });
        assert.equal(mysql.tlsVerified, false);
        assert.equal(mysql.tlsCaFile, "");
    });
    test("defect 2: replication error texts are redacted like every other error", () => {
        const secret = "s3cret-repl-pw";
        const threads = parseReplicaStatus(
            mariaRow({ Slave_IO_Running: "No", Last_IO_Errno: 1045, Last_IO_Error: `error connecting to master 'repl@db001:3306' with password ${secret}` }),
            [secret],
        );
        assert.ok(!threads.lastIoError.includes(secret), threads.lastIoError);
        assert.match(threads.lastIoError, /^1045: error connecting to master 'repl@db001:3306'/);
    });
    test("MariaDB SHOW ALL SLAVES STATUS: Gtid_IO_Pos is what was received, Gtid_Slave_Pos what was applied", () => {
        const threads = parseReplicaStatus(mariaRow({ Gtid_IO_Pos: "0-100-9", Gtid_Slave_Pos: "0-100-8" }));
        assert.deepEqual(threads, { ...HEALTHY, secondsBehindSource: 0, retrievedGtidSet: "0-100-9", executedGtidSet: "0-100-8" });
    });
    test("MariaDB with several domains lists one GTID per domain", () => {
        const threads = parseReplicaStatus(mariaRow({ Gtid_IO_Pos: "0-100-9,1-100-3", Gtid_Slave_Pos: "0-100-9,\n1-100-3" }));
        assert.equal(threads.retrievedGtidSet, "0-100-9,1-100-3");
        assert.equal(threads.executedGtidSet, "0-100-9,1-100-3");
    });
    test("MariaDB's plain SHOW SLAVE STATUS has no applied position (why the dialect uses SHOW ALL SLAVES STATUS)", () => {
        const plain = mariaRow();
        delete plain.Connection_name;
        delete plain.Slave_SQL_State;
        delete plain.Gtid_Slave_Pos;
        assert.equal(parseReplicaStatus(plain).executedGtidSet, "");
        assert.equal(parseReplicaStatus(plain).retrievedGtidSet, "0-100-6");
    });
    test("no row: replication is not configured", () => {
        assert.deepEqual(parseReplicaStatus(undefined), {
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
        });
        assert.equal(isHealthy(parseReplicaStatus(undefined)), false);
        assert.equal(parseReplicaStatus(defaultChannelRow([])).configured, false);
    });
    test("IO thread Connecting with an auth error: not running, the state and errno: message kept", () => {
        const message =
            "error connecting to master 'repl@db001:3306' - retry-time: 10 retries: 3 message: " +
            "Authentication plugin 'caching_sha2_password' reported error: Authentication requires secure connection.";
        const threads = parseReplicaStatus(
            mysql80Row({ Replica_IO_Running: "Connecting", Seconds_Behind_Source: null, Last_IO_Errno: 2061, Last_IO_Error: message }),
        );
        assert.equal(threads.ioRunning, false);
        assert.equal(threads.ioState, "Connecting");
        assert.equal(threads.sqlRunning, true);
        assert.equal(threads.lastIoError, `2061: ${message}`);
        assert.equal(threads.secondsBehindSource, null);
        assert.equal(isHealthy(threads), false);
    });
    test("SQL thread stopped on an error (e.g. 1396 CREATE USER failed)", () => {
        const threads = parseReplicaStatus(
            mysql57Row({
                Slave_SQL_Running: "No",
                Seconds_Behind_Master: null,
                Last_Errno: 1396,
                Last_Error: "Error 'Operation CREATE USER failed for 'app'@'%'' on query.",
                Last_SQL_Errno: 1396,
                Last_SQL_Error: "Error 'Operation CREATE USER failed for 'app'@'%'' on query.",
            }),
        );
        assert.equal(threads.sqlRunning, false);
        assert.equal(threads.ioRunning, true);
        assert.equal(threads.lastSqlError, "1396: Error 'Operation CREATE USER failed for 'app'@'%'' on query.");
        assert.equal(isHealthy(threads), false);
    });
    test("an error on a running thread still makes it unhealthy", () => {
        assert.equal(isHealthy(parseReplicaStatus(mysql80Row({ Last_IO_Errno: 2003, Last_IO_Error: "lost connection" }))), false);
    });
    test("NULL lag (a thread not running) is null, not 0; lag given as text is a number", () => {
        assert.equal(parseReplicaStatus(mysql57Row({ Seconds_Behind_Master: null })).secondsBehindSource, null);
        assert.equal(parseReplicaStatus(mysql80Row({ Seconds_Behind_Source: undefined })).secondsBehindSource, null);
        assert.equal(parseReplicaStatus(mariaRow({ Seconds_Behind_Master: "" })).secondsBehindSource, null);
        assert.equal(parseReplicaStatus(mysql57Row({ Seconds_Behind_Master: "17" })).secondsBehindSource, 17);
        assert.equal(parseReplicaStatus(mysql57Row({ Seconds_Behind_Master: 0 })).secondsBehindSource, 0);
    });
    test("GTID sets wrapped over lines (MySQL puts a newline after each comma) come out on one line", () => {
        const threads = parseReplicaStatus(
            mysql57Row({ Executed_Gtid_Set: `${SOURCE_UUID}:1-7,\n${REPLICA_UUID}:1-5`, Retrieved_Gtid_Set: `${SOURCE_UUID}:1-7\n` }),
        );
        assert.equal(threads.executedGtidSet, `${SOURCE_UUID}:1-7,${REPLICA_UUID}:1-5`);
        assert.equal(threads.retrievedGtidSet, `${SOURCE_UUID}:1-7`);
        assert.equal(normaliseGtids(" a:1-2,\r\n b:3 "), "a:1-2,b:3");
        assert.equal(normaliseGtids(null), "");
    });
    test("values mysql2 returns as Buffers are read as text", () => {
        const threads = parseReplicaStatus(
            mysql80Row({ Source_Host: Buffer.from("db001"), Replica_IO_Running: Buffer.from("Yes"), Executed_Gtid_Set: Buffer.from(`${SOURCE_UUID}:1-3`) }),
        );
        assert.equal(threads.source, "db001:3306");
        assert.equal(threads.ioRunning, true);
        assert.equal(threads.executedGtidSet, `${SOURCE_UUID}:1-3`);
    });
    test("an errno without a message, and a message without an errno, are both kept", () => {
        assert.equal(parseReplicaStatus(mysql80Row({ Last_IO_Errno: 1236, Last_IO_Error: "" })).lastIoError, "1236: ");
        assert.equal(parseReplicaStatus(mysql80Row({ Last_IO_Errno: 0, Last_IO_Error: "odd" })).lastIoError, "odd");
        assert.equal(parseReplicaStatus(mysql80Row({ Last_SQL_Errno: "0", Last_SQL_Error: null })).lastSqlError, "");
    });
    test("a row with an empty host counts as not configured (nothing to replicate from)", () => {
        const threads = parseReplicaStatus(mysql80Row({ Source_Host: "", Replica_IO_Running: "No", Replica_SQL_Running: "No" }));
        assert.equal(threads.configured, false);
        assert.equal(threads.source, "");
    });
});

describe("defaultChannelRow", () => {
    test("MySQL multi-channel rows: the default channel ('') is chosen wherever it is listed", () => {
        const other = mysql80Row({ Channel_Name: "analytics", Source_Host: "warehouse" });
        const main = mysql80Row();
        assert.equal(defaultChannelRow([other, main]), main);
        assert.equal(defaultChannelRow([main, other]), main);
        assert.equal(parseReplicaStatus(defaultChannelRow([other, main])).source, "db001:3306");
    });
    test("MariaDB SHOW ALL SLAVES STATUS rows: the default connection ('') is chosen", () => {
        const named = mariaRow({ Connection_name: "archive", Master_Host: "db009" });
        const main = mariaRow();
        assert.equal(defaultChannelRow([named, main]), main);
        assert.equal(parseReplicaStatus(defaultChannelRow([named, main])).source, "db001:3306");
    });
    test("a single row without a channel column is the row", () => {
        const row = mysql57Row();
        delete row.Channel_Name;
        assert.equal(defaultChannelRow([row]), row);
    });
    test("without a default channel the first row is taken; without rows, nothing", () => {
        const a = mysql80Row({ Channel_Name: "a" });
        const b = mysql80Row({ Channel_Name: "b" });
        assert.equal(defaultChannelRow([a, b]), a);
        assert.equal(defaultChannelRow([]), undefined);
    });
});
