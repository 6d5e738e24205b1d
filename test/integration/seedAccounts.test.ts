/**
 * Accounts in the logical copy (issue 29, point 4) on every flavor of the matrix. An application's account, its
 * role (MariaDB: and a grant to PUBLIC) are created on the source before the purge; a replica seeded after it must
 * hold them, or the application's next `GRANT` or `ALTER USER` replicated from the source stops the replica's
 * applier (`Can't find any matching row in the user table`, the review's finding). The copied statements carry
 * password hashes: none reaches the seed's lines, the state or an error. Titles end with the live server's version.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as mysql from "mysql2/promise";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { inputsFor, eventually, refresh, endpointOf, SETTLE_SECONDS } from "../support/replicationInputs";
import { isMaria, ownTransactions, replicaStatus, writeByHand } from "../support/sql";
import { loadHistory, purgeBinaryLogs, rowCount as count } from "../support/seedData";
import { replicationProvider as provider } from "../../components/replication/provider";
import { seedLog } from "../../components/replication/seed";
import { statementHooks } from "../../components/replication/session";
import type { ReplicationInputs, ReplicationState } from "../../components/replication/types";

const FIRST_PASSWORD = "app-s3cret";
const NEW_PASSWORD = "N3w-app-secret";

/** Runs `sql` as the application's account on `server`; rejects when it cannot log in. */
async function asApp<T = Record<string, unknown>>(server: MariaServer, password: string, sql: string): Promise<T[]> {
    const connection = await mysql.createConnection({ host: server.host, port: server.port, user: "app", password });
    try {
        const [rows] = await connection.query(sql);
        return rows as T[];
    } finally {
        await connection.end();
    }
}

/** The host's mariadb client (mariadb-server's), so a test hook can act on a server while the provider's process waits. */
function clientArgs(server: MariaServer, sql: string): string[] {
    return ["-h", server.host, "-P", String(server.port), "-uroot", `-p${server.rootPassword}`, "-N", "-B", "-e", sql];
}

/** Runs `sql` on `server` and returns its output, blocking this process meanwhile. */
function clientNow(server: MariaServer, sql: string): string {
    return execFileSync("mariadb", clientArgs(server, sql), { encoding: "utf8", timeout: 10_000 }).trim();
}

/** Runs `sql` on `server` in a client of its own, not waited for here: resolves once it has run. */
function client(server: MariaServer, sql: string): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn("mariadb", clientArgs(server, sql), { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += String(d)));
        child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`mariadb client: exit ${code}: ${stderr}`))));
    });
}

/** Password hashes as SHOW CREATE USER prints them: MariaDB's `*<40 hex>`, MySQL's hex (print_identified_with_as_hex) or `$A$…`. */
const HASH = /\*[0-9A-F]{40}|0x[0-9A-F]{32,}|\$A\$0/i;

for (const flavor of MATRIX) {
    const T = serverTitle(flavor);

    describe(`the logical copy brings the application's accounts ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        const lines: string[] = [];
        const write = seedLog.write;
        const inputs = (names: string[], o: Partial<ReplicationInputs> = {}) =>
            inputsFor(cluster, { replicas: names.map((n) => endpointOf(cluster.byName(n))), seedMethod: "dump", routerCheckUser: "replicaset_check", ...o });

        before(async () => {
            seedLog.write = (line) => lines.push(line);
            cluster = await startCluster(flavor, runbookSpecs(3), { binlogInitialisation: true });
            state = (await provider.create!(inputs(["db002"]))).outs;
            const source = cluster.source;
            const maria = isMaria(source);
            // The history first (its schemas), then the application's accounts, then every binlog but the current one
            // purged again: db003 can only be seeded, and the accounts only reach it through the copy.
            await loadHistory(source);
            await source.query(
                "CREATE ROLE app_reader",
                "GRANT SELECT ON app1.* TO app_reader",
                `CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '${FIRST_PASSWORD}'`,
                "GRANT INSERT ON app1.* TO 'app'@'127.0.0.1'",
                // A table-level grant (the table must exist on the replica first) and a role with a default.
                "GRANT SELECT (id, name) ON app1.items TO 'app'@'127.0.0.1'",
                "GRANT app_reader TO 'app'@'127.0.0.1'",
                maria ? "SET DEFAULT ROLE app_reader FOR 'app'@'127.0.0.1'" : "SET DEFAULT ROLE app_reader TO 'app'@'127.0.0.1'",
                // MariaDB 10.11+: privileges every account holds.
                ...(maria ? ["GRANT SELECT ON app2.* TO PUBLIC"] : []),
                "FLUSH BINARY LOGS",
            );
            await eventually("db002 to have the accounts", SETTLE_SECONDS, async () => (await cluster.byName("db002").query("SELECT 1 FROM mysql.user WHERE User = 'app'")).length === 1);
            await purgeBinaryLogs(source);
            // db003 has an account of the same name already (as an image's MYSQL_USER would make it), another password.
            await writeByHand(cluster.byName("db003"), "SET SESSION sql_log_bin = 0", "CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'replica-own'");
        });
        after(async () => {
            seedLog.write = write;
            delete statementHooks.beforeStatement;
            await cluster?.destroy();
        });

        it(`a seed is refused before anything is written, naming each grant on a dropped table or column with its REVOKE, and the replica's own differing account with members[].reseed ${T}`, async () => {
            const db003 = cluster.byName("db003");
            // MySQL and MariaDB keep table and column grants through DROP TABLE and DROP COLUMN; SHOW GRANTS prints them,
            // and made again on a replica they fail (ER_NO_SUCH_TABLE). A grant with CREATE needs no table: it is copied.
            await cluster.source.query(
                "CREATE TABLE app1.gone (id INT PRIMARY KEY, note INT) ENGINE=InnoDB",
                "GRANT SELECT ON app1.gone TO 'app'@'127.0.0.1'",
                "GRANT SELECT (note) ON app1.gone TO app_reader",
                "DROP TABLE app1.gone",
                "ALTER TABLE app1.items ADD COLUMN extra INT",
                "GRANT UPDATE (extra) ON app1.items TO 'app'@'127.0.0.1'",
                "ALTER TABLE app1.items DROP COLUMN extra",
                "GRANT SELECT, CREATE ON app1.later TO 'app'@'127.0.0.1'",
            );
            lines.length = 0;
            const refused = await provider.update!("id", state, inputs(["db002", "db003"])).then(
                () => assert.fail("the seed was not refused"),
                (error: Error) => error.message,
            );
            assert.match(refused, /db003: .*REVOKE SELECT ON `app1`\.`gone` FROM 'app'@'127\.0\.0\.1'/, refused);
            assert.match(refused, /REVOKE SELECT \(`note`\) ON `app1`\.`gone` FROM [`']app_reader/, refused);
            assert.match(refused, /REVOKE UPDATE \(`extra`\) ON `app1`\.`items` FROM 'app'@'127\.0\.0\.1'/, refused);
            assert.doesNotMatch(refused, /later/, "a grant with CREATE on a table not there yet needs no table");
            assert.match(refused, /db003: .*accounts of its own .*app@127\.0\.0\.1.*reseed: true on member db003/s, refused);
            assert.ok(!HASH.test(refused) && !refused.includes("replica-own"), "a password or its hash in the refusal");
            // Nothing written on db003: its own account logs in as before, no copy began, no channel.
            assert.equal((await asApp(db003, "replica-own", "SELECT 1 AS one")).length, 1);
            assert.deepEqual(await db003.query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'app%'"), []);
            assert.equal(await replicaStatus(db003), undefined, "a channel was set on db003");
            assert.ok(!lines.some((l) => /seed db003 from/.test(l)), lines.join("\n"));
            // The fix the refusal names, as written, on the source.
            const revokes = refused.match(/REVOKE [^;\n]+/g) ?? [];
            assert.equal(revokes.length, 3, refused);
            await cluster.source.query(...revokes);
        });

        it(`a replica seeded after the purge holds the accounts, made without a transaction of its own; the project's and the server's accounts are not copied ${T}`, async () => {
            const db003 = cluster.byName("db003");
            lines.length = 0;
            // reseed: the replica's own app@127.0.0.1 (another password) is replaced by the source's.
            const { outs } = await provider.update!("id", state, inputs(["db002", "db003"], { reseed: ["db003"] }));
            state = outs as ReplicationState;
            assert.equal(state.replicaStatus.db003.seededBy, "dump", JSON.stringify(state.replicaStatus.db003));
            assert.equal(state.healthy, true, JSON.stringify(state.replicaStatus));
            assert.equal(await ownTransactions(db003), "", "the copy wrote a transaction of db003's own");
            await assert.rejects(asApp(db003, "replica-own", "SELECT 1"), /Access denied/, "the replica's own account was not replaced by the source's");
            // The account logs in with its password and reads through its default role (and MariaDB's PUBLIC).
            assert.equal(Number((await asApp<{ n: number }>(db003, FIRST_PASSWORD, "SELECT COUNT(*) AS n FROM app1.notes"))[0].n), 2000);
            assert.equal((await asApp(db003, FIRST_PASSWORD, "SELECT id, name FROM app1.items WHERE id = 1")).length, 1);
            const grants = (await db003.query("SHOW GRANTS FOR 'app'@'127.0.0.1'")).map((r) => String(Object.values(r)[0]));
            assert.ok(grants.some((g) => /ON `app1`\.`later`/.test(g)), grants.join("\n"));
            if (isMaria(db003)) assert.equal(Number((await asApp<{ n: number }>(db003, FIRST_PASSWORD, "SELECT COUNT(*) AS n FROM app2.ledger"))[0].n), 5000);
            // The replication account is each source's own (binlog off), and the check account is made by the copy itself.
            assert.deepEqual(await db003.query("SELECT Host FROM mysql.user WHERE User = 'repl'"), [], "the replication account was copied");
            assert.equal((await db003.query("SELECT 1 FROM mysql.user WHERE User = 'replicaset_check'")).length, 1);
            assert.ok(lines.some((l) => /seed db003: .*account/.test(l)), lines.join("\n"));
            assert.ok(!lines.some((l) => HASH.test(l)), `a password hash in the seed's lines:\n${lines.join("\n")}`);
        });

        it(`the seeded replica keeps replicating through the application's GRANT and ALTER USER on the source; its new password works there ${T}`, async () => {
            const db003 = cluster.byName("db003");
            await cluster.source.query(
                "GRANT UPDATE ON app1.items TO 'app'@'127.0.0.1'",
                `ALTER USER 'app'@'127.0.0.1' IDENTIFIED BY '${NEW_PASSWORD}'`,
                "INSERT INTO app1.items (id, name) VALUES (700001, 'after the account changes')",
            );
            // Either the row arrives or the applier stops: whichever comes first decides.
            await eventually("db003 to apply the row or stop", SETTLE_SECONDS, async () => (await count(db003, "app1.items")) === 3001 || (await replicaStatus(db003))?.sqlRunning === false);
            const threads = await replicaStatus(db003);
            assert.equal(threads?.lastSqlError, "", "the applier stopped on the account change");
            assert.equal(await count(db003, "app1.items"), 3001);
            assert.equal(Number((await asApp<{ n: number }>(db003, NEW_PASSWORD, "SELECT COUNT(*) AS n FROM app1.notes"))[0].n), 2000);
            await assert.rejects(asApp(db003, FIRST_PASSWORD, "SELECT 1"), /Access denied/);
            const refreshed = await refresh(state);
            assert.equal(refreshed.healthy, true, JSON.stringify(refreshed.replicaStatus));
            const text = JSON.stringify(refreshed);
            assert.ok(!text.includes(NEW_PASSWORD) && !text.includes(FIRST_PASSWORD) && !HASH.test(text), "a password or its hash in the state");
            assert.equal(await ownTransactions(db003), "");
        });

        it(`account statements committed while the copy reads the accounts are applied once: by the copy or by replication, never both ${T}`, async () => {
            const db004 = cluster.byName("db004");
            const source = cluster.source;
            const made: Array<Promise<void>> = [];
            // Between the copy's snapshot and its read of the accounts (its first SHOW GRANTS after it), the application revokes a
            // privilege of a listed account (replayed on a copy that lacks it: error 1141) and makes an account (made
            // twice: 1396), through a client of its own. The hook blocks until both have committed (MariaDB: no lock)
            // or the first waits for the snapshot's lock (MySQL): then the read goes out.
            // The plan reads the accounts too (before the snapshot, outside the window): only the copy's read counts.
            let snapshotOpened = false;
            statementHooks.beforeStatement = (name, sql) => {
                if (name === "db001" && sql.startsWith("START TRANSACTION WITH CONSISTENT SNAPSHOT")) snapshotOpened = true;
                if (name !== "db001" || !snapshotOpened || !sql.startsWith("SHOW GRANTS FOR") || made.length > 0) return;
                made.push(client(source, "REVOKE INSERT ON app1.* FROM 'app'@'127.0.0.1'; CREATE USER 'late'@'127.0.0.1' IDENTIFIED BY 'late-s3cret'"));
                const deadline = Date.now() + 30_000;
                const seen =
                    "SELECT ((SELECT COUNT(*) FROM mysql.db WHERE User = 'app' AND Db = 'app1') = 0 AND (SELECT COUNT(*) FROM mysql.user WHERE User = 'late') = 1) + " +
                    "(SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'REVOKE INSERT%' AND STATE = 'Waiting for global read lock')";
                while (clientNow(source, seen) === "0") if (Date.now() > deadline) throw new Error("the account statements neither committed nor waited");
            };
            lines.length = 0;
            const { outs } = await provider.update!("id", state, inputs(["db002", "db003", "db004"]));
            delete statementHooks.beforeStatement;
            await Promise.all(made);
            state = outs as ReplicationState;
            assert.equal(made.length, 1, "the account was made during the copy's read");
            assert.equal(state.replicaStatus.db004.seededBy, "dump");
            if (isMaria(source)) assert.ok(lines.some((l) => /seed db004: an account statement committed .* opening the snapshot again/.test(l)), lines.join("\n"));
            await cluster.source.query("INSERT INTO app1.items (id, name) VALUES (700002, 'after the late account')");
            await eventually("db004 to apply the row or stop", SETTLE_SECONDS, async () => (await count(db004, "app1.items")) === 3002 || (await replicaStatus(db004))?.sqlRunning === false);
            assert.equal((await replicaStatus(db004))?.lastSqlError, "", "an account statement was applied twice");
            assert.equal((await db004.query("SELECT 1 FROM mysql.user WHERE User = 'late'")).length, 1);
            assert.deepEqual(await db004.query("SELECT 1 FROM mysql.db WHERE User = 'app' AND Db = 'app1'"), [], "the revoked privilege is on db004");
        });
    });
}
