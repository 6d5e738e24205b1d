/**
 * The replication provider's create/read/update/delete against real servers on loopback, on every server of
 * the test matrix (MySQL 9.7, MariaDB 11.8, MariaDB 10.11). Each test title ends with the live server's version.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import * as mysql from "mysql2/promise";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { inputsFor, eventually, refresh, endpointOf, SETTLE_SECONDS } from "../support/replicationInputs";
import { binlogFiles, ioThreadId, isMaria, ownTransactions, replicaStatus, writeByHand } from "../support/sql";
import { replicationProvider as provider } from "../../components/replication/provider";
import type { ReplicationState } from "../../components/replication/types";
import { statementHooks } from "../../components/replication/session";

async function rows(server: MariaServer, sql: string): Promise<Record<string, unknown>[]> {
    return server.query(sql);
}

async function writeOnSource(cluster: MariaCluster, value: string): Promise<void> {
    await cluster.source.query(
        "CREATE DATABASE IF NOT EXISTS app",
        "CREATE TABLE IF NOT EXISTS app.items (id INT AUTO_INCREMENT PRIMARY KEY, value VARCHAR(100)) ENGINE=InnoDB",
        `INSERT INTO app.items (value) VALUES (${JSON.stringify(value)})`,
    );
}

async function hasValue(server: MariaServer, value: string): Promise<boolean> {
    const found = await rows(server, `SELECT COUNT(*) AS n FROM app.items WHERE value = ${JSON.stringify(value)}`).catch(() => [{ n: 0 }]);
    return Number(found[0].n) === 1;
}

for (const flavor of MATRIX) {
const T = serverTitle(flavor);
const kind = flavor.startsWith("mysql") ? "mysql" : "mariadb";

describe(`provider on 1 source + 2 replicas ${T}`, () => {
    let cluster: MariaCluster;
    let state: ReplicationState;

    before(async () => {
        // binlogInitialisation: every server binlogs writes of its own, like the images' entrypoints.
        cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
    });
    after(async () => cluster?.destroy());

    it(`create makes every replica replicate, verified by a probe row ${T}`, async () => {
        const inputs = inputsFor(cluster);
        const result = await provider.create!(inputs);
        state = result.outs;
        assert.equal(state.healthy, true, JSON.stringify(state.replicaStatus));
        assert.deepEqual(Object.keys(state.replicaStatus), ["db002", "db003"]);
        const sourceGtids = await rows(cluster.source, kind === "mysql" ? "SELECT @@server_uuid AS id" : "SELECT @@server_id AS id");
        for (const replica of cluster.replicas) {
            const status = state.replicaStatus[replica.name];
            assert.equal(status.ioRunning, true, `${replica.name} IO`);
            assert.equal(status.sqlRunning, true, `${replica.name} SQL`);
            assert.equal(status.lastIoError, "");
            assert.equal(status.lastSqlError, "");
            assert.equal(status.source, `127.0.0.1:${cluster.source.port}`);
            assert.equal(status.endpoint, `127.0.0.1:${replica.port}`);
            assert.equal(status.dialect, kind === "mysql" ? "mysql-8.4" : "mariadb");
            assert.equal(status.serverVersion, replica.versionText);
            assert.equal(typeof status.probeLagMs, "number");
            assert.ok(status.executedGtidSet.includes(kind === "mysql" ? String(sourceGtids[0].id) : `0-${sourceGtids[0].id}-`), status.executedGtidSet);
            // The runbook's `reset master`: the replica's own initialisation transactions are gone.
            assert.equal(await ownTransactions(replica), "", `${replica.name} still has transactions of its own`);
            // Read-only for everyone but the replication threads.
            assert.equal(Number((await rows(replica, "SELECT @@read_only AS r"))[0].r), 1);
            if (kind === "mysql") assert.equal(Number((await rows(replica, "SELECT @@super_read_only AS r"))[0].r), 1);
        }
        assert.equal(state.sourceStatus.member, "db001");
        assert.equal(state.sourceStatus.flavor, kind);
        // The probe row is on every replica.
        for (const replica of cluster.replicas) {
            const probe = await rows(replica, "SELECT COUNT(*) AS n FROM replicaset_probe.probe");
            assert.ok(Number(probe[0].n) >= 1);
        }
    });

    it(`rows written on the source appear on every replica ${T}`, async () => {
        await writeOnSource(cluster, "first row");
        for (const replica of cluster.replicas) {
            await eventually(`${replica.name} to have the row`, SETTLE_SECONDS, () => hasValue(replica, "first row"));
        }
    });

    it(`no password appears in the status outputs ${T}`, () => {
        const inputs = inputsFor(cluster);
        const text = JSON.stringify({ s: state.sourceStatus, r: state.replicaStatus, h: state.healthy });
        assert.ok(!text.includes(inputs.rootPassword));
        assert.ok(!text.includes(inputs.replicationPassword));
    });

    it(`running create again is harmless: nothing is reset, replication keeps running ${T}`, async () => {
        const db002 = cluster.byName("db002");
        const ioBefore = await ioThreadId(db002);
        assert.notEqual(ioBefore, undefined, "no IO thread to compare");
        const binlogsBefore = await binlogFiles(db002);
        const again = await provider.create!(inputsFor(cluster));
        assert.equal(again.outs.healthy, true);
        // A reset would start the binlog over: every file there before is still there, and none shrank.
        const binlogsAfter = await binlogFiles(db002);
        for (const file of binlogsBefore) {
            const now = binlogsAfter.find((f) => f.name === file.name);
            assert.ok(now && now.size >= file.size, `${file.name} was reset: ${JSON.stringify(binlogsAfter)}`);
        }
        assert.equal(await ioThreadId(db002), ioBefore, "the IO thread was restarted");
        for (const replica of cluster.replicas) assert.ok(await hasValue(replica, "first row"));
    });

    it(`read (refresh) reports a replica whose SQL thread was stopped by hand ${T}`, async () => {
        const db002 = cluster.byName("db002");
        await db002.query("STOP REPLICA SQL_THREAD");
        const refreshed = await refresh(state);
        assert.equal(refreshed.healthy, false);
        assert.equal(refreshed.replicaStatus.db002.sqlRunning, false);
        assert.equal(refreshed.replicaStatus.db002.ioRunning, true);
        assert.equal(refreshed.replicaStatus.db003.sqlRunning, true);
        // The next `pulumi up` (diff, then update with the refreshed state) converges it again.
        assert.equal((await provider.diff!("id", refreshed, inputsFor(cluster))).changes, true);
        const updated = await provider.update!("id", refreshed, inputsFor(cluster));
        assert.equal(updated.outs!.healthy, true);
        const healed = await refresh(state);
        assert.equal(healed.healthy, true);
        assert.equal((await provider.diff!("id", healed, inputsFor(cluster))).changes, false);
    });

    it(`diff is pure and reports changes ${T}`, async () => {
        const same = await provider.diff!("id", state, inputsFor(cluster));
        assert.equal(same.changes, false);
        const changed = await provider.diff!("id", state, inputsFor(cluster, { replicationPassword: "new-password" }));
        assert.equal(changed.changes, true);
        assert.deepEqual(changed.replaces, []);
    });

    it(`update detaches a removed replica without disturbing the others, and adds it back ${T}`, async () => {
        const db002 = cluster.byName("db002");
        const db003 = cluster.byName("db003");
        const ioBefore = await ioThreadId(db002);
        assert.notEqual(ioBefore, undefined, "no IO thread to compare");
        const without = inputsFor(cluster, { replicas: inputsFor(cluster).replicas.filter((r) => r.name !== "db003") });
        const updated = await provider.update!("id", state, without);
        assert.deepEqual(Object.keys(updated.outs!.replicaStatus), ["db002"]);
        assert.equal(await replicaStatus(db003), undefined, "db003 still has a replication channel");
        assert.equal(await ioThreadId(db002), ioBefore, "db002's IO thread was restarted");
        assert.ok(await hasValue(db003, "first row"), "detaching lost db003's data");

        const back = await provider.update!("id", updated.outs as ReplicationState, inputsFor(cluster));
        assert.equal(back.outs!.healthy, true);
        await writeOnSource(cluster, "after re-adding");
        await eventually("db003 to replicate again", SETTLE_SECONDS, () => hasValue(db003, "after re-adding"));
        state = back.outs as ReplicationState;
    });

    it(`update re-points every replica when the replication password changes ${T}`, async () => {
        const changed = inputsFor(cluster, { replicationPassword: "a brand new pässword" });
        const updated = await provider.update!("id", state, changed);
        assert.equal(updated.outs!.healthy, true);
        // The replicas really use the new password: the IO threads reconnected with it.
        for (const replica of cluster.replicas) {
            await replica.query("STOP REPLICA IO_THREAD", "START REPLICA IO_THREAD");
        }
        await writeOnSource(cluster, "after password change");
        for (const replica of cluster.replicas) {
            await eventually(`${replica.name} after password change`, SETTLE_SECONDS, () => hasValue(replica, "after password change"));
        }
        state = updated.outs as ReplicationState;
    });

    it(`delete stops and forgets every channel and leaves the data ${T}`, async () => {
        await provider.delete!("id", state);
        for (const replica of cluster.replicas) {
            assert.equal(await replicaStatus(replica), undefined, `${replica.name} still replicates`);
            assert.ok(await hasValue(replica, "first row"), `${replica.name} lost data`);
        }
        assert.ok(await hasValue(cluster.source, "first row"));
    });

    it(`delete succeeds when a server is already gone, and still detaches the others ${T}`, async () => {
        // Attached again first: the delete above removed every channel, and a delete with nothing to do
        // proves nothing.
        const { id, outs } = await provider.create!(inputsFor(cluster, { replicationPassword: "a brand new pässword" }));
        assert.equal(outs.healthy, true);
        await cluster.byName("db003").stop(true);
        // The id the create returned, as the engine passes it: the delete detaches only what that resource owns (owner.ts).
        await provider.delete!(id, { ...outs, deadlineSeconds: 10 });
        assert.equal(await replicaStatus(cluster.byName("db002")), undefined, "db002 still replicates");
    });
});

describe(`provider refusals and errors ${T}`, () => {
    let cluster: MariaCluster;
    before(async () => {
        cluster = await startCluster(flavor, runbookSpecs(2));
    });
    after(async () => cluster?.destroy());

    it(`refuses a replica with errant GTIDs, listing them, and changes nothing on it ${T}`, async () => {
        const db002 = cluster.byName("db002");
        await db002.query(
            kind === "mysql" ? "SET GLOBAL super_read_only = OFF" : "DO 0",
            "SET GLOBAL read_only = OFF",
            "CREATE DATABASE userdata",
            "CREATE TABLE userdata.orders (id INT PRIMARY KEY) ENGINE=InnoDB",
            "INSERT INTO userdata.orders VALUES (1)",
            "SET GLOBAL read_only = ON",
        );
        const own = await ownTransactions(db002);
        assert.notEqual(own, "");
        await assert.rejects(provider.create!(inputsFor(cluster)), (error: Error) => {
            assert.match(error.message, /db002: refusing/);
            assert.ok(error.message.includes(own.split(",")[0]), `${own} not in: ${error.message}`);
            assert.match(error.message, /userdata/);
            return true;
        });
        assert.equal(await ownTransactions(db002), own, "db002's history was changed");
        assert.equal(await replicaStatus(db002), undefined, "db002 was configured anyway");
        assert.equal(Number((await rows(db002, "SELECT COUNT(*) AS n FROM userdata.orders"))[0].n), 1);
    });

    it(`a wrong root password gives a clear error that names the member and hides the password ${T}`, async () => {
        const started = Date.now();
        await assert.rejects(provider.create!(inputsFor(cluster, { rootPassword: "wrong-secret" })), (error: Error) => {
            assert.match(error.message, /db001 \(127\.0\.0\.1:\d+\) refused root/);
            assert.match(error.message, /rootPassword/);
            assert.ok(!error.message.includes("wrong-secret"));
            return true;
        });
        assert.ok(Date.now() - started < 10000, "a wrong password must fail at once, not wait for the deadline");
    });

    it(`a source that is down gives a timeout error within the deadline ${T}`, async () => {
        await cluster.source.stop();
        const started = Date.now();
        await assert.rejects(provider.create!(inputsFor(cluster, { deadlineSeconds: 3 })), (error: Error) => {
            assert.match(error.message, /Timed out after [\d.]+s waiting for db001 to accept connections at 127\.0\.0\.1:\d+; last error: .*ECONNREFUSED/);
            return true;
        });
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 2500 && elapsed < 8000, `took ${elapsed} ms for a 3 s deadline`);
        await cluster.source.start();
    });
});

describe(`provider on 1 source + 4 replicas ${T}`, () => {
    let cluster: MariaCluster;
    before(async () => {
        cluster = await startCluster(flavor, runbookSpecs(4), { binlogInitialisation: true });
    });
    after(async () => cluster?.destroy());

    it(`all four replicas replicate and report healthy ${T}`, async () => {
        const { outs } = await provider.create!(inputsFor(cluster));
        assert.equal(outs.healthy, true);
        assert.deepEqual(Object.keys(outs.replicaStatus), ["db002", "db003", "db004", "db005"]);
        await writeOnSource(cluster, "to four replicas");
        for (const replica of cluster.replicas) {
            await eventually(`${replica.name} to have the row`, SETTLE_SECONDS, () => hasValue(replica, "to four replicas"));
            assert.equal(outs.replicaStatus[replica.name].ioRunning && outs.replicaStatus[replica.name].sqlRunning, true);
        }
    });
});

describe(`a replica reset after it already replicated ${T}`, () => {
    let cluster: MariaCluster;
    before(async () => {
        cluster = await startCluster(flavor, runbookSpecs(1));
    });
    after(async () => cluster?.destroy());

    it(`keeps its applied position: nothing is applied twice ${T}`, async () => {
        const db002 = cluster.byName("db002");
        const first = await provider.create!(inputsFor(cluster));
        assert.equal(first.outs.healthy, true);
        // A local write to a system schema (db002 holds no user schema), binlogged with db002's own identity, and
        // replication stopped by hand: the next run judges db002's history and resets its own part.
        await db002.query(
            kind === "mysql" ? "SET GLOBAL super_read_only = OFF" : "DO 0",
            "SET GLOBAL read_only = OFF",
            "CREATE USER 'made_by_hand'@'localhost'",
            "SET GLOBAL read_only = ON",
            "STOP REPLICA",
        );
        assert.notEqual(await ownTransactions(db002), "");
        // The reset keeps db002's applied position: the probe row it already has is not sent again (as a row
        // event it would fail with a duplicate key).
        const again = await provider.create!(inputsFor(cluster));
        assert.equal(again.outs.healthy, true, JSON.stringify(again.outs.replicaStatus.db002));
        assert.equal(await ownTransactions(db002), "", "db002 still has its own transactions");
        const [{ n }] = await db002.query<{ n: number }>("SELECT COUNT(*) AS n FROM replicaset_probe.probe");
        assert.equal(Number(n), 2, "every probe row arrived exactly once");
        // The account made by hand is data: the reset did not remove it.
        const table = isMaria(db002) ? "mysql.global_priv" : "mysql.user";
        assert.equal((await db002.query(`SELECT User FROM ${table} WHERE User = 'made_by_hand'`)).length, 1);
    });
});

describe(`update that changes the source (a replica promoted) ${T}`, () => {
    let cluster: MariaCluster;
    let state: ReplicationState;
    before(async () => {
        cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
    });
    after(async () => cluster?.destroy());

    it(`re-points every replica, the old source included, and makes the new source writable ${T}`, async () => {
        const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
        const before = await provider.create!(inputsFor(cluster));
        await writeOnSource(cluster, "written on db001");
        await eventually("db002 to have the row", SETTLE_SECONDS, () => hasValue(db002, "written on db001"));
        await eventually("db003 to have the row", SETTLE_SECONDS, () => hasValue(db003, "written on db001"));

        const promoted = inputsFor(cluster, { source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] });
        const { outs } = await provider.update!("id", before.outs, promoted);
        assert.equal(outs!.healthy, true, JSON.stringify(outs!.replicaStatus));
        assert.deepEqual(Object.keys(outs!.replicaStatus), ["db001", "db003"]);
        for (const name of ["db001", "db003"]) assert.equal(outs!.replicaStatus[name].source, `127.0.0.1:${db002.port}`);
        assert.equal(Number((await db002.query<{ r: number }>("SELECT @@read_only AS r"))[0].r), 0, "the new source is still read-only");
        assert.equal(await replicaStatus(db002), undefined, "the new source still replicates from the old one");
        assert.equal(Number((await db001.query<{ r: number }>("SELECT @@read_only AS r"))[0].r), 1, "the old source is still writable");

        await db002.query("INSERT INTO app.items (value) VALUES ('written on db002')");
        for (const replica of [db001, db003]) {
            await eventually(`${replica.name} to have db002's row`, SETTLE_SECONDS, () => hasValue(replica, "written on db002"));
            // Nothing was applied twice: the old source started from what it had, not from the beginning.
            const [{ n }] = await replica.query<{ n: number }>("SELECT COUNT(*) AS n FROM app.items");
            assert.equal(Number(n), 2, `${replica.name} has ${n} rows`);
        }
        state = outs as ReplicationState;
    });

    it(`a switchover that also takes a replica out detaches it once the set has converged; one that is down is skipped ${T}`, async () => {
        const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
        const backToDb001 = inputsFor(cluster, { source: endpointOf(db001), replicas: [endpointOf(db002)] });
        const switched = await provider.update!("id", state, backToDb001);
        assert.equal(switched.outs!.healthy, true, JSON.stringify(switched.outs!.replicaStatus));
        assert.deepEqual(Object.keys(switched.outs!.replicaStatus), ["db002"]);
        assert.equal(await replicaStatus(db003), undefined, "db003, out of the set, still has a replication channel");
        assert.equal(Number((await db003.query<{ r: number }>("SELECT @@read_only AS r"))[0].r), 1, "db003 was left writable");
        assert.ok(await hasValue(db003, "written on db002"), "detaching lost db003's data");

        // Back in the set, then down for good and taken out: the update goes on without it.
        const withDb003 = await provider.update!("id", switched.outs as ReplicationState, inputsFor(cluster));
        assert.equal(withDb003.outs!.healthy, true, JSON.stringify(withDb003.outs!.replicaStatus));
        await db003.stop(true);
        const without = await provider.update!("id", withDb003.outs as ReplicationState, inputsFor(cluster, { replicas: [endpointOf(db002)] }));
        assert.equal(without.outs!.healthy, true, JSON.stringify(without.outs!.replicaStatus));
        assert.deepEqual(Object.keys(without.outs!.replicaStatus), ["db002"]);
        state = without.outs as ReplicationState;
    });

    it(`a leaving replica whose detach fails does not fail a run that converged the set; the next run detaches it ${T}`, async () => {
        const [db002, db003] = ["db002", "db003"].map((n) => cluster.byName(n));
        await db003.start();
        state = (await provider.update!("id", state, inputsFor(cluster))).outs as ReplicationState;
        assert.equal(state.healthy, true, JSON.stringify(state.replicaStatus));
        const out = inputsFor(cluster, { replicas: [endpointOf(db002)] });
        statementHooks.beforeStatement = (member, sql) => {
            if (member === "db003" && /^RESET (REPLICA|SLAVE) ALL/.test(sql)) throw new Error("interrupted: db003's reset");
        };
        let kept: ReplicationState;
        try {
            kept = (await provider.update!("id", state, out)).outs as ReplicationState;
        } finally {
            delete statementHooks.beforeStatement;
        }
        assert.equal(kept.healthy, true, JSON.stringify(kept.replicaStatus));
        assert.deepEqual(kept.notDetached?.map((e) => e.name), ["db003"]);
        assert.notEqual(await replicaStatus(db003), undefined, "db003's channel is gone although its reset failed");
        if (kind === "mysql") assert.equal(Number((await db003.query<{ s: number }>("SELECT @@super_read_only AS s"))[0].s), 1, "db003 left with super_read_only OFF");
        // The same config again is a change (the detach is still to do).
        assert.equal((await provider.diff!("id", kept, out)).changes, true);

        // A former member that refuses the provider now (its root password changed by hand) fails no run: it stays
        // on the list.
        const changed = "changed-by-hand-3";
        await writeByHand(db003, "SET SESSION sql_log_bin = 0", `ALTER USER 'root'@'%' IDENTIFIED BY '${changed}'`);
        try {
            const refusing = (await provider.update!("id", kept, out)).outs as ReplicationState;
            assert.deepEqual(refusing.notDetached?.map((e) => e.name), ["db003"]);
            assert.equal(refusing.healthy, true, JSON.stringify(refusing.replicaStatus));
        } finally {
            const byHand = await mysql.createConnection({ host: db003.host, port: db003.port, user: "root", password: changed });
            try {
                for (const sql of [kind === "mysql" ? "SET GLOBAL super_read_only = OFF" : "DO 0", "SET SESSION sql_log_bin = 0", `ALTER USER 'root'@'%' IDENTIFIED BY ${byHand.escape(db003.rootPassword)}`]) await byHand.query(sql);
            } finally {
                await byHand.end();
            }
        }
        // With its password back, the next run detaches it (and raises super_read_only, lowered by the hand edit).
        const done = (await provider.update!("id", kept, out)).outs as ReplicationState;
        assert.equal(done.notDetached, undefined);
        assert.equal(await replicaStatus(db003), undefined, "db003 still replicates after the next run");
        if (kind === "mysql") assert.equal(Number((await db003.query<{ s: number }>("SELECT @@super_read_only AS s"))[0].s), 1, "db003 left with super_read_only OFF");
        assert.equal((await provider.diff!("id", done, out)).changes, false);
    });
});
}
