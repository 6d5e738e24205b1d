/**
 * Review (seedspeed, round 2): the copy's consistent point under group commit — several writers commit at once while
 * a replica is copied (on MariaDB without any lock: the snapshot's binlog position). Every transaction inserts a new
 * key (applied twice: duplicate key) and increments a shared counter (lost or applied twice: the checksum differs).
 * FLAVOR=<flavor> runs one flavor. Titles end with the live server's version.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster } from "../support/servers";
import { inputsFor, endpointOf, eventually } from "../support/replicationInputs";
import { isMaria } from "../support/sql";
import { loadHistory, tableChecksums } from "../support/seedData";
import { replicationProvider as provider } from "../../components/replication/provider";
import { seedLog } from "../../components/replication/seed";
import type { ReplicationInputs, ReplicationState } from "../../components/replication/types";

const TABLES = ["app1.items", "app1.notes", "app2.ledger", "app4.log", "app4.counter"];

for (const flavor of MATRIX.filter((f) => !process.env.FLAVOR || f === process.env.FLAVOR)) {
    const T = serverTitle(flavor);

    describe(`a copy taken under group commit ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        const write = seedLog.write;
        const inputs = (names: string[], o: Partial<ReplicationInputs> = {}) =>
            inputsFor(cluster, { replicas: names.map((n) => endpointOf(cluster.byName(n))), seedMethod: "dump", ...o });

        before(async () => {
            seedLog.write = () => undefined;
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true, readySeconds: 180 });
            state = (await provider.create!(inputs([]))).outs;
            await cluster.source.query(
                "CREATE DATABASE app4",
                "CREATE TABLE app4.log (id BIGINT PRIMARY KEY, writer INT NOT NULL) ENGINE=InnoDB",
                "CREATE TABLE app4.counter (id INT PRIMARY KEY, n BIGINT NOT NULL) ENGINE=InnoDB",
                "INSERT INTO app4.counter VALUES (1, 0), (2, 0), (3, 0), (4, 0)",
            );
            await loadHistory(cluster.source);
        });
        after(async () => {
            seedLog.write = write;
            await cluster?.destroy();
        });

        it(`no transaction is lost or applied twice ${T}`, async () => {
            let writing = true;
            let committed = 0;
            const writers = await Promise.all([1, 2, 3, 4, 5, 6].map(() => cluster.source.connect()));
            const runs = writers.map(async (c, w) => {
                for (let i = 0; writing; i++) {
                    await c.query("BEGIN");
                    await c.query(`INSERT INTO app4.log VALUES (${w * 10_000_000 + i}, ${w})`);
                    await c.query(`UPDATE app4.counter SET n = n + 1 WHERE id = ${(i % 4) + 1}`);
                    await c.query("COMMIT");
                    committed++;
                }
            });
            try {
                await eventually("the writers to commit", 10, async () => committed > 20);
                const before = committed;
                const { outs } = await provider.update!("id", state, inputs(["db002"]));
                state = outs as ReplicationState;
                assert.equal(state.replicaStatus.db002.seededBy, "dump", JSON.stringify(state.replicaStatus.db002));
                assert.ok(committed - before > 20, `the source committed while the seed ran (${committed - before})`);
            } finally {
                writing = false;
                await Promise.allSettled(runs);
                await Promise.all(writers.map((c) => c.end()));
            }
            const db002 = cluster.byName("db002");
            const want = await tableChecksums(cluster.source, TABLES);
            await eventually("db002 to apply what the source committed", 60, async () => JSON.stringify(await tableChecksums(db002, TABLES)) === JSON.stringify(want)).catch(async (error) => {
                const [threads] = await db002.query<Record<string, unknown>>(isMaria(db002) ? "SHOW SLAVE STATUS" : "SHOW REPLICA STATUS");
                throw new Error(`${(error as Error).message}; SQL error: ${String(threads?.Last_SQL_Error ?? "")}; ${JSON.stringify(await tableChecksums(db002, TABLES))} vs ${JSON.stringify(want)}`);
            });
        });
    });
}
