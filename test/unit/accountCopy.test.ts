/**
 * components/replication/accountCopy.ts (issue 29, point 4): which accounts a logical copy brings, how it reads them,
 * the order it makes them in on a replica, the binlog window check (MariaDB), and errors without the statements'
 * hashes. The same on real servers: test/integration/seedAccounts.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { accountChangeInWindow, accountError, accountReads, accountStatements, accountsToCopy, readAccounts } from "../../components/replication/accountCopy";
import { dialectFor, identifyServer, openSnapshot } from "../../components/replication/dialect";

const mysql97 = dialectFor(identifyServer("9.7.4", "MySQL Community Server - GPL"));
const mysql8016 = dialectFor(identifyServer("8.0.16", "MySQL Community Server - GPL"));
const maria = dialectFor(identifyServer("11.8.3-MariaDB-4", "Debian"));
const PROJECT = ["repl", "replicaset_clone", "replicaset_check"];

const row = (user: string, host: string, role = "N") => ({ user, host, is_role: role });

describe("accountsToCopy: the server's and the project's accounts stay behind", () => {
    test("MySQL: root, mysql.*, anonymous and the project's accounts are left; roles are accounts", () => {
        const rows = [
            row("root", "%"), row("root", "localhost"), row("mysql.sys", "localhost"), row("mysql.session", "localhost"), row("mysql.infoschema", "localhost"),
            row("", "localhost"), row("repl", "10.0.0.0/255.0.0.0"), row("replicaset_check", "%"), row("replicaset_clone", "%"),
            row("app", "%"), row("app_reader", "%"),
        ];
        assert.deepEqual(accountsToCopy(mysql97, rows, PROJECT), [
            { user: "app", host: "%", role: false },
            { user: "app_reader", host: "%", role: false },
        ]);
    });
    test("MariaDB: root, mariadb.sys, mysql, the image's healthcheck user are left; roles and PUBLIC are kept", () => {
        const rows = [row("root", "%"), row("mariadb.sys", "localhost"), row("mysql", "localhost"), row("healthcheck", "127.0.0.1"), row("app", "%"), row("reader", "", "Y"), row("PUBLIC", "", "Y")];
        assert.deepEqual(accountsToCopy(maria, rows, PROJECT), [
            { user: "app", host: "%", role: false },
            { user: "PUBLIC", host: "", role: true },
            { user: "reader", host: "", role: true },
        ]);
    });
});

describe("reading and making accounts", () => {
    test("MySQL 8.0.17+ asks for hashes as hex; 8.0.16 and MariaDB have nothing to ask", () => {
        assert.equal(mysql97.showAccountsSession, "SET SESSION print_identified_with_as_hex = ON");
        assert.equal(mysql8016.showAccountsSession, undefined);
        assert.equal(maria.showAccountsSession, undefined);
    });

    test("MySQL: SHOW CREATE USER and SHOW GRANTS per account; roles first, an account with a default role after them", () => {
        const grantees = [{ user: "app", host: "%", role: false }, { user: "app_reader", host: "%", role: false }];
        assert.deepEqual(accountReads(mysql97, grantees), [
            "SHOW CREATE USER 'app'@'%'",
            "SHOW GRANTS FOR 'app'@'%'",
            "SHOW CREATE USER 'app_reader'@'%'",
            "SHOW GRANTS FOR 'app_reader'@'%'",
        ]);
        const appCreate = "CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 0x2441 DEFAULT ROLE `app_reader`@`%` REQUIRE NONE";
        const roleCreate = "CREATE USER `app_reader`@`%` IDENTIFIED WITH 'caching_sha2_password' REQUIRE NONE PASSWORD EXPIRE ACCOUNT LOCK";
        const accounts = readAccounts(mysql97, grantees, [
            [{ "CREATE USER for app@%": appCreate }],
            [{ "Grants for app@%": "GRANT USAGE ON *.* TO `app`@`%`" }, { "Grants for app@%": "GRANT `app_reader`@`%` TO `app`@`%`" }],
            [{ "CREATE USER for app_reader@%": roleCreate }],
            [{ "Grants for app_reader@%": "GRANT SELECT ON `app1`.* TO `app_reader`@`%`" }],
        ]);
        assert.deepEqual(accountStatements(mysql97, accounts), [
            { who: "app_reader@%", statements: ["DROP USER IF EXISTS 'app_reader'@'%'", roleCreate] },
            { who: "app@%", statements: ["DROP USER IF EXISTS 'app'@'%'", appCreate] },
            { who: "app_reader@%", statements: ["GRANT SELECT ON `app1`.* TO `app_reader`@`%`"] },
            { who: "app@%", statements: ["GRANT USAGE ON *.* TO `app`@`%`", "GRANT `app_reader`@`%` TO `app`@`%`"] },
        ]);
    });

    test("MariaDB: a role is made by CREATE ROLE and read by SHOW GRANTS only; PUBLIC only gets its grants", () => {
        const grantees = [{ user: "app", host: "%", role: false }, { user: "PUBLIC", host: "", role: true }, { user: "reader", host: "", role: true }];
        assert.deepEqual(accountReads(maria, grantees), ["SHOW CREATE USER 'app'@'%'", "SHOW GRANTS FOR 'app'@'%'", "SHOW GRANTS FOR PUBLIC", "SHOW GRANTS FOR `reader`"]);
        const appCreate = "CREATE USER `app`@`%` IDENTIFIED BY PASSWORD '*6C7A370C07660BC788681B3238D93E08BD74303C'";
        const accounts = readAccounts(maria, grantees, [
            [{ c: appCreate }],
            [{ g: "GRANT `reader` TO `app`@`%`" }, { g: "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*6C7A370C07660BC788681B3238D93E08BD74303C'" }, { g: "SET DEFAULT ROLE `reader` FOR `app`@`%`" }],
            [{ g: "GRANT SELECT ON `app2`.* TO PUBLIC" }],
            [{ g: "GRANT USAGE ON *.* TO `reader`" }, { g: "GRANT SELECT ON `app1`.* TO `reader`" }],
        ]);
        assert.deepEqual(accountStatements(maria, accounts), [
            { who: "reader", statements: ["DROP ROLE IF EXISTS `reader`", "CREATE ROLE `reader`"] },
            { who: "app@%", statements: ["DROP USER IF EXISTS 'app'@'%'", appCreate] },
            { who: "PUBLIC", statements: ["GRANT SELECT ON `app2`.* TO PUBLIC"] },
            { who: "reader", statements: ["GRANT USAGE ON *.* TO `reader`", "GRANT SELECT ON `app1`.* TO `reader`"] },
            {
                who: "app@%",
                statements: ["GRANT `reader` TO `app`@`%`", "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*6C7A370C07660BC788681B3238D93E08BD74303C'", "SET DEFAULT ROLE `reader` FOR `app`@`%`"],
            },
        ]);
    });
});

describe("the snapshot and the accounts' read", () => {
    test("MySQL holds its lock over the accounts' read and releases it after; MariaDB holds nothing and gives its binlog coordinates", () => {
        const my = openSnapshot(mysql97);
        assert.deepEqual(my.release, ["UNLOCK TABLES"]);
        assert.equal(my.accountsHeld, true);
        assert.ok(!my.statements.includes("UNLOCK TABLES"), "the lock is released before the accounts are read");
        const mb = openSnapshot(maria);
        assert.deepEqual(mb.release, []);
        assert.equal(mb.accountsHeld, false);
        assert.match(mb.statements[mb.position], /BINLOG_GTID_POS\(binlog_file, binlog_pos\) AS pos, binlog_file, binlog_pos/);
    });

    const event = (type: string, info: string, end: number) => ({ Event_type: type, Info: info, End_log_pos: end });
    test("accountChangeInWindow: an account statement or a privilege table's rows before the end; heartbeats and later events do not count", () => {
        const heartbeat = [event("Gtid", "BEGIN GTID 0-100-7", 500), event("Table_map", "table_id: 33 (replicaset_probe.heartbeat)", 560), event("Write_rows_v1", "table_id: 33 flags: STMT_END_F", 600), event("Xid", "COMMIT /* xid=9 */", 630)];
        assert.equal(accountChangeInWindow(heartbeat, 630, true), false);
        assert.equal(accountChangeInWindow([...heartbeat, event("Query", "GRANT SELECT ON `a`.* TO `app`@`%`", 700)], 700, true), true);
        assert.equal(accountChangeInWindow([...heartbeat, event("Query", "use `app1`; REVOKE INSERT ON app1.* FROM 'app'@'%'", 700)], 700, true), true);
        assert.equal(accountChangeInWindow([...heartbeat, event("Query", "CREATE USER 'x'@'%' IDENTIFIED BY 'x'", 700)], 630, true), false, "after the end: not in the window");
        assert.equal(accountChangeInWindow([event("Table_map", "table_id: 12 (mysql.global_priv)", 100)], 100, true), true);
        assert.equal(accountChangeInWindow([event("Query", "CREATE TABLE app1.grants_log (id INT)", 100)], 100, true), false);
        assert.equal(accountChangeInWindow(heartbeat, 2000, false), true, "a list cut by its limit before the end counts as a change");
    });
});

describe("accountError: an account statement's failure without its text", () => {
    test("hashes, hex and quoted literals are gone; the code and the grantee stay", () => {
        const failure = Object.assign(
            new Error(
                "db001: ER_PARSE_ERROR: You have an error in your SQL syntax near 'AS 0x24412430304124 REQUIRE' at line 1 " +
                    "(while running: CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 0x24412430304124 REQUIRE NONE)",
            ),
            { code: "ER_PARSE_ERROR", errno: 1064 },
        );
        const error = accountError("db003", "app@%", failure);
        assert.doesNotMatch(error.message, /0x2441|caching_sha2|while running|CREATE USER/);
        assert.match(error.message, /^db003: making the source's account app@% on the replica failed: ER_PARSE_ERROR: You have an error in your SQL syntax near '…' at line 1$/);
        assert.equal((error as { errno?: number }).errno, 1064);
        const maria = accountError("db003", "app@%", new Error("db003: ER_X: near '*6C7A370C07660BC788681B3238D93E08BD74303C' and *6C7A370C07660BC788681B3238D93E08BD74303C"));
        assert.doesNotMatch(maria.message, /6C7A370C/);
        const ed = accountError("db003", "app@%", new Error("db003: ER_X: near 'USING 'ZIzPY2jGT4zlSC8zVyQYOvlUEWyhfT1xtCfBvb3jrSA'' at line 1"));
        assert.doesNotMatch(ed.message, /ZIzPY2/);
    });
    test("a plugin the replica lacks is named, with what to do", () => {
        const failure = Object.assign(new Error("db003: ER_PLUGIN_IS_NOT_LOADED: Plugin 'ed25519' is not loaded (while running: DROP USER IF EXISTS 'app'@'%';\nCREATE USER `app`@`%` IDENTIFIED VIA ed25519 USING 'ZIzPY2jGT4zlSC8zVyQYOvlUEWyhfT1xtCfBvb3jrSA')"), { errno: 1524 });
        const error = accountError("db003", "app@%", failure);
        assert.match(error.message, /Plugin 'ed25519' is not loaded \(the account's authentication plugin is loaded on the source, not on this replica/);
        assert.doesNotMatch(error.message, /ZIzPY2/);
    });
});
