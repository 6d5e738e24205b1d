/**
 * Issue 29's findings on every server of the matrix, on one set per flavor (db001 source, db002 and db003), each
 * test carrying the set on from where the one before left it:
 * - a password an application sets (ALTER USER … IDENTIFIED BY) that a replica fails to apply appears in no state,
 *   output, log or error (point 3);
 * - a replacement the engine's default way (create the new resource, then delete the old) leaves the set
 *   replicating (point 2);
 * - a planned switchover whose previous source is running but full (1040 Too many connections for the provider's
 *   own account) is never run as a failover: never two writable members (point 1);
 * - a previous source the provider cannot reach but the replicas still replicate from is not failed over from;
 * - a former source a failover left behind, declared or not, is recorded as fenced, reported until it is, and made
 *   read-only when it comes back WRITABLE (point 6: the assertion can fail, unlike a member restarted read-only);
 * - a create (which learns no previous source) naming another source: refused with nothing changed when the declared
 *   source follows an undeclared server, switched over when it follows a declared member; never two writable members;
 * - a create that fails after converging claims nothing: the existing resource's delete still detaches the set.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import * as mysql from "mysql2/promise";
import { MATRIX, freePort, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { inputsFor, eventually, refresh, endpointOf, SETTLE_SECONDS } from "../support/replicationInputs";
import { changeSourceBy, executed, isMaria, replicaStatus, writeByHand } from "../support/sql";
import { replicationProvider as provider } from "../../components/replication/provider";
import { seedLog } from "../../components/replication/seed";
import { statementHooks } from "../../components/replication/session";
import type { ReplicationInputs, ReplicationState } from "../../components/replication/types";

const APP_SECRET = "N3w-app-secret";

async function readOnly(server: MariaServer, connection?: mysql.Connection): Promise<number> {
    const sql = "SELECT @@GLOBAL.read_only AS r";
    const rows = connection ? ((await connection.query(sql)) as unknown as [Array<{ r: number }>])[0] : await server.query<{ r: number }>(sql);
    return Number(rows[0].r);
}

/** The members that take writes (read_only = 0); `held` answers for a member whose connections are all taken. */
async function writable(servers: MariaServer[], held?: { server: MariaServer; admin: mysql.Connection }): Promise<string[]> {
    const names: string[] = [];
    for (const s of servers) {
        if ((await readOnly(s, held?.server === s ? held.admin : undefined)) === 0) names.push(s.name);
    }
    return names;
}

/** Every text the provider produced: outcome (state or error) and the log lines. */
function everything(outcome: unknown, log: string[]): string {
    return [outcome instanceof Error ? outcome.message : JSON.stringify(outcome), ...log].join("\n");
}

/**
 * Fills `server`'s connections the way an application's pool under load does: max_connections lowered to a few
 * above what is open, then taken by the application's account, then the one extra connection MySQL and MariaDB keep
 * for an administrator (CONNECTION_ADMIN / SUPER) taken by root too, so the provider's own root login gets
 * 1040 Too many connections. `admin` is a root connection opened first, for the test's own checks.
 */
async function saturate(server: MariaServer): Promise<{ admin: mysql.Connection; release: () => Promise<void> }> {
    const admin = await server.connect();
    const [[{ v: before }]] = (await admin.query("SELECT @@GLOBAL.max_connections AS v")) as unknown as [[{ v: number }]];
    const [[{ Value: open }]] = (await admin.query("SHOW GLOBAL STATUS LIKE 'Threads_connected'")) as unknown as [[{ Value: string }]];
    await admin.query(`SET GLOBAL max_connections = ${Number(open) + 3}`);
    const pool: mysql.Connection[] = [];
    const fill = async (user: string, password: string): Promise<void> => {
        for (let i = 0; i < 50; i++) {
            try {
                pool.push(await mysql.createConnection({ host: server.host, port: server.port, user, password }));
            } catch (error) {
                assert.equal((error as { errno?: number }).errno, 1040, `${user}: ${(error as Error).message}`);
                return;
            }
        }
        assert.fail(`${server.name} still accepts ${user} after 50 connections`);
    };
    await fill("app", "app-password-1");
    await fill("root", server.rootPassword);
    await assert.rejects(mysql.createConnection({ host: server.host, port: server.port, user: "root", password: server.rootPassword }), /Too many connections/);
    return {
        admin,
        release: async () => {
            await Promise.all(pool.map((c) => c.end().catch(() => c.destroy())));
            await admin.query(`SET GLOBAL max_connections = ${before}`);
            await admin.end();
        },
    };
}

for (const flavor of MATRIX) {
    const T = serverTitle(flavor);

    describe(`issue 29: busy is not down, a replacement keeps the set, application passwords stay out ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        let id: string;
        let db001: MariaServer, db002: MariaServer, db003: MariaServer;
        const log: string[] = [];
        const write = seedLog.write;
        // No heartbeat: "nothing was changed" is proven by every member's history staying the same.
        const quiet = (o: Partial<ReplicationInputs> = {}) => inputsFor(cluster, { heartbeatIntervalMs: 0, ...o });

        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
            [db001, db002, db003] = ["db001", "db002", "db003"].map((n) => cluster.byName(n));
            seedLog.write = (line) => log.push(line);
            const created = await provider.create!(quiet());
            [id, state] = [created.id, created.outs];
            assert.equal(state.healthy, true);
            // An application's account: DML only, so it never takes the administrator's extra connection.
            await db001.query(
                "CREATE DATABASE app",
                "CREATE TABLE app.items (id INT PRIMARY KEY) ENGINE=InnoDB",
                "CREATE USER 'app'@'%' IDENTIFIED BY 'app-password-1'",
                "GRANT SELECT, INSERT ON app.* TO 'app'@'%'",
            );
            for (const r of [db002, db003]) await eventually(`${r.name} to have the app schema`, SETTLE_SECONDS, async () => (await r.query("SELECT 1 FROM app.items")).length === 0);
        });
        after(async () => {
            seedLog.write = write;
            delete statementHooks.beforeStatement;
            await cluster?.destroy();
        });

        it(`point 3: an application's password that a replica fails to apply appears in no state, output, log or error ${T}`, async () => {
            // A reporting account of the application, everywhere; db003 then loses it (dropped there by hand, binlog off):
            // the source's ALTER USER stops db003's applier, and the server's error text quotes the statement as the
            // source binlogged it (MariaDB: as typed).
            await db001.query("CREATE USER 'report'@'%' IDENTIFIED BY 'old-report-pw-1'");
            await eventually("db003 to have the account", SETTLE_SECONDS, async () => (await db003.query("SELECT 1 FROM mysql.user WHERE User = 'report'")).length === 1);
            await writeByHand(db003, "SET SESSION sql_log_bin = 0", "DROP USER 'report'@'%'");
            try {
                await db001.query(`ALTER USER 'report'@'%' IDENTIFIED BY '${APP_SECRET}'`);
                await eventually("db003's applier to stop on the ALTER USER", SETTLE_SECONDS, async () => (await replicaStatus(db003))?.lastSqlError !== "");
                log.length = 0;
                const seen = await refresh(state);
                assert.equal(seen.healthy, false);
                const updated = await provider.update!(id, state, quiet()).then((r) => r.outs, (e: Error) => e);
                for (const [what, text] of [["refresh", everything(seen, [])], ["update", everything(updated, log)]] as const) {
                    assert.ok(!text.includes(APP_SECRET), `${what} shows the application's password: ${text}`);
                    // Whatever the server quoted after IDENTIFIED (MySQL binlogs the hash: AS '$A$005$…') is a password too.
                    assert.doesNotMatch(text, /IDENTIFIED [^']*(BY|AS) '(?!\[secret\])/, `${what} shows a password literal`);
                }
                // MariaDB quotes the statement; MySQL's multi-threaded applier names the worker's failure only.
                assert.match(seen.replicaStatus.db003.lastSqlError, isMaria(db003) ? /^1396: .*ALTER USER 'report'@'%' IDENTIFIED BY '\[secret\]/ : /^1396: /);
            } finally {
                // Repaired by hand: the account back on db003 (binlog off), the applier started, the ALTER applies.
                await writeByHand(db003, "SET SESSION sql_log_bin = 0", "CREATE USER IF NOT EXISTS 'report'@'%' IDENTIFIED BY 'old-report-pw-1'");
                await db003.query("START REPLICA");
                await eventually("db003 to apply the ALTER USER", SETTLE_SECONDS, async () => (await replicaStatus(db003))?.sqlRunning === true);
            }
            const { outs } = await provider.update!(id, state, quiet());
            assert.equal(outs!.healthy, true, JSON.stringify(outs!.replicaStatus));
            state = outs as ReplicationState;
        });

        it(`point 2: create the new resource, then delete the old (the engine's default replacement): every replica still replicates, the new one reads healthy ${T}`, async () => {
            // pulumi/pulumi pkg/resource/deploy/step_generator.go (generateSteps, ~L2030-2165): without deleteBeforeReplace
            // (our diff never asks for it: diffInputs) a replacement is CreateReplacementStep + ReplaceStep, "the delete
            // step is generated later on, after all creates/updates finish" (~L2405-2425: NewDeleteReplacementStep of the
            // old state). So the new resource's create runs on the running set first, then the old one's delete.
            const created = await provider.create!(quiet());
            assert.equal(created.outs.healthy, true);
            await provider.delete!(id, state);
            for (const r of [db002, db003]) {
                const threads = await replicaStatus(r);
                assert.equal(threads?.ioRunning && threads?.sqlRunning, true, `the old resource's delete detached ${r.name}: ${JSON.stringify(threads)}`);
            }
            const seen = await refresh(created.outs);
            assert.equal(seen.healthy, true, JSON.stringify(seen.replicaStatus));
            assert.notEqual(created.id, id, "the new resource has the old one's id");
            // The next update of the new resource changes nothing and stays healthy.
            const { outs } = await provider.update!(created.id, created.outs, quiet());
            assert.equal(outs!.healthy, true);
            [id, state] = [created.id, outs as ReplicationState];
        });

        it(`point 1: a switchover whose previous source is full (1040 for the provider) never leaves two writable members ${T}`, async () => {
            const toDb002 = quiet({ source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)], deadlineSeconds: 12 });
            const dropping = quiet({ source: endpointOf(db002), replicas: [endpointOf(db003)], deadlineSeconds: 12 });
            const held = await saturate(db001);
            try {
                for (const [what, inputs] of [["declared", toDb002], ["dropped from members", dropping]] as const) {
                    const history = await Promise.all([db002, db003].map(executed));
                    const outcome = await provider.update!(id, state, inputs).then((r) => r.outs as ReplicationState, (e: Error) => e);
                    const writers = await writable([db001, db002, db003], { server: db001, admin: held.admin });
                    assert.equal(writers.length, 1, `${what}: writable members ${JSON.stringify(writers)} after ${everything(outcome, [])}`);
                    if (outcome instanceof Error) {
                        // Refused: nothing changed (db001 still the one source, db002 and db003 following it).
                        assert.deepEqual(writers, ["db001"]);
                        assert.match(outcome.message, /db001 is running .*Too many connections.*Nothing was changed/s);
                        assert.deepEqual(await Promise.all([db002, db003].map(executed)), history, `${what}: a member's history changed`);
                        for (const r of [db002, db003]) assert.equal((await replicaStatus(r))?.source, `127.0.0.1:${db001.port}`);
                    } else {
                        assert.fail(`${what}: the provider switched over without reaching db001: ${JSON.stringify(outcome.replicaStatus)}`);
                    }
                }
            } finally {
                await held.release();
            }
            // With a free connection, the same update (db001 dropped) is a switchover: db001 fenced, db002 the one source.
            const { outs } = await provider.update!(id, state, dropping);
            assert.equal(outs!.healthy, true, JSON.stringify(outs!.replicaStatus));
            assert.deepEqual(await writable([db001, db002, db003]), ["db002"]);
            // db001 back as a replica of db002.
            const back = await provider.update!(id, outs as ReplicationState, quiet({ source: endpointOf(db002), replicas: [endpointOf(db001), endpointOf(db003)] }));
            assert.equal(back.outs!.healthy, true, JSON.stringify(back.outs!.replicaStatus));
            state = back.outs as ReplicationState;
        });

        it(`point 1: a previous source the provider cannot reach but the replicas still replicate from is not failed over from ${T}`, async () => {
            // The provider's path to db002 is cut (its address as the provider dials it answers nothing), the replicas'
            // is not: db001 and db003 are connected to it.
            const cut = { ...state, source: { ...state.source, port: await freePort() } };
            const history = await Promise.all([db001, db002, db003].map(executed));
            const toDb001 = quiet({ source: endpointOf(db001), replicas: [endpointOf(db003)], deadlineSeconds: 10 });
            const outcome = await provider.update!(id, cut, toDb001).then((r) => r.outs as ReplicationState, (e: Error) => e);
            assert.deepEqual(await writable([db001, db002, db003]), ["db002"], `after ${everything(outcome, [])}`);
            assert.ok(outcome instanceof Error);
            assert.match(outcome.message, /refusing to fail over from db002 to db001: the provider cannot reach db002 .* but db001, db003 still replicate from it/s);
            assert.deepEqual(await Promise.all([db001, db002, db003].map(executed)), history);
        });

        it(`point 6: a declared old source that comes back WRITABLE after a failover is fenced and rejoined ${T}`, async () => {
            // db002 is the source (the test before): it dies, db001 is declared the source, db002 stays a member.
            await db002.stop(true);
            const toDb001 = quiet({ source: endpointOf(db001), replicas: [endpointOf(db002), endpointOf(db003)] });
            const { outs } = await provider.update!(id, state, toDb001);
            assert.deepEqual((outs as ReplicationState).fenced, ["db002"]);
            assert.equal(outs!.healthy, false);
            // It comes back WRITABLE (not the read-only start every member gets): someone's configuration, a start by hand.
            await db002.start();
            await db002.query(isMaria(db002) ? "DO 0" : "SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF");
            assert.equal(await readOnly(db002), 0);
            // Fenced before anything else: a run cut right after its first step (at its first read of db003) has made
            // db002 read-only already; the rejoin that follows (which makes a replica read-only too) never ran.
            statementHooks.beforeStatement = (member, sql) => {
                if (member === "db003" && sql === "SELECT @@GLOBAL.read_only") throw new Error("interrupted before the first read of db003");
            };
            try {
                await assert.rejects(provider.update!(id, outs as ReplicationState, toDb001), /interrupted before/);
            } finally {
                delete statementHooks.beforeStatement;
            }
            assert.equal(await readOnly(db002), 1, "the old source was not fenced first");
            const again = (await provider.update!(id, outs as ReplicationState, toDb001)).outs as ReplicationState;
            assert.equal(await readOnly(db002), 1, "the old source was not fenced");
            assert.deepEqual(again.fenced, []);
            assert.equal(again.healthy, true, JSON.stringify(again.replicaStatus));
            assert.equal((await replicaStatus(db002))?.source, `127.0.0.1:${db001.port}`);
            assert.deepEqual(await writable([db001, db002, db003]), ["db001"]);
            state = again;
        });

        it(`point 1/6: a failover whose dead source is dropped from members records it as fenced, reports it until fenced, and fences it when it comes back writable ${T}`, async () => {
            // db001 is the source (the test before): it dies and leaves the members in the same update, db003 promoted.
            await db001.stop(true);
            const toDb003 = quiet({ source: endpointOf(db003), replicas: [endpointOf(db002)] });
            const { outs } = await provider.update!(id, state, toDb003);
            const failed = outs as ReplicationState;
            assert.deepEqual(failed.fenced, ["db001"]);
            assert.equal(failed.healthy, false, "a former source not fenced yet must keep the set unhealthy");
            assert.equal((await refresh(failed)).healthy, false);
            assert.equal((await provider.diff!(id, failed, toDb003)).changes, true, "the next pulumi up must try again");
            await db001.start();
            await db001.query(isMaria(db001) ? "DO 0" : "SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF");
            assert.equal(await readOnly(db001), 0);
            const again = (await provider.update!(id, failed, toDb003)).outs as ReplicationState;
            assert.equal(await readOnly(db001), 1, "the former source was not fenced");
            if (!isMaria(db001)) assert.equal(Number((await db001.query<{ s: number }>("SELECT @@GLOBAL.super_read_only AS s"))[0].s), 1);
            assert.deepEqual(again.fenced, []);
            assert.equal(again.healthy, true, JSON.stringify(again));
            assert.deepEqual(await writable([db001, db002, db003]), ["db003"]);
            // db001 rejoins as a replica of db003.
            const back = await provider.update!(id, again, quiet({ source: endpointOf(db003), replicas: [endpointOf(db001), endpointOf(db002)] }));
            assert.equal(back.outs!.healthy, true, JSON.stringify(back.outs!.replicaStatus));
            state = back.outs as ReplicationState;
        });

        it(`a create that names another source (pulumi up --replace with the source changed) is refused with nothing changed, never two writable members ${T}`, async () => {
            // A create learns no previous source (no olds): it must read it off the servers. The declared source still
            // replicates from the current one, which the new inputs no longer declare.
            const current = cluster.byName(state.source.name);
            const [next, other] = state.replicas.map((r) => cluster.byName(r.name));
            const history = await Promise.all([current, next, other].map(executed));
            const moved = await provider.create!(quiet({ source: endpointOf(next), replicas: [endpointOf(other)] })).then((r) => r.outs, (e: Error) => e);
            assert.deepEqual(await writable([current, next, other]), [current.name], `after ${everything(moved, [])}`);
            assert.ok(moved instanceof Error, `the create promoted ${next.name}: ${everything(moved, [])}`);
            assert.match(moved.message, new RegExp(`refusing to make ${next.name} the source: it replicates from ${current.host}:${current.port}.*Nothing was changed`, "s"));
            assert.deepEqual(await Promise.all([current, next, other].map(executed)), history, "a member's history changed");
            for (const r of [next, other]) assert.equal((await replicaStatus(r))?.source, `${current.host}:${current.port}`);
            // What the refusal advises: the replacement declares the current source; the old resource's delete then
            // leaves the set replicating, and an update moves the source (a switchover, the previous source fenced).
            const created = await provider.create!(quiet({ source: endpointOf(current), replicas: [endpointOf(next), endpointOf(other)] }));
            assert.equal(created.outs.healthy, true, JSON.stringify(created.outs.replicaStatus));
            await provider.delete!(id, state);
            for (const r of [next, other]) {
                const threads = await replicaStatus(r);
                assert.equal(threads?.ioRunning && threads?.sqlRunning, true, `the old resource's delete detached ${r.name}: ${JSON.stringify(threads)}`);
            }
            assert.equal((await refresh(created.outs)).healthy, true);
            const { outs } = await provider.update!(created.id, created.outs, quiet({ source: endpointOf(next), replicas: [endpointOf(current), endpointOf(other)] }));
            assert.equal(outs!.healthy, true, JSON.stringify(outs!.replicaStatus));
            assert.deepEqual(await writable([current, next, other]), [next.name]);
            [id, state] = [created.id, outs as ReplicationState];
        });

        it(`a create whose declared source still follows a declared member (a switchover cut after its fence) switches over from that member ${T}`, async () => {
            const current = cluster.byName(state.source.name);
            const [next, other] = state.replicas.map((r) => cluster.byName(r.name));
            // A last write, then the fence a switchover starts with (by hand here): the current source read-only, every
            // replica still following it. A create (no previous source known) that names another source must finish it.
            await current.query("INSERT INTO app.items SELECT COALESCE(MAX(id), 0) + 1 FROM app.items");
            const [{ last }] = await current.query<{ last: number }>("SELECT MAX(id) AS last FROM app.items");
            await current.query(isMaria(current) ? "SET GLOBAL read_only = ON" : "SET GLOBAL super_read_only = ON");
            const created = await provider.create!(quiet({ source: endpointOf(next), replicas: [endpointOf(current), endpointOf(other)] }));
            assert.equal(created.outs.healthy, true, JSON.stringify(created.outs.replicaStatus));
            assert.deepEqual(await writable([current, next, other]), [next.name]);
            assert.equal(await replicaStatus(next), undefined, `${next.name} still replicates from ${current.name}`);
            for (const r of [current, other]) assert.equal((await replicaStatus(r))?.source, `${next.host}:${next.port}`);
            assert.equal((await next.query(`SELECT 1 FROM app.items WHERE id = ${Number(last)}`)).length, 1, "the last write was lost");
            await provider.delete!(id, state);
            for (const r of [current, other]) {
                const threads = await replicaStatus(r);
                assert.equal(threads?.ioRunning && threads?.sqlRunning, true, `the old resource's delete detached ${r.name}: ${JSON.stringify(threads)}`);
            }
            [id, state] = [created.id, created.outs];
        });

        it(`a create that fails after converging claims nothing: the delete of the resource that exists still detaches the set ${T}`, async () => {
            // A replacement whose create is cut at its verify (the probe row): the engine never records it, so its
            // claim must not outlive it, or the existing resource's delete (pulumi destroy) would detach nobody.
            statementHooks.beforeStatement = (_member, sql) => {
                if (sql.startsWith("REPLACE INTO `replicaset_probe`.`probe`")) throw new Error("verify cut by the test");
            };
            try {
                await assert.rejects(provider.create!(quiet({ source: state.source, replicas: state.replicas })), /verify cut by the test/);
            } finally {
                delete statementHooks.beforeStatement;
            }
            await provider.delete!(id, state);
            for (const r of state.replicas.map((e) => cluster.byName(e.name))) {
                assert.equal((await replicaStatus(r))?.configured ?? false, false, `the delete left ${r.name} replicating: ${JSON.stringify(log)}`);
            }
        });

        it(`a create whose declared source follows a declared member that follows a server of its own is refused, nothing changed ${T}`, async () => {
            // A chain made by hand: top (writable, left out of the new inputs) -> middle -> candidate. Switching over
            // from middle alone would fence it and leave top writable beside the candidate.
            const [top, middle, candidate] = [state.source.name, ...state.replicas.map((r) => r.name)].map((n) => cluster.byName(n));
            const created = await provider.create!(quiet({ source: endpointOf(top), replicas: [endpointOf(middle), endpointOf(candidate)] }));
            [id, state] = [created.id, created.outs];
            const password = quiet().replicationPassword;
            // TLS wherever the server has it: MySQL's caching_sha2 account needs TLS (or the source's key), and an account
            // the provider made on a member while it was the source requires it where TLS is available.
            const [ssl] = await middle.query<{ Value: string }>("SHOW GLOBAL VARIABLES LIKE 'have_ssl'");
            const tls = !isMaria(candidate) || ssl?.Value === "YES";
            await writeByHand(middle, "SET SESSION sql_log_bin = 0", `CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY ${mysql.escape(password)}`, "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'");
            const dialect = isMaria(candidate) ? { stop: "STOP SLAVE", start: "START SLAVE" } : { stop: "STOP REPLICA", start: "START REPLICA" };
            await writeByHand(candidate, dialect.stop, changeSourceBy(candidate, middle, password, tls), dialect.start);
            await top.query("INSERT INTO app.items SELECT COALESCE(MAX(id), 0) + 1 FROM app.items");
            const [{ last }] = await top.query<{ last: number }>("SELECT MAX(id) AS last FROM app.items");
            await eventually(`the row to reach ${candidate.name} through ${middle.name}`, SETTLE_SECONDS, async () => (await candidate.query(`SELECT 1 FROM app.items WHERE id = ${Number(last)}`)).length === 1);
            assert.equal((await replicaStatus(candidate))?.source, `${middle.host}:${middle.port}`);
            const before = await Promise.all([top, middle, candidate].map(executed));
            await assert.rejects(
                provider.create!(quiet({ source: endpointOf(candidate), replicas: [endpointOf(middle)] })),
                (error: Error) => new RegExp(`refusing to make ${candidate.name} the source: it replicates from ${middle.name}, which replicates from`).test(error.message) && /Nothing was changed/.test(error.message),
            );
            assert.deepEqual(await writable([top, middle, candidate]), [top.name]);
            assert.deepEqual(await Promise.all([top, middle, candidate].map(executed)), before, "a member's history changed");
            assert.equal((await replicaStatus(candidate))?.source, `${middle.host}:${middle.port}`);
        });
    });
}
