/**
 * Review (seedspeed, round 2): a view that calls a stored function. The server checks the function exists when the
 * view is created; the copy makes views on one loader (once every table exists) and routines on another (once the
 * schemas exist), with nothing ordering the two. With many routines the view comes first, fails, and fails the copy:
 * every run fails the same way, so the replica can never be seeded. (main made views before routines: it failed
 * every time.) FLAVOR=<flavor> runs one flavor. Titles end with the live server's version.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster } from "../support/servers";
import { inputsFor, endpointOf } from "../support/replicationInputs";
import { purgeBinaryLogs } from "../support/seedData";
import { replicationProvider as provider } from "../../components/replication/provider";
import { seedLog } from "../../components/replication/seed";
import type { ReplicationState } from "../../components/replication/types";

for (const flavor of MATRIX.filter((f) => !process.env.FLAVOR || f === process.env.FLAVOR)) {
    const T = serverTitle(flavor);

    describe(`a view that calls a stored function is copied ${T}`, () => {
        let cluster: MariaCluster;
        const write = seedLog.write;
        before(async () => {
            seedLog.write = () => undefined;
            cluster = await startCluster(flavor, runbookSpecs(1), { binlogInitialisation: true, readySeconds: 180 });
            const s = cluster.source;
            await s.query(
                "SET GLOBAL read_only = OFF",
                "CREATE DATABASE app",
                "CREATE TABLE app.prices (id INT PRIMARY KEY, cents INT NOT NULL) ENGINE=InnoDB",
                "INSERT INTO app.prices VALUES (1, 150), (2, 2599)",
                "CREATE DATABASE lib",
            );
            // A library of functions; the view uses one of them.
            for (let i = 0; i < 150; i++) await s.query(`CREATE FUNCTION lib.f${String(i).padStart(3, "0")}(c INT) RETURNS DECIMAL(12,2) DETERMINISTIC RETURN c / 100`);
            await s.query("CREATE VIEW app.euros AS SELECT id, lib.f149(cents) AS euros FROM app.prices", "FLUSH BINARY LOGS");
            await purgeBinaryLogs(s);
        });
        after(async () => {
            seedLog.write = write;
            await cluster?.destroy();
        });

        it(`the replica is seeded, with the view ${T}`, async () => {
            const inputs = inputsFor(cluster, { replicas: [endpointOf(cluster.byName("db002"))], seedMethod: "dump", heartbeatIntervalMs: 0 });
            const { outs } = await provider.create!(inputs);
            const state = outs as ReplicationState;
            assert.equal(state.replicaStatus.db002.seededBy, "dump", JSON.stringify(state.replicaStatus.db002));
            assert.equal(state.healthy, true);
            const rows = await cluster.byName("db002").query<{ e: string }>("SELECT euros AS e FROM app.euros ORDER BY id");
            assert.deepEqual(rows.map((r) => String(r.e)), ["1.50", "25.99"]);
        });
    });
}
