/**
 * The review's findings (issue 21), each reproduced on real servers of every flavor of the test matrix, and the
 * provider paths it found untested. Titles name the defect and end with the live server's version.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import * as mysql from "mysql2/promise";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { inputsFor, eventually, refresh, endpointOf, SETTLE_SECONDS } from "../support/replicationInputs";
import { accountExists, binlogBytes, changeSourceBy, column, executed, isMaria, ownTransactions, replicaStatus, replicaStatusRow, writeByHand } from "../support/sql";
import { replicationProvider as provider } from "../../components/replication/provider";
import { statementHooks } from "../../components/replication/session";
import type { ReplicationState } from "../../components/replication/types";

async function count(server: MariaServer, table: string): Promise<number> {
    const rows = await server.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).catch(() => [{ n: -1 }]);
    return Number(rows[0].n);
}

async function readOnly(server: MariaServer): Promise<number> {
    return Number((await server.query<{ r: number }>("SELECT @@GLOBAL.read_only AS r"))[0].r);
}

/** Makes the next statement on `member` whose text matches fail, as a crash there would. */
function interruptAt(member: string, matches: (sql: string) => boolean): void {
    statementHooks.beforeStatement = (name, sql) => {
        if (name === member && matches(sql)) throw new Error(`interrupted before: ${sql.slice(0, 40)}`);
    };
}

for (const flavor of MATRIX) {
    const T = serverTitle(flavor);

    describe(`defect 1: a switchover checks every member before it writes, fences, catches up, then promotes ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        // No heartbeat here: a refused switchover is proven by every member's history staying the same.
        const quiet: typeof inputsFor = (c, o = {}) => inputsFor(c, { heartbeatIntervalMs: 0, ...o });
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
            state = (await provider.create!(quiet(cluster))).outs;
            await cluster.source.query(
                "CREATE DATABASE app",
                "CREATE TABLE app.items (id INT PRIMARY KEY) ENGINE=InnoDB",
                // An application account: DML only, so read_only binds it (root may bypass read_only on MariaDB).
                "CREATE USER 'app'@'%' IDENTIFIED BY 'app-password-1'",
                "GRANT SELECT, INSERT ON app.* TO 'app'@'%'",
            );
        });
        after(async () => {
            delete statementHooks.beforeStatement;
            await cluster?.destroy();
        });

        it(`defect 1: promoting a replica whose applier is stopped completes with every row ${T}`, async () => {
            const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
            await eventually("db002 to have the schema", SETTLE_SECONDS, async () => (await count(db002, "app.items")) === 0);
            await db002.query("STOP REPLICA SQL_THREAD");
            await db001.query("INSERT INTO app.items VALUES (1),(2),(3),(4),(5)");
            const promoted = quiet(cluster, { source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] });
            const { outs } = await provider.update!("id", state, promoted);
            assert.equal(outs!.healthy, true, JSON.stringify(outs!.replicaStatus));
            assert.equal(await count(db002, "app.items"), 5, "the new source lacks rows the old one committed");
            assert.equal(await readOnly(db002), 0);
            assert.equal(await readOnly(db001), 1);
            // The candidate received nothing of its own before it caught up: it holds no transaction of its own but
            // the probe row it wrote as the new source.
            await db002.query("INSERT INTO app.items VALUES (6)");
            for (const r of [db001, db003]) await eventually(`${r.name} to follow db002`, SETTLE_SECONDS, async () => (await count(r, "app.items")) === 6);
            state = outs as ReplicationState;
        });

        it(`defect 1: a candidate that cannot catch up is refused before anything is written, and the previous config converges ${T}`, async () => {
            const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
            // db002 is the source now; db003 loses its channel and misses a row, so it cannot catch up with db002.
            await db003.query("STOP REPLICA", "RESET REPLICA ALL");
            await db002.query("INSERT INTO app.items VALUES (7)");
            await eventually("db001 to apply row 7", SETTLE_SECONDS, async () => (await count(db001, "app.items")) === 7);
            const history = await Promise.all([db001, db002, db003].map(executed));
            // The same update also takes db001 out of the set: the refusal comes before its detach too.
            const toDb003 = quiet(cluster, { source: endpointOf(db003), replicas: [endpointOf(db002)] });
            await assert.rejects(provider.update!("id", state, toDb003), (error: Error) => {
                assert.match(error.message, /refusing to switch the source from db002 to db003; nothing was changed on any member/);
                assert.match(error.message, /db003 lacks transactions of db002 .* does not replicate from it/);
                return true;
            });
            assert.deepEqual(await Promise.all([db001, db002, db003].map(executed)), history, "a member's history changed");
            assert.equal(await readOnly(db002), 0, "the source was fenced although nothing could be promoted");
            const kept = await replicaStatus(db001);
            assert.equal(kept?.ioRunning && kept?.sqlRunning, true, `db001, leaving the set in the refused update, was detached: ${JSON.stringify(kept)}`);
            // The config that was in place converges as it was (db003 attached back).
            const back = quiet(cluster, { source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] });
            const { outs } = await provider.update!("id", state, back);
            assert.equal(outs!.healthy, true, JSON.stringify(outs!.replicaStatus));
            await eventually("db003 to catch up", SETTLE_SECONDS, async () => (await count(db003, "app.items")) === 7);
            state = outs as ReplicationState;
        });

        it(`defect 1: a switchover under a steady stream of writes loses no acknowledged row ${T}`, async () => {
            const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
            const acknowledged: number[] = [];
            let stop = false;
            const writer = (async () => {
                const c = await mysql.createConnection({ host: db002.host, port: db002.port, user: "app", password: "app-password-1" });
                try {
                    // Bounded: at most 20 000 rows or until told to stop or fenced.
                    for (let id = 1000; id < 21000 && !stop; id++) {
                        try {
                            await c.query(`INSERT INTO app.items VALUES (${id})`);
                            acknowledged.push(id);
                        } catch (error) {
                            if (/read.only/i.test((error as Error).message)) return;
                            throw error;
                        }
                    }
                } finally {
                    await c.end();
                }
            })();
            await eventually("the writer to get going", SETTLE_SECONDS, async () => acknowledged.length >= 20);
            const toDb001 = quiet(cluster, { source: endpointOf(db001), replicas: [endpointOf(db002), endpointOf(db003)] });
            const { outs } = await provider.update!("id", state, toDb001);
            stop = true;
            await writer;
            assert.equal(outs!.healthy, true, JSON.stringify(outs!.replicaStatus));
            assert.ok(acknowledged.length >= 20, `only ${acknowledged.length} rows acknowledged`);
            const ids = (await db001.query<{ id: number }>("SELECT id FROM app.items WHERE id >= 1000")).map((r) => Number(r.id));
            const missing = acknowledged.filter((id) => !ids.includes(id));
            assert.deepEqual(missing, [], `${missing.length} acknowledged rows are not on the new source`);
            for (const r of [db002, db003]) {
                await eventually(`${r.name} to hold every row`, SETTLE_SECONDS, async () => (await count(r, "app.items")) === (await count(db001, "app.items")));
            }
            state = outs as ReplicationState;
        });
    });

    describe(`defect 1: a switchover cut short anywhere leaves a set that either config converges from ${T}`, () => {
        let cluster: MariaCluster;
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
        });
        after(async () => {
            delete statementHooks.beforeStatement;
            await cluster?.destroy();
        });

        it(`defect 1: cut before a replica's CHANGE or the probe, then the previous config, then the new one, converge with every row ${T}`, async () => {
            const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
            const original = (await provider.create!(inputsFor(cluster))).outs;
            await db001.query("CREATE DATABASE app", "CREATE TABLE app.items (id INT PRIMARY KEY) ENGINE=InnoDB", "INSERT INTO app.items VALUES (1)");
            const toDb002 = inputsFor(cluster, { source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] });
            const cuts: Array<[string, (sql: string) => boolean]> = [
                ["db001", (sql) => sql.startsWith("CHANGE")],
                ["db003", (sql) => sql.startsWith("CHANGE")],
                ["db002", (sql) => /^REPLACE INTO `replicaset_probe`\.`probe`/.test(sql)],
            ];
            let rows = 1;
            for (const [member, at] of cuts) {
                interruptAt(member, at);
                try {
                    await assert.rejects(provider.update!("id", original, toDb002), /interrupted before/);
                } finally {
                    delete statementHooks.beforeStatement;
                }
                // The previous config (the engine kept the previous state: the update failed).
                const back = await provider.update!("id", original, inputsFor(cluster));
                assert.equal(back.outs!.healthy, true, `after a cut on ${member}: ${JSON.stringify(back.outs!.replicaStatus)}`);
                assert.equal(await readOnly(db001), 0);
                await db001.query(`INSERT INTO app.items VALUES (${++rows})`);
                for (const r of [db002, db003]) await eventually(`${r.name} to follow db001 again`, SETTLE_SECONDS, async () => (await count(r, "app.items")) === rows);
            }
            // And the new config, after all that.
            interruptAt("db001", (sql) => sql.startsWith("CHANGE"));
            try {
                await assert.rejects(provider.update!("id", original, toDb002), /interrupted before/);
            } finally {
                delete statementHooks.beforeStatement;
            }
            const forward = await provider.update!("id", original, toDb002);
            assert.equal(forward.outs!.healthy, true, JSON.stringify(forward.outs!.replicaStatus));
            await db002.query(`INSERT INTO app.items VALUES (${++rows})`);
            for (const r of [db001, db003]) await eventually(`${r.name} to follow db002`, SETTLE_SECONDS, async () => (await count(r, "app.items")) === rows);
        });
    });

    describe(`defect 2: no password in any binary log ${T}`, () => {
        let cluster: MariaCluster;
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
        });
        after(async () => cluster?.destroy());

        it(`defect 2: after create, a password change and a switchover, no member's binlog holds a replication password ${T}`, async () => {
            const passwords = ["Binlog-Canary-Pw-1234", "Second-Canary-Pw-5678"];
            const first = await provider.create!(inputsFor(cluster, { replicationPassword: passwords[0] }));
            const second = await provider.update!("id", first.outs, inputsFor(cluster, { replicationPassword: passwords[1] }));
            const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
            const promoted = inputsFor(cluster, { replicationPassword: passwords[1], source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] });
            const third = await provider.update!("id", second.outs as ReplicationState, promoted);
            assert.equal(third.outs!.healthy, true);
            await cluster.source.query("FLUSH BINARY LOGS");
            for (const server of cluster.servers) {
                const files = await binlogBytes(server);
                assert.ok(files.length > 0, `${server.name} has no binlog to read`);
                for (const password of passwords) {
                    assert.ok(!files.some((bytes) => bytes.includes(Buffer.from(password))), `${server.name}'s binlog holds ${password}`);
                }
            }
        });
    });

    describe(`defect 3: a channel whose TLS state differs from the resolved one is re-pointed ${T}`, () => {
        let cluster: MariaCluster;
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(1));
        });
        after(async () => cluster?.destroy());

        it(`defect 3: tls auto on a source with TLS re-points a plain channel that reports healthy ${T}`, async (t) => {
            const first = await provider.create!(inputsFor(cluster, { tls: "auto" }));
            if (!first.outs.tlsInUse) {
                // MariaDB 10.11 has no certificate unless given one: the drift cannot happen there.
                t.diagnostic("the source has no TLS: nothing can drift");
                assert.ok(isMaria(cluster.source));
                return;
            }
            const db002 = cluster.byName("db002");
            const inputs = inputsFor(cluster, { tls: "auto" });
            // The state before the source had certificates: a plain channel and an account that allowed it.
            await cluster.source.query("SET SESSION sql_log_bin = 0", "ALTER USER 'repl'@'127.0.0.1' REQUIRE NONE");
            await db002.query("STOP REPLICA", changeSourceBy(db002, cluster.source, inputs.replicationPassword, false), "START REPLICA");
            await eventually("the plain channel to run", SETTLE_SECONDS, async () => (await replicaStatus(db002))?.ioRunning === true);
            const { outs } = await provider.create!(inputs);
            assert.equal(outs.healthy, true);
            assert.equal(column(await replicaStatusRow(db002), "Source_SSL_Allowed", "Master_SSL_Allowed"), "Yes", "the channel stayed plain");
            // It keeps replicating after the IO thread reconnects under the account's REQUIRE SSL.
            await db002.query("STOP REPLICA IO_THREAD", "START REPLICA IO_THREAD");
            await cluster.source.query("CREATE DATABASE IF NOT EXISTS drift", "CREATE TABLE drift.t (id INT PRIMARY KEY)", "INSERT INTO drift.t VALUES (1)");
            await eventually("db002 to replicate over TLS", SETTLE_SECONDS, async () => (await count(db002, "drift.t")) === 1);
        });
    });

    describe(`defect 5: the old replication account goes when user and source change together ${T}`, () => {
        let cluster: MariaCluster;
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(2));
        });
        after(async () => cluster?.destroy());

        it(`defect 5: no member keeps the old account ${T}`, async () => {
            const first = await provider.create!(inputsFor(cluster));
            const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
            const moved = inputsFor(cluster, { replicationUser: "repl2", source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] });
            const { outs } = await provider.update!("id", first.outs, moved);
            assert.equal(outs!.healthy, true, JSON.stringify(outs!.replicaStatus));
            for (const server of cluster.servers) assert.equal(await accountExists(server, "repl", "127.0.0.1"), false, `${server.name} keeps repl`);
            assert.equal(await accountExists(db002, "repl2", "127.0.0.1"), true);
        });
    });

    describe(`defect 6: a former source that is reset keeps its applied position ${T}`, () => {
        let cluster: MariaCluster;
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(1));
        });
        after(async () => cluster?.destroy());

        it(`defect 6: reset as a replica, it applies nothing twice ${T}`, async () => {
            const [db001, db002] = ["db001", "db002"].map((n) => cluster.byName(n));
            const first = await provider.create!(inputsFor(cluster));
            const swapped = inputsFor(cluster, { source: endpointOf(db002), replicas: [endpointOf(db001)] });
            const second = await provider.update!("id", first.outs, swapped);
            assert.equal(second.outs!.healthy, true);
            // A local write on the former source (a system schema only): its history is reset on the next run.
            await writeByHand(db001, "CREATE USER 'made_by_hand'@'localhost'");
            await db001.query("STOP REPLICA");
            assert.notEqual(await ownTransactions(db001), "");
            const third = await provider.update!("id", second.outs as ReplicationState, swapped);
            assert.equal(third.outs!.healthy, true, JSON.stringify(third.outs!.replicaStatus));
            assert.equal(await count(db001, "replicaset_probe.probe"), await count(db002, "replicaset_probe.probe"));
            assert.equal((await replicaStatus(db001))?.lastSqlError, "");
        });
    });

    describe(`defect 7: a run interrupted at any statement converges on the next run ${T}`, () => {
        let cluster: MariaCluster;
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(1), { binlogInitialisation: true });
            // Plain INSERTs (a replay fails with a duplicate key), in a schema a reset may wipe the history of.
            await cluster.source.query("CREATE DATABASE IF NOT EXISTS replicaset_probe", "CREATE TABLE replicaset_probe.replay_guard (id INT PRIMARY KEY)");
        });
        after(async () => {
            delete statementHooks.beforeStatement;
            await cluster?.destroy();
        });

        it(`defect 7: db002 cut short before each of its statements in turn, then converged; nothing applied twice ${T}`, async () => {
            const db002 = cluster.byName("db002");
            let completed = false;
            let interruptions = 0;
            for (let n = 1; n <= 80 && !completed; n++) {
                // Every round: db002 unattached, with a transaction of its own to reset (the full path runs).
                await writeByHand(db002, "STOP REPLICA", "RESET REPLICA ALL", `CREATE USER IF NOT EXISTS 'local_${n}'@'localhost'`);
                await cluster.source.query(`INSERT INTO replicaset_probe.replay_guard VALUES (${n})`);
                let seen = 0;
                interruptAt("db002", () => ++seen === n);
                try {
                    await provider.create!(inputsFor(cluster));
                    completed = true;
                } catch (error) {
                    assert.match((error as Error).message, /interrupted before/);
                    interruptions++;
                } finally {
                    delete statementHooks.beforeStatement;
                }
                const { outs } = await provider.create!(inputsFor(cluster));
                assert.equal(outs.healthy, true, `after an interruption at statement ${n}: ${JSON.stringify(outs.replicaStatus.db002)}`);
                assert.equal(await ownTransactions(db002), "", `after an interruption at statement ${n}, db002 keeps its own transactions`);
                assert.equal(await count(db002, "replicaset_probe.replay_guard"), n);
            }
            assert.ok(completed, "the run never got through: more statements than the loop allows");
            assert.ok(interruptions >= 10, `only ${interruptions} statements to interrupt`);
        });
    });

    describe(`untested provider paths (issue 21 item 10) ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        // No heartbeat here: "nothing was written" is proven by the source's history staying the same.
        const quiet: typeof inputsFor = (c, o = {}) => inputsFor(c, { heartbeatIntervalMs: 0, ...o });
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(2));
            state = (await provider.create!(quiet(cluster))).outs;
        });
        after(async () => cluster?.destroy());

        it(`an account the replicas cannot log in with fails fast, not at the deadline ${T}`, async () => {
            const started = Date.now();
            // 192.0.2.0/24 is reserved for documentation: no client ever comes from there, so login is refused.
            await assert.rejects(provider.update!("id", state, quiet(cluster, { replicationUserHost: "192.0.2.1", deadlineSeconds: 60 })), /the IO thread (cannot replicate from the source|stopped): 1045/);
            assert.ok(Date.now() - started < 30000, `took ${Date.now() - started} ms with a 60 s deadline`);
            // The failed run left every replica as read-only as it found it (super_read_only included on MySQL).
            for (const replica of cluster.replicas) {
                assert.equal(await readOnly(replica), 1, `${replica.name} read_only`);
                if (!isMaria(replica)) assert.equal(Number((await replica.query<{ s: number }>("SELECT @@GLOBAL.super_read_only AS s"))[0].s), 1, `${replica.name} super_read_only`);
            }
            state = (await provider.update!("id", state, quiet(cluster))).outs as ReplicationState;
            assert.equal(state.healthy, true);
        });

        it(`verify false writes no probe row and reports no probe lag ${T}`, async () => {
            const before = await count(cluster.source, "replicaset_probe.probe");
            const { outs } = await provider.update!("id", state, quiet(cluster, { verify: false, replicationPassword: "another-pw-123" }));
            assert.equal(outs!.healthy, true);
            assert.equal(await count(cluster.source, "replicaset_probe.probe"), before);
            for (const status of Object.values(outs!.replicaStatus as ReplicationState["replicaStatus"])) assert.equal(status.probeLagMs, null);
            state = outs as ReplicationState;
        });

        it(`a refresh with a replica unreachable reports it and keeps the others' status ${T}`, async () => {
            const db003 = cluster.byName("db003");
            await db003.stop(true);
            const seen = await refresh(state);
            assert.equal(seen.healthy, false);
            assert.match(seen.replicaStatus.db003.lastIoError, /^provider cannot reach db003: /);
            assert.equal(seen.replicaStatus.db002.ioRunning && seen.replicaStatus.db002.sqlRunning, true);
            await db003.start();
        });

        it(`a detach that the member refuses (not gone) fails the update, naming it ${T}`, async () => {
            const db003 = cluster.byName("db003");
            await writeByHand(db003, "SET SESSION sql_log_bin = 0", "ALTER USER 'root'@'%' IDENTIFIED BY 'changed-by-hand-1'");
            const without = quiet(cluster, { replicas: [endpointOf(cluster.byName("db002"))] });
            await assert.rejects(provider.update!("id", state, without), /db003 \(127\.0\.0\.1:\d+\) refused root/);
        });

        if (flavor === "mariadb-10.11") {
            it(`tls on without a certificate on the source is refused before anything is written (only this server starts without one) ${T}`, async () => {
                const before = await executed(cluster.source);
                await assert.rejects(provider.create!(quiet(cluster, { tls: "on", replicas: [endpointOf(cluster.byName("db002"))] })), /db001 has no TLS certificate loaded, but tls is "on"/);
                assert.equal(await executed(cluster.source), before);
            });
        }
    });
}
