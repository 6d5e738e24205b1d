/**
 * The baseline: the runbook's replication steps done by hand, as a person would type them — one `mysql`
 * command-line invocation per step, one replica after the other, polling every 100 ms where the runbook
 * says to check.
 *
 *   on the master:   CREATE USER 'repl'@'%' ...;  GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'
 *   on each replica: RESET MASTER;  CHANGE MASTER TO ..., MASTER_USE_GTID=slave_pos;  START SLAVE;
 *                    SHOW SLAVE STATUS\G every 100 ms until Slave_IO_Running and Slave_SQL_Running are Yes
 *   the runbook's replication test: a table and a row on the master, then each replica in turn, every
 *   100 ms, until the row is there.
 */
import { execFile } from "node:child_process";

/** Where the `mysql` client connects, and as whom. */
export interface HandServer {
    name: string;
    host: string;
    port: number;
}

export interface RunbookOptions {
    source: HandServer;
    replicas: HandServer[];
    rootPassword: string;
    replicationPassword: string;
    /** How long any one wait may take before the run is declared failed. */
    deadlineMs?: number;
}

export interface RunbookResult {
    /** `mysql` invocations made, polls included. */
    invocations: number;
    /** SHOW SLAVE STATUS polls, summed over the replicas. */
    statusPolls: number;
    /** Row polls, summed over the replicas. */
    rowPolls: number;
}

const POLL_MS = 100;

/** One `mysql -h... -P... -uroot -p... -e '...'` invocation; resolves with stdout, rejects with stderr. */
function mysqlCli(server: HandServer, password: string, sql: string, extra: string[] = []): Promise<string> {
    const args = [`-h${server.host}`, `-P${server.port}`, "-uroot", `-p${password}`, ...extra, "-e", sql];
    return new Promise((resolve, reject) => {
        execFile("mysql", args, { encoding: "utf8" }, (error, stdout, stderr) => {
            if (error) reject(new Error(`${server.name}: mysql -e ${JSON.stringify(sql)} failed: ${stderr.trim() || error.message}`));
            else resolve(stdout);
        });
    });
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `'text'` for the mysql command line; the passwords used here have no quotes, but stay safe. */
function quote(text: string): string {
    return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Field of a `\G` listing, e.g. "Slave_IO_Running: Yes". */
function field(listing: string, name: string): string {
    const match = new RegExp(`^\\s*${name}:\\s*(.*)$`, "m").exec(listing);
    return match ? match[1].trim() : "";
}

/** Runs the runbook's steps; resolves once the test row is visible on every replica. */
export async function runbookByHand(options: RunbookOptions): Promise<RunbookResult> {
    const { source, replicas, rootPassword } = options;
    const deadlineMs = options.deadlineMs ?? 60_000;
    const result: RunbookResult = { invocations: 0, statusPolls: 0, rowPolls: 0 };
    const mysql = (server: HandServer, sql: string, extra: string[] = []) => {
        result.invocations++;
        return mysqlCli(server, rootPassword, sql, extra);
    };
    const pw = quote(options.replicationPassword);

    // On the master: the replication account.
    await mysql(source, `CREATE USER 'repl'@'%' IDENTIFIED BY ${pw}`);
    await mysql(source, "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%'");

    // Each replica in turn.
    for (const replica of replicas) {
        await mysql(replica, "RESET MASTER");
        await mysql(
            replica,
            `CHANGE MASTER TO MASTER_HOST=${quote(source.host)}, MASTER_PORT=${source.port}, ` +
                `MASTER_USER='repl', MASTER_PASSWORD=${pw}, MASTER_USE_GTID=slave_pos`,
        );
        await mysql(replica, "START SLAVE");
        const deadline = Date.now() + deadlineMs;
        for (;;) {
            result.statusPolls++;
            const status = await mysql(replica, "SHOW SLAVE STATUS\\G");
            if (field(status, "Slave_IO_Running") === "Yes" && field(status, "Slave_SQL_Running") === "Yes") break;
            if (Date.now() > deadline) {
                throw new Error(`${replica.name}: replication threads not running after ${deadlineMs} ms: ` +
                    `IO=${field(status, "Slave_IO_Running")} SQL=${field(status, "Slave_SQL_Running")} ` +
                    `${field(status, "Last_IO_Error")} ${field(status, "Last_SQL_Error")}`.trim());
            }
            await sleep(POLL_MS);
        }
    }

    // The runbook's replication test: a row written on the master, looked for on each replica.
    const token = `hand-${Date.now().toString(36)}`;
    await mysql(source, "CREATE DATABASE IF NOT EXISTS runbook_test");
    await mysql(source, "CREATE TABLE IF NOT EXISTS runbook_test.t (token VARCHAR(64) PRIMARY KEY, note VARCHAR(64))");
    await mysql(source, `INSERT INTO runbook_test.t VALUES ('${token}', 'written on the master')`);
    for (const replica of replicas) {
        const deadline = Date.now() + deadlineMs;
        for (;;) {
            result.rowPolls++;
            // Before the table has replicated the SELECT fails: that counts as "not there yet".
            const out = await mysql(replica, `SELECT COUNT(*) FROM runbook_test.t WHERE token = '${token}'`, ["-N", "-B"]).catch(() => "0");
            if (out.trim() === "1") break;
            if (Date.now() > deadline) throw new Error(`${replica.name}: the test row did not appear within ${deadlineMs} ms`);
            await sleep(POLL_MS);
        }
    }
    return result;
}
