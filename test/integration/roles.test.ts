/**
 * A member's role lives in its running server, not in its command (issue 17): every member starts read-only, as every
 * container does (components/serverFlags.ts), and the provider makes the declared source writable at run time. On
 * every server of the matrix: a new set's source takes writes after create; a restarted replica comes back fenced
 * (MySQL: super_read_only too, persisted by the provider) and replicates; a restarted source comes back read-only on
 * every flavor (MySQL: super_read_only too; MariaDB has no SET PERSIST), writes nothing of its own (MariaDB: its
 * heartbeat event runs but does not beat), is reported read-only by a refresh, and the next run makes it writable
 * again, its heartbeat beating.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import * as mysql from "mysql2/promise";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { inputsFor, eventually, refresh, SETTLE_SECONDS } from "../support/replicationInputs";
import { executed, isMaria, replicaStatus } from "../support/sql";
import { replicationProvider as provider } from "../../components/replication/provider";
import { diffInputs } from "../../components/replication/plan";
import type { ReplicationState } from "../../components/replication/types";

interface Fence {
    readOnly: number;
    /** null on MariaDB (no super_read_only). */
    superReadOnly: number | null;
}

async function fenceOf(server: MariaServer): Promise<Fence> {
    const [row] = await server.query<{ ro: number; sro: number | null }>(
        `SELECT @@GLOBAL.read_only AS ro, ${isMaria(server) ? "NULL" : "@@GLOBAL.super_read_only"} AS sro`,
    );
    return { readOnly: Number(row.ro), superReadOnly: row.sro === null ? null : Number(row.sro) };
}

/** What a fenced member reads on this flavor: read_only, and super_read_only where it exists. */
function fenced(server: MariaServer): Fence {
    return { readOnly: 1, superReadOnly: isMaria(server) ? null : 1 };
}

/** An application's write: an account with DML only, which read_only binds (root may bypass read_only). */
async function appInsert(server: MariaServer, id: number): Promise<void> {
    const connection = await mysql.createConnection({ host: server.host, port: server.port, user: "app", password: "app-password-1" });
    try {
        await connection.query(`INSERT INTO app.items VALUES (${id})`);
    } finally {
        await connection.end();
    }
}

async function hasItem(server: MariaServer, id: number): Promise<boolean> {
    return (await server.query(`SELECT id FROM app.items WHERE id = ${id}`)).length === 1;
}

/** The last beat the heartbeat event wrote, and when the event last ran, as the server's own clock says. */
async function heartbeat(server: MariaServer): Promise<{ beat: string; ran: string | null; now: string }> {
    const [row] = await server.query<{ beat: string; ran: string | null; now: string }>(
        "SELECT (SELECT beat FROM replicaset_probe.heartbeat WHERE id = 1) AS beat, " +
            "(SELECT LAST_EXECUTED FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'replicaset_probe' AND EVENT_NAME = 'heartbeat_writer') AS ran, " +
            "NOW(6) AS now",
    );
    return row;
}

for (const flavor of MATRIX) {
    const T = serverTitle(flavor);

    describe(`the role is set at run time, every member starts read-only ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
        });
        after(async () => cluster?.destroy());

        it(`a new set: every server starts read-only; after create the source takes an application's writes, the replicas do not ${T}`, async () => {
            for (const server of cluster.servers) assert.equal((await fenceOf(server)).readOnly, 1, `${server.name} starts read-only`);
            const { outs } = await provider.create!(inputsFor(cluster));
            state = outs;
            assert.equal(outs.healthy, true, JSON.stringify(outs.replicaStatus));
            assert.equal(outs.sourceStatus.readOnly, false);
            assert.deepEqual(await fenceOf(cluster.source), { readOnly: 0, superReadOnly: isMaria(cluster.source) ? null : 0 });
            for (const replica of cluster.replicas) assert.deepEqual(await fenceOf(replica), fenced(replica), replica.name);
            if (!isMaria(cluster.source)) {
                // What the source comes back as after a restart: persisted fenced, writable only while it runs.
                const persisted = await cluster.source.query<{ n: string; v: string }>(
                    "SELECT VARIABLE_NAME AS n, VARIABLE_VALUE AS v FROM performance_schema.persisted_variables WHERE VARIABLE_NAME LIKE '%read_only'",
                );
                assert.deepEqual(persisted.map((p) => `${p.n}=${p.v}`), ["super_read_only=ON"]);
            }
            await cluster.source.query(
                "CREATE DATABASE app",
                "CREATE TABLE app.items (id INT PRIMARY KEY) ENGINE=InnoDB",
                "CREATE USER 'app'@'%' IDENTIFIED BY 'app-password-1'",
                "GRANT SELECT, INSERT ON app.* TO 'app'@'%'",
            );
            await appInsert(cluster.source, 1);
            for (const replica of cluster.replicas) {
                await eventually(`${replica.name} to have row 1`, SETTLE_SECONDS, () => hasItem(replica, 1));
                await assert.rejects(appInsert(replica, 2), /read-only|read_only/, `${replica.name} took an application's write`);
            }
        });

        it(`a restarted replica comes back fenced and replicates; a refresh finds the set healthy ${T}`, async () => {
            const db002 = cluster.byName("db002");
            await db002.restart();
            assert.deepEqual(await fenceOf(db002), fenced(db002), "db002 after its restart");
            await appInsert(cluster.source, 3);
            await eventually("db002 to replicate row 3 after its restart", SETTLE_SECONDS, () => hasItem(db002, 3));
            const read = await refresh(state);
            assert.equal(read.healthy, true, JSON.stringify(read.replicaStatus));
            assert.equal(read.sourceStatus.readOnly, false);
        });

        it(`a restarted source comes back read-only and writes nothing of its own; a refresh reports it, the next run makes it writable ${T}`, async () => {
            const db001 = cluster.byName("db001");
            const history = await executed(db001);
            await db001.restart();
            assert.deepEqual(await fenceOf(db001), fenced(db001), "db001 after its restart");
            await assert.rejects(appInsert(db001, 4), /read-only|read_only/, "the restarted source took an application's write");
            const [{ started }] = await db001.query<{ started: string }>("SELECT NOW(6) AS started");
            if (isMaria(db001)) {
                // read_only does not bind the event's definer (root holds READ ONLY ADMIN): the heartbeat event runs
                // again after the restart, and its own guard keeps it from beating. (On MySQL, super_read_only stops
                // the scheduler from running it at all: "Unable to schedule event", seen on 9.7.4.)
                await eventually("db001's heartbeat event to run after the restart", SETTLE_SECONDS, async () => {
                    const { ran } = await heartbeat(db001);
                    return ran !== null && ran > started.slice(0, 19);
                });
                const { beat } = await heartbeat(db001);
                assert.ok(beat < started, `db001 beat at ${beat}, after its restart at ${started}`);
            }
            assert.equal(await executed(db001), history, "db001 wrote a transaction of its own while read-only");

            const read = await refresh(state);
            assert.equal(read.sourceStatus.readOnly, true);
            assert.equal(read.healthy, false, "a read-only source makes the set unhealthy");
            // The next `pulumi up` converges a set last observed unhealthy, with or without a config change.
            assert.equal(diffInputs(read, inputsFor(cluster)).changes, true);
            const { outs } = await provider.update!("id", read, inputsFor(cluster));
            assert.equal(outs!.healthy, true, JSON.stringify(outs!.replicaStatus));
            assert.equal(outs!.sourceStatus.readOnly, false);
            assert.deepEqual(await fenceOf(db001), { readOnly: 0, superReadOnly: isMaria(db001) ? null : 0 });
            await appInsert(db001, 4);
            for (const replica of cluster.replicas) {
                await eventually(`${replica.name} to have row 4`, SETTLE_SECONDS, () => hasItem(replica, 4));
                assert.equal((await replicaStatus(replica))?.source, `127.0.0.1:${db001.port}`);
            }
            await eventually("db001 to beat again", SETTLE_SECONDS, async () => (await heartbeat(db001)).beat > started);
        });
    });
}
