/**
 * Seeding (issue 18) on every server of the matrix: a source with 10 000 rows in two schemas whose binary logs
 * were purged; a replica added to the set is seeded from a consistent copy and then replicates. A replica with a
 * schema of its own is refused (naming members[].reseed) and seeded with reseed; a seed cut short converges on
 * the next run; a seed taken while the source commits starts exactly at its snapshot. Titles end with the live
 * server's version.
 */
import { execFileSync } from "node:child_process";
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { inputsFor, eventually, refresh, endpointOf, SETTLE_SECONDS } from "../support/replicationInputs";
import { isMaria, writeByHand } from "../support/sql";
import { loadHistory, rowCount as count, tableChecksums as checksums } from "../support/seedData";
import { replicationProvider as provider } from "../../components/replication/provider";
import { seedLog } from "../../components/replication/seed";
import { statementHooks } from "../../components/replication/session";
import type { ReplicationInputs, ReplicationState } from "../../components/replication/types";

async function schemas(server: MariaServer): Promise<string[]> {
    return (await server.query<{ s: string }>("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA")).map((r) => String(r.s));
}

/** The provider's note of an unfinished seed: its row (a finished copy keeps the empty table). */
async function seedNotePresent(server: MariaServer): Promise<boolean> {
    const table = await server.query("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'replicaset_probe' AND TABLE_NAME = 'seed_in_progress'");
    return table.length === 1 && (await server.query("SELECT 1 FROM replicaset_probe.seed_in_progress")).length > 0;
}

for (const flavor of MATRIX) {
    const T = serverTitle(flavor);

    describe(`seeding a replica added after the source purged its binary logs ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        const lines: string[] = [];
        const write = seedLog.write;
        // With a router declared: its check account, created on the source before the purge, must reach a seeded replica.
        const inputs = (names: string[], o: Partial<ReplicationInputs> = {}) =>
            // The provider's copy on every flavor (auto would clone on MySQL 9.7: test/integration/clone.test.ts).
            inputsFor(cluster, { replicas: names.map((n) => endpointOf(cluster.byName(n))), routerCheckUser: "replicaset_check", routerCheckReads: ["threads", "heartbeat"], seedMethod: "dump", ...o });

        before(async () => {
            seedLog.write = (line) => lines.push(line);
            // Four servers start at once: on a loaded 2-core machine MySQL 9.7 took more than the default 60 s.
            cluster = await startCluster(flavor, runbookSpecs(4), { binlogInitialisation: true });
            state = (await provider.create!(inputs(["db002"]))).outs;
            await loadHistory(cluster.source);
            await eventually("db002 to have every row", SETTLE_SECONDS, async () => (await count(cluster.byName("db002"), "app2.ledger")) === 5000);
        });
        after(async () => {
            seedLog.write = write;
            delete statementHooks.beforeStatement;
            await cluster?.destroy();
        });

        it(`a seed cut short mid-way leaves its note; the next run copies again, ends healthy with equal checksums, and replicates ${T}`, async () => {
            const db003 = cluster.byName("db003");
            let inserts = 0;
            statementHooks.beforeStatement = (name, sql) => {
                if (name === "db003" && sql.startsWith("INSERT INTO `app") && ++inserts === 2) throw new Error("interrupted mid-copy");
            };
            await assert.rejects(provider.update!("id", state, inputs(["db002", "db003"])), /db003: the seed did not finish.*interrupted mid-copy/s);
            delete statementHooks.beforeStatement;
            assert.equal(await seedNotePresent(db003), true, "the cut-short copy is marked as such");
            assert.equal(Number((await db003.query<{ r: number }>("SELECT @@GLOBAL.read_only AS r"))[0].r), 1, "left read-only");

            lines.length = 0;
            const { outs } = await provider.update!("id", state, inputs(["db002", "db003"]));
            state = outs as ReplicationState;
            assert.equal(state.healthy, true, JSON.stringify(state.replicaStatus));
            assert.equal(state.replicaStatus.db003.seededBy, "dump");
            assert.ok(Date.parse(state.replicaStatus.db003.seededAt) > Date.now() - 120_000, state.replicaStatus.db003.seededAt);
            assert.equal(state.replicaStatus.db002.seededBy, "", "a replica that could replicate was not seeded");
            assert.equal(await seedNotePresent(db003), false);
            assert.deepEqual(await checksums(db003), await checksums(cluster.source));
            assert.equal((await db003.query("SELECT 1 FROM mysql.user WHERE User = 'replicaset_check'")).length, 1, "the router's check account is on the seeded replica");
            // With its grants: the router's checks read the heartbeat (and on MySQL the replication status) there.
            const grants = async (s: typeof db003) =>
                (await s.query<{ t: string }>("SELECT CONCAT(Db, '.', Table_name, ':', Table_priv) AS t FROM mysql.tables_priv WHERE User = 'replicaset_check' ORDER BY t")).map((g) => String(g.t));
            assert.ok((await grants(cluster.source)).includes("replicaset_probe.heartbeat:Select"), (await grants(cluster.source)).join());
            assert.deepEqual(await grants(db003), await grants(cluster.source), "the check account's grants on the seeded replica");
            assert.ok(lines.some((l) => /seed db003: .*rows/.test(l)), `progress lines: ${lines.join("\n")}`);

            // Views, routines, triggers and events came along; the event stays off on the replica.
            assert.equal(Number((await db003.query<{ n: number }>("SELECT n FROM app2.summary"))[0].n), 5000);
            assert.equal(Number((await db003.query<{ d: number }>("SELECT app2.double_it(21) AS d"))[0].d), 42);
            const [event] = await db003.query<{ s: string }>("SELECT STATUS AS s FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'app1' AND EVENT_NAME = 'nightly'");
            assert.match(String(event?.s), /SLAVESIDE_DISABLED|REPLICA_SIDE_DISABLED/);
            assert.equal((await db003.query("SELECT 1 FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'app1' AND ROUTINE_NAME = 'touch'")).length, 1);
            assert.equal((await db003.query("SELECT 1 FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'app1' AND TRIGGER_NAME = 'count_items'")).length, 1);

            // A write after the seed replicates (and its trigger fires once, on the source; the row event carries it).
            await cluster.source.query("INSERT INTO app1.items (id, name) VALUES (100001, 'after the seed')");
            await eventually("db003 to apply the write after the seed", SETTLE_SECONDS, async () => (await count(db003, "app1.items")) === 3001);
            assert.equal(await count(db003, "app1.audit"), await count(cluster.source, "app1.audit"));
        });

        it(`a replica with a schema of its own is refused naming members[].reseed, and seeded with reseed ${T}`, async () => {
            const db004 = cluster.byName("db004");
            await db004.query("CREATE DATABASE mine", "CREATE TABLE mine.keep (id INT PRIMARY KEY)", "INSERT INTO mine.keep VALUES (7)");
            await assert.rejects(
                provider.update!("id", state, inputs(["db002", "db003", "db004"])),
                (error: Error) => /db004: .*purged.*schemas of its own \(mine\).*reseed: true on member db004/s.test(error.message),
            );
            assert.ok((await schemas(db004)).includes("mine"), "nothing was changed on db004");
            assert.equal(await count(db004, "mine.keep"), 1);

            const { outs } = await provider.update!("id", state, inputs(["db002", "db003", "db004"], { reseed: ["db004"] }));
            state = outs as ReplicationState;
            assert.equal(state.healthy, true, JSON.stringify(state.replicaStatus));
            assert.equal(state.replicaStatus.db004.seededBy, "dump");
            assert.equal((await schemas(db004)).includes("mine"), false);
            assert.deepEqual(await checksums(db004), await checksums(cluster.source));
            await cluster.source.query("INSERT INTO app2.ledger (id, amount) VALUES (900001, 1.5)");
            await eventually("db004 to apply the write", SETTLE_SECONDS, async () => (await count(db004, "app2.ledger")) === 5001);
        });

        it(`a seed taken while the source commits all along starts exactly at its snapshot: no transaction lost or applied twice ${T}`, async () => {
            // Every transaction an INSERT of a new key (applied twice: duplicate key, the SQL thread stops) and an
            // increment (applied twice or lost: the checksum differs); a position one transaction off fails either way.
            // Six writers at once: the source commits them in groups (group commit), and the position must fall between
            // two groups exactly (MariaDB: the snapshot's own binlog position, no lock).
            const db005 = cluster.byName("db005");
            const writers = await Promise.all([0, 1, 2, 3, 4, 5].map(() => cluster.source.connect()));
            let writing = true;
            let committed = 0;
            const writes = writers.map(async (writer, w) => {
                for (let id = 2_000_000 + w * 1_000_000; writing; id++) {
                    await writer.query("BEGIN");
                    await writer.query(`INSERT INTO app2.ledger (id, amount) VALUES (${id}, 1)`);
                    await writer.query(`UPDATE app1.notes SET ratio = ratio + 1 WHERE id = ${(id % 4) + 1}`);
                    await writer.query("COMMIT");
                    committed++;
                }
            });
            // And between the copy's snapshot and its reads, for certain: when the reader, its snapshot open, asks for its
            // first SHOW CREATE TABLE, three transactions of the same kind commit through a client of their own (the hook
            // blocks this process until they have; the snapshot must hide them, and replication bring them). Rows no
            // writer touches: a writer holding a row lock cannot commit while this process is blocked.
            let inWindow = 0;
            statementHooks.beforeStatement = (name, sql) => {
                if (name !== "db001" || !sql.startsWith("SHOW CREATE TABLE") || inWindow > 0) return;
                for (let i = 1; i <= 3; i++) {
                    const id = 9_000_000 + i;
                    execFileSync("mariadb", ["-h", cluster.source.host, "-P", String(cluster.source.port), "-uroot", `-p${cluster.source.rootPassword}`, "-e",
                        `BEGIN; INSERT INTO app2.ledger (id, amount) VALUES (${id}, 1); UPDATE app1.notes SET ratio = ratio + 1 WHERE id = ${4 + i}; COMMIT;`], { timeout: 10_000 });
                    inWindow++;
                }
            };
            try {
                await eventually("the writers to commit", SETTLE_SECONDS, async () => committed > 20);
                const before = committed;
                const { outs } = await provider.update!("id", state, inputs(["db002", "db003", "db004", "db005"], { reseed: ["db004"] }));
                delete statementHooks.beforeStatement;
                state = outs as ReplicationState;
                assert.equal(state.replicaStatus.db005.seededBy, "dump", JSON.stringify(state.replicaStatus.db005));
                assert.ok(committed - before >= 6, `the source committed while the seed ran (${committed - before} transactions)`);
                assert.equal(inWindow, 3, "transactions committed between the copy's snapshot and its reads");
            } finally {
                delete statementHooks.beforeStatement;
                writing = false;
                await Promise.allSettled(writes);
                await Promise.all(writers.map((writer) => writer.end()));
            }
            const want = await checksums(cluster.source);
            await eventually("db005 to apply what the source committed", SETTLE_SECONDS, async () => JSON.stringify(await checksums(db005)) === JSON.stringify(want));
            const [threads] = await db005.query<Record<string, unknown>>(isMaria(db005) ? "SHOW SLAVE STATUS" : "SHOW REPLICA STATUS");
            assert.equal(String(threads.Last_SQL_Error ?? ""), "");
        });

        it(`a refresh keeps seededBy and seededAt; a second update seeds nothing ${T}`, async () => {
            const refreshed = await refresh(state);
            assert.equal(refreshed.replicaStatus.db003.seededBy, "dump");
            assert.equal(refreshed.replicaStatus.db003.seededAt, state.replicaStatus.db003.seededAt);
            lines.length = 0;
            const { outs } = await provider.update!("id", refreshed, inputs(["db002", "db003", "db004", "db005"], { reseed: ["db004"] }));
            assert.equal((outs as ReplicationState).healthy, true);
            assert.equal((outs as ReplicationState).replicaStatus.db004.seededAt, state.replicaStatus.db004.seededAt, "not seeded again");
            assert.deepEqual(lines, []);
            if (isMaria(cluster.source)) await writeByHand(cluster.byName("db003"), "DO 1");
        });
    });
}
