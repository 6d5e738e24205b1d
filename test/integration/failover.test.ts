/**
 * Declarative failover (issue 19) on every server of the matrix: the source process is killed, the config names
 * a replica as the new source, and update promotes it safely; the dead member is fenced and rejoins when back,
 * unless it holds writes no one else received.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { inputsFor, eventually, endpointOf, SETTLE_SECONDS } from "../support/replicationInputs";
import { executed, isMaria, replicaStatus } from "../support/sql";
import { replicationProvider as provider } from "../../components/replication/provider";
import type { ReplicationState } from "../../components/replication/types";

async function count(server: MariaServer): Promise<number> {
    const rows = await server.query<{ n: number }>("SELECT COUNT(*) AS n FROM app.items").catch(() => [{ n: -1 }]);
    return Number(rows[0].n);
}

async function readOnly(server: MariaServer): Promise<number> {
    return Number((await server.query<{ r: number }>("SELECT @@GLOBAL.read_only AS r"))[0].r);
}

/** 1 source + 2 replicas replicating, 100 acknowledged rows everywhere. */
async function runningSet(cluster: MariaCluster): Promise<ReplicationState> {
    const { outs } = await provider.create!(inputsFor(cluster));
    assert.equal(outs.healthy, true);
    await cluster.source.query("CREATE DATABASE app", "CREATE TABLE app.items (id INT PRIMARY KEY) ENGINE=InnoDB");
    const values = Array.from({ length: 100 }, (_, i) => `(${i + 1})`).join(",");
    await cluster.source.query(`INSERT INTO app.items VALUES ${values}`);
    for (const r of cluster.replicas) await eventually(`${r.name} to hold the 100 rows`, SETTLE_SECONDS, async () => (await count(r)) === 100);
    return outs;
}

for (const flavor of MATRIX) {
    const T = serverTitle(flavor);

    describe(`failover: the source is dead, the config names a new one ${T}`, () => {
        let cluster: MariaCluster;
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
        });
        after(async () => cluster?.destroy());

        it(`promotes the declared replica with every acknowledged row, fences the dead one, and rejoins it when back ${T}`, async () => {
            const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
            const state = await runningSet(cluster);
            await db001.stop(true);
            const toDb002 = inputsFor(cluster, { source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] });
            const { outs } = await provider.update!("id", state, toDb002);
            assert.equal(outs!.healthy, false, "the dead member must keep the set unhealthy");
            assert.match(outs!.replicaStatus.db001.lastIoError, /^db001 is fenced .* since the failover to db002: unreachable/);
            assert.equal(outs!.replicaStatus.db003.ioRunning && outs!.replicaStatus.db003.sqlRunning, true);
            assert.deepEqual((outs as ReplicationState).fenced, ["db001"]);
            assert.equal(await readOnly(db002), 0);
            assert.equal(await count(db002), 100);
            await db002.query("INSERT INTO app.items VALUES (101)");
            await eventually("db003 to follow db002", SETTLE_SECONDS, async () => (await count(db003)) === 101);

            // The old source comes back read-only on its own, with the command it always had (every member starts
            // read-only; on MySQL super_read_only too, persisted while it was the source): nothing of its own is
            // written before the next run fences it (its heartbeat event too) and rejoins it.
            await db001.start();
            assert.equal(await readOnly(db001), 1, "the old source came back writable");
            if (!isMaria(db001)) assert.equal(Number((await db001.query<{ s: number }>("SELECT @@GLOBAL.super_read_only AS s"))[0].s), 1);
            const again = await provider.update!("id", outs as ReplicationState, toDb002);
            assert.equal(again.outs!.healthy, true, JSON.stringify(again.outs!.replicaStatus.db001));
            assert.deepEqual((again.outs as ReplicationState).fenced, []);
            assert.equal(await readOnly(db001), 1);
            assert.equal((await replicaStatus(db001))?.source, `127.0.0.1:${db002.port}`);
            await eventually("db001 to hold every row", SETTLE_SECONDS, async () => (await count(db001)) === 101);
        });
    });

    describe(`failover: lost writes keep the old source fenced ${T}`, () => {
        let cluster: MariaCluster;
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
        });
        after(async () => cluster?.destroy());

        it(`a row the old source committed that no replica received is listed as errant and nothing is discarded ${T}`, async () => {
            const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
            const state = await runningSet(cluster);
            // The source's heartbeat commits every second: one landing between the two IO stops below would leave
            // db003 ahead of db002, and the failover to db002 would (rightly) be refused. Stop it, and let both
            // replicas apply everything first, so the row below is the only transaction they lack.
            await db001.query("SET GLOBAL event_scheduler = OFF");
            await caughtUpWith(db001, [db002, db003]);
            for (const r of [db002, db003]) await r.query("STOP REPLICA IO_THREAD");
            await db001.query("INSERT INTO app.items VALUES (999)");
            const lost = await executed(db001);
            await db001.stop(true);
            for (const r of [db002, db003]) await r.query("START REPLICA IO_THREAD");
            const toDb002 = inputsFor(cluster, { source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] });
            const { outs } = await provider.update!("id", state, toDb002);
            assert.equal(await count(db002), 100);
            await db001.start();
            const again = await provider.update!("id", outs as ReplicationState, toDb002);
            const status = again.outs!.replicaStatus.db001;
            assert.equal(again.outs!.healthy, false);
            assert.deepEqual((again.outs as ReplicationState).fenced, ["db001"]);
            assert.notEqual(status.errantGtids, "");
            assert.match(status.lastIoError, /fenced .* holds transactions no other member has/);
            assert.equal(await readOnly(db001), 1, "the old source is writable again");
            assert.equal(await executed(db001), lost, "the old source's history changed");
            assert.equal(Number((await db001.query<{ n: number }>("SELECT COUNT(*) AS n FROM app.items WHERE id = 999"))[0].n), 1, "the lost row was discarded");
            assert.equal(again.outs!.replicaStatus.db003.ioRunning, true);
        });
    });

    describe(`failover: a candidate behind another replica is refused ${T}`, () => {
        let cluster: MariaCluster;
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
        });
        after(async () => cluster?.destroy());

        it(`refuses, names the replica further ahead, and changes nothing; with failover: force it promotes and sidelines the replica ahead ${T}`, async () => {
            const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
            const state = await runningSet(cluster);
            await db002.query("STOP REPLICA IO_THREAD");
            await db001.query("INSERT INTO app.items VALUES (101),(102),(103),(104),(105)");
            await eventually("db003 to hold 105 rows", SETTLE_SECONDS, async () => (await count(db003)) === 105);
            await db001.stop(true);
            const before = await Promise.all([db002, db003].map(executed));
            const toDb002 = inputsFor(cluster, { source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] });
            await assert.rejects(provider.update!("id", state, toDb002), (error: Error) => {
                assert.match(error.message, /refusing to fail over from db001 \(unreachable\) to db002: another replica is further ahead \(db003 holds /);
                return true;
            });
            assert.deepEqual(await Promise.all([db002, db003].map(executed)), before);
            assert.equal(await readOnly(db002), 1);

            // failover: force accepts the loss: db002 is promoted, db003 (holding rows 101-105) is kept read-only,
            // its transactions listed, nothing deleted.
            const ahead = await executed(db003);
            const forced = await provider.update!("id", state, { ...toDb002, failover: "force" });
            assert.equal(forced.outs!.healthy, false);
            assert.equal(await readOnly(db002), 0);
            assert.equal(await count(db002), 100);
            const db003Status = forced.outs!.replicaStatus.db003;
            assert.match(db003Status.lastIoError, /fenced .* holds transactions the forced failover gave up \(/);
            assert.notEqual(db003Status.errantGtids, "");
            assert.deepEqual(new Set((forced.outs as ReplicationState).fenced), new Set(["db001", "db003"]));
            assert.equal(await readOnly(db003), 1);
            assert.equal(await count(db003), 105, "the given-up rows were deleted");
            assert.equal(await executed(db003), ahead);
        });
    });
}

/** Waits (by the servers' own GTID wait, up to SETTLE_SECONDS) until every replica has applied everything the source has executed. */
async function caughtUpWith(source: MariaServer, replicas: MariaServer[]): Promise<void> {
    const maria = isMaria(source);
    const [{ p }] = await source.query<{ p: string }>(maria ? "SELECT @@GLOBAL.gtid_binlog_pos AS p" : "SELECT @@GLOBAL.gtid_executed AS p");
    const quoted = `'${p.replace(/\s+/g, "")}'`;
    for (const r of replicas) {
        // MASTER_GTID_WAIT returns 0 when reached, -1 on timeout; WAIT_FOR_EXECUTED_GTID_SET 0 or 1.
        const [{ w }] = await r.query<{ w: number }>(
            maria ? `SELECT MASTER_GTID_WAIT(${quoted}, ${SETTLE_SECONDS}) AS w` : `SELECT WAIT_FOR_EXECUTED_GTID_SET(${quoted}, ${SETTLE_SECONDS}) AS w`,
        );
        assert.equal(Number(w), 0, `${r.name} did not apply ${p} within ${SETTLE_SECONDS} s`);
    }
}
