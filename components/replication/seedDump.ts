/**
 * Seed method `dump`: the provider's own logical copy of the source, over mysql2, into one replica.
 *
 * 1. At once: the replica is prepared (channel forgotten, the provider's note "seed in progress" written, the schemas
 *    a previous copy, or with reseed the user, left dropped; binlog off throughout: nothing here is the replica's own
 *    transaction); one reader opens a consistent snapshot of the source (dialect.ts openSnapshot: on MariaDB without
 *    any lock) and reads every definition it will copy, in three round trips; the loaders connect.
 * 2. The reader streams every table's rows into a bounded read-ahead while each loader takes the next table (largest
 *    first), creates it and loads its rows in batches, each value as the literal the source computed for it, then
 *    makes its triggers (after the rows: they must not fire on the copy).
 *    The accounts and roles are read at the snapshot too (accountCopy.ts; MySQL under the snapshot's lock, MariaDB
 *    checked against the binary log between the two).
 * 3. Alongside, on a loader of its own: the replica's own history wiped and the copy's position declared applied,
 *    every schema, routines, events (off on the replica), views once every table exists, then the accounts.
 * 4. The note removed: a replica without it holds a finished copy. Then, never before, the replica's channel set
 *    (not started: attach.ts starts it), since a server starts a configured channel by itself when it restarts.
 * A copy cut short anywhere leaves the note: the next run drops what it copied and copies again.
 *
 * InnoDB tables are copied at the snapshot; other engines (MyISAM) are read as they are when their turn comes,
 * as with mysqldump --single-transaction.
 */
import {
    accountChangeInWindow,
    accountError,
    accountReads,
    accountStatements,
    accountsToCopy,
    projectUsers,
    readAccounts,
    type BinlogEvent,
    type CopiedAccount,
} from "./accountCopy";
import {
    BINLOG_END,
    binlogEventsFrom,
    declareSeedPosition,
    createEventDisabledOnReplica,
    disableEventOnReplica,
    dropSchema,
    dropTable,
    dropView,
    insertRows,
    LIST_SCHEMAS,
    listColumns,
    listProgrammes,
    listTables,
    openSnapshot,
    PROBE_SCHEMA,
    qualified,
    qualifyCreateTable,
    rowTuple,
    SEED_LOAD_SESSION,
    SEED_NOTE_REMOVE,
    SEED_NOTE_TABLE,
    seedNoteWrite,
    selectRows,
    setSqlMode,
    setTimeZone,
    showCreateDatabase,
    showCreateEvent,
    showCreateRoutine,
    showCreateTable,
    showCreateTrigger,
    showCreateView,
    SYSTEM_SCHEMAS,
    useSchema,
} from "./dialect";
import { connectAnother, readThreads, type Member } from "./members";
import { keepRouterCheckAccount, routerCheckHosts } from "./routerAccount";
import { estimateSecondsLeft } from "./seedPlan";
import { closeQuietly, DeadlineExceeded, describe, query, queryMany } from "./session";
import type { ReplicationInputs } from "./types";

/**
 * Loaders of rows per seed: tables are loaded in parallel, largest first, one loader per table at a time, idle ones
 * helping with the last (two more loaders make schemas, small tables, views, routines and events). Measured on the
 * 2-core bench (10 000 rows, three tables of data): 2, 3 and 4 loaders of rows came out within the noise of each
 * other; the replica's parsing and commits, not the one reader, set the pace there.
 */
const WORKERS = 3;
/**
 * An INSERT batch stops growing past this many bytes (or half the replica's max_allowed_packet). Measured on the bench
 * (10 rounds each, same run): 64 KiB batches cost the replica about a quarter less CPU than 256 KiB or 1 MiB ones
 * (median 190 against 260 ms for the 10 000 rows) and start its first INSERT sooner; 16 and 32 KiB did no better.
 */
const BATCH_BYTES = 64 * 1024;
/** Rows read ahead of the loaders, all tables together, before the reader pauses (it resumes at half). */
const READ_AHEAD_BYTES = 16 * 1024 * 1024;
/** Progress lines at most this often. */
const PROGRESS_EVERY_MS = 2000;
/** Tables of the provider's own schema that are per member, never copied. */
const LOCAL_TABLES: readonly string[] = [SEED_NOTE_TABLE, "pending_reset"];
/** Schemas a copy never touches (the provider's schema is copied table by table, see LOCAL_TABLES). */
const SERVER_SCHEMAS: readonly string[] = SYSTEM_SCHEMAS.filter((s) => s !== PROBE_SCHEMA);

export interface DumpContext {
    inputs: ReplicationInputs;
    /** Seconds each stage (prepare + snapshot + definitions, tables + rows + objects + position, the note) may take. */
    stageSeconds: number;
    /** The CHANGE statement attach.ts would run (channelChange): run in the round trip that removes the note, not started. */
    channel?: string;
    log: (line: string) => void;
}

/** What a finished copy reports. */
export interface DumpResult {
    position: string;
    rows: number;
    bytes: number;
    tables: number;
}

interface TableInfo {
    db: string;
    name: string;
    /** The server's estimate, for progress only. */
    estRows: number;
    /** Stored columns, in order, with their types (how a value travels: selectRows). */
    columns: Array<{ name: string; type: string; charset: string | null }>;
    /** SHOW CREATE TABLE's statement, qualified with the schema. */
    create: string;
}

/** A view, routine, trigger or event with the statement that makes it and the session settings it was made with. */
interface Programme {
    db: string;
    name: string;
    kind: "VIEW" | "PROCEDURE" | "FUNCTION" | "TRIGGER" | "EVENT";
    /** A trigger's table. */
    table?: string;
    create: string;
    sqlMode: string;
    timeZone: string;
}

/** What the reader learned at the snapshot: the position and every definition the copy makes. */
interface Catalogue {
    position: string;
    schemas: Array<{ name: string; create: string }>;
    tables: TableInfo[];
    /** Views first (in the source's order; copyProgrammes retries dependents), then routines, triggers, events. */
    programmes: Programme[];
    /** The source's accounts and roles but the server's and the project's (accountCopy.ts). */
    accounts: CopiedAccount[];
}

/** A replica session of the copy, with the schema and sql_mode it was last set to (fewer round trips). */
interface Loader {
    member: Member;
    db?: string;
    mode: string;
}

const LOAD_MODE = "NO_AUTO_VALUE_ON_ZERO";

async function useDb(loader: Loader, db: string): Promise<void> {
    if (loader.db === db) return;
    await query(loader.member.session, useSchema(db));
    loader.db = db;
}

async function useMode(loader: Loader, mode: string): Promise<void> {
    if (loader.mode === mode) return;
    await query(loader.member.session, setSqlMode(mode));
    loader.mode = mode;
}

/** Waits for every promise, then throws the first failure: nothing is still running when the caller cleans up. */
async function allSettled<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
    const results = await Promise.allSettled(promises);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Copies the source into the replica and declares the copy's GTID position applied there. */
export async function seedByDump(replica: Member, source: Member, ctx: DumpContext): Promise<DumpResult> {
    const name = replica.endpoint.name;
    const opened: Member[] = [];
    const stageDeadline = () => Date.now() + ctx.stageSeconds * 1000;
    const stage = (what: string) => {
        const deadline = stageDeadline();
        for (const m of [replica, ...opened]) m.session.deadline = deadline;
        ctx.log(`seed ${name} from ${source.endpoint.name}: ${what}`);
    };
    // The seed's own sessions take several statements per round trip (queryMany).
    const another = async (member: Member) => {
        const session = await connectAnother(member, ctx.inputs, stageDeadline(), { multipleStatements: true });
        opened.push(session);
        return session;
    };
    let connecting: Array<Promise<Member & { maxPacket: number }>> | undefined;
    try {
        stage("preparing the replica; alongside, opening a consistent snapshot of the source and reading its definitions");
        // One loader per worker, and two more: one prepares the replica, then makes the schemas, the small tables and the
        // views; the other routines and events.
        connecting = Array.from({ length: WORKERS + 2 }, async () => {
            const loader = await another(replica);
            const [, [packet]] = await queryMany(loader.session, [...SEED_LOAD_SESSION, "SELECT @@GLOBAL.max_allowed_packet AS m"]);
            return Object.assign(loader, { maxPacket: Number(packet.m) });
        });
        const [, catalogue, loaders] = await allSettled<[void, Catalogue & { reader: Member }, Array<Member & { maxPacket: number }>]>([
            prepareReplica(replica, connecting[WORKERS], source.endpoint.name),
            another(source).then(async (reader) => ({ reader, ...(await readCatalogue(reader, (line) => ctx.log(`seed ${name}: ${line}`), projectUsers(ctx.inputs))) })),
            Promise.all(connecting),
        ]);
        const { reader, position, schemas, tables, programmes, accounts } = catalogue;
        const maxPacket = loaders[0].maxPacket;
        ctx.log(`seed ${name}: snapshot of ${source.endpoint.name} at GTID ${position || "(empty)"}`);

        stage(`creating ${schemas.length} schema(s) and ${tables.length} table(s), then their rows, with views, routines and events alongside`);
        const workers = loaders.slice(0, WORKERS);
        // Schemas, small tables, views, routines and events neither read nor fire on the rows: two loaders of their
        // own make them meanwhile.
        const loader: Loader = { member: loaders[WORKERS], mode: LOAD_MODE };
        const routinesLoader: Loader = { member: loaders[WORKERS + 1], mode: LOAD_MODE };
        const batchBytes = Math.max(8 * 1024, Math.min(BATCH_BYTES, Math.floor(maxPacket / 2)));
        // The rows start streaming into the read-ahead now, while the replica creates the schemas and tables.
        const copy = new RowCopy(tables, schemas, programmes.filter((p) => p.kind === "TRIGGER"), reader, batchBytes, WORKERS, (line) => ctx.log(`seed ${name}: ${line}`));
        const reading = copy.read();
        reading.catch(() => undefined);
        let counts: { rows: number; bytes: number };
        try {
            // A failure anywhere stops the reader (it may be paused, waiting for loaders that are gone).
            const stopOnFailure = <T>(work: Promise<T>) => work.catch((error: Error) => {
                copy.abort(error);
                throw error;
            });
            // Once the loaders' first tables exist: the copy's position declared (the replica's own history wiped
            // before; nothing the copy writes reaches the replica's binary log, and the note, removed last, still says
            // the copy is unfinished), and every schema (also those without tables).
            const schemasMade = copy.firstTablesCreated.reached.then(() =>
                queryMany(loader.member.session, [...declareSeedPosition(replica.dialect, position), ...schemas.map((s) => s.create)]),
            );
            schemasMade.catch(() => undefined);
            // On a loader of their own, once the schemas exist: routines and events (the server does not resolve what
            // their bodies name when they are made, so they need no table).
            const routinesMade = schemasMade.then(() => copyProgrammes(programmes.filter((p) => p.kind !== "TRIGGER" && p.kind !== "VIEW"), routinesLoader, replica));
            routinesMade.catch(() => undefined);
            [counts] = await allSettled<[{ rows: number; bytes: number }, void, void, void]>([
                stopOnFailure(copy.load(workers)),
                reading,
                stopOnFailure(schemasMade.then(async () => {
                    // The tables no loader has reached yet (smallest first), then views once every table and routine is
                    // there: a view is checked when it is made, and it may call a stored function.
                    await copy.createRemaining(loader.member, new Set(schemas.map((s) => s.name)));
                    await Promise.all([copy.tablesCreated.reached, routinesMade]);
                    await copyProgrammes(programmes.filter((p) => p.kind === "VIEW"), loader, replica);
                    // Then the accounts: a grant on a table, view or routine needs it there.
                    await makeAccounts(loader.member, replica, accounts);
                    ctx.log(`seed ${name}: ${accounts.length} account(s) and role(s) of the source copied (the server's and the project's own left out)`);
                })),
                // Then the router's check account on the routines' loader, once the heartbeat table it may read exists
                // (see makeRouterCheckAccount).
                stopOnFailure(Promise.all([routinesMade, copy.tablesCreated.reached]).then(() => makeRouterCheckAccount(routinesLoader.member, replica, ctx.inputs))),
            ]);
        } catch (error) {
            copy.abort(error as Error);
            throw error;
        }

        stage("every row and trigger copied, the copy's position declared; removing the note of the copy, then setting the channel");
        // Triggers of a table not copied (none but in an unusual provider schema) after every row.
        await copyProgrammes(programmes.filter((p) => p.kind === "TRIGGER" && !copy.triggersMade.has(p)), loader, replica);
        // The loader's binlog is off (SEED_LOAD_SESSION). A replica without the note holds a finished copy. The channel
        // comes after it, never before: a server starts a configured channel by itself when it starts (a restart by
        // its container's policy, an OOM kill), and a channel set while the rows were copied replicated on a half copy.
        // Cut between the two, the next run finds a finished copy with no channel and attaches it.
        await queryMany(loader.member.session, [SEED_NOTE_REMOVE, ...(ctx.channel ? [ctx.channel] : [])]);
        return { position, ...counts, tables: tables.length };
    } finally {
        // Loaders still connecting when the copy failed early are closed too, once connected.
        if (connecting) await Promise.allSettled(connecting);
        // Not awaited: the servers end these sessions on their own time, and the seed has nothing more to say to them.
        for (const m of opened) void closeQuietly(m.session);
    }
}

/**
 * The copy leaves out the project's accounts, yet declares the router's check account and its grants (created
 * binlogged on the source) applied: made here on a loader, binlog off like the rest of the copy, or HAProxy keeps
 * this replica DOWN.
 */
async function makeRouterCheckAccount(loader: Member, replica: Member, inputs: ReplicationInputs): Promise<void> {
    if (!inputs.routerCheckUser) return;
    await keepRouterCheckAccount({ ...loader, dialect: replica.dialect }, inputs.routerCheckUser, routerCheckHosts(inputs), inputs.routerCheckReads);
}

/**
 * The reader's part of step 1, four round trips: the snapshot, the schemas and the accounts' list; the accounts;
 * the tables, columns and programmes of the schemas copied; every SHOW CREATE statement.
 */
async function readCatalogue(reader: Member, log: (line: string) => void, projectUsers: string[]): Promise<Catalogue> {
    const { position, schemaNames, accounts } = await openAtAccounts(reader, log, projectUsers);
    if (schemaNames.length === 0) return { position, schemas: [], tables: [], programmes: [], accounts };

    const [objects, columns, programmeRows] = await queryMany(reader.session, [listTables(schemaNames), listColumns(schemaNames), listProgrammes(schemaNames)]);
    const text = (v: unknown) => String(v);
    const baseTables = objects.filter((o) => text(o.type) === "BASE TABLE" && !(text(o.db) === PROBE_SCHEMA && LOCAL_TABLES.includes(text(o.name))));
    const views = objects.filter((o) => text(o.type) === "VIEW");
    const skipped = objects.filter((o) => !["BASE TABLE", "VIEW"].includes(text(o.type)));
    if (skipped.length > 0) log(`not copied (type not supported): ${skipped.map((o) => `${o.db}.${o.name} (${o.type})`).join(", ")}`);
    const others = programmeRows.map((p) => ({ db: text(p.db), name: text(p.name), kind: text(p.kind) as Programme["kind"], ...(p.tbl === null ? {} : { table: text(p.tbl) }) }));
    const copied = schemaNames.filter((s) => s !== PROBE_SCHEMA);

    const created = await queryMany(reader.session, [
        ...copied.map(showCreateDatabase),
        ...baseTables.map((t) => showCreateTable(text(t.db), text(t.name))),
        ...views.map((v) => showCreateView(text(v.db), text(v.name))),
        ...others.map((p) => (p.kind === "TRIGGER" ? showCreateTrigger(p.db, p.name) : p.kind === "EVENT" ? showCreateEvent(p.db, p.name) : showCreateRoutine(p.db, p.kind, p.name))),
    ]);
    const first = (i: number) => created[i][0] ?? {};
    let at = 0;
    const schemas = [
        // The provider's schema is there already (the note is in it): only its tables are copied.
        ...(schemaNames.includes(PROBE_SCHEMA) ? [{ name: PROBE_SCHEMA, create: "CREATE DATABASE IF NOT EXISTS `replicaset_probe`" }] : []),
        // IF NOT EXISTS: every loader that creates a table makes sure of its schema in the same round trip.
        ...copied.map((name) => ({ name, create: ifNotExists(text(first(at++)["Create Database"]), name) })),
    ];
    const tables: TableInfo[] = baseTables.map((o) => ({
        db: text(o.db),
        name: text(o.name),
        estRows: Number(o.estRows ?? 0),
        columns: columns
            .filter((c) => text(c.db) === text(o.db) && text(c.tbl) === text(o.name))
            .map((c) => ({ name: text(c.name), type: text(c.type), charset: c.charset === null ? null : text(c.charset) })),
        create: qualifyCreateTable(text(first(at++)["Create Table"]), text(o.db), text(o.name)),
    }));
    const programmes: Programme[] = [
        ...views.map((v) => ({ db: text(v.db), name: text(v.name), kind: "VIEW" as const, create: text(first(at++)["Create View"]), sqlMode: LOAD_MODE, timeZone: "" })),
        ...others.map((p) => {
            const row = first(at++);
            const column = p.kind === "TRIGGER" ? "SQL Original Statement" : p.kind === "EVENT" ? "Create Event" : p.kind === "FUNCTION" ? "Create Function" : "Create Procedure";
            return { ...p, create: text(row[column]), sqlMode: text(row.sql_mode ?? ""), timeZone: text(row.time_zone ?? "SYSTEM") };
        }),
    ];
    return { position, schemas, tables, programmes, accounts };
}

/** Attempts at a snapshot whose accounts' read no account statement came between (MariaDB: no lock). */
const ACCOUNT_READ_ATTEMPTS = 5;
/** Events read from the snapshot's binlog position when looking for an account statement there. */
const WINDOW_EVENTS = 1000;

/**
 * The reader's first two round trips: the snapshot, its position, the schemas and the accounts' list; then every
 * account's SHOW CREATE USER and SHOW GRANTS, and the snapshot's lock released (MySQL). The accounts are read from
 * the server's privileges, not the snapshot: on MySQL the snapshot's lock holds account statements until then; on
 * MariaDB (no lock) the binary log between the snapshot and the read must hold none, else the snapshot is opened
 * again (a statement seen in the copy and replicated after it would be made twice).
 */
async function openAtAccounts(reader: Member, log: (line: string) => void, projectUsers: string[]): Promise<{ position: string; schemaNames: string[]; accounts: CopiedAccount[] }> {
    const dialect = reader.dialect;
    const snapshot = openSnapshot(dialect);
    const listing = [...(dialect.showAccountsSession ? [dialect.showAccountsSession] : []), dialect.listAccounts];
    for (let attempt = 1; ; attempt++) {
        const opening = await queryMany(reader.session, [...snapshot.statements, LIST_SCHEMAS, ...listing]);
        const at = opening[snapshot.position][0] ?? {};
        // BINLOG_GTID_POS is NULL when the snapshot has no binary log position (the source's binlog is off).
        if (at.pos === null || at.pos === undefined) throw new Error(`${reader.endpoint.name}: the snapshot has no GTID position (is the source's binary log on?)`);
        const position = String(at.pos).replace(/\s+/g, "");
        const schemaNames = opening[opening.length - listing.length - 1].map((s) => String(s.name)).filter((s) => !SERVER_SCHEMAS.includes(s.toLowerCase()));
        const grantees = accountsToCopy(dialect, opening[opening.length - 1], projectUsers);
        const reads = accountReads(dialect, grantees);
        const read = await queryMany(reader.session, [...reads, ...snapshot.release, ...(snapshot.accountsHeld ? [] : [BINLOG_END])]);
        const accounts = readAccounts(dialect, grantees, read.slice(0, reads.length));
        if (snapshot.accountsHeld || !(await accountStatementSince(reader, String(at.binlog_file), Number(at.binlog_pos), read[read.length - 1][0]))) {
            return { position, schemaNames, accounts };
        }
        if (attempt === ACCOUNT_READ_ATTEMPTS) {
            throw new Error(
                `${reader.endpoint.name}: account statements (CREATE/ALTER/DROP USER, GRANT, REVOKE) kept committing between the copy's snapshot and its ` +
                    `read of the accounts, ${attempt} times; the copy needs a moment without them. Run again.`,
            );
        }
        log(`an account statement committed on the source between the snapshot and the accounts' read: opening the snapshot again (attempt ${attempt + 1})`);
    }
}

/** MariaDB: whether the binary log from the snapshot's coordinates to `end` (SHOW MASTER STATUS's row) holds an account change. */
async function accountStatementSince(reader: Member, file: string, at: number, end: Record<string, unknown> | undefined): Promise<boolean> {
    const endFile = String(end?.File ?? "");
    const endAt = Number(end?.Position ?? 0);
    if (endFile === file && endAt === at) return false;
    // Another log since (rotated in the window): not worth reading through; counted as a change.
    if (endFile !== file) return true;
    const events = await query<BinlogEvent>(reader.session, binlogEventsFrom(file, at, WINDOW_EVENTS));
    return accountChangeInWindow(events, endAt, events.length < WINDOW_EVENTS);
}

/**
 * The source's accounts and roles, made on a loader (binlog off), after every table, view and routine (a grant on
 * one needs it to exist). Each grantee's statements in one round trip; a failure names the grantee, never the text.
 */
async function makeAccounts(loader: Member, replica: Member, accounts: CopiedAccount[]): Promise<void> {
    for (const { who, statements } of accountStatements(replica.dialect, accounts)) {
        try {
            await queryMany(loader.session, statements);
        } catch (error) {
            if (error instanceof DeadlineExceeded) throw new DeadlineExceeded(`${replica.endpoint.name}: the seed's deadline passed while making the source's account ${who}`);
            throw accountError(replica.endpoint.name, who, error);
        }
    }
}

/**
 * Binlog off: write the note, forget the channel, drop whatever a previous copy (or with reseed, the user) left. The
 * note comes first: from then on the replica counts as an unfinished copy, whatever else a cut leaves behind.
 */
async function prepareReplica(replica: Member, loader: Promise<Member>, sourceName: string): Promise<void> {
    // On a loader, whose binlog is off (SEED_LOAD_SESSION).
    const [threads, schemas] = await Promise.all([
        readThreads(replica),
        loader.then((l) => queryMany(l.session, [...seedNoteWrite(sourceName), LIST_SCHEMAS])).then((results) => results[results.length - 1].map((s) => String(s.name))),
    ]);
    if (threads.configured) {
        await query(replica.session, replica.dialect.stop);
        await query(replica.session, replica.dialect.resetReplicaAll);
    }
    const drops = schemas.filter((db) => !SYSTEM_SCHEMAS.includes(db.toLowerCase())).map(dropSchema);
    if (drops.length > 0) await queryMany((await loader).session, drops);
}

/** SHOW CREATE DATABASE's statement, made to do nothing when the schema exists. */
function ifNotExists(createDatabase: string, db: string): string {
    const head = "CREATE DATABASE ";
    if (!createDatabase.startsWith(head)) throw new Error(`unexpected SHOW CREATE DATABASE output for ${db}: ${createDatabase.slice(0, 60)}`);
    return `CREATE DATABASE IF NOT EXISTS ${createDatabase.slice(head.length)}`;
}

/** A promise kept once `step` was called `target` times (at once for 0), or broken by `fail`. */
class Milestone {
    private count = 0;
    private keep!: () => void;
    private breakIt!: (error: Error) => void;
    readonly reached: Promise<void>;
    constructor(private readonly target: number) {
        this.reached = new Promise<void>((resolve, reject) => {
            this.keep = resolve;
            this.breakIt = reject;
        });
        this.reached.catch(() => undefined);
        if (target <= 0) this.keep();
    }
    step(): void {
        if (++this.count === this.target) this.keep();
    }
    fail(error: Error): void {
        this.breakIt(error);
    }
}

/** One INSERT's worth of rows, read ahead. */
interface Batch {
    sql: string;
    rows: number;
}

/**
 * The batches of one table, read by the reader and taken by its loader, and by loaders with no table left to start
 * that help with it (several may wait at once: each gets its own batch).
 */
class TableFeed {
    private readonly batches: Batch[] = [];
    private ended = false;
    private failure?: Error;
    private waiters: Array<() => void> = [];
    /** Batches taken and not yet loaded. */
    inFlight = 0;
    /** Set by the loader that creates the table; the others wait for it. */
    created?: Promise<void>;
    /** A loader has taken it (helpers join started tables only). */
    started = false;
    /** The table's triggers are made (once, by the loader that loads its last batch). */
    finished = false;
    constructor(readonly table: TableInfo) {}
    push(batch: Batch): void {
        this.batches.push(batch);
        this.wakeAll();
    }
    end(): void {
        this.ended = true;
        this.wakeAll();
    }
    fail(error: Error): void {
        this.failure ??= error;
        this.wakeAll();
    }
    /** Read to its end and every batch taken. */
    get exhausted(): boolean {
        return this.ended && this.batches.length === 0;
    }
    /** Batches read and not taken yet. */
    get waiting(): number {
        return this.batches.length;
    }
    /** The next batch; undefined once the table is read and taken. */
    async next(): Promise<Batch | undefined> {
        for (;;) {
            if (this.failure) throw this.failure;
            const batch = this.batches.shift();
            if (batch) {
                this.inFlight++;
                return batch;
            }
            if (this.ended) return undefined;
            await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
    }
    private wakeAll(): void {
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
    }
}

/** mysql2's callback-style connection under the promise wrapper: its row events and pause/resume. */
interface CoreConnection {
    query(options: object): CoreQuery;
    pause(): void;
    resume(): void;
}
interface CoreQuery {
    on(event: "result", listener: (row: string[]) => void): CoreQuery;
    on(event: "error", listener: (error: Error) => void): CoreQuery;
    on(event: "end", listener: () => void): CoreQuery;
}

/**
 * The tables and their rows: one reader streams every table (largest first) inside the snapshot, joining rows into
 * INSERT batches (up to `batchBytes`); each loader takes the next table, creates it (its schema first if needed,
 * same round trip) and loads its batches, so the largest table's rows start after one CREATE TABLE, not all of them.
 * The reader runs ahead of the loaders by up to READ_AHEAD_BYTES, then pauses its connection until they have taken
 * half of it. Each batch commits on its own (one transaction per table, which lets MariaDB's InnoDB insert the whole
 * table with table-level undo logging, MDEV-24818, was not faster on the bench: 0.94-1.3× per repetition).
 */
class RowCopy {
    private readonly feeds: TableFeed[];
    private readonly core: CoreConnection;
    private buffered = 0;
    private paused = false;
    private failure?: Error;
    private readonly started = Date.now();
    private readonly progress = { rows: 0, bytes: 0, lastLog: Date.now() };
    private readonly estRows: number;
    private readonly createDatabase: Map<string, string>;
    /** Every table exists on the replica (views wait for it); fails when the copy is aborted before. */
    readonly tablesCreated: Milestone;
    /**
     * The tables the loaders start with exist (or every table, when fewer). The replica's other DDL (schemas, small
     * tables, the copy's position, routines, events) waits for it: DDL runs one at a time in InnoDB, and the largest tables'
     * rows wait for their CREATE (all at once, the first rows waited for six DDL statements, 64 ms on the bench).
     */
    readonly firstTablesCreated: Milestone;

    /** The triggers made by the loaders, each after its table's rows. */
    readonly triggersMade = new Set<Programme>();

    constructor(
        tables: TableInfo[],
        schemas: Array<{ name: string; create: string }>,
        private readonly triggers: Programme[],
        private readonly reader: Member,
        private readonly batchBytes: number,
        workers: number,
        private readonly log: (line: string) => void,
    ) {
        this.feeds = tables.map((t) => new TableFeed(t));
        this.core = (reader.session.connection as unknown as { connection: CoreConnection }).connection;
        this.estRows = tables.reduce((n, t) => n + t.estRows, 0);
        this.createDatabase = new Map(schemas.map((s) => [s.name, s.create]));
        this.tablesCreated = new Milestone(tables.length);
        this.firstTablesCreated = new Milestone(Math.min(workers, tables.length));
    }

    /** Reads every table in turn into its feed. */
    async read(): Promise<void> {
        for (const feed of this.feeds) {
            try {
                await this.readTable(feed);
            } catch (error) {
                this.abort(error as Error);
                throw error;
            }
        }
    }

    /**
     * Creates and loads the tables, one table per loader at a time, largest first. A loader with no table left to start
     * helps with the started table that has the most batches waiting (the largest table is not left to one loader).
     */
    async load(loaders: Member[]): Promise<{ rows: number; bytes: number }> {
        const queue = [...this.feeds];
        await Promise.all(
            loaders.map(async (loader) => {
                const schemasMade = new Set<string>();
                for (;;) {
                    let feed = queue.shift();
                    if (feed) {
                        feed.started = true;
                        await this.create(feed, loader, schemasMade);
                    } else {
                        feed = this.feeds.filter((f) => f.started && !f.exhausted).sort((a, b) => b.waiting - a.waiting)[0];
                        if (!feed) return;
                        await feed.created;
                    }
                    await this.drain(feed, loader);
                }
            }),
        );
        this.report(true);
        return { rows: this.progress.rows, bytes: this.progress.bytes };
    }

    /**
     * Creates, on a loader of its own, the tables no loader has created yet, smallest first (the loaders take the
     * largest first), so that small tables and the views waiting for every table are not left to the end.
     */
    async createRemaining(loader: Member, schemasMade: Set<string>): Promise<void> {
        for (const feed of [...this.feeds].reverse()) if (!feed.created) await this.create(feed, loader, schemasMade);
    }

    /** Creates a table once, on the loader that gets to it first (its schema first, in the same round trip). */
    private create(feed: TableFeed, loader: Member, schemasMade: Set<string>): Promise<void> {
        const table = feed.table;
        feed.created ??= queryMany(loader.session, [
            // Every table's schema is among the catalogue's (its CREATE DATABASE ... IF NOT EXISTS).
            ...(schemasMade.has(table.db) ? [] : [this.createDatabase.get(table.db) ?? ""]),
            // A table of the provider's schema may be there already (a replica's earlier copy).
            ...(table.db === PROBE_SCHEMA ? [dropTable(table.db, table.name)] : []),
            table.create,
        ]).then(() => {
            schemasMade.add(table.db);
            this.tablesCreated.step();
            this.firstTablesCreated.step();
        });
        return feed.created;
    }

    /** Loads a table's batches as they come; the loader of its last batch then makes its triggers. */
    private async drain(feed: TableFeed, loader: Member): Promise<void> {
        for (let batch = await feed.next(); batch; batch = await feed.next()) {
            this.take(batch.sql.length);
            await query(loader.session, batch.sql);
            feed.inFlight--;
            this.progress.rows += batch.rows;
            this.progress.bytes += batch.sql.length;
            this.report();
        }
        if (feed.inFlight > 0 || feed.finished) return;
        feed.finished = true;
        // The table's triggers once its rows are in (they must not fire on the copy), in their order.
        const table = feed.table;
        const triggers = this.triggers.filter((t) => t.db === table.db && t.table === table.name);
        if (triggers.length > 0) await queryMany(loader.session, triggers.flatMap((t) => triggerStatements(t)));
        triggers.forEach((t) => this.triggersMade.add(t));
    }

    /** Stops the copy: every feed fails, and the reader's connection is closed (it may be paused mid-read). */
    abort(error: Error): void {
        if (this.failure) return;
        this.failure = error;
        for (const feed of this.feeds) feed.fail(error);
        this.tablesCreated.fail(error);
        this.firstTablesCreated.fail(error);
        this.reader.session.connection.destroy();
    }

    private take(bytes: number): void {
        this.buffered -= bytes;
        if (this.paused && this.buffered < READ_AHEAD_BYTES / 2) {
            this.paused = false;
            this.core.resume();
        }
    }

    private add(bytes: number): void {
        this.buffered += bytes;
        if (!this.paused && this.buffered >= READ_AHEAD_BYTES) {
            this.paused = true;
            this.core.pause();
        }
    }

    private readTable(feed: TableFeed): Promise<void> {
        const table = feed.table;
        const columns = table.columns;
        if (columns.length === 0) {
            feed.end();
            return Promise.resolve();
        }
        const names = columns.map((c) => c.name);
        let tuples: string[] = [];
        let size = 0;
        const flush = () => {
            if (tuples.length === 0) return;
            const sql = insertRows(table.db, table.name, names, tuples);
            feed.push({ sql, rows: tuples.length });
            this.add(sql.length);
            tuples = [];
            size = 0;
        };
        return new Promise<void>((resolve, reject) => {
            let failed = false;
            const fail = (error: Error) => {
                if (failed) return;
                failed = true;
                reject(error);
            };
            // Rows arrive as events on the reader's connection: a Readable's async iterator cost more CPU per row than
            // the rest of the copy. Every column is a literal's text (dialect.ts columnLiteral), joined as it is.
            this.core
                .query({ sql: selectRows(table.db, table.name, columns), rowsAsArray: true, typeCast: literalText, timeout: Math.max(1, this.reader.session.deadline - Date.now()) + 2000 })
                .on("result", (row) => {
                    if (failed || this.failure) return;
                    // A literal is never NULL (QUOTE(NULL) is the text NULL) unless the source could not make it: HEX()
                    // and QUOTE() return NULL (warning 1301) when their text would pass its max_allowed_packet.
                    const missing = row.indexOf(null as unknown as string);
                    if (missing >= 0) return fail(tooLarge(table, columns[missing].name));
                    const tuple = rowTuple(row);
                    tuples.push(tuple);
                    size += tuple.length + 1;
                    if (size >= this.batchBytes) flush();
                })
                .on("error", (error) => fail(new Error(`${this.reader.endpoint.name}: ${describe(error)} (while reading ${qualified(table.db, table.name)})`)))
                .on("end", () => {
                    if (failed) return;
                    if (this.failure) return fail(this.failure);
                    if (Date.now() > this.reader.session.deadline) {
                        return fail(new DeadlineExceeded(`${this.reader.endpoint.name}: the seed's row copy passed its deadline while reading ${qualified(table.db, table.name)}`));
                    }
                    flush();
                    feed.end();
                    resolve();
                });
        });
    }

    private report(force = false): void {
        const now = Date.now();
        if (!force && now - this.progress.lastLog < PROGRESS_EVERY_MS) return;
        this.progress.lastLog = now;
        const { rows, bytes } = this.progress;
        const left = estimateSecondsLeft(rows, Math.max(this.estRows, rows), now - this.started);
        this.log(
            `${rows} of ~${this.estRows} rows, ${(bytes / 1048576).toFixed(1)} MiB copied in ${((now - this.started) / 1000).toFixed(1)} s` +
                (left !== undefined && !force ? `, about ${left} s left` : ""),
        );
    }
}

function tooLarge(table: TableInfo, column: string): Error {
    return new Error(
        `${qualified(table.db, table.name)}: a value of column ${column} is too large for the copy: as the SQL text it travels as ` +
            "(hexadecimal for bytes, two characters a byte; quoted for text) it passes the source's max_allowed_packet. " +
            "Raise max_allowed_packet on the source and on the replica above twice the largest value, then run again.",
    );
}

/** Every column of the read is a literal's text (never NULL: QUOTE(NULL) is the text NULL). */
function literalText(field: { string(): string | null }): unknown {
    return field.string();
}

/** A trigger made on a loader, in one round trip: in its schema, with its sql_mode, the loader's put back after. */
function triggerStatements(t: Programme): string[] {
    return [
        useSchema(t.db),
        // Only the provider's own schema can hold one already (a replica's earlier copy).
        ...(t.db === PROBE_SCHEMA ? [`DROP TRIGGER IF EXISTS ${qualified(t.db, t.name)}`] : []),
        setSqlMode(t.sqlMode),
        t.create,
        setSqlMode(LOAD_MODE),
    ];
}

/**
 * Views, routines, triggers and events, in the order given, each with the sql_mode (and an event's time zone) it was
 * defined with. Views in dependency order: a view whose base is not there yet is tried again after the others.
 */
async function copyProgrammes(programmes: Programme[], loader: Loader, replica: Member): Promise<void> {
    const session = loader.member.session;
    let pending = programmes.filter((p) => p.kind === "VIEW");
    while (pending.length > 0) {
        const failed: Programme[] = [];
        let lastError: unknown;
        for (const v of pending) {
            try {
                await useDb(loader, v.db);
                if (v.db === PROBE_SCHEMA) await query(session, dropView(v.db, v.name));
                await query(session, v.create);
            } catch (error) {
                if (error instanceof DeadlineExceeded) throw error;
                failed.push(v);
                lastError = error;
            }
        }
        if (failed.length === pending.length) throw lastError;
        pending = failed;
    }
    for (const p of programmes.filter((x) => x.kind !== "VIEW")) {
        await useDb(loader, p.db);
        // Only the provider's own schema can hold one already (a replica's earlier copy).
        if (p.db === PROBE_SCHEMA) await query(session, `DROP ${p.kind} IF EXISTS ${qualified(p.db, p.name)}`);
        await useMode(loader, p.sqlMode);
        if (p.kind === "EVENT") {
            await query(session, setTimeZone(p.timeZone));
            await query(session, createEventDisabledOnReplica(replica.dialect, p.create));
            await query(session, "SET SESSION time_zone = '+00:00'");
            // An event whose schedule has ended may be dropped at creation (ON COMPLETION NOT PRESERVE).
            await query(session, disableEventOnReplica(replica.dialect, p.db, p.name)).catch((error) => {
                if (!/1539|Unknown event/i.test(String((error as Error).message))) throw error;
            });
        } else {
            await query(session, p.create);
        }
    }
    await useMode(loader, LOAD_MODE);
}
