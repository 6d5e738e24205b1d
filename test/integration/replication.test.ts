/**
 * The replication provider's create/read/update/delete against real MariaDB servers on loopback.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/mariadb";
import { inputsFor, eventually, refresh, endpointOf } from "../support/replicationInputs";
import { replicationProvider as provider } from "../../components/replication/provider";
import type { ReplicationState } from "../../components/replication/types";

async function rows(server: MariaServer, sql: string): Promise<Record<string, unknown>[]> {
    return server.query(sql);
}

async function slaveStatus(server: MariaServer): Promise<Record<string, unknown> | undefined> {
    return (await rows(server, "SHOW SLAVE STATUS"))[0];
}

/** The id of the replica's IO thread ("system user" connection waiting for the master). */
async function ioThreadId(server: MariaServer): Promise<number | undefined> {
    const list = await rows(server, "SHOW PROCESSLIST");
    const io = list.find((p) => p.User === "system user" && /master/i.test(String(p.State)) && !/Slave has read all relay log/i.test(String(p.State)));
    return io ? Number(io.Id) : undefined;
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

describe("provider on 1 source + 2 replicas", () => {
    let cluster: MariaCluster;
    let state: ReplicationState;

    before(async () => {
        // binlogInitialisation: every server binlogs writes of its own, like the images' entrypoints.
        cluster = await startCluster(runbookSpecs(2), { binlogInitialisation: true });
    });
    after(async () => cluster?.destroy());

    it("create makes every replica replicate, verified by a probe row", async () => {
        const inputs = inputsFor(cluster);
        const result = await provider.create!(inputs);
        state = result.outs;
        assert.equal(state.healthy, true);
        assert.deepEqual(Object.keys(state.replicaStatus), ["db002", "db003"]);
        for (const replica of cluster.replicas) {
            const status = state.replicaStatus[replica.name];
            assert.equal(status.ioRunning, true, `${replica.name} IO`);
            assert.equal(status.sqlRunning, true, `${replica.name} SQL`);
            assert.equal(status.lastIoError, "");
            assert.equal(status.lastSqlError, "");
            assert.equal(status.source, `127.0.0.1:${cluster.source.port}`);
            assert.equal(status.endpoint, `127.0.0.1:${replica.port}`);
            assert.equal(status.dialect, "mariadb");
            assert.match(status.serverVersion, /MariaDB/);
            assert.equal(typeof status.probeLagMs, "number");
            assert.ok(status.executedGtidSet.includes("0-100-"), status.executedGtidSet);
            // The runbook's `reset master`: the replica's own initialisation GTIDs (server 200/300) are gone.
            const binlogState = String((await rows(replica, "SELECT @@gtid_binlog_state AS s"))[0].s);
            assert.ok(!binlogState.includes(`-${replica.spec.serverId}-`), `${replica.name} still has local GTIDs: ${binlogState}`);
            // Read-only for everyone but the replication threads.
            assert.equal(Number((await rows(replica, "SELECT @@read_only AS r"))[0].r), 1);
        }
        assert.equal(state.sourceStatus.member, "db001");
        assert.equal(state.sourceStatus.flavor, "mariadb");
        // The probe row is on every replica.
        for (const replica of cluster.replicas) {
            const probe = await rows(replica, "SELECT COUNT(*) AS n FROM replicaset_probe.probe");
            assert.ok(Number(probe[0].n) >= 1);
        }
    });

    it("rows written on the source appear on every replica", async () => {
        await writeOnSource(cluster, "first row");
        for (const replica of cluster.replicas) {
            await eventually(`${replica.name} to have the row`, 10, () => hasValue(replica, "first row"));
        }
    });

    it("no password appears in the status outputs", () => {
        const inputs = inputsFor(cluster);
        const text = JSON.stringify({ s: state.sourceStatus, r: state.replicaStatus, h: state.healthy });
        assert.ok(!text.includes(inputs.rootPassword));
        assert.ok(!text.includes(inputs.replicationPassword));
    });

    it("running create again is harmless: nothing is reset, replication keeps running", async () => {
        const ioBefore = await ioThreadId(cluster.byName("db002"));
        const binlogsBefore = await rows(cluster.byName("db002"), "SHOW BINARY LOGS");
        const again = await provider.create!(inputsFor(cluster));
        assert.equal(again.outs.healthy, true);
        assert.deepEqual(await rows(cluster.byName("db002"), "SHOW BINARY LOGS").then((r) => r[0].Log_name), binlogsBefore[0].Log_name);
        assert.equal(await ioThreadId(cluster.byName("db002")), ioBefore, "the IO thread was restarted");
        for (const replica of cluster.replicas) assert.ok(await hasValue(replica, "first row"));
    });

    it("read (refresh) reports a replica whose SQL thread was stopped by hand", async () => {
        const db002 = cluster.byName("db002");
        await db002.query("STOP SLAVE SQL_THREAD");
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

    it("diff is pure and reports changes", async () => {
        const same = await provider.diff!("id", state, inputsFor(cluster));
        assert.equal(same.changes, false);
        const changed = await provider.diff!("id", state, inputsFor(cluster, { replicationPassword: "new-password" }));
        assert.equal(changed.changes, true);
        assert.deepEqual(changed.replaces, []);
    });

    it("update detaches a removed replica without disturbing the others, and adds it back", async () => {
        const db002 = cluster.byName("db002");
        const db003 = cluster.byName("db003");
        const ioBefore = await ioThreadId(db002);
        const without = inputsFor(cluster, { replicas: inputsFor(cluster).replicas.filter((r) => r.name !== "db003") });
        const updated = await provider.update!("id", state, without);
        assert.deepEqual(Object.keys(updated.outs!.replicaStatus), ["db002"]);
        assert.equal(await slaveStatus(db003), undefined, "db003 still has a replication channel");
        assert.equal(await ioThreadId(db002), ioBefore, "db002's IO thread was restarted");
        assert.ok(await hasValue(db003, "first row"), "detaching lost db003's data");

        const back = await provider.update!("id", updated.outs as ReplicationState, inputsFor(cluster));
        assert.equal(back.outs!.healthy, true);
        await writeOnSource(cluster, "after re-adding");
        await eventually("db003 to replicate again", 10, () => hasValue(db003, "after re-adding"));
        state = back.outs as ReplicationState;
    });

    it("update re-points every replica when the replication password changes", async () => {
        const changed = inputsFor(cluster, { replicationPassword: "a brand new pässword" });
        const updated = await provider.update!("id", state, changed);
        assert.equal(updated.outs!.healthy, true);
        // The replicas really use the new password: the IO threads reconnected with it.
        for (const replica of cluster.replicas) {
            await replica.query("STOP SLAVE IO_THREAD", "START SLAVE IO_THREAD");
        }
        await writeOnSource(cluster, "after password change");
        for (const replica of cluster.replicas) {
            await eventually(`${replica.name} after password change`, 10, () => hasValue(replica, "after password change"));
        }
        state = updated.outs as ReplicationState;
    });

    it("delete stops and forgets every channel and leaves the data", async () => {
        await provider.delete!("id", state);
        for (const replica of cluster.replicas) {
            assert.equal(await slaveStatus(replica), undefined, `${replica.name} still replicates`);
            assert.ok(await hasValue(replica, "first row"), `${replica.name} lost data`);
        }
        assert.ok(await hasValue(cluster.source, "first row"));
    });

    it("delete succeeds when a server is already gone", async () => {
        await cluster.byName("db003").stop();
        await provider.delete!("id", { ...state, deadlineSeconds: 3 });
    });
});

describe("provider refusals and errors", () => {
    let cluster: MariaCluster;
    before(async () => {
        cluster = await startCluster(runbookSpecs(2));
    });
    after(async () => cluster?.destroy());

    it("refuses a replica with errant GTIDs, listing them, and changes nothing on it", async () => {
        const db002 = cluster.byName("db002");
        await db002.query(
            "SET GLOBAL read_only = OFF",
            "CREATE DATABASE userdata",
            "CREATE TABLE userdata.orders (id INT PRIMARY KEY) ENGINE=InnoDB",
            "INSERT INTO userdata.orders VALUES (1)",
            "SET GLOBAL read_only = ON",
        );
        const before = String((await rows(db002, "SELECT @@gtid_binlog_state AS s"))[0].s);
        assert.match(before, /0-200-\d+/);
        await assert.rejects(provider.create!(inputsFor(cluster)), (error: Error) => {
            assert.match(error.message, /db002: refusing/);
            assert.ok(error.message.includes(before.split(",").find((g) => g.includes("-200-"))!), error.message);
            assert.match(error.message, /userdata/);
            return true;
        });
        assert.equal(String((await rows(db002, "SELECT @@gtid_binlog_state AS s"))[0].s), before, "db002's history was changed");
        assert.equal(await slaveStatus(db002), undefined, "db002 was configured anyway");
        assert.equal(Number((await rows(db002, "SELECT COUNT(*) AS n FROM userdata.orders"))[0].n), 1);
    });

    it("a wrong root password gives a clear error that names the member and hides the password", async () => {
        const started = Date.now();
        await assert.rejects(provider.create!(inputsFor(cluster, { rootPassword: "wrong-secret" })), (error: Error) => {
            assert.match(error.message, /db001 \(127\.0\.0\.1:\d+\) refused root/);
            assert.match(error.message, /rootPassword/);
            assert.ok(!error.message.includes("wrong-secret"));
            return true;
        });
        assert.ok(Date.now() - started < 10000, "a wrong password must fail at once, not wait for the deadline");
    });

    it("a source that is down gives a timeout error within the deadline", async () => {
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

describe("provider on 1 source + 4 replicas", () => {
    let cluster: MariaCluster;
    before(async () => {
        cluster = await startCluster(runbookSpecs(4), { binlogInitialisation: true });
    });
    after(async () => cluster?.destroy());

    it("all four replicas replicate and report healthy", async () => {
        const { outs } = await provider.create!(inputsFor(cluster));
        assert.equal(outs.healthy, true);
        assert.deepEqual(Object.keys(outs.replicaStatus), ["db002", "db003", "db004", "db005"]);
        await writeOnSource(cluster, "to four replicas");
        for (const replica of cluster.replicas) {
            await eventually(`${replica.name} to have the row`, 10, () => hasValue(replica, "to four replicas"));
            assert.equal(outs.replicaStatus[replica.name].ioRunning && outs.replicaStatus[replica.name].sqlRunning, true);
        }
    });
});

describe("a replica reset after it already replicated", () => {
    let cluster: MariaCluster;
    before(async () => {
        cluster = await startCluster(runbookSpecs(1));
    });
    after(async () => cluster?.destroy());

    it("keeps its applied position: nothing is applied twice", async () => {
        const db002 = cluster.byName("db002");
        const first = await provider.create!(inputsFor(cluster));
        const appliedBefore = first.outs.replicaStatus.db002.executedGtidSet;
        assert.match(appliedBefore, /^0-100-\d+$/);
        // A local write to a system schema (db002 holds no user schema), binlogged with db002's own id, and
        // replication stopped by hand: the next run judges db002's history and resets its own part.
        await db002.query("SET GLOBAL read_only = OFF", "CREATE USER 'made_by_hand'@'localhost'", "SET GLOBAL read_only = ON", "STOP SLAVE");
        assert.match(String((await db002.query<{ s: string }>("SELECT @@gtid_binlog_state AS s"))[0].s), /0-200-\d+/);
        // The reset keeps db002's applied position: the probe row it already has is not sent again (as a row
        // event it would fail with a duplicate key).
        const again = await provider.create!(inputsFor(cluster));
        assert.equal(again.outs.healthy, true, JSON.stringify(again.outs.replicaStatus.db002));
        const binlogState = String((await db002.query<{ s: string }>("SELECT @@gtid_binlog_state AS s"))[0].s);
        assert.ok(!binlogState.includes("-200-"), `db002 still has its own GTIDs: ${binlogState}`);
        const [{ n }] = await db002.query<{ n: number }>("SELECT COUNT(*) AS n FROM replicaset_probe.probe");
        assert.equal(Number(n), 2, "every probe row arrived exactly once");
        // The account made by hand is data: the reset did not remove it.
        assert.equal((await db002.query("SELECT User FROM mysql.global_priv WHERE User = 'made_by_hand'")).length, 1);
    });
});

describe("update that changes the source (a replica promoted)", () => {
    let cluster: MariaCluster;
    before(async () => {
        cluster = await startCluster(runbookSpecs(2), { binlogInitialisation: true });
    });
    after(async () => cluster?.destroy());

    it("re-points every replica, the old source included, and makes the new source writable", async () => {
        const [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
        const before = await provider.create!(inputsFor(cluster));
        await writeOnSource(cluster, "written on db001");
        await eventually("db002 to have the row", 10, () => hasValue(db002, "written on db001"));
        await eventually("db003 to have the row", 10, () => hasValue(db003, "written on db001"));

        const promoted = inputsFor(cluster, { source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] });
        const { outs } = await provider.update!("id", before.outs, promoted);
        assert.equal(outs!.healthy, true, JSON.stringify(outs!.replicaStatus));
        assert.deepEqual(Object.keys(outs!.replicaStatus), ["db001", "db003"]);
        for (const name of ["db001", "db003"]) assert.equal(outs!.replicaStatus[name].source, `127.0.0.1:${db002.port}`);
        assert.equal(Number((await db002.query<{ r: number }>("SELECT @@read_only AS r"))[0].r), 0, "the new source is still read-only");
        assert.equal(await slaveStatus(db002), undefined, "the new source still replicates from the old one");

        await db002.query("INSERT INTO app.items (value) VALUES ('written on db002')");
        for (const replica of [db001, db003]) {
            await eventually(`${replica.name} to have db002's row`, 10, () => hasValue(replica, "written on db002"));
            // Nothing was applied twice: the old source started from what it had, not from the beginning.
            const [{ n }] = await replica.query<{ n: number }>("SELECT COUNT(*) AS n FROM app.items");
            assert.equal(Number(n), 2, `${replica.name} has ${n} rows`);
        }
    });
});
