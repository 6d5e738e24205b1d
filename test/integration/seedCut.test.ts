/**
 * A copy (seedMethod dump) cut short, and what the provider does with the half copy it leaves, on every flavor of
 * the matrix. One cluster per flavor (db001 source, db002 replica, db003 copied); the tests run in order.
 *
 * - A server starts a configured channel by itself when it starts: the copy sets the channel only once its note is
 *   gone, so a replica whose server restarts mid-copy (an OOM kill, the container's restart policy) has none to start
 *   on its half copy, and the next run copies it again (review finding: it replicated on the half copy and was
 *   reported healthy).
 * - A replica holding the note is copied again, whatever its threads do.
 * - The copy declares its GTID position while the rows are still coming in: a half copy claims every transaction up to
 *   the snapshot. A switchover judged by GTIDs alone promoted it with an idle source and reported the set healthy
 *   (review finding); a declared source holding the note is refused before anything is written.
 * - A failover does not count a half copy's declared GTIDs as data: it went to the lagging replica that holds the
 *   data, refused before ("another replica is further ahead"; review finding, MySQL), and the half copy is copied again.
 * - A view that calls a stored function is copied (the server checks the function when the view is made: views wait
 *   for the routines; review finding, every copy failed).
 * The source has no heartbeat (heartbeatIntervalMs 0): idle after the copy's snapshot, as the switchover case needs.
 * Titles end with the live server's version.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { inputsFor, endpointOf, eventually, SETTLE_SECONDS } from "../support/replicationInputs";
import { isMaria, writeByHand } from "../support/sql";
import { loadHistory, tableChecksums as checksums } from "../support/seedData";
import { replicationProvider as provider } from "../../components/replication/provider";
import { seedLog } from "../../components/replication/seed";
import { statementHooks } from "../../components/replication/session";
import type { ReplicationInputs, ReplicationState } from "../../components/replication/types";

const BIG_ROWS = 60_000;
const TABLES = ["app1.items", "app1.notes", "app2.ledger", "app3.big"];

for (const flavor of MATRIX) {
    const T = serverTitle(flavor);

    describe(`a copy cut short ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        const write = seedLog.write;
        const inputs = (o: Partial<ReplicationInputs> = {}) =>
            inputsFor(cluster, { replicas: ["db002", "db003"].map((n) => endpointOf(cluster.byName(n))), seedMethod: "dump", heartbeatIntervalMs: 0, ...o });
        const rows = async (server: MariaServer) => Number((await server.query<{ n: number }>("SELECT COUNT(*) AS n FROM app3.big"))[0].n);
        const channel = (server: MariaServer) => (isMaria(server) ? "SHOW SLAVE STATUS" : "SHOW REPLICA STATUS");
        const noteOn = async (server: MariaServer) => (await server.query("SELECT 1 FROM replicaset_probe.seed_in_progress")).length === 1;
        /** Fails db003's copy at its third INSERT into app3.big, once `ready` (what the cut waits for) holds. */
        const cutAtBigTable = (ready: (sql: string) => boolean = () => true) => {
            const seen = { ready: false, change: false, cut: false };
            let inserts = 0;
            statementHooks.beforeStatement = (name, sql) => {
                if (name !== "db003") return;
                if (/CHANGE (MASTER|REPLICATION SOURCE)/.test(sql)) seen.change = true;
                if (ready(sql)) seen.ready = true;
                if (seen.ready && sql.startsWith("INSERT INTO `app3`") && ++inserts === 3) {
                    seen.cut = true;
                    throw new Error("interrupted mid-copy");
                }
            };
            return seen;
        };
        /** As a cut copy (or an older version) may leave it: the note, written by hand on the replica, never binlogged. */
        const writeNote = async (server: MariaServer) => {
            await writeByHand(server, "SET SESSION sql_log_bin = 0", "REPLACE INTO replicaset_probe.seed_in_progress (id, source) VALUES (1, 'db001')");
            if (!isMaria(server)) await server.query("SET GLOBAL super_read_only = ON");
        };

        before(async () => {
            seedLog.write = () => undefined;
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
            state = (await provider.create!(inputs({ replicas: [endpointOf(cluster.byName("db002"))] }))).outs;
            const source = cluster.source;
            // The source is writable once created. A library of stored functions and a view that calls the last one.
            await source.query("CREATE DATABASE lib", "CREATE DATABASE app3");
            for (let i = 0; i < 150; i++) await source.query(`CREATE FUNCTION lib.f${String(i).padStart(3, "0")}(c INT) RETURNS DECIMAL(12,2) DETERMINISTIC RETURN c / 100`);
            // A table that takes a while to load, so a copy can be cut in its rows.
            await source.query("CREATE TABLE app3.big (id INT PRIMARY KEY, pad VARCHAR(40) NOT NULL) ENGINE=InnoDB");
            for (let chunk = 0; chunk < BIG_ROWS / 10_000; chunk++) {
                const values = Array.from({ length: 10_000 }, (_, i) => `(${chunk * 10_000 + i + 1}, 'padding padding padding padding ${i}')`);
                await source.query(`INSERT INTO app3.big VALUES ${values.join(",")}`);
            }
            await source.query("CREATE VIEW app3.euros AS SELECT id, lib.f149(id) AS euros FROM app3.big WHERE id <= 2");
            // The history, then every binary log but the current one purged: db003 can only be seeded.
            await loadHistory(source);
            await eventually("db002 to have app3.big", SETTLE_SECONDS, async () => (await rows(cluster.byName("db002")).catch(() => -1)) === BIG_ROWS);
        });
        after(async () => {
            seedLog.write = write;
            delete statementHooks.beforeStatement;
            await cluster?.destroy();
        });

        it(`a copy cut by the replica's server restarting leaves no channel to start on the half copy; the next run copies it again ${T}`, async () => {
            const db003 = cluster.byName("db003");
            const seen = cutAtBigTable();
            await assert.rejects(provider.update!("id", state, inputs()), /db003: the seed did not finish.*interrupted mid-copy/s);
            delete statementHooks.beforeStatement;
            assert.ok(seen.cut, "the copy was cut in app3.big's rows");
            assert.equal(seen.change, false, "the copy set the replica's channel before its rows were in");
            assert.ok((await rows(db003)) < BIG_ROWS, "the cut left a half copy");
            // Every statement the cut-short copy sent has ended (its sessions are gone) before the server dies.
            await eventually("the copy's sessions on db003 to end", SETTLE_SECONDS, async () =>
                (await db003.query("SELECT 1 FROM information_schema.PROCESSLIST WHERE COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID') AND ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler')")).length === 0,
            );

            // The server dies and its restart policy starts it again: it has no channel to start by itself.
            await db003.stop(true);
            await db003.start();
            assert.deepEqual(await db003.query(channel(db003)), [], "the restarted server found a channel configured on a half copy");

            const { outs } = await provider.update!("id", state, inputs());
            state = outs as ReplicationState;
            assert.equal(await rows(db003), BIG_ROWS, `app3.big on db003 after the next run (healthy: ${state.healthy})`);
            assert.equal(state.replicaStatus.db003.seededBy, "dump", `the half copy was not copied again: ${JSON.stringify(state.replicaStatus.db003)}`);
            assert.equal(state.healthy, true);
            assert.equal(await noteOn(db003), false, "the note is gone after the copy");
            assert.deepEqual(await checksums(db003, TABLES), await checksums(cluster.source, TABLES));
            // The view calls a stored function: it was made after the routines.
            const euros = await db003.query<{ e: string }>("SELECT euros AS e FROM app3.euros ORDER BY id");
            assert.deepEqual(euros.map((r) => String(r.e)), ["0.01", "0.02"]);
        });

        it(`a replica holding the note is copied again, even with its channel running ${T}`, async () => {
            const db003 = cluster.byName("db003");
            const before = state.replicaStatus.db003.seededAt;
            // As a cut between a channel set and the note removed would leave it: the note, with a running channel.
            await writeNote(db003);
            const [status] = await db003.query<Record<string, unknown>>(channel(db003));
            assert.equal(String(status?.Slave_SQL_Running ?? status?.Replica_SQL_Running), "Yes", "the channel runs beside the note");

            const { outs } = await provider.update!("id", state, inputs());
            state = outs as ReplicationState;
            assert.equal(state.replicaStatus.db003.seededBy, "dump");
            assert.notEqual(state.replicaStatus.db003.seededAt, before, "the replica holding the note was not copied again");
            assert.equal(await noteOn(db003), false, "the note is gone after the copy");
            assert.equal(state.healthy, true);
            assert.deepEqual(await checksums(db003, TABLES), await checksums(cluster.source, TABLES));
        });

        it(`a switchover to a member whose copy was cut short is refused, and nothing is changed ${T}`, async () => {
            const db003 = cluster.byName("db003");
            // A copy of db003 (the note asks for one), cut once its position is declared: its GTIDs claim the snapshot.
            await writeNote(db003);
            const seen = cutAtBigTable((sql) => /gtid_purged|gtid_slave_pos/.test(sql));
            await assert.rejects(provider.update!("id", state, inputs()), /db003: the seed did not finish.*interrupted mid-copy/s);
            delete statementHooks.beforeStatement;
            assert.ok(seen.ready && seen.cut, "the copy declared its position, then was cut");
            const half = await rows(db003);
            assert.ok(half < BIG_ROWS, `db003 holds a half copy (${half} rows)`);
            assert.equal(await noteOn(db003), true, "the note is there");

            // The operator now switches the source to db003 (say, a bigger machine).
            const toDb003 = inputs({ source: endpointOf(db003), replicas: ["db001", "db002"].map((n) => endpointOf(cluster.byName(n))) });
            await assert.rejects(provider.update!("id", state, toDb003), /db003 holds an unfinished copy .*Declare as source a member that holds the data.*Nothing was changed/s);
            // Nothing was changed: db001 is still the writable source, and the next run, db001 declared again, copies db003.
            assert.equal(Number((await cluster.source.query<{ ro: number }>("SELECT @@GLOBAL.read_only AS ro"))[0].ro), 0);
            const { outs } = await provider.update!("id", state, inputs());
            state = outs as ReplicationState;
            assert.equal(state.healthy, true);
            assert.equal(await rows(db003), BIG_ROWS);
            assert.deepEqual(await checksums(db003, TABLES), await checksums(cluster.source, TABLES));
        });

        it(`a failover to a lagging replica is not blocked by a half copy's declared GTIDs; the half copy is copied again from the new source ${T}`, async () => {
            const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
            // db002 lags: its IO thread stopped, then the source commits one more transaction.
            await db002.query(isMaria(db002) ? "STOP SLAVE IO_THREAD" : "STOP REPLICA IO_THREAD");
            await db001.query(`INSERT INTO app3.big VALUES (${BIG_ROWS + 1}, 'after db002 stopped receiving')`);
            // db003's copy (the note asks for one) is cut once its position, which has that transaction, is declared.
            await writeNote(db003);
            const seen = cutAtBigTable((sql) => /gtid_purged|gtid_slave_pos/.test(sql));
            await assert.rejects(provider.update!("id", state, inputs()), /db003: the seed did not finish.*interrupted mid-copy/s);
            delete statementHooks.beforeStatement;
            assert.ok(seen.ready && seen.cut, "the copy declared its position, then was cut");

            // The source dies; db002, the one member with whole data, is declared the source. On MySQL db003's GTIDs
            // claim the transaction db002 never received: the failover must not count them.
            await db001.stop(true);
            const toDb002 = inputs({ source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] });
            const before = state.replicaStatus.db003.seededAt;
            const lines: string[] = [];
            seedLog.write = (line) => lines.push(line);
            const { outs } = await provider.update!("id", state, toDb002).finally(() => (seedLog.write = () => undefined));
            state = outs as ReplicationState;
            assert.ok(lines.some((l) => /^failover: db003 holds an unfinished copy .*not counted, though its copy's position claims \S+, which db002 lacks; the seed step copies it again from db002/.test(l)), lines.join("\n"));
            assert.equal(state.replicaStatus.db003.seededBy, "dump");
            assert.notEqual(state.replicaStatus.db003.seededAt, before, "the half copy was not copied again from the new source");
            assert.equal(await noteOn(db003), false);
            const status = state.replicaStatus.db003;
            assert.ok(status.ioRunning && status.sqlRunning && status.source === `${db002.host}:${db002.port}`, JSON.stringify(status));
            assert.equal(await rows(db003), await rows(db002));
            assert.deepEqual(await checksums(db003, TABLES), await checksums(db002, TABLES));
            await db002.query(`INSERT INTO app3.big VALUES (${BIG_ROWS + 2}, 'on the new source')`);
            await eventually("db003 to replicate from db002", SETTLE_SECONDS, async () => (await rows(db003)) === (await rows(db002)));
        });
    });
}
