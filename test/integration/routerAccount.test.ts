/**
 * The router's health-check account (issues #15, #31) on every server of the matrix: created by the provider on
 * the source, replicated to every replica, without password, with the plugin the router's check speaks and
 * SELECT on the tables its checks read only; an empty-password login works over TCP; the router's own check bytes
 * (check.ts) get an OK packet, answer with the marker exactly when the member is fit, and leave no aborted
 * connection; a second run creates nothing.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import * as mysql from "mysql2/promise";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { inputsFor, eventually, SETTLE_SECONDS } from "../support/replicationInputs";
import { isMaria, writeByHand } from "../support/sql";
import { replicationProvider as provider } from "../../components/replication/provider";
import { diffInputs } from "../../components/replication/plan";
import type { ReplicationState } from "../../components/replication/types";
import { ROUTER_CHECK_USER } from "../../config/accounts";
import { CHECK_FLAVOR_OF_DIALECT, checkExchange, COM_QUIT, FIT_MARKER, handshakeResponse, type CheckKind } from "../../components/router/check";
import { dialectFor, identifyServer } from "../../components/replication/dialect";

/** What the server sends back to `bytes` sent at once as HAProxy's tcp-check does (greeting, then the answers), until it closes. */
function rawCheck(server: MariaServer, bytes: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const socket = tcpConnect({ host: server.host, port: server.port });
        const chunks: Buffer[] = [];
        socket.setTimeout(5000, () => socket.destroy(new Error("no close within 5 s")));
        socket.on("connect", () => socket.write(bytes));
        socket.on("data", (d) => chunks.push(d));
        socket.on("error", reject);
        socket.on("close", () => resolve(Buffer.concat(chunks)));
    });
}

async function versionOf(server: MariaServer): Promise<[string, string]> {
    const [row] = await server.query<{ v: string; c: string }>("SELECT VERSION() AS v, @@version_comment AS c");
    return [String(row.v), String(row.c)];
}

async function abortedConnects(server: MariaServer): Promise<number> {
    const [row] = await server.query<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Aborted_connects'");
    return Number(row.Value);
}

for (const flavor of MATRIX) {
    const T = serverTitle(flavor);

    describe(`the router's check account ${T}`, () => {
        let cluster: MariaCluster;
        let state: ReplicationState;
        before(async () => {
            cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true });
            // One replica has the account already (made by hand, binlog off): the source's replicated CREATE USER
            // must not stop its applier (1396).
            const plugin = isMaria(cluster.source) ? "" : " IDENTIFIED WITH caching_sha2_password";
            await writeByHand(cluster.replicas[1], "SET SESSION sql_log_bin = 0", `CREATE USER '${ROUTER_CHECK_USER}'@'127.0.0.1'${plugin}`, "SET SESSION sql_log_bin = 1");
            state = (await provider.create!(inputsFor(cluster, { routerCheckUser: ROUTER_CHECK_USER, routerCheckReads: ["threads", "heartbeat"] }))).outs;
            assert.equal(state.healthy, true);
        });
        after(async () => cluster?.destroy());

        it(`a replica that had the account already applied the source's CREATE USER and replicates on ${T}`, async () => {
            const [threads] = await cluster.replicas[1].query<Record<string, string>>(isMaria(cluster.source) ? "SHOW SLAVE STATUS" : "SHOW REPLICA STATUS");
            assert.equal(threads.Last_SQL_Error ?? threads.Last_Error, "");
            assert.equal(threads.Slave_SQL_Running ?? threads.Replica_SQL_Running, "Yes");
            assert.equal(state.replicaStatus[cluster.replicas[1].name].lastSqlError, "");
        });

        it(`exists on every member with no password, by the check's plugin, with SELECT only on what the checks read ${T}`, async () => {
            const plugin = isMaria(cluster.source) ? "mysql_native_password" : "caching_sha2_password";
            for (const server of [cluster.source, ...cluster.replicas]) {
                await eventually(`the account on ${server.name}`, SETTLE_SECONDS, async () =>
                    (await server.query(`SELECT 1 FROM mysql.user WHERE User = '${ROUTER_CHECK_USER}' AND Host = '127.0.0.1'`)).length === 1);
                const [account] = await server.query<{ plugin: string; auth: string }>(
                    `SELECT plugin, authentication_string AS auth FROM mysql.user WHERE User = '${ROUTER_CHECK_USER}' AND Host = '127.0.0.1'`);
                assert.equal(account.plugin, plugin, `${server.name}'s plugin`);
                assert.equal(String(account.auth), "", `${server.name}: no password`);
                const grants = (await server.query<Record<string, string>>(`SHOW GRANTS FOR '${ROUTER_CHECK_USER}'@'127.0.0.1'`)).map((g) => Object.values(g)[0]);
                const tables = isMaria(cluster.source) ? [] : ["performance_schema.replication_applier_status", "performance_schema.replication_connection_status"];
                assert.deepEqual(
                    grants.map((g) => g.replace(/`/g, "")).sort(),
                    [`GRANT USAGE ON *.* TO ${ROUTER_CHECK_USER}@127.0.0.1`, ...[...tables, "replicaset_probe.heartbeat"].map((t) => `GRANT SELECT ON ${t} TO ${ROUTER_CHECK_USER}@127.0.0.1`)].sort(),
                    `${server.name}: USAGE, and SELECT on what the checks read`,
                );
            }
        });

        it(`an empty-password login works over TCP on every member, and may read nothing but what the checks read ${T}`, async () => {
            for (const server of [cluster.source, ...cluster.replicas]) {
                const c = await mysql.createConnection({ host: server.host, port: server.port, user: ROUTER_CHECK_USER, password: "" });
                try {
                    const [rows] = await c.query("SELECT CURRENT_USER() AS u");
                    assert.equal((rows as Array<{ u: string }>)[0].u, `${ROUTER_CHECK_USER}@127.0.0.1`);
                    await assert.rejects(c.query("SELECT * FROM replicaset_probe.probe"), /denied/i);
                } finally {
                    await c.end();
                }
            }
        });

        it(`the check's handshake response gets an OK packet at once (no auth switch) and leaves no aborted connection ${T}`, async () => {
            const flavor = CHECK_FLAVOR_OF_DIALECT[dialectFor(identifyServer(...(await versionOf(cluster.replicas[0])))).name];
            const plugin = isMaria(cluster.source) ? "mysql_native_password" : "caching_sha2_password";
            const before = await abortedConnects(cluster.replicas[0]);
            for (let i = 0; i < 5; i++) {
                const answer = await rawCheck(cluster.replicas[0], Buffer.concat([handshakeResponse(ROUTER_CHECK_USER, plugin), COM_QUIT]));
                const greeting = 4 + answer.readUIntLE(0, 3);
                // An OK packet: sequence 2, header 0x00 (0xfe would be an auth switch, 0xff an error).
                assert.equal(answer.subarray(greeting + 3, greeting + 5).toString("hex"), "0200", `an OK packet after the greeting: ${answer.toString("hex")}`);
            }
            for (const kind of ["writer", "reader", "alive"] as CheckKind[]) await rawCheck(cluster.replicas[0], checkExchange(ROUTER_CHECK_USER, flavor, kind, 30));
            assert.equal(await abortedConnects(cluster.replicas[0]), before);
        });

        it(`the checks answer fit exactly when the member is: writer on the writable source, reader on a running replica ${T}`, async () => {
            const flavor = CHECK_FLAVOR_OF_DIALECT[dialectFor(identifyServer(...(await versionOf(cluster.source)))).name];
            const fit = async (server: MariaServer, kind: CheckKind, lag = 30) => (await rawCheck(server, checkExchange(ROUTER_CHECK_USER, flavor, kind, lag))).includes(FIT_MARKER);
            const replica = cluster.replicas[0];
            await eventually("a heartbeat applied on the replica", SETTLE_SECONDS, async () => fit(replica, "reader"));
            assert.deepEqual([await fit(cluster.source, "writer"), await fit(cluster.source, "reader"), await fit(cluster.source, "alive")], [true, false, true], "source");
            assert.deepEqual([await fit(replica, "writer"), await fit(replica, "reader"), await fit(replica, "alive")], [false, true, true], "replica");
            const stop = isMaria(cluster.source) ? "STOP SLAVE SQL_THREAD" : "STOP REPLICA SQL_THREAD";
            await replica.query(stop);
            try {
                assert.equal(await fit(replica, "reader"), false, "a stopped applier is unfit");
                assert.equal(await fit(replica, "reader", 0), false, "a stopped applier is unfit with no lag limit too");
            } finally {
                await replica.query(isMaria(cluster.source) ? "START SLAVE SQL_THREAD" : "START REPLICA SQL_THREAD");
            }
            await eventually("the replica fit again", SETTLE_SECONDS, async () => fit(replica, "reader"));
            await replica.query(isMaria(cluster.source) ? "STOP SLAVE IO_THREAD" : "STOP REPLICA IO_THREAD");
            try {
                assert.equal(await fit(replica, "reader", 0), false, "a stopped receiver is unfit");
            } finally {
                await replica.query(isMaria(cluster.source) ? "START SLAVE IO_THREAD" : "START REPLICA IO_THREAD");
            }
        });

        it(`a second run creates no account again (no CREATE USER in the source's binlog) ${T}`, async () => {
            const [end] = await cluster.source.query<{ File: string; Position: number }>(isMaria(cluster.source) ? "SHOW MASTER STATUS" : "SHOW BINARY LOG STATUS");
            const inputs = inputsFor(cluster, { routerCheckUser: ROUTER_CHECK_USER, routerCheckReads: ["threads", "heartbeat"] });
            state = (await provider.update!(`${cluster.source.name}-replicaset`, { ...state, healthy: false }, inputs)).outs;
            const events = await cluster.source.query<{ Info: string }>(`SHOW BINLOG EVENTS IN '${end.File}' FROM ${Number(end.Position)}`);
            assert.deepEqual(events.map((e) => String(e.Info)).filter((i) => /CREATE USER|GRANT/i.test(i)), []);
        });

        it(`when the router's patterns change, the rows no longer declared go on every member, the appliers run on ${T}`, async () => {
            const inputs = { ...inputsFor(cluster, { routerCheckUser: ROUTER_CHECK_USER, routerCheckReads: ["threads", "heartbeat"] }), routerCheckHosts: ["127.0.0.2"] };
            const olds = { ...state, routerCheckUser: ROUTER_CHECK_USER, healthy: false };
            state = (await provider.update!(`${cluster.source.name}-replicaset`, olds, inputs)).outs;
            assert.equal(state.healthy, true, JSON.stringify(state.replicaStatus));
            for (const server of [cluster.source, ...cluster.replicas]) {
                await eventually(`only the new row on ${server.name}`, SETTLE_SECONDS, async () => {
                    const hosts = await server.query<{ Host: string }>(`SELECT Host FROM mysql.user WHERE User = '${ROUTER_CHECK_USER}' ORDER BY Host`);
                    return hosts.map((h) => h.Host).join(",") === "127.0.0.2";
                });
            }
        });

        it(`an account a stack made before the checks read anything is granted at the next update, on every member ${T}`, async () => {
            const inputs = { ...inputsFor(cluster, { routerCheckUser: ROUTER_CHECK_USER, routerCheckReads: ["threads", "heartbeat"] }), routerCheckHosts: ["127.0.0.2"] };
            const tables = isMaria(cluster.source) ? ["replicaset_probe.heartbeat"] : ["performance_schema.replication_connection_status", "performance_schema.replication_applier_status", "replicaset_probe.heartbeat"];
            // As that stack left it: the account with USAGE only (binlogged, as it was made), state without the key.
            for (const t of tables) await cluster.source.query(`REVOKE SELECT ON ${t} FROM '${ROUTER_CHECK_USER}'@'127.0.0.2'`);
            const olds = { ...state, routerCheckReads: undefined, healthy: true };
            assert.equal(diffInputs(olds, inputs).changes, true, "the new key alone makes the next `up` converge");
            state = (await provider.update!(`${cluster.source.name}-replicaset`, olds, inputs)).outs;
            assert.equal(state.healthy, true, JSON.stringify(state.replicaStatus));
            for (const server of [cluster.source, ...cluster.replicas]) {
                await eventually(`the grants on ${server.name}`, SETTLE_SECONDS, async () => {
                    const grants = await server.query<{ Db: string; Table_name: string }>(`SELECT Db, Table_name FROM mysql.tables_priv WHERE User = '${ROUTER_CHECK_USER}' AND Host = '127.0.0.2'`);
                    return grants.map((g) => `${g.Db}.${g.Table_name}`).sort().join() === [...tables].sort().join();
                });
            }
        });
    });
}
