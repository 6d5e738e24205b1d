/**
 * What the tests ask a server, in the words of its flavor: replica status, own transactions, accounts,
 * binlogs. The provider's dialect table is not used for the assertions themselves where a test checks the
 * provider's statements; the forms here are the plain ones both MariaDB 10.5+ and MySQL 8.0.22+ accept where
 * one exists (STOP/START/RESET REPLICA, SHOW REPLICA STATUS).
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { changeSource, dialectFor, identifyServer, type Dialect } from "../../components/replication/dialect";
import { defaultChannelRow, parseReplicaStatus, type ReplicaThreads } from "../../components/replication/status";
import type { MariaServer } from "./servers";

export function isMaria(server: MariaServer): boolean {
    return server.runtime.kind === "mariadb";
}

/** Writes by hand on a member, past read_only (and super_read_only on MySQL), as someone at a console would. */
export async function writeByHand(server: MariaServer, ...statements: string[]): Promise<void> {
    await server.query(isMaria(server) ? "DO 0" : "SET GLOBAL super_read_only = OFF", "SET GLOBAL read_only = OFF", ...statements, "SET GLOBAL read_only = ON");
}

export function dialectOf(server: MariaServer): Dialect {
    return dialectFor(identifyServer(server.versionText, isMaria(server) ? "mariadb" : ""));
}

/** The replica's status row (default channel), parsed like the provider parses it; undefined when none. */
export async function replicaStatus(server: MariaServer): Promise<ReplicaThreads | undefined> {
    const rows = await server.query(dialectOf(server).status);
    const row = defaultChannelRow(rows);
    return row ? parseReplicaStatus(row) : undefined;
}

/** The raw status row, for columns the provider does not parse. */
export async function replicaStatusRow(server: MariaServer): Promise<Record<string, unknown> | undefined> {
    return defaultChannelRow(await server.query(dialectOf(server).status));
}

/** A column of the status row under either name (MySQL 8.0.22+ Source_/Replica_, MariaDB Master_/Slave_). */
export function column(row: Record<string, unknown> | undefined, newName: string, oldName: string): unknown {
    if (!row) return undefined;
    return newName in row ? row[newName] : row[oldName];
}

/** The server's executed transactions: MySQL gtid_executed, MariaDB gtid_binlog_state. */
export async function executed(server: MariaServer): Promise<string> {
    const sql = isMaria(server) ? "SELECT @@GLOBAL.gtid_binlog_state AS g" : "SELECT @@GLOBAL.gtid_executed AS g";
    return String((await server.query<{ g: string }>(sql))[0].g ?? "").replace(/\s+/g, "");
}

/** Transactions this server wrote itself (its own server id / UUID in its history), "" when none. */
export async function ownTransactions(server: MariaServer): Promise<string> {
    const all = await executed(server);
    if (all === "") return "";
    if (isMaria(server)) {
        return all.split(",").filter((g) => g.split("-")[1] === String(server.spec.serverId)).join(",");
    }
    const [{ uuid }] = await server.query<{ uuid: string }>("SELECT @@GLOBAL.server_uuid AS uuid");
    return all.split(",").filter((g) => g.toLowerCase().startsWith(String(uuid).toLowerCase())).join(",");
}

/** Whether the account requires TLS (REQUIRE SSL / X509 / ...): MariaDB global_priv JSON, MySQL mysql.user. */
export async function accountRequiresTls(server: MariaServer, user: string, host: string): Promise<boolean | undefined> {
    const rows = isMaria(server)
        ? await server.query<{ t: string }>(`SELECT JSON_VALUE(Priv, '$.ssl_type') AS t FROM mysql.global_priv WHERE User = ${q(user)} AND Host = ${q(host)}`)
        : await server.query<{ t: string }>(`SELECT ssl_type AS t FROM mysql.user WHERE User = ${q(user)} AND Host = ${q(host)}`);
    if (rows.length === 0) return undefined;
    const t = String(rows[0].t);
    return isMaria(server) ? t !== "0" && t !== "null" : t !== "";
}

export async function accountExists(server: MariaServer, user: string, host: string): Promise<boolean> {
    const table = isMaria(server) ? "mysql.global_priv" : "mysql.user";
    return (await server.query(`SELECT 1 FROM ${table} WHERE User = ${q(user)} AND Host = ${q(host)}`)).length === 1;
}

/** Points `replica` at `source` by hand, the way the runbook does (auto-positioned, no TLS unless asked). */
export function changeSourceBy(replica: MariaServer, source: MariaServer, password: string, tls = false): string {
    return changeSource(dialectOf(replica), { host: source.host, port: source.port, user: "repl", password, connectRetrySeconds: 1, tls });
}

/** Every binary log file of the server, as bytes (read from its datadir). */
export async function binlogBytes(server: MariaServer): Promise<Buffer[]> {
    const names = (await readdir(server.datadir)).filter((n) => /^mysql-bin\.\d+$/.test(n));
    return Promise.all(names.map((n) => readFile(join(server.datadir, n))));
}

/** The binlog files with their sizes, oldest first. */
export async function binlogFiles(server: MariaServer): Promise<Array<{ name: string; size: number }>> {
    const rows = await server.query<{ Log_name: string; File_size: number }>("SHOW BINARY LOGS");
    return rows.map((r) => ({ name: String(r.Log_name), size: Number(r.File_size) }));
}

/** The id of the replica's IO (receiver) thread, from the process list; undefined when none runs. */
export async function ioThreadId(server: MariaServer): Promise<number | undefined> {
    const list = await server.query<Record<string, unknown>>("SHOW PROCESSLIST");
    const io = list.find(
        (p) =>
            p.User === "system user" &&
            /waiting for (master|source) to send event|connecting to (master|source)|queueing (master|source) event/i.test(String(p.State)),
    );
    return io ? Number(io.Id) : undefined;
}

function q(value: string): string {
    return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** The account's TLS requirement as MySQL names it: NONE, ANY (REQUIRE SSL), X509 or SPECIFIED; undefined when no account. */
export async function accountTlsRequirement(server: MariaServer, user: string, host: string): Promise<string | undefined> {
    const rows = isMaria(server)
        ? await server.query<{ t: string }>(`SELECT JSON_VALUE(Priv, '$.ssl_type') AS t FROM mysql.global_priv WHERE User = ${q(user)} AND Host = ${q(host)}`)
        : await server.query<{ t: string }>(`SELECT ssl_type AS t FROM mysql.user WHERE User = ${q(user)} AND Host = ${q(host)}`);
    if (rows.length === 0) return undefined;
    const t = String(rows[0].t ?? "");
    // MariaDB's global_priv stores enum SSL_type: 0 NONE, 1 ANY, 2 X509, 3 SPECIFIED (absent: NONE).
    if (isMaria(server)) return ({ "0": "NONE", "1": "ANY", "2": "X509", "3": "SPECIFIED" } as Record<string, string>)[t] ?? "NONE";
    return t === "" ? "NONE" : t;
}
