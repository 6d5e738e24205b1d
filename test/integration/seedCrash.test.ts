/**
 * Review (seedspeed): a logical copy whose replica's server restarts mid-copy (killed, and started again by the
 * container's restart policy, as after an OOM kill or a Docker restart) must still be copied again by the next run.
 * The copy sets the replica's channel while the rows are copied, after declaring the copy's position applied: the
 * restarted server starts that channel on its own, on a half copy. Titles end with the live server's version.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster } from "../support/servers";
import { inputsFor, endpointOf, eventually } from "../support/replicationInputs";
import { isMaria } from "../support/sql";
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

        it(`is copied again by the next run, not left a half copy that replicates ${T}`, async () => {
            const db003 = cluster.byName("db003");
            // Cut the copy in the big table's rows, once the channel is set and the provider's own tables are copied.
            let changeSent = false;
            let probeCopied = 0;
            statementHooks.beforeStatement = (name, sql) => {
                if (name !== "db003") return;
                if (/^CHANGE (MASTER|REPLICATION SOURCE)/.test(sql)) changeSent = true;
                if (sql.startsWith("INSERT INTO `replicaset_probe`.`heartbeat`")) probeCopied++;
                if (changeSent && probeCopied > 0 && sql.startsWith("INSERT INTO `app3`")) throw new Error("interrupted mid-copy");
            };
            await assert.rejects(provider.update!("id", state, inputs(["db002", "db003"])), /db003: the seed did not finish.*interrupted mid-copy/s);
            delete statementHooks.beforeStatement;
            assert.ok(changeSent, "the copy set the channel before its rows were in");
            const channel = isMaria(db003) ? "SHOW SLAVE STATUS" : "SHOW REPLICA STATUS";
            await eventually("db003's channel to be set", 10, async () => (await db003.query(channel)).length === 1);
            // Every statement the cut-short copy sent has ended (its sessions are gone) before the server dies.
            await eventually("the copy's sessions on db003 to end", 20, async () =>
                (await db003.query("SELECT 1 FROM information_schema.PROCESSLIST WHERE COMMAND NOT IN ('Daemon', 'Binlog Dump', 'Binlog Dump GTID') AND ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler')")).length === 0,
            );

            // The server dies and its restart policy starts it again: it starts the configured channel by itself.
            await db003.stop(true);
            await db003.start();
            // As at any later run: by then the restarted server has started the channel it found configured.
            const running = async () => {
                const [row] = await db003.query<Record<string, unknown>>(channel);
                return String(row?.Slave_IO_Running ?? row?.Replica_IO_Running) === "Yes" && String(row?.Slave_SQL_Running ?? row?.Replica_SQL_Running) === "Yes";
            };
            await eventually("db003's restarted server to start its channel", 20, running).catch(async (error) => {
                throw new Error(`${(error as Error).message}: ${JSON.stringify(await db003.query(channel))}`);
            });

            const { outs } = await provider.update!("id", state, inputs(["db002", "db003"]));
            state = outs as ReplicationState;
            const rows = async (server: typeof db003) => Number((await server.query<{ n: number }>("SELECT COUNT(*) AS n FROM app3.big"))[0].n);
            assert.equal(await rows(db003), await rows(cluster.source), `app3.big on db003 after the next run (healthy: ${state.healthy}, note left: ${(await db003.query("SELECT 1 FROM replicaset_probe.seed_in_progress")).length === 1})`);
            assert.equal(state.replicaStatus.db003.seededBy, "dump", `the half copy was not copied again: ${JSON.stringify(state.replicaStatus.db003)}`);
            const tables = ["app1.items", "app1.notes", "app2.ledger", "app3.big"];
            assert.deepEqual(await checksums(db003, tables), await checksums(cluster.source, tables));
        });
    });
}
