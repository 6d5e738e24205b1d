/**
 * The copy declares its GTID position (the snapshot's) while its rows are still being loaded, so a copy cut short
 * leaves a replica that claims every transaction up to the snapshot but holds part of the rows. A switchover (or
 * failover) judges a member by its GTIDs: with an idle source (heartbeat off) it found nothing missing and promoted the
 * half copy, reported healthy (review finding). The declared source's note of an unfinished copy refuses the run.
 * FLAVOR=<flavor> runs one flavor. Titles end with the live server's version.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster } from "../support/servers";
import { inputsFor, endpointOf, eventually } from "../support/replicationInputs";
import { loadHistory } from "../support/seedData";
import { replicationProvider as provider } from "../../components/replication/provider";
import { seedLog } from "../../components/replication/seed";
import { statementHooks } from "../../components/replication/session";
import type { ReplicationInputs, ReplicationState } from "../../components/replication/types";

for (const flavor of MATRIX.filter((f) => !process.env.FLAVOR || f === process.env.FLAVOR)) {
    const T = serverTitle(flavor);

    describe(`a half copy (the note) is never promoted ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        const write = seedLog.write;
        // No heartbeat: the source is idle after the copy's snapshot.
        const inputs = (o: Partial<ReplicationInputs> = {}) =>
            inputsFor(cluster, { replicas: ["db002", "db003"].map((n) => endpointOf(cluster.byName(n))), seedMethod: "dump", heartbeatIntervalMs: 0, ...o });

        before(async () => {
            seedLog.write = () => undefined;
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true, readySeconds: 180 });
            state = (await provider.create!(inputsFor(cluster, { replicas: [endpointOf(cluster.byName("db002"))], seedMethod: "dump", heartbeatIntervalMs: 0 }))).outs;
            await loadHistory(cluster.source);
            await cluster.source.query("CREATE DATABASE app3", "CREATE TABLE app3.big (id INT PRIMARY KEY, pad VARCHAR(40) NOT NULL) ENGINE=InnoDB");
            for (let chunk = 0; chunk < 5; chunk++) {
                const rows = Array.from({ length: 10_000 }, (_, i) => `(${chunk * 10_000 + i + 1}, 'padding padding padding padding ${i}')`);
                await cluster.source.query(`INSERT INTO app3.big VALUES ${rows.join(",")}`);
            }
            await eventually("db002 to have app3.big", 30, async () =>
                Number((await cluster.byName("db002").query<{ n: number }>("SELECT COUNT(*) AS n FROM app3.big").catch(() => [{ n: -1 }]))[0].n) === 50_000,
            );
        });
        after(async () => {
            seedLog.write = write;
            delete statementHooks.beforeStatement;
            await cluster?.destroy();
        });

        const rows = async (name: string) => Number((await cluster.byName(name).query<{ n: number }>("SELECT COUNT(*) AS n FROM app3.big").catch(() => [{ n: -1 }]))[0].n);

        it(`a switchover to a member whose copy was cut short is refused ${T}`, async () => {
            // db003 is copied (it is new: the source purged its logs), and the copy is cut once its position is declared.
            let declared = false;
            let inserts = 0;
            statementHooks.beforeStatement = (name, sql) => {
                if (name !== "db003") return;
                if (/gtid_purged|gtid_slave_pos/.test(sql)) declared = true;
                if (declared && sql.startsWith("INSERT INTO `app3`") && ++inserts === 3) throw new Error("interrupted mid-copy");
            };
            await assert.rejects(provider.update!("id", state, inputs()), /db003: the seed did not finish.*interrupted mid-copy/s);
            delete statementHooks.beforeStatement;
            assert.equal(declared, true, "the copy declared its position before it was cut");
            const half = await rows("db003");
            assert.ok(half < 50_000, `db003 holds a half copy (${half} rows)`);
            assert.equal((await cluster.byName("db003").query("SELECT 1 FROM replicaset_probe.seed_in_progress")).length, 1, "the note is there");

            // The operator now switches the source to db003 (say, a bigger machine).
            const toDb003 = inputs({ source: endpointOf(cluster.byName("db003")), replicas: ["db001", "db002"].map((n) => endpointOf(cluster.byName(n))) });
            let outcome: string;
            try {
                const { outs } = await provider.update!("id", state, toDb003);
                outcome = `promoted; healthy=${(outs as ReplicationState).healthy}; app3.big rows on the new source db003: ${await rows("db003")} of 50000`;
            } catch (error) {
                outcome = `refused: ${(error as Error).message}`;
            }
            assert.match(outcome, /^refused: db003 holds an unfinished copy .*Nothing was changed/s, outcome);
            // Nothing was changed: db001 is still the writable source, db003 keeps its note, and the next run, with db001
            // declared again, copies db003 again.
            assert.equal(await rows("db001"), 50_000);
            const { outs } = await provider.update!("id", state, inputs());
            state = outs as ReplicationState;
            assert.equal(state.healthy, true);
            assert.equal(await rows("db003"), 50_000);
        });
    });
}
