/**
 * Seed method `dump`: the provider's own logical copy of the source, over mysql2, into one replica.
 *
 * 1. The replica is prepared: channel forgotten, the provider's note "seed in progress" written, the schemas a
 *    previous copy (or, with reseed, the user) left dropped. Binlog off throughout: nothing here is the
 *    replica's own transaction.
 * 2. The consistent point: with commits blocked on the source (FLUSH TABLES WITH READ LOCK, milliseconds), every
 *    reader opens its snapshot and the executed GTIDs are read; then the lock is lifted.
 * 3. Schemas, then every table (SHOW CREATE, in parallel), then rows streamed in batches into the replica, tables
 *    in parallel (one reader and one loader per worker), each value as the literal the source computed for it.
 * 4. Alongside the rows, on a loader of its own: views, routines, events (off on the replica). After the rows:
 *    triggers (they must not fire on the copy).
 * 5. The replica's own history wiped and the copy's position declared applied; the note removed last.
 * A copy cut short anywhere leaves the note: the next run drops what it copied and copies again.
 *
 * InnoDB tables are copied at the snapshot; other engines (MyISAM) are read as they are when their turn comes,
 * as with mysqldump --single-transaction.
 */
import type { Readable } from "node:stream";
import {
    accountExists,
    createRouterCheckAccount,
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
    PROBE_SCHEMA,
    qualified,
    qualifyCreateTable,
    SEED_LOAD_SESSION,
    SEED_NOTE_DROP,
    SEED_NOTE_TABLE,
    SEED_READ_SESSION,
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
    SNAPSHOT_LOCK,
    SNAPSHOT_OPEN,
    SNAPSHOT_UNLOCK,
    snapshotPosition,
    SYSTEM_SCHEMAS,
    useSchema,
    withoutBinlog,
} from "./dialect";
import { closeAll, connectMember, readThreads, type Member } from "./members";
import { routerCheckHosts } from "./routerAccount";
import { estimateSecondsLeft } from "./seedPlan";
import { DeadlineExceeded, query, scalar } from "./session";
import type { ReplicationInputs } from "./types";

/**
 * Readers/loaders per seed: tables are copied in parallel, largest first, each worker reading one table while
 * its previous INSERT runs. Measured on the 2-core bench (10 000 rows, three tables of
 * data): three workers copy all three at once; the servers' DDL and commits, not CPU, set the pace there.
 */
const WORKERS = 3;
/** An INSERT batch stops growing past this many bytes (or half the replica's max_allowed_packet). */
const BATCH_BYTES = 256 * 1024;
/** Progress lines at most this often. */
const PROGRESS_EVERY_MS = 2000;
/** Tables of the provider's own schema that are per member, never copied. */
const LOCAL_TABLES: readonly string[] = [SEED_NOTE_TABLE, "pending_reset"];
/** Schemas a copy never touches (the provider's schema is copied table by table, see LOCAL_TABLES). */
const SERVER_SCHEMAS: readonly string[] = SYSTEM_SCHEMAS.filter((s) => s !== PROBE_SCHEMA);

export interface DumpContext {
    inputs: ReplicationInputs;
    /** Seconds each stage (prepare + snapshot + schema, rows, objects + position) may take. */
    stageSeconds: number;
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
    estRows: number;
    estBytes: number;
    /** Stored columns, in order, with their types (how a value travels: selectRows). */
    columns: Array<{ name: string; type: string; charset: string | null }>;
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

/** Copies the source into the replica and declares the copy's GTID position applied there. */
export async function seedByDump(replica: Member, source: Member, ctx: DumpContext): Promise<DumpResult> {
    const name = replica.endpoint.name;
    const opened: Member[] = [];
    const sessions = () => [replica, source, ...opened].map((m) => m.session);
    const stage = (what: string) => {
        const deadline = Date.now() + ctx.stageSeconds * 1000;
        for (const s of sessions()) s.deadline = deadline;
        ctx.log(`seed ${name} from ${source.endpoint.name}: ${what}`);
    };
    try {
        stage("preparing the replica");
        await prepareReplica(replica, source.endpoint.name);

        stage("opening a consistent snapshot of the source");
        const open = (m: Member["endpoint"]) => connectMember(m, ctx.inputs, Date.now() + ctx.stageSeconds * 1000).then((c) => (opened.push(c), c));
        // Connections opened in parallel, each session set up in parallel: round trips overlap.
        const [control, readers, loaders] = await Promise.all([
            open(source.endpoint),
            Promise.all(Array.from({ length: WORKERS }, () => open(source.endpoint))),
            // One loader per worker, and one more for views, routines and events, made while the rows are copied.
            Promise.all(Array.from({ length: WORKERS + 1 }, () => open(replica.endpoint))),
        ]);
        for (const s of sessions()) s.deadline = Date.now() + ctx.stageSeconds * 1000;
        await Promise.all([
            ...[control, ...readers].map(async (r) => { for (const statement of SEED_READ_SESSION) await query(r.session, statement); }),
            ...loaders.map(async (l) => { for (const statement of SEED_LOAD_SESSION) await query(l.session, statement); }),
        ]);
        const position = await openSnapshots(control, readers);
        ctx.log(`seed ${name}: snapshot of ${source.endpoint.name} at GTID ${position || "(empty)"}`);

        const reader = readers[0];
        const schemas = (await query<{ name: string }>(reader.session, LIST_SCHEMAS))
            .map((s) => String(s.name))
            .filter((s) => !SERVER_SCHEMAS.includes(s.toLowerCase()));
        const objects = await query<{ db: string; name: string; type: string; estRows: string; estBytes: string }>(reader.session, listTables(schemas));
        const columns = await query<{ db: string; tbl: string; name: string; type: string; charset: string | null }>(reader.session, listColumns(schemas));
        const tables: TableInfo[] = objects
            .filter((o) => String(o.type) === "BASE TABLE" && !(String(o.db) === PROBE_SCHEMA && LOCAL_TABLES.includes(String(o.name))))
            .map((o) => ({
                db: String(o.db),
                name: String(o.name),
                estRows: Number(o.estRows ?? 0),
                estBytes: Number(o.estBytes ?? 0),
                columns: columns.filter((c) => String(c.db) === String(o.db) && String(c.tbl) === String(o.name)).map((c) => ({ name: String(c.name), type: String(c.type), charset: c.charset === null ? null : String(c.charset) })),
            }));
        const views = objects.filter((o) => String(o.type) === "VIEW").map((o) => ({ db: String(o.db), name: String(o.name) }));
        const skipped = objects.filter((o) => !["BASE TABLE", "VIEW"].includes(String(o.type)));
        if (skipped.length > 0) ctx.log(`seed ${name}: not copied (type not supported): ${skipped.map((o) => `${o.db}.${o.name} (${o.type})`).join(", ")}`);

        stage(`creating ${schemas.length} schema(s) and ${tables.length} table(s), then their rows, with views, routines and events alongside`);
        const workers = loaders.slice(0, WORKERS);
        // Views, routines and events neither read nor fire on the rows: a loader of their own makes them while the
        // rows are copied (their statements read by the control session, which holds no snapshot).
        const loader: Loader = { member: loaders[WORKERS], mode: LOAD_MODE };
        for (const db of schemas) {
            if (db === PROBE_SCHEMA) await query(loader.member.session, "CREATE DATABASE IF NOT EXISTS `replicaset_probe`");
            else await query(loader.member.session, String(Object.values((await query(reader.session, showCreateDatabase(db)))[0])[1]));
        }
        // Every table first (views need them), in parallel: DDL waits on the replica's disk more than on its CPU.
        await createTables(tables, readers, workers);
        const [counts] = await Promise.all([
            copyRows(tables, readers, workers, (line) => ctx.log(`seed ${name}: ${line}`)),
            (async () => {
                await copyViews(views, control, loader);
                await copyProgrammes(schemas, control, loader, replica, (kind) => kind !== "TRIGGER");
            })(),
        ]);

        stage("creating triggers (after the rows: they must not fire on the copy) and declaring the copy's position");
        await copyProgrammes(schemas, control, loader, replica, (kind) => kind === "TRIGGER");
        // The copy leaves out the mysql schema, yet declares the router's check account (created binlogged on the
        // source) applied: make it here, binlog off like the rest of the copy, or HAProxy keeps this replica DOWN.
        if (ctx.inputs.routerCheckUser) {
            const user = ctx.inputs.routerCheckUser;
            for (const host of routerCheckHosts(ctx.inputs)) {
                if ((await query(loader.member.session, accountExists(user, host))).length === 0) {
                    await query(loader.member.session, createRouterCheckAccount(replica.dialect, user, host));
                }
            }
        }
        for (const statement of withoutBinlog(declareSeedPosition(replica.dialect, position))) await query(replica.session, statement);
        // Last: a replica without the note holds a finished copy.
        for (const statement of withoutBinlog([SEED_NOTE_DROP])) await query(replica.session, statement);
        return { position, ...counts, tables: tables.length };
    } finally {
        await closeAll(opened);
    }
}

/** Binlog off: forget the channel, write the note, drop whatever a previous copy (or with reseed, the user) left. */
async function prepareReplica(replica: Member, sourceName: string): Promise<void> {
    const threads = await readThreads(replica);
    if (threads.configured) {
        await query(replica.session, replica.dialect.stop);
        await query(replica.session, replica.dialect.resetReplicaAll);
    }
    const statements = [...seedNoteWrite(sourceName)];
    const schemas = (await query<{ name: string }>(replica.session, LIST_SCHEMAS)).map((s) => String(s.name));
    for (const db of schemas) if (!SYSTEM_SCHEMAS.includes(db.toLowerCase())) statements.push(dropSchema(db));
    for (const statement of withoutBinlog(statements)) await query(replica.session, statement);
}

/** Opens every reader's snapshot at one point, with commits blocked; returns that point's GTID position. */
async function openSnapshots(control: Member, readers: Member[]): Promise<string> {
    await query(control.session, SNAPSHOT_LOCK);
    try {
        for (const r of readers) await query(r.session, SNAPSHOT_OPEN);
        return String((await scalar(control.session, snapshotPosition(control.dialect))) ?? "").replace(/\s+/g, "");
    } finally {
        await query(control.session, SNAPSHOT_UNLOCK).catch(() => undefined);
    }
}

/** Creates every table on the replica (a table of the provider's schema may be there already: dropped first), in parallel. */
async function createTables(tables: TableInfo[], readers: Member[], loaders: Member[]): Promise<void> {
    const queue = [...tables];
    await Promise.all(
        readers.map(async (reader, i) => {
            for (let table = queue.shift(); table; table = queue.shift()) {
                const [row] = await query<Record<string, unknown>>(reader.session, showCreateTable(table.db, table.name));
                if (table.db === PROBE_SCHEMA) await query(loaders[i].session, dropTable(table.db, table.name));
                await query(loaders[i].session, qualifyCreateTable(String(row["Create Table"]), table.db, table.name));
            }
        }),
    );
}

/** Streams every table's rows from a reader into a loader, largest tables first, one table per worker at a time. */
async function copyRows(tables: TableInfo[], readers: Member[], loaders: Member[], log: (line: string) => void): Promise<{ rows: number; bytes: number }> {
    const started = Date.now();
    const estRows = tables.reduce((n, t) => n + t.estRows, 0);
    const progress = { rows: 0, bytes: 0, lastLog: started };
    const maxPacket = Number(await scalar(loaders[0].session, "SELECT @@GLOBAL.max_allowed_packet"));
    const batchBytes = Math.max(64 * 1024, Math.min(BATCH_BYTES, Math.floor(maxPacket / 2)));
    const report = (force = false) => {
        const now = Date.now();
        if (!force && now - progress.lastLog < PROGRESS_EVERY_MS) return;
        progress.lastLog = now;
        const left = estimateSecondsLeft(progress.rows, Math.max(estRows, progress.rows), now - started);
        log(
            `${progress.rows} of ~${estRows} rows, ${(progress.bytes / 1048576).toFixed(1)} MiB copied in ${((now - started) / 1000).toFixed(1)} s` +
                (left !== undefined && !force ? `, about ${left} s left` : ""),
        );
    };
    const queue = [...tables];
    await Promise.all(
        readers.map(async (reader, i) => {
            const loader = loaders[i];
            for (let table = queue.shift(); table; table = queue.shift()) await copyTable(table, reader, loader, batchBytes, progress, report);
        }),
    );
    report(true);
    return { rows: progress.rows, bytes: progress.bytes };
}

async function copyTable(
    table: TableInfo,
    reader: Member,
    loader: Member,
    batchBytes: number,
    progress: { rows: number; bytes: number },
    report: () => void,
): Promise<void> {
    const columns = table.columns;
    if (columns.length === 0) return;
    const names = columns.map((c) => c.name);
    const core = (reader.session.connection as unknown as { connection: { query(options: object): { stream(options?: object): Readable } } }).connection;
    // Every value arrives as the SQL literal the source computed (dialect.ts columnLiteral): text, joined as it is.
    const stream = core.query({ sql: selectRows(table.db, table.name, columns), rowsAsArray: true, typeCast: literalText }).stream({ highWaterMark: 1000 });
    let batch: string[][] = [];
    let size = 0;
    // One INSERT in flight while the next batch is read: reading and loading overlap.
    let inFlight: Promise<void> = Promise.resolve();
    const flush = async () => {
        if (batch.length === 0) return;
        const sql = insertRows(table.db, table.name, names, batch);
        const rows = batch.length;
        batch = [];
        size = 0;
        await inFlight;
        inFlight = query(loader.session, sql).then(() => {
            progress.rows += rows;
            progress.bytes += sql.length;
            report();
        });
        inFlight.catch(() => undefined);
    };
    try {
        for await (const row of stream as AsyncIterable<string[]>) {
            if (Date.now() > reader.session.deadline) {
                throw new DeadlineExceeded(`${reader.session.endpoint.name}: the seed's row copy passed its deadline while reading ${qualified(table.db, table.name)}`);
            }
            // A literal is never NULL (QUOTE(NULL) is the text NULL) unless the source could not make it: HEX() and
            // QUOTE() return NULL (warning 1301) when their text would pass its max_allowed_packet.
            const missing = row.findIndex((value) => value === null);
            if (missing >= 0) throw tooLarge(table, columns[missing].name);
            batch.push(row);
            for (const value of row) size += value.length + 1;
            if (size >= batchBytes) await flush();
        }
        await flush();
        await inFlight;
    } catch (error) {
        stream.destroy();
        throw error;
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

/** Views after every table, in dependency order: a view whose base is not there yet is tried again after the others. */
async function copyViews(views: Array<{ db: string; name: string }>, reader: Member, loader: Loader): Promise<void> {
    let pending = views;
    while (pending.length > 0) {
        const failed: typeof pending = [];
        let lastError: unknown;
        for (const v of pending) {
            const [row] = await query<Record<string, unknown>>(reader.session, showCreateView(v.db, v.name));
            try {
                await useDb(loader, v.db);
                if (v.db === PROBE_SCHEMA) await query(loader.member.session, dropView(v.db, v.name));
                await query(loader.member.session, String(row["Create View"]));
            } catch (error) {
                if (error instanceof DeadlineExceeded) throw error;
                failed.push(v);
                lastError = error;
            }
        }
        if (failed.length === pending.length) throw lastError;
        pending = failed;
    }
}

/**
 * Routines, triggers and events of the kinds `wanted` lets through, in that order, each with the sql_mode (and an
 * event's time zone) it was defined with.
 */
async function copyProgrammes(schemas: string[], reader: Member, loader: Loader, replica: Member, wanted: (kind: string) => boolean): Promise<void> {
    const session = loader.member.session;
    for (const p of await query<{ db: string; name: string; kind: string }>(reader.session, listProgrammes(schemas))) {
        if (!wanted(String(p.kind))) continue;
        const db = String(p.db);
        const name = String(p.name);
        const kind = String(p.kind);
        const [row] = await query<Record<string, unknown>>(
            reader.session,
            kind === "TRIGGER" ? showCreateTrigger(db, name) : kind === "EVENT" ? showCreateEvent(db, name) : showCreateRoutine(db, kind, name),
        );
        const text = String(row[kind === "TRIGGER" ? "SQL Original Statement" : kind === "EVENT" ? "Create Event" : kind === "FUNCTION" ? "Create Function" : "Create Procedure"]);
        await useDb(loader, db);
        // Only the provider's own schema can hold one already (a replica's earlier copy).
        if (db === PROBE_SCHEMA) await query(session, `DROP ${kind} IF EXISTS ${qualified(db, name)}`);
        await useMode(loader, String(row.sql_mode ?? ""));
        if (kind === "EVENT") {
            await query(session, setTimeZone(String(row.time_zone ?? "SYSTEM")));
            await query(session, createEventDisabledOnReplica(replica.dialect, text));
            await query(session, "SET SESSION time_zone = '+00:00'");
            // An event whose schedule has ended may be dropped at creation (ON COMPLETION NOT PRESERVE).
            await query(session, disableEventOnReplica(replica.dialect, db, name)).catch((error) => {
                if (!/1539|Unknown event/i.test(String((error as Error).message))) throw error;
            });
        } else {
            await query(session, text);
        }
    }
    await useMode(loader, LOAD_MODE);
}
