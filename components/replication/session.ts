/**
 * Database I/O for the replication provider: connecting with backoff until a deadline, running statements
 * with secrets redacted from errors, polling with short backoff. mysql2 is loaded inside the functions: the
 * engine serializes the provider's code into state, and a module-level import would be captured there.
 */
import type { Connection } from "mysql2/promise";
import { redact } from "./redact";

/** How the provider reaches one member, and what it calls it. */
export interface Endpoint {
    /** Member name, used in every message. */
    name: string;
    host: string;
    port: number;
}

export interface Credentials {
    user: string;
    password: string;
    /**
     * Verified TLS: trust only these CA certificates (PEM) and check that the server's certificate names the
     * address dialled (an IP address against its IP SANs).
     */
    trustedCa?: string;
}

/** An open connection to one member, with the secrets its errors must never show. */
export interface Session {
    endpoint: Endpoint;
    connection: Connection;
    secrets: string[];
    /**
     * Epoch ms by which the operation that opened this session must end. Every statement checks it before it
     * runs, so a deadline also ends a run that never waits (query), not only its waits (pollUntil).
     */
    deadline: number;
}

/**
 * Test seam, empty in production: called before every statement with the member's name and the statement. A
 * test makes a run fail at a chosen statement by throwing from it (test/integration), so an interrupted run is
 * reproduced exactly, not by racing a short deadline. Module state is serialized with the provider by value,
 * so the engine's copy always holds the empty object.
 */
export const statementHooks: { beforeStatement?: (member: string, sql: string) => void } = {};

/** The error a run gets when its deadline passes between two statements. */
export class DeadlineExceeded extends Error {}

/** mysql2 error codes that retrying cannot fix. An array, not a Set: a serialized Set loses its contents (provider.ts). */
const FATAL_CONNECT_ERRORS: readonly string[] = ["ER_ACCESS_DENIED_ERROR", "ER_DBACCESS_DENIED_ERROR", "ER_NOT_SUPPORTED_AUTH_MODE", "ER_HOST_NOT_PRIVILEGED"];

/**
 * mysql2 reports every failed TLS handshake as HANDSHAKE_SSL_ERROR; one that names the certificate (untrusted
 * chain, expired, wrong name) is a server we must not trust, and retrying cannot fix it.
 */
export function isCertificateRefusal(code: string, message: string): boolean {
    return code === "HANDSHAKE_SSL_ERROR" && /certificate|altnames|self[- ]signed|unable to verify|unable to get/i.test(message);
}

/** A certificate refusal in plain words: what the provider checked, and what to do. */
export function certificateRefusal(endpoint: Endpoint, detail: string): string {
    return (
        `${endpoint.name} (${endpoint.host}:${endpoint.port}) presented a TLS certificate the provider does not trust: ${detail}. ` +
        `The provider only talks to a server whose certificate the stack's CA signed and that names ${endpoint.host}; ` +
        "someone else may be answering on that address, or the member still has certificates of another stack. Nothing was changed."
    );
}

/** Backoff for polls: starts short (the common case is fast on a LAN), grows to a cap, never a fixed sleep. */
export function backoff(attempt: number, firstMs = 20, capMs = 250): number {
    return Math.min(capMs, Math.round(firstMs * Math.pow(1.6, attempt)));
}

/** Waits one backoff step; only pollUntil and connectWithin call it, always bounded by their deadline. */
export function pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms)); // a backoff delay between polls, never a fixed wait
}

export function describe(error: unknown): string {
    if (error instanceof Error) {
        const code = (error as { code?: string }).code;
        return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
    }
    return String(error);
}

/** What a connection may do beyond one statement at a time (the seed's own connections). */
export interface ConnectOptions {
    /** Several statements in one round trip (queryMany): only for statements the provider builds itself. */
    multipleStatements?: boolean;
    /**
     * A member that may be down (a previous source, a fenced member): give up after this many ms if the server has
     * not answered at all by then (refused, unreachable, timed out). One that answers, even with an error (1040 Too
     * many connections, 1129 host blocked, ...), is alive and is tried until the deadline.
     */
    goneAfterMs?: number;
}

/**
 * The timeout error of connectWithin. `serverAnswered`: some attempt got an answer from a server (an error
 * packet: it is alive, only busy or refusing), as opposed to none ever reaching one (it is gone). A plain Error
 * with a property, not a subclass: the engine runs a serialized copy of this module, where a subclass of Error
 * does not survive as one.
 */
export interface ConnectTimeout extends Error {
    serverAnswered: boolean;
}

export function connectTimeout(message: string, serverAnswered: boolean): ConnectTimeout {
    return Object.assign(new Error(message), { serverAnswered });
}

/**
 * Whether a failed attempt was answered by a server: its error carries a server error number (1040, 1045, 1129,
 * ...). Node's socket errors carry a negative errno or none; mysql2's connect timeout none; the client-side
 * CR_* numbers (2000-2999) are not the server's word.
 */
export function answeredByServer(error: unknown): boolean {
    const errno = (error as { errno?: unknown }).errno;
    return typeof errno === "number" && errno > 0 && !(errno >= 2000 && errno < 3000);
}

/**
 * Connects to a member, retrying with backoff until the deadline (epoch ms). A wrong password fails at once;
 * a timeout names the member, its address and the last error seen.
 */
export async function connectWithin(endpoint: Endpoint, credentials: Credentials, deadline: number, options: ConnectOptions = {}): Promise<Session> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mysql = require("mysql2/promise") as typeof import("mysql2/promise");
    const started = Date.now();
    const goneAt = options.goneAfterMs === undefined ? deadline : Math.min(deadline, started + options.goneAfterMs);
    let lastError = "no attempt made";
    let answered = false;
    for (let attempt = 0; ; attempt++) {
        // Until a server has answered, the member may be gone: the shorter limit holds.
        const remaining = (answered ? deadline : goneAt) - Date.now();
        if (remaining <= 0) break;
        try {
            const connection = await mysql.createConnection({
                host: endpoint.host,
                port: endpoint.port,
                user: credentials.user,
                password: credentials.password,
                connectTimeout: Math.max(1000, Math.min(remaining, 10000)),
                supportBigNumbers: true,
                bigNumberStrings: true,
                dateStrings: true,
                // The provider runs text queries only, never prepared statements; mysql2's default cache of
                // 16000 fills four 16000-slot arrays per connection, most of a read's CPU and GC time.
                maxPreparedStatements: 1,
                // No placeholders either: every statement is complete text (literals escaped by sqlstring where it is
                // built). mysql2 otherwise scans each statement for `?`, 50 ms of a seed's CPU for its INSERTs' text.
                queryFormat: (sql: string) => sql,
                multipleStatements: options.multipleStatements === true,
                // The chain is checked during the handshake (the stack's CA alone); the name right after (below).
                ...(credentials.trustedCa ? { ssl: { ca: credentials.trustedCa, rejectUnauthorized: true } } : {}),
            });
            if (credentials.trustedCa) {
                // mysql2 checks a certificate's name only for host names: for an IP address it gives Node no name, which
                // then checks "localhost". So the name is checked here against the address dialled (IP SANs for an IP),
                // before any statement. The credentials were already sent, inside TLS, to a holder of a key the stack's
                // CA signed: one of the stack's own members at worst.
                const identityError = serverIdentityError(endpoint.host, connection);
                if (identityError) {
                    connection.destroy();
                    throw Object.assign(new Error(identityError), { code: "HANDSHAKE_SSL_ERROR" });
                }
            }
            // A dropped connection must not crash the provider process; the next query reports it.
            connection.on("error", () => undefined);
            return { endpoint, connection, secrets: [credentials.password], deadline };
        } catch (error) {
            lastError = redact(describe(error), [credentials.password]);
            if (answeredByServer(error)) answered = true;
            const code = (error as { code?: string }).code ?? "";
            if (isCertificateRefusal(code, lastError)) throw new Error(certificateRefusal(endpoint, lastError));
            if (FATAL_CONNECT_ERRORS.includes(code)) {
                throw new Error(
                    `${endpoint.name} (${endpoint.host}:${endpoint.port}) refused ${credentials.user}: ${lastError}. ` +
                        "Check the root password in the stack config (rootPassword) against the one the server was initialised with.",
                );
            }
        }
        await pause(Math.min(backoff(attempt, 50, 500), Math.max(0, (answered ? deadline : goneAt) - Date.now())));
    }
    const waited = ((Date.now() - started) / 1000).toFixed(1);
    throw connectTimeout(
        `Timed out after ${waited}s waiting for ${endpoint.name} to accept connections at ${endpoint.host}:${endpoint.port}` +
            (answered ? " (it answers, but refuses the connection: it is running)" : "") +
            `; last error: ${lastError}`,
        answered,
    );
}

/** Node's check of the server certificate's names against `host`, on a connection mysql2 upgraded to TLS. */
function serverIdentityError(host: string, connection: Connection): string | undefined {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tls = require("node:tls") as typeof import("node:tls");
    const stream = (connection as unknown as { connection?: { stream?: { getPeerCertificate?: (detailed: boolean) => import("node:tls").PeerCertificate } } }).connection?.stream;
    const certificate = stream?.getPeerCertificate?.(true);
    if (!certificate || Object.keys(certificate).length === 0) return "the server sent no certificate (is TLS on?)";
    return tls.checkServerIdentity(host, certificate)?.message;
}

/**
 * Runs one statement; an error names the member and never shows a secret. Refuses to start once the session's
 * deadline has passed, and a statement still running at the deadline is abandoned (mysql2 closes the
 * connection), so no run outlives its deadline by more than two seconds.
 */
export async function query<T = Record<string, unknown>>(session: Session, sql: string, extraSecrets: string[] = []): Promise<T[]> {
    return run<T>(session, [sql], extraSecrets);
}

/** query() of one statement, or of several joined (queryMany): the hook sees each statement. */
async function run<T>(session: Session, statements: string[], extraSecrets: string[] = []): Promise<T[]> {
    const sql = statements.join(";\n");
    const secrets = [...session.secrets, ...extraSecrets];
    const remaining = session.deadline - Date.now();
    if (remaining <= 0) {
        throw new DeadlineExceeded(
            `${session.endpoint.name}: the operation's deadline passed before: ${abbreviate(redact(sql, secrets))} ` +
                "(raise readinessTimeoutSeconds if the servers need longer; the next run carries on from here)",
        );
    }
    for (const statement of statements) statementHooks.beforeStatement?.(session.endpoint.name, statement);
    try {
        const [rows] = await session.connection.query({ sql, timeout: remaining + 2000 });
        return (Array.isArray(rows) ? rows : []) as T[];
    } catch (error) {
        const wrapped = new Error(`${session.endpoint.name}: ${redact(describe(error), secrets)} (while running: ${redact(sql, secrets)})`);
        (wrapped as { code?: string }).code = (error as { code?: string }).code;
        (wrapped as { errno?: number }).errno = (error as { errno?: number }).errno;
        throw wrapped;
    }
}

/**
 * Runs several statements in one round trip on a session opened with multipleStatements, in order, stopping at the
 * first that fails (the ones before it took effect). Returns each statement's rows ([] for one without). Same
 * deadline, hooks and redaction as query().
 */
export async function queryMany(session: Session, statements: string[]): Promise<Array<Array<Record<string, unknown>>>> {
    if (statements.length === 0) return [];
    const rows = await run(session, statements);
    const results = statements.length === 1 ? [rows] : (rows as unknown[]);
    return results.map((r) => (Array.isArray(r) ? (r as Array<Record<string, unknown>>) : []));
}

/** How long a clean-up statement may take once the deadline has passed. */
const CLEANUP_TIMEOUT_MS = 10000;

/**
 * Runs a clean-up statement even after the deadline (putting back read-only on a replica, lifting a fence the
 * run could not follow through): leaving that undone would be worse than running late. Errors are returned,
 * not thrown: the caller is already reporting the failure that made it clean up.
 */
export async function cleanUp(session: Session, sql: string): Promise<string | undefined> {
    try {
        await session.connection.query({ sql, timeout: CLEANUP_TIMEOUT_MS });
        return undefined;
    } catch (error) {
        return `${session.endpoint.name}: ${redact(describe(error), session.secrets)}`;
    }
}

function abbreviate(sql: string): string {
    return sql.length > 120 ? `${sql.slice(0, 117)}...` : sql;
}

/** The first column of the first row, or undefined. */
export async function scalar(session: Session, sql: string): Promise<unknown> {
    const rows = await query(session, sql);
    const first = rows[0];
    return first ? Object.values(first)[0] : undefined;
}

/**
 * Polls `probe` with short backoff until it returns a value (not undefined) or the deadline passes.
 * `probe` may throw to fail fast. `firstMs`: the first pause (growing 1.6× a time to 250 ms), for a wait that
 * usually ends within milliseconds.
 */
export async function pollUntil<T>(what: string, deadline: number, probe: () => Promise<T | undefined>, lastSeen: () => string, firstMs = 20): Promise<T> {
    for (let attempt = 0; ; attempt++) {
        const value = await probe();
        if (value !== undefined) return value;
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`Timed out waiting for ${what}; last seen: ${lastSeen()}`);
        await pause(Math.min(backoff(attempt, firstMs), remaining));
    }
}

export async function closeQuietly(session: Session | undefined): Promise<void> {
    if (!session) return;
    try {
        await session.connection.end();
    } catch {
        session.connection.destroy();
    }
}
