/**
 * The router's health-check account (issue #15) on every server of the matrix: created by the provider on the
 * source, replicated to every replica, without privilege or password, with the plugin the router's check speaks;
 * an empty-password login works over TCP; on MySQL the router's own handshake bytes get an OK packet and leave
 * no aborted connection; a second run creates nothing.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect as tcpConnect } from "node:net";
import * as mysql from "mysql2/promise";
import { MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { inputsFor, eventually, SETTLE_SECONDS } from "../support/replicationInputs";
import { isMaria, writeByHand } from "../support/sql";
import { replicationProvider as provider } from "../../components/replication/provider";
import type { ReplicationState } from "../../components/replication/types";
import { caching2HandshakeResponse } from "../../components/router/render";
import { ROUTER_CHECK_USER } from "../../config/accounts";

/** What the server sends back to the router's caching_sha2 check (greeting, then the answer), until it closes. */
function rawCheck(server: MariaServer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const socket = tcpConnect({ host: server.host, port: server.port });
        const chunks: Buffer[] = [];
        socket.setTimeout(5000, () => socket.destroy(new Error("no close within 5 s")));
        socket.on("connect", () => socket.write(Buffer.from(`${caching2HandshakeResponse(ROUTER_CHECK_USER)}0100000001`, "hex")));
        socket.on("data", (d) => chunks.push(d));
        socket.on("error", reject);
        socket.on("close", () => resolve(Buffer.concat(chunks)));
    });
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
            state = (await provider.create!(inputsFor(cluster, { routerCheckUser: ROUTER_CHECK_USER }))).outs;
            assert.equal(state.healthy, true);
        });
        after(async () => cluster?.destroy());

        it(`a replica that had the account already applied the source's CREATE USER and replicates on ${T}`, async () => {
            const [threads] = await cluster.replicas[1].query<Record<string, string>>(isMaria(cluster.source) ? "SHOW SLAVE STATUS" : "SHOW REPLICA STATUS");
            assert.equal(threads.Last_SQL_Error ?? threads.Last_Error, "");
            assert.equal(threads.Slave_SQL_Running ?? threads.Replica_SQL_Running, "Yes");
            assert.equal(state.replicaStatus[cluster.replicas[1].name].lastSqlError, "");
        });

        it(`exists on every member with no password and no privilege, by the check's plugin ${T}`, async () => {
            const plugin = isMaria(cluster.source) ? "mysql_native_password" : "caching_sha2_password";
            for (const server of [cluster.source, ...cluster.replicas]) {
                await eventually(`the account on ${server.name}`, SETTLE_SECONDS, async () =>
                    (await server.query(`SELECT 1 FROM mysql.user WHERE User = '${ROUTER_CHECK_USER}' AND Host = '127.0.0.1'`)).length === 1);
                const [account] = await server.query<{ plugin: string; auth: string }>(
                    `SELECT plugin, authentication_string AS auth FROM mysql.user WHERE User = '${ROUTER_CHECK_USER}' AND Host = '127.0.0.1'`);
                assert.equal(account.plugin, plugin, `${server.name}'s plugin`);
                assert.equal(String(account.auth), "", `${server.name}: no password`);
                const grants = (await server.query<Record<string, string>>(`SHOW GRANTS FOR '${ROUTER_CHECK_USER}'@'127.0.0.1'`)).map((g) => Object.values(g)[0]);
                assert.deepEqual(grants.map((g) => g.replace(/`/g, "'")), [`GRANT USAGE ON *.* TO '${ROUTER_CHECK_USER}'@'127.0.0.1'`], `${server.name}: USAGE only`);
            }
        });

        it(`an empty-password login works over TCP on every member, and may read nothing ${T}`, async () => {
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

        it(`MySQL: the router's caching_sha2 check gets an OK packet and leaves no aborted connection ${T}`, async (t) => {
            if (isMaria(cluster.source)) return t.skip("MariaDB is checked by HAProxy's own mysql-check (see the e2e test)");
            const before = await abortedConnects(cluster.replicas[0]);
            for (let i = 0; i < 5; i++) {
                const answer = await rawCheck(cluster.replicas[0]);
                const greeting = 4 + answer.readUIntLE(0, 3);
                assert.equal(answer.subarray(greeting, greeting + 5).toString("hex"), "0700000200", `an OK packet after the greeting: ${answer.toString("hex")}`);
            }
            assert.equal(await abortedConnects(cluster.replicas[0]), before);
        });

        it(`a second run creates no account again (no CREATE USER in the source's binlog) ${T}`, async () => {
            const [end] = await cluster.source.query<{ File: string; Position: number }>(isMaria(cluster.source) ? "SHOW MASTER STATUS" : "SHOW BINARY LOG STATUS");
            const inputs = inputsFor(cluster, { routerCheckUser: ROUTER_CHECK_USER });
            state = (await provider.update!(`${cluster.source.name}-replicaset`, { ...state, healthy: false }, inputs)).outs;
            const events = await cluster.source.query<{ Info: string }>(`SHOW BINLOG EVENTS IN '${end.File}' FROM ${Number(end.Position)}`);
            assert.deepEqual(events.map((e) => String(e.Info)).filter((i) => /CREATE USER/i.test(i)), []);
        });

        it(`when the router's patterns change, the rows no longer declared go on every member, the appliers run on ${T}`, async () => {
            const inputs = { ...inputsFor(cluster, { routerCheckUser: ROUTER_CHECK_USER }), routerCheckHosts: ["127.0.0.2"] };
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
    });
}
