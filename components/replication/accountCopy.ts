/**
 * Pure: the accounts a logical copy (seedDump.ts) brings from the source to a replica, the statements that read
 * them and make them again, and whether an account statement slipped between the snapshot and that read.
 *
 * Copied: every account, role and grant of the source's but the server's own (dialect.serverAccounts: root, the
 * system accounts, the MariaDB image's healthcheck user: each member keeps its own) and the project's (the
 * replication account and the clone donor, each source's own and written binlog off; the router's check account,
 * which the copy makes itself). An account the replica has too is replaced by the source's, with members[].reseed
 * only when the two differ (accountsReplaced, checked before anything is written); one only the replica has is left
 * alone. A grant on a table or column that no longer exists (DROP TABLE and DROP COLUMN keep it) cannot be made
 * again: the seed is refused before anything is written, naming the REVOKE for each (danglingGrants).
 *
 * The statements carry password hashes (`IDENTIFIED WITH … AS 0x…`, `IDENTIFIED BY PASSWORD '*…'`, MariaDB's first
 * `GRANT USAGE` line): they run on the copy's loaders (binlog off), and no text of theirs reaches a line, a state
 * or an error (accountError).
 */
import * as SqlString from "sqlstring";
import { CLONE_DONOR_USER } from "../../config/accounts";
import { createRole, dropGrantee, grantee as granteeName, showCreateAccount, showGrants, type Dialect } from "./dialect";
import { redact } from "./redact";
import type { ReplicationInputs } from "./types";

export interface Grantee {
    user: string;
    host: string;
    /** A MariaDB role (no host, no SHOW CREATE USER); false for MySQL, whose roles are locked accounts. */
    role: boolean;
}

/** An account or role of the source as the copy makes it again. */
export interface CopiedAccount {
    grantee: Grantee;
    /** SHOW CREATE USER's statement, CREATE ROLE, or none (MariaDB's PUBLIC exists everywhere). */
    create?: string;
    /** SHOW GRANTS's statements, in its order (MariaDB's SET DEFAULT ROLE among them). */
    grants: string[];
}

/** Accounts of the project's, each source's or each member's own: never copied. */
export function projectUsers(inputs: ReplicationInputs): string[] {
    return [inputs.replicationUser, CLONE_DONOR_USER, ...(inputs.routerCheckUser ? [inputs.routerCheckUser] : [])];
}

/** The grantees a copy brings: the source's list (dialect.listAccounts) less the server's and the project's accounts. */
export function accountsToCopy(dialect: Dialect, rows: Array<Record<string, unknown>>, projectUsers: string[]): Grantee[] {
    const left = new Set([...dialect.serverAccounts, ...projectUsers]);
    return rows
        .map((r) => ({ user: text(r.user), host: text(r.host), role: text(r.is_role).toUpperCase() === "Y" }))
        .filter((g) => !left.has(g.user))
        .sort((a, b) => (a.user === b.user ? a.host.localeCompare(b.host) : a.user.localeCompare(b.user)));
}

/** Whether the grantee is made (false: it exists on every server, only its grants are copied). */
function made(dialect: Dialect, g: Grantee): boolean {
    return !(dialect.implicitGrantees?.includes(g.user) && g.host === "");
}

/** Whether SHOW CREATE USER reads it (a MariaDB role is made by CREATE ROLE instead). */
function readByShowCreate(dialect: Dialect, g: Grantee): boolean {
    return made(dialect, g) && !(dialect.rolesApart && g.role);
}

/** The statements that read the grantees, in order: per grantee its SHOW CREATE USER (when it has one), then SHOW GRANTS. */
export function accountReads(dialect: Dialect, grantees: Grantee[]): string[] {
    return grantees.flatMap((g) => [...(readByShowCreate(dialect, g) ? [showCreateAccount(dialect, g)] : []), showGrants(dialect, g)]);
}

/** The accounts from the results of accountReads (one result per statement, same order). */
export function readAccounts(dialect: Dialect, grantees: Grantee[], results: Array<Array<Record<string, unknown>>>): CopiedAccount[] {
    let at = 0;
    const firstColumn = (rows: Array<Record<string, unknown>>) => rows.map((row) => text(Object.values(row)[0]));
    return grantees.map((g) => {
        const create = readByShowCreate(dialect, g) ? firstColumn(results[at++])[0] : made(dialect, g) ? createRole(dialect, g) : undefined;
        return { grantee: g, ...(create ? { create } : {}), grants: firstColumn(results[at++]) };
    });
}

/**
 * What makes the accounts on a replica, per grantee and in the order to run: first every account and role (roles
 * first, then accounts without a default role: MySQL's CREATE USER … DEFAULT ROLE needs the role to exist, and
 * grants it), each dropped first if the replica has it; then every grantee's grants (roles' first).
 */
export function accountStatements(dialect: Dialect, accounts: CopiedAccount[]): Array<{ who: string; statements: string[] }> {
    const rank = (a: CopiedAccount) => (a.grantee.role ? 0 : 1) * 2 + (/\bDEFAULT ROLE\b/.test(a.create ?? "") ? 1 : 0);
    const ordered = [...accounts].sort((a, b) => rank(a) - rank(b));
    const makes = ordered.filter((a) => a.create).map((a) => ({ who: who(a), statements: [dropGrantee(dialect, a.grantee), a.create!] }));
    const grants = ordered.filter((a) => a.grants.length > 0).map((a) => ({ who: who(a), statements: a.grants }));
    return [...makes, ...grants];
}

/** How a grantee is named in lines and errors: user@host, a role or PUBLIC by its name. */
function who(a: CopiedAccount): string {
    return a.grantee.host === "" ? a.grantee.user : `${a.grantee.user}@${a.grantee.host}`;
}

/**
 * The replica's accounts that a copy would replace with a different one: those the copy makes (not MariaDB's PUBLIC,
 * whose grants are only added) whose SHOW CREATE USER or set of grants differs from the source's same-named account.
 * An account the same on both is no loss. Both lists as readAccounts reads them.
 */
export function accountsReplaced(source: CopiedAccount[], replica: CopiedAccount[]): string[] {
    const key = (a: CopiedAccount) => `${a.grantee.user}\u0000${a.grantee.host}`;
    const theirs = new Map(source.filter((a) => a.create).map((a) => [key(a), a]));
    const same = (a: CopiedAccount, b: CopiedAccount) =>
        a.create === b.create && a.grants.length === b.grants.length && [...a.grants].sort().every((g, i) => g === [...b.grants].sort()[i]);
    return replica.filter((mine) => {
        const copied = theirs.get(key(mine));
        return copied !== undefined && !same(mine, copied);
    }).map(who);
}

/** Table-level grants (with the column privileges they hold) of every grantee. */
export const TABLE_GRANTS = "SELECT User AS user, Host AS host, Db AS db, Table_name AS tbl, Table_priv AS privs FROM mysql.tables_priv";
/** Column-level grants of every grantee. */
export const COLUMN_GRANTS = "SELECT User AS user, Host AS host, Db AS db, Table_name AS tbl, Column_name AS col, Column_priv AS privs FROM mysql.columns_priv";
/** The columns of every table and view of the schemas named (what a table or column grant needs to exist). */
export function columnsOf(schemas: string[]): string {
    return `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, COLUMN_NAME AS col FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (${schemas.map((s) => SqlString.escape(s)).join(", ")})`;
}

/** A privilege as a REVOKE names it (a SET member of tables_priv/columns_priv: `Grant` is GRANT OPTION). */
function privilegeName(p: string): string {
    return p.trim().toLowerCase() === "grant" ? "GRANT OPTION" : p.trim().toUpperCase();
}

function privileges(set: unknown): string[] {
    return text(set).split(",").filter((p) => p.trim() !== "");
}

/**
 * The REVOKE statements, one per grantee and table, that take away the grants a copy cannot make again: table-level
 * grants on a table (or view) that no longer exists, unless they hold CREATE and no column privilege (a table
 * grant with CREATE needs no table: the server makes it, and so does the copy), and column-level grants on a
 * column that no longer exists. Grantees the copy leaves out (the server's, the project's) are not looked at.
 * `columns`: columnsOf's rows for the schemas the grants name. Column names compare without case, as the server does.
 */
export function danglingGrants(
    dialect: Dialect,
    tableGrants: Array<Record<string, unknown>>,
    columnGrants: Array<Record<string, unknown>>,
    columns: Array<Record<string, unknown>>,
    leftOut: string[],
): string[] {
    const left = new Set([...dialect.serverAccounts, ...leftOut]);
    const tableKey = (r: Record<string, unknown>) => `${text(r.db)}\u0000${text(r.tbl)}`;
    const tables = new Set(columns.map(tableKey));
    const existing = new Set(columns.map((c) => `${tableKey(c)}\u0000${text(c.col).toLowerCase()}`));
    const revokes = new Map<string, { on: string; to: string; privs: string[] }>();
    const add = (r: Record<string, unknown>, privs: string[]) => {
        const user = text(r.user);
        const host = text(r.host);
        const to = granteeName(dialect, { user, host, role: host === "" });
        const on = `${SqlString.escapeId(text(r.db))}.${SqlString.escapeId(text(r.tbl))}`;
        const k = `${on} ${to}`;
        const known = revokes.get(k) ?? { on, to, privs: [] };
        known.privs.push(...privs);
        revokes.set(k, known);
    };
    const ofGrantee = (r: Record<string, unknown>) => !left.has(text(r.user));
    const columnsGone = columnGrants.filter((c) => ofGrantee(c) && !existing.has(`${tableKey(c)}\u0000${text(c.col).toLowerCase()}`));
    for (const t of tableGrants.filter(ofGrantee)) {
        if (tables.has(tableKey(t))) continue;
        const privs = privileges(t.privs);
        // Its column privileges, if any, are among columnsGone (the table's columns went with it).
        if (privs.length === 0 || privs.some((p) => p.trim().toLowerCase() === "create")) continue;
        add(t, privs.map(privilegeName));
    }
    for (const c of columnsGone) add(c, privileges(c.privs).map((p) => `${privilegeName(p)} (${SqlString.escapeId(text(c.col))})`));
    return [...revokes.values()].map((r) => `REVOKE ${r.privs.join(", ")} ON ${r.on} FROM ${r.to}`).sort();
}

/** A binary log event as SHOW BINLOG EVENTS lists it. */
export interface BinlogEvent {
    Event_type: unknown;
    Info: unknown;
    End_log_pos: unknown;
}

/** An account statement, as the binary log holds it (after a `use` prefix where the server adds one). */
const ACCOUNT_STATEMENT = /^\s*(?:use\s+`(?:[^`]|``)*`\s*;\s*)?(?:(?:CREATE|DROP|ALTER|RENAME)\s+(?:USER|ROLE)|GRANT|REVOKE|SET\s+(?:PASSWORD|DEFAULT\s+ROLE))\b/i;
/** A row change to the privilege tables (mysql.*), written as rows. */
const PRIVILEGE_ROWS = /\(\s*`?mysql`?\s*\.\s*`?(?:user|global_priv|db|tables_priv|columns_priv|procs_priv|proxies_priv|roles_mapping|role_edges|default_roles)`?\s*\)/i;

/**
 * Whether the events from the snapshot's binlog position up to `end` (the position after the accounts were read)
 * hold an account statement or a row change to the privilege tables: then the accounts read may hold a change that
 * replication brings again (a CREATE USER made twice stops the applier). `complete`: the list reaches `end` (not
 * cut by its limit); an incomplete list counts as a change.
 */
export function accountChangeInWindow(events: BinlogEvent[], end: number, complete: boolean): boolean {
    const inWindow = events.filter((e) => Number(e.End_log_pos) <= end);
    const changed = inWindow.some((e) => {
        const type = text(e.Event_type);
        const info = text(e.Info);
        return (type === "Query" && ACCOUNT_STATEMENT.test(info)) || (type === "Table_map" && PRIVILEGE_ROWS.test(info));
    });
    return changed || (!complete && inWindow.length === events.length);
}

/** ER_PLUGIN_IS_NOT_LOADED: the account's authentication plugin is not on the replica. */
const PLUGIN_NOT_LOADED = 1524;

/**
 * An account statement's failure without its secrets: the server's error code and message, with every password
 * literal blanked (redact) and every hash shape replaced (a syntax error quotes the statement from the hash on):
 * 0x and 32+ hex digits, `*` and 40 hex digits (mysql_native_password), a crypt-style `$A$…`/`$5$…` by its length
 * (caching_sha2_password, sha256_password), a run of 40+ base64 or crypt characters (ed25519). Names stay: a table's, a
 * plugin's, an account's.
 */
export function accountError(replica: string, who: string, error: unknown): Error {
    const e = error as { code?: string; errno?: number; message?: string };
    // query() appends the statement it ran; what comes before is the member's name and the server's words.
    const said = String(e.message ?? error).split(" (while running: ")[0].replace(/^[^:]*: /, "");
    const scrubbed = redact(said, [])
        .replace(/\b0x[0-9a-f]{32,}/gi, "0x…")
        .replace(/\*[0-9A-F]{40}\b/gi, "*…")
        // A crypt-style hash's 20-byte salt is random bytes (a quote among them): matched by length, not to a quote.
        .replace(/\$A\$[0-9A-F]{3}\$[\s\S]{20}[./0-9A-Za-z]{43}/g, "$…")
        .replace(/\$5\$[\s\S]{20}\$?[./0-9A-Za-z]{43}/g, "$…")
        .replace(/\$[A-Za-z0-9]{1,2}\$[^'"]*/g, "$…")
        .replace(/[A-Za-z0-9+/.]{40,}={0,2}/g, "…");
    const hint = e.errno === PLUGIN_NOT_LOADED ? " (the account's authentication plugin is loaded on the source, not on this replica: load it on every member, then run again)" : "";
    const failure = new Error(`${replica}: making the source's account ${who} on the replica failed: ${scrubbed}${hint}`);
    Object.assign(failure, { code: e.code, errno: e.errno });
    return failure;
}

function text(value: unknown): string {
    if (value === null || value === undefined) return "";
    return Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
}
