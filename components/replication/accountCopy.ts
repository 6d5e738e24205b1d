/**
 * Pure: the accounts a logical copy (seedDump.ts) brings from the source to a replica, the statements that read
 * them and make them again, and whether an account statement slipped between the snapshot and that read.
 *
 * Copied: every account, role and grant of the source's but the server's own (dialect.serverAccounts: root, the
 * system accounts, the MariaDB image's healthcheck user: each member keeps its own) and the project's (the
 * replication account and the clone donor, each source's own and written binlog off; the router's check account,
 * which the copy makes itself). An account the replica has too is replaced by the source's; one only the replica
 * has is left alone.
 *
 * The statements carry password hashes (`IDENTIFIED WITH … AS 0x…`, `IDENTIFIED BY PASSWORD '*…'`, MariaDB's first
 * `GRANT USAGE` line): they run on the copy's loaders (binlog off), and no text of theirs reaches a line, a state
 * or an error (accountError).
 */
import { createRole, dropGrantee, showCreateAccount, showGrants, type Dialect } from "./dialect";

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
    const who = (a: CopiedAccount) => (a.grantee.host === "" ? a.grantee.user : `${a.grantee.user}@${a.grantee.host}`);
    const rank = (a: CopiedAccount) => (a.grantee.role ? 0 : 1) * 2 + (/\bDEFAULT ROLE\b/.test(a.create ?? "") ? 1 : 0);
    const ordered = [...accounts].sort((a, b) => rank(a) - rank(b));
    const makes = ordered.filter((a) => a.create).map((a) => ({ who: who(a), statements: [dropGrantee(dialect, a.grantee), a.create!] }));
    const grants = ordered.filter((a) => a.grants.length > 0).map((a) => ({ who: who(a), statements: a.grants }));
    return [...makes, ...grants];
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
 * An account statement's failure without its text: the server's error code and message, with every hash-like literal
 * replaced (a syntax error quotes the statement from the hash on). Short words (a plugin's, an account's name)
 * stay: the hashes these statements carry are 41 characters and more.
 */
export function accountError(replica: string, who: string, error: unknown): Error {
    const e = error as { code?: string; errno?: number; message?: string };
    // query() appends the statement it ran; what comes before is the member's name and the server's words.
    const said = String(e.message ?? error).split(" (while running: ")[0].replace(/^[^:]*: /, "");
    const scrubbed = said
        .replace(/'((?:[^'\\]|\\.|'')*)'/g, (quoted, inner: string) => (inner.length > 16 ? "'…'" : quoted))
        .replace(/\b0x[0-9a-f]+/gi, "0x…")
        .replace(/\*[0-9A-F]{40}/gi, "*…")
        // A hash whose quotes a syntax error's own quoting broke ('near 'USING 'hash'' at line 1').
        .replace(/[A-Za-z0-9+/=$.]{20,}/g, "…");
    const hint = e.errno === PLUGIN_NOT_LOADED ? " (the account's authentication plugin is loaded on the source, not on this replica: load it on every member, then run again)" : "";
    const failure = new Error(`${replica}: making the source's account ${who} on the replica failed: ${scrubbed}${hint}`);
    Object.assign(failure, { code: e.code, errno: e.errno });
    return failure;
}

function text(value: unknown): string {
    if (value === null || value === undefined) return "";
    return Buffer.isBuffer(value) ? value.toString("utf8") : String(value);
}
