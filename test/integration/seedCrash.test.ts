/**
 * Review (seedspeed): a logical copy whose replica's server restarts mid-copy (killed, and started again by the
 * container's restart policy, as after an OOM kill or a Docker restart) must still be copied again by the next run.
 * A server starts a configured channel by itself when it starts: the copy sets the channel only once its note is
 * gone, and a replica holding the note is copied again whatever its threads do. Titles end with the live server's
 * version.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster } from "../support/servers";
import { inputsFor, endpointOf, eventually } from "../support/replicationInputs";
import { isMaria, writeByHand } from "../support/sql";
import { loadHistory, tableChecksums as checksums } from "../support/seedData";
import { replicationProvider as provider } from "../../components/replication/provider";
import { seedLog } from "../../components/replication/seed";
import { statementHooks } from "../../components/replication/session";
import type { ReplicationInputs, ReplicationState } from "../../components/replication/types";

for (const flavor of MATRIX) {
    const T = serverTitle(flavor);

    describe(`a copy cut short by the replica's server restarting ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        const write = seedLog.write;
        const inputs = (names: string[], o: Partial<ReplicationInputs> = {}) =>
            inputsFor(cluster, { replicas: names.map((n) => endpointOf(cluster.byName(n))), seedMethod: "dump", ...o });

        before(async () => {
            seedLog.write = () => undefined;
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true, readySeconds: 180 });
            state = (await provider.create!(inputs(["db002"]))).outs;
            await loadHistory(cluster.source);
            // A table that takes a while to load: the small ones (the provider's heartbeat among them) are in before it.
            await cluster.source.query("CREATE DATABASE app3", "CREATE TABLE app3.big (id INT PRIMARY KEY, pad VARCHAR(40) NOT NULL) ENGINE=InnoDB");
            for (let chunk = 0; chunk < 10; chunk++) {
                const rows = Array.from({ length: 10_000 }, (_, i) => `(${chunk * 10_000 + i + 1}, 'padding padding padding padding ${i}')`);
                await cluster.source.query(`INSERT INTO app3.big VALUES ${rows.join(",")}`);
            }
        });
        after(async () => {
            seedLog.write = write;
            delete statementHooks.beforeStatement;
            await cluster?.destroy();
        });

        const channel = () => (isMaria(cluster.byName("db003")) ? "SHOW SLAVE STATUS" : "SHOW REPLICA STATUS");
        const rows = async (server: ReturnType<MariaCluster["byName"]>) => Number((await server.query<{ n: number }>("SELECT COUNT(*) AS n FROM app3.big"))[0].n);
        const tables = ["app1.items", "app1.notes", "app2.ledger", "app3.big"];

        it(`leaves no channel for the restarted server to start on a half copy, and is copied again by the next run ${T}`, async () => {
            const db003 = cluster.byName("db003");
            // Cut the copy in the big table's rows, once the provider's own tables (the heartbeat) are copied.
            let probeCopied = 0;
            let changeSent = false;
            statementHooks.beforeStatement = (name, sql) => {
                if (name !== "db003") return;
                if (/CHANGE (MASTER|REPLICATION SOURCE)/.test(sql)) changeSent = true;
                if (sql.startsWith("INSERT INTO `replicaset_probe`.`heartbeat`")) probeCopied++;
                if (probeCopied > 0 && sql.startsWith("INSERT INTO `app3`")) throw new Error("interrupted mid-copy");
            };
            await assert.rejects(provider.update!("id", state, inputs(["db002", "db003"])), /db003: the seed did not finish.*interrupted mid-copy/s);
            delete statementHooks.beforeStatement;
            assert.equal(changeSent, false, "the copy set the replica's channel before its rows were in");
            assert.ok((await rows(db003)) < (await rows(cluster.source)), "the cut left a half copy");
            // Every statement the cut-short copy sent has ended (its sessions are gone) before the server dies.
            await eventually("the copy's sessions on db003 to end", 20, async () =>
                (await db003.query("SELECT 1 FROM information_schema.PROCESSLIST WHERE COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID') AND ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler')")).length === 0,
            );

            // The server dies and its restart policy starts it again: it has no channel to start by itself.
            await db003.stop(true);
            await db003.start();
            assert.deepEqual(await db003.query(channel()), [], "the restarted server found a channel configured on a half copy");

            const { outs } = await provider.update!("id", state, inputs(["db002", "db003"]));
            state = outs as ReplicationState;
            assert.equal(await rows(db003), await rows(cluster.source), `app3.big on db003 after the next run (healthy: ${state.healthy})`);
            assert.equal(state.replicaStatus.db003.seededBy, "dump", `the half copy was not copied again: ${JSON.stringify(state.replicaStatus.db003)}`);
            assert.equal(state.healthy, true);
            assert.deepEqual(await checksums(db003, tables), await checksums(cluster.source, tables));
        });

        it(`copies again a replica that holds the note of an unfinished copy, even with its channel running ${T}`, async () => {
            const db003 = cluster.byName("db003");
            const before = state.replicaStatus.db003.seededAt;
            // As a cut between a channel set and the note removed would leave it (or a copy of an older version): the
            // note, with a channel that its server started on its own. The note is the replica's own, never binlogged.
            await writeByHand(db003, "SET SESSION sql_log_bin = 0", "REPLACE INTO replicaset_probe.seed_in_progress (id, source) VALUES (1, 'db001')");
            if (!isMaria(db003)) await db003.query("SET GLOBAL super_read_only = ON");
            const [status] = await db003.query<Record<string, unknown>>(channel());
            assert.equal(String(status?.Slave_SQL_Running ?? status?.Replica_SQL_Running), "Yes", "the channel runs beside the note");

            const { outs } = await provider.update!("id", state, inputs(["db002", "db003"]));
            state = outs as ReplicationState;
            assert.equal(state.replicaStatus.db003.seededBy, "dump");
            assert.notEqual(state.replicaStatus.db003.seededAt, before, "the replica holding the note was not copied again");
            assert.deepEqual(await db003.query("SELECT 1 FROM replicaset_probe.seed_in_progress"), [], "the note is gone after the copy");
            assert.equal(state.healthy, true);
            assert.deepEqual(await checksums(db003, tables), await checksums(cluster.source, tables));
        });
    });
}
