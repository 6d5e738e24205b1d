/**
 * The history of the seeding tests and bench (issue 18): a source with 10 000 rows in two schemas, values of
 * many types, a view per schema, a trigger, a procedure, a function and an event, and its binary logs purged to the
 * current one.
 */
/** Anything that runs statements in order and returns the last one's rows (a test server, or a TCP connection). */
export interface StatementRunner {
    query<T = Record<string, unknown>>(...statements: string[]): Promise<T[]>;
}

/** The tables whose CHECKSUM TABLE a copy must match. */
export const HISTORY_TABLES = ["app1.items", "app1.notes", "app2.ledger"];

/** CHECKSUM TABLE of `tables` (default the history's), by table name: what a copy must match. */
export async function tableChecksums(server: StatementRunner, tables: readonly string[] = HISTORY_TABLES): Promise<Record<string, string>> {
    const rows = await server.query<{ Table: string; Checksum: string }>(`CHECKSUM TABLE ${tables.join(", ")}`);
    return Object.fromEntries(rows.map((r) => [String(r.Table), String(r.Checksum)]));
}

/** The rows of `table`; -1 when it cannot be read (absent). */
export async function rowCount(server: StatementRunner, table: string): Promise<number> {
    const rows = await server.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).catch(() => [{ n: -1 }]);
    return Number(rows[0].n);
}

/** 10 000 rows in two schemas, with a view, a trigger, a procedure, a function and an event; binary logs purged. */
export async function loadHistory(source: StatementRunner): Promise<void> {
    const values = (n: number, row: (i: number) => string) => Array.from({ length: n }, (_, i) => row(i + 1)).join(",");
    await source.query(
        "CREATE DATABASE app1",
        "CREATE DATABASE app2 CHARACTER SET latin1",
        "CREATE TABLE app1.items (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL, price DECIMAL(12,4), made DATETIME(6), note TEXT, twice INT AS (id * 2) VIRTUAL) ENGINE=InnoDB",
        "CREATE TABLE app1.notes (id INT AUTO_INCREMENT PRIMARY KEY, item INT NOT NULL, body VARBINARY(255), at TIMESTAMP NULL, ratio DOUBLE, KEY (item)) ENGINE=InnoDB",
        "CREATE TABLE app2.ledger (id BIGINT PRIMARY KEY, amount DECIMAL(20,2) NOT NULL, label VARCHAR(40), flag BIT(3), day DATE) ENGINE=InnoDB",
        "CREATE TABLE app1.audit (n INT NOT NULL) ENGINE=InnoDB",
        `INSERT INTO app1.items (id, name, price, made, note) VALUES ${values(3000, (i) => `(${i}, 'item ${i} ü''q\\\\', ${i}.1234, '2026-01-02 03:04:05.${String(i).padStart(6, "0")}', ${i % 7 === 0 ? "NULL" : `'note ${i}'`})`)}`,
        `INSERT INTO app1.notes (item, body, at, ratio) VALUES ${values(2000, (i) => `(${i}, X'00ff${(i % 256).toString(16).padStart(2, "0")}', '2026-03-04 05:06:07', ${i / 3})`)}`,
        `INSERT INTO app2.ledger VALUES ${values(5000, (i) => `(${i}, ${i * 100}.25, 'l${i}', b'${(i % 8).toString(2)}', '2026-05-${String((i % 28) + 1).padStart(2, "0")}')`)}`,
        "CREATE VIEW app1.cheap AS SELECT id, name FROM app1.items WHERE price < 100",
        "CREATE VIEW app2.summary AS SELECT COUNT(*) AS n, SUM(amount) AS total FROM app2.ledger",
        "CREATE TRIGGER app1.count_items AFTER INSERT ON app1.items FOR EACH ROW INSERT INTO app1.audit VALUES (NEW.id)",
        "CREATE PROCEDURE app1.touch() INSERT INTO app1.audit VALUES (0)",
        "CREATE FUNCTION app2.double_it(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
        "CREATE EVENT app1.nightly ON SCHEDULE EVERY 1 DAY DO INSERT INTO app1.audit VALUES (-1)",
        "FLUSH BINARY LOGS",
    );
    await purgeBinaryLogs(source);
}

/**
 * The source's binary logs purged down to the current one. PURGE BINARY LOGS keeps, with only a warning, a log that
 * a replica's dump thread still reads (docs/dialects.md; seen on MariaDB 11.8 across hosts): a replica still
 * catching up on the history would keep it, and a member added next would replicate the history instead of being
 * seeded. So purge again, as the dump threads move on, until only the current log is left, within `seconds`.
 */
export async function purgeBinaryLogs(source: StatementRunner, seconds = 60): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    for (let attempt = 0; ; attempt++) {
        const logs = await source.query<{ Log_name: string }>("SHOW BINARY LOGS");
        if (logs.length === 1) return;
        if (Date.now() > deadline) {
            throw new Error(`the source still holds ${logs.length} binary logs after ${seconds} s of PURGE BINARY LOGS TO the current one (a replica still reading an older one?)`);
        }
        await source.query(`PURGE BINARY LOGS TO '${logs[logs.length - 1].Log_name}'`);
        await new Promise((r) => setTimeout(r, Math.min(250, 10 * 2 ** attempt)));
    }
}

