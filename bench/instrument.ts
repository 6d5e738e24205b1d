/**
 * In-process instrumentation of the provider's database I/O, for the benchmark only.
 *
 * The provider loads mysql2 with `require("mysql2/promise")` inside its functions, so replacing
 * `createConnection` on that module's exports reaches every connection it opens. Two uses:
 * - counting: how many connections (mysql2 connections or pools, and raw TCP sockets) a call opens;
 * - tracing: every connect and statement with its start time and duration, to see where create's time goes.
 */
import * as net from "node:net";
import { performance } from "node:perf_hooks";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const mysqlPromise = require("mysql2/promise") as Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const mysqlCallback = require("mysql2") as Record<string, unknown>;

type AnyFn = (...args: unknown[]) => unknown;

export interface TraceEntry {
    /** ms since the trace started (high-resolution clock). */
    at: number;
    ms: number;
    port: number;
    what: string;
}

/** Counts connections opened while `fn` runs: mysql2 createConnection/createPool (promise and callback APIs) and TCP sockets. */
export async function countConnections<T>(fn: () => Promise<T>): Promise<{ value: T; mysql2: number; sockets: number }> {
    let mysql2 = 0;
    let sockets = 0;
    const restore: Array<() => void> = [];
    for (const mod of [mysqlPromise, mysqlCallback]) {
        for (const name of ["createConnection", "createPool", "createPoolCluster"]) {
            const original = mod[name] as AnyFn;
            mod[name] = (...args: unknown[]) => {
                mysql2++;
                return original(...args);
            };
            restore.push(() => (mod[name] = original));
        }
    }
    const originalConnect = net.Socket.prototype.connect;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
        sockets++;
        return (originalConnect as AnyFn).apply(this, args);
    } as typeof originalConnect;
    restore.push(() => (net.Socket.prototype.connect = originalConnect));
    try {
        const value = await fn();
        return { value, mysql2, sockets };
    } finally {
        restore.forEach((undo) => undo());
    }
}

/** Records every connection the provider opens and every statement it runs while `fn` runs. */
export async function traceStatements<T>(fn: () => Promise<T>): Promise<{ value: T; trace: TraceEntry[] }> {
    const trace: TraceEntry[] = [];
    const started = performance.now();
    const original = mysqlPromise.createConnection as (options: { port: number }) => Promise<{ query: AnyFn }>;
    mysqlPromise.createConnection = async (options: { port: number }) => {
        const t = performance.now();
        const connection = await original(options);
        trace.push({ at: t - started, ms: performance.now() - t, port: options.port, what: "(connect)" });
        const query = connection.query.bind(connection) as AnyFn;
        connection.query = async (sql: unknown, ...rest: unknown[]) => {
            const t1 = performance.now();
            try {
                return await query(sql, ...rest);
            } finally {
                // The provider passes { sql, timeout }.
                const statement = typeof sql === "object" && sql !== null && "sql" in sql ? (sql as { sql: unknown }).sql : sql;
                const text = String(statement).replace(/PASSWORD\s*=\s*'[^']*'|IDENTIFIED BY '[^']*'/gi, (m) => m.replace(/'[^']*'$/, "'***'"));
                trace.push({ at: t1 - started, ms: performance.now() - t1, port: options.port, what: text });
            }
        };
        return connection;
    };
    try {
        const value = await fn();
        return { value, trace: trace.sort((a, b) => a.at - b.at) };
    } finally {
        mysqlPromise.createConnection = original;
    }
}
