/**
 * components/replication/accountCopy.ts (issue 29, point 4): which accounts a logical copy brings, how it reads them,
 * the order it makes them in on a replica, the binlog window check (MariaDB), and errors without the statements'
 * hashes. The same on real servers: test/integration/seedAccounts.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
    accountChangeInWindow,
    accountError,
    accountReads,
    accountsReplaced,
    accountStatements,
    accountsToCopy,
    danglingGrants,
    readAccounts,
    type CopiedAccount,
} from "../../components/replication/accountCopy";
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

describe("accountError: a crypt-style hash whose salt holds a quote", () => {
    test("is hidden whole, by its length (MySQL 5.7 sha256_password, 8.0 before 8.0.17 print hashes raw)", () => {
        const tail = "cxy.z0123456789Ab3./Cd9.Ef8/Gh7.Ij6/Kl5.Mn4";
        for (const hash of [`$A$005$ab'cd"ef\\gh!ij#klmno${tail}`, `$5$ab'cd"ef\\gh!ij#klmno$${tail}`]) {
            const error = accountError("db003", "app@%", new Error(`db003: ER_PARSE_ERROR: near 'AS '${hash}' REQUIRE NONE' at line 1`));
            assert.ok(!error.message.includes(tail.slice(0, 12)) && !error.message.includes(tail.slice(-12)), error.message);
        }
    });
});

describe("accountError: an account statement's failure without its secrets", () => {
    const HEX_HASH = "0x244124303035240D1F7C2F0E4B5D6A3C1B2E3F405162738495A6B7C8D9E0F1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F7";
    test("hex and crypt-style hashes and password literals are gone; the code, the grantee and the text around stay", () => {
        const failure = Object.assign(
            new Error(
                `db001: ER_PARSE_ERROR: You have an error in your SQL syntax near 'AS ${HEX_HASH} REQUIRE' at line 1 ` +
                    `(while running: CREATE USER \`app\`@\`%\` IDENTIFIED WITH 'caching_sha2_password' AS ${HEX_HASH} REQUIRE NONE)`,
            ),
            { code: "ER_PARSE_ERROR", errno: 1064 },
        );
        const error = accountError("db003", "app@%", failure);
        assert.doesNotMatch(error.message, /244124|while running|CREATE USER/);
        assert.match(error.message, /^db003: making the source's account app@% on the replica failed: ER_PARSE_ERROR: You have an error in your SQL syntax near 'AS (0x…|\[secret\]) REQUIRE' at line 1$/);
        assert.equal((error as { errno?: number }).errno, 1064);
        const bare = accountError("db003", "app@%", new Error(`db003: ER_X: near '${HEX_HASH} REQUIRE'`));
        assert.match(bare.message, /near '0x… REQUIRE'$/);
        const maria = accountError("db003", "app@%", new Error("db003: ER_X: near '*6C7A370C07660BC788681B3238D93E08BD74303C' and *6C7A370C07660BC788681B3238D93E08BD74303C"));
        assert.doesNotMatch(maria.message, /6C7A370C/);
        const ed = accountError("db003", "app@%", new Error("db003: ER_X: near 'USING 'ZIzPY2jGT4zlSC8zVyQYOvlUEWyhfT1xtCfBvb3jrSA'' at line 1"));
        assert.doesNotMatch(ed.message, /ZIzPY2/);
        const crypt = accountError("db003", "app@%", new Error("db003: ER_X: near 'AS '$A$005$a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ.12345/abcdef' REQUIRE NONE'"));
        assert.doesNotMatch(crypt.message, /a1b2c3|kLmNo/);
        const sha256 = accountError("db003", "app@%", new Error("db003: ER_X: near ''$5$Xy1$Zz9' PASSWORD EXPIRE'"));
        assert.doesNotMatch(sha256.message, /Xy1|Zz9/);
        assert.match(sha256.message, /PASSWORD EXPIRE/);
    });
    test("a password literal is blanked whoever's it is", () => {
        const error = accountError("db003", "app@%", new Error("db003: ER_X: near 'IDENTIFIED BY 'N3w-app-secret' PASSWORD EXPIRE' at line 1"));
        assert.doesNotMatch(error.message, /N3w-app-secret/);
        assert.match(error.message, /PASSWORD EXPIRE/);
    });
    test("names stay, however long: a table's, a plugin's, an account's", () => {
        const table = accountError("db003", "app@%", Object.assign(new Error("db003: ER_NO_SUCH_TABLE: Table 'shop.customer_orders' doesn't exist"), { errno: 1146 }));
        assert.match(table.message, /failed: ER_NO_SUCH_TABLE: Table 'shop\.customer_orders' doesn't exist$/);
        const user = accountError("db003", "reporting_readonly@10.0.0.0/255.0.0.0", new Error("db003: ER_X: Operation CREATE USER failed for 'reporting_readonly'@'10.0.0.0/255.0.0.0'"));
        assert.match(user.message, /for 'reporting_readonly'@'10\.0\.0\.0\/255\.0\.0\.0'$/);
        const plugin = accountError("db003", "app@%", new Error("db003: ER_PLUGIN_IS_NOT_LOADED: Plugin 'authentication_ldap_simple' is not loaded"));
        assert.match(plugin.message, /Plugin 'authentication_ldap_simple' is not loaded/);
    });
    test("a plugin the replica lacks is named, with what to do", () => {
        const failure = Object.assign(new Error("db003: ER_PLUGIN_IS_NOT_LOADED: Plugin 'ed25519' is not loaded (while running: DROP USER IF EXISTS 'app'@'%';\nCREATE USER `app`@`%` IDENTIFIED VIA ed25519 USING 'ZIzPY2jGT4zlSC8zVyQYOvlUEWyhfT1xtCfBvb3jrSA')"), { errno: 1524 });
        const error = accountError("db003", "app@%", failure);
        assert.match(error.message, /Plugin 'ed25519' is not loaded \(the account's authentication plugin is loaded on the source, not on this replica/);
        assert.doesNotMatch(error.message, /ZIzPY2/);
    });
});

describe("danglingGrants: grants on tables or columns gone, with the REVOKE that takes each away", () => {
    const columns = [
        { db: "app", tbl: "items", col: "id" },
        { db: "app", tbl: "items", col: "Name" },
    ];
    test("a table grant on a dropped table, a column grant on a dropped column; kept tables and columns are fine", () => {
        const tableGrants = [
            { user: "app", host: "%", db: "app", tbl: "t", privs: "Select,Insert,Grant" },
            { user: "app", host: "%", db: "app", tbl: "items", privs: "Select" },
            { user: "app", host: "%", db: "app", tbl: "items", privs: "" },
        ];
        const columnGrants = [
            { user: "app", host: "%", db: "app", tbl: "items", col: "name", privs: "Select" },
            { user: "app", host: "%", db: "app", tbl: "items", col: "extra", privs: "Select,Update" },
        ];
        assert.deepEqual(danglingGrants(mysql97, tableGrants, columnGrants, columns, PROJECT), [
            "REVOKE SELECT (`extra`), UPDATE (`extra`) ON `app`.`items` FROM 'app'@'%'",
            "REVOKE SELECT, INSERT, GRANT OPTION ON `app`.`t` FROM 'app'@'%'",
        ]);
    });
    test("a grant with CREATE needs no table (the server makes it, the copy too); its columns still do", () => {
        const tableGrants = [{ user: "app", host: "%", db: "app", tbl: "later", privs: "Select,Create" }];
        assert.deepEqual(danglingGrants(mysql97, tableGrants, [], columns, PROJECT), []);
        const withColumn = [{ user: "app", host: "%", db: "app", tbl: "later", col: "id", privs: "Select" }];
        assert.deepEqual(danglingGrants(mysql97, tableGrants, withColumn, columns, PROJECT), ["REVOKE SELECT (`id`) ON `app`.`later` FROM 'app'@'%'"]);
    });
    test("MariaDB roles and PUBLIC by their names; the server's and the project's grantees are not looked at", () => {
        const tableGrants = [
            { user: "app_reader", host: "", db: "app", tbl: "t", privs: "Select" },
            { user: "PUBLIC", host: "", db: "app", tbl: "t", privs: "Select" },
            { user: "replicaset_check", host: "%", db: "app", tbl: "t", privs: "Select" },
            { user: "root", host: "localhost", db: "app", tbl: "t", privs: "Select" },
        ];
        assert.deepEqual(danglingGrants(maria, tableGrants, [], columns, PROJECT), ["REVOKE SELECT ON `app`.`t` FROM PUBLIC", "REVOKE SELECT ON `app`.`t` FROM `app_reader`"]);
    });
});

describe("accountsReplaced: the replica's accounts a copy would replace with different ones", () => {
    const acct = (user: string, host: string, create: string | undefined, grants: string[]): CopiedAccount => ({ grantee: { user, host, role: false }, ...(create ? { create } : {}), grants });
    test("same definition and grants (in any order): none; another password or other grants: named", () => {
        const source = [acct("app", "%", "CREATE USER app AS 0xAA", ["GRANT USAGE", "GRANT SELECT ON a.*"]), acct("ro", "%", "CREATE USER ro AS 0xBB", ["GRANT USAGE"]), acct("PUBLIC", "", undefined, ["GRANT SELECT ON b.* TO PUBLIC"])];
        assert.deepEqual(accountsReplaced(source, [acct("app", "%", "CREATE USER app AS 0xAA", ["GRANT SELECT ON a.*", "GRANT USAGE"])]), []);
        assert.deepEqual(accountsReplaced(source, [acct("app", "%", "CREATE USER app AS 0xCC", ["GRANT USAGE", "GRANT SELECT ON a.*"]), acct("ro", "%", "CREATE USER ro AS 0xBB", ["GRANT USAGE", "GRANT ALL ON *.*"])]), ["app@%", "ro@%"]);
        assert.deepEqual(accountsReplaced(source, [acct("mine", "%", "CREATE USER mine AS 0xDD", ["GRANT USAGE"]), acct("app", "localhost", "CREATE USER x", [])]), [], "only the replica's: left alone");
        assert.deepEqual(accountsReplaced(source, [acct("PUBLIC", "", undefined, [])]), [], "PUBLIC is added to, never replaced");
    });
});
