/**
 * Real MariaDB servers for tests and the benchmark: Debian's mariadbd, one datadir per server in a temp dir,
 * listening on loopback ports, started with the same replication flags the component renders for MariaDB.
 *
 * Datadirs are copied from one template made by mariadb-install-db per process, so a fresh server costs a
 * copy and a start (about a second), not a full install.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, rm, cp, mkdir, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Connection } from "mysql2/promise";
import * as mysql from "mysql2/promise";
import { serverFlags } from "../../components/serverFlags";
import type { MemberRole } from "../../config/types";

const run = promisify(execFile);

export interface ServerSpec {
    name: string;
    serverId: number;
    role: MemberRole;
}

export interface StartOptions {
    /** Root password for 'root'@'%'. Default "root-secret". */
    rootPassword?: string;
    /**
     * Write a binlogged transaction during initialisation, as the official images' entrypoints do (time-zone
     * tables, accounts): the replica then holds GTIDs of its own that the provider must reset.
     */
    binlogInitialisation?: boolean;
    /** Extra mariadbd flags. */
    extraFlags?: string[];
    /** Seconds to wait for each server to accept connections. Default 60. */
    readySeconds?: number;
}

export class MariaServer {
    readonly host = "127.0.0.1";
    process?: ChildProcess;
    private exited?: Promise<void>;

    constructor(
        readonly spec: ServerSpec,
        readonly port: number,
        readonly dir: string,
        readonly rootPassword: string,
        private readonly flags: string[],
        private readonly readySeconds: number,
    ) {}

    get name(): string {
        return this.spec.name;
    }
    get datadir(): string {
        return join(this.dir, "data");
    }
    get socket(): string {
        return join(this.dir, "mysqld.sock");
    }
    get errorLog(): string {
        return join(this.dir, "error.log");
    }

    /** Starts mariadbd and waits until it accepts TCP connections. */
    async start(): Promise<void> {
        const args = [
            "--no-defaults",
            `--datadir=${this.datadir}`,
            `--socket=${this.socket}`,
            `--pid-file=${join(this.dir, "mysqld.pid")}`,
            `--log-error=${this.errorLog}`,
            // Not /tmp: servers of other processes (other PID namespaces sharing /tmp) can have the same pid, and
            // with it the same #sql-temptable-<pid>-... names, and delete each other's temporary tables.
            `--tmpdir=${this.dir}`,
            `--port=${this.port}`,
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=16M",
            "--performance-schema=OFF",
            ...(process.getuid?.() === 0 ? ["--user=root"] : []),
            ...this.flags,
        ];
        const child = spawn("/usr/sbin/mariadbd", args, { stdio: "ignore" });
        this.process = child;
        this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
        await this.waitReady();
    }

    private async waitReady(): Promise<void> {
        const deadline = Date.now() + this.readySeconds * 1000;
        let last = "";
        for (let attempt = 0; Date.now() < deadline; attempt++) {
            if (this.process?.exitCode !== null && this.process?.exitCode !== undefined) {
                throw new Error(`${this.name}: mariadbd exited with ${this.process.exitCode}; log:\n${await this.logTail()}`);
            }
            try {
                const c = await mysql.createConnection({ host: this.host, port: this.port, user: "root", password: this.rootPassword, connectTimeout: 2000 });
                await c.end();
                return;
            } catch (error) {
                last = (error as Error).message;
                // Before the password is set the server answers "access denied": it is up.
                if ((error as { code?: string }).code === "ER_ACCESS_DENIED_ERROR") return;
            }
            await new Promise((r) => setTimeout(r, Math.min(200, 10 * 2 ** attempt)));
        }
        throw new Error(`${this.name}: not accepting connections on ${this.host}:${this.port} after ${this.readySeconds}s: ${last}\n${await this.logTail()}`);
    }

    async logTail(): Promise<string> {
        try {
            return (await readFile(this.errorLog, "utf8")).split("\n").slice(-15).join("\n");
        } catch {
            return "(no error log)";
        }
    }

    /** Stops the server cleanly (SIGTERM), killing it if it does not stop within 30 s; `kill` skips the clean part. */
    async stop(kill = false): Promise<void> {
        const child = this.process;
        if (!child || child.exitCode !== null) return;
        child.kill(kill ? "SIGKILL" : "SIGTERM");
        const stopped = await Promise.race([this.exited!.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30000))]);
        if (!stopped) {
            child.kill("SIGKILL");
            await this.exited;
        }
        this.process = undefined;
    }

    async restart(): Promise<void> {
        await this.stop();
        await this.start();
    }

    /** A root connection over TCP (the caller closes it). */
    connect(): Promise<Connection> {
        return mysql.createConnection({ host: this.host, port: this.port, user: "root", password: this.rootPassword, dateStrings: true });
    }

    /** Runs statements on a fresh root connection and returns the last result's rows. */
    async query<T = Record<string, unknown>>(...statements: string[]): Promise<T[]> {
        const connection = await this.connect();
        try {
            let rows: unknown = [];
            for (const sql of statements) [rows] = await connection.query(sql);
            return rows as T[];
        } finally {
            await connection.end();
        }
    }
}

export class MariaCluster {
    constructor(readonly baseDir: string, readonly servers: MariaServer[]) {}

    get source(): MariaServer {
        return this.servers.find((s) => s.spec.role === "source")!;
    }
    get replicas(): MariaServer[] {
        return this.servers.filter((s) => s.spec.role === "replica");
    }
    byName(name: string): MariaServer {
        const server = this.servers.find((s) => s.name === name);
        if (!server) throw new Error(`no server ${name}`);
        return server;
    }

    /** Stops every server and removes the datadirs. */
    async destroy(): Promise<void> {
        // The datadirs are thrown away: no clean shutdown needed.
        await Promise.all(this.servers.map((s) => s.stop(true)));
        await rm(this.baseDir, { recursive: true, force: true });
    }
}

let template: Promise<string> | undefined;

/** One initialised datadir per process; servers start from copies of it. */
function templateDatadir(): Promise<string> {
    template ??= (async () => {
        const dir = await mkdtemp(join(tmpdir(), "mariadb-template-"));
        const datadir = join(dir, "data");
        await run("mariadb-install-db", [
            "--no-defaults",
            `--datadir=${datadir}`,
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            // A private tmpdir, as for the servers (MariaServer.start): a shared /tmp made bootstraps fail with
            // "Error on delete of '/tmp/#sql-temptable-...'" and "Unknown table 'mysql.tmp_proxies_priv'".
            `--tmpdir=${dir}`,
            ...(process.getuid?.() === 0 ? ["--user=root"] : []),
        ]);
        return datadir;
    })();
    // A failed install is not cached: the next start tries again.
    template.catch(() => (template = undefined));
    return template;
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
        });
    });
}

/** The version of Debian's mariadbd, e.g. { major: 10, minor: 11, patch: 6 }. */
export async function mariadbVersion(): Promise<{ major: number; minor: number; patch: number }> {
    const { stdout } = await run("/usr/sbin/mariadbd", ["--version"]);
    const m = /Ver (\d+)\.(\d+)\.(\d+)/.exec(stdout);
    if (!m) throw new Error(`cannot read mariadbd version from ${stdout}`);
    return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** Starts fresh servers in parallel, each with root@'%' (password) and no anonymous accounts. */
export async function startCluster(specs: ServerSpec[], options: StartOptions = {}): Promise<MariaCluster> {
    const rootPassword = options.rootPassword ?? "root-secret";
    const baseDir = await mkdtemp(join(tmpdir(), "mariadb-cluster-"));
    const version = await mariadbVersion();
    const source = await templateDatadir();
    const servers = await Promise.all(
        specs.map(async (spec) => {
            const dir = join(baseDir, spec.name);
            await mkdir(dir, { recursive: true });
            await cp(source, join(dir, "data"), { recursive: true });
            const flags = [...serverFlags("mariadb", version, { ...spec, hostPort: 0 }), ...(options.extraFlags ?? [])];
            return new MariaServer(spec, await freePort(), dir, rootPassword, flags, options.readySeconds ?? 60);
        }),
    );
    const cluster = new MariaCluster(baseDir, servers);
    try {
        await Promise.all(servers.map((s) => s.start().then(() => secure(s, options))));
    } catch (error) {
        await cluster.destroy();
        throw error;
    }
    return cluster;
}

/**
 * Sets the root password like the images' entrypoints (not binlogged), and drops the anonymous accounts
 * mariadb-install-db leaves: ''@'localhost' would shadow 'repl'@'%' for connections from loopback.
 */
async function secure(server: MariaServer, options: StartOptions): Promise<void> {
    const connection = await mysql.createConnection({ socketPath: server.socket, user: "root", password: "" });
    try {
        const pw = connection.escape(server.rootPassword);
        await connection.query("SET SESSION sql_log_bin = 0");
        // Anonymous accounts, and the passwordless root@127.0.0.1 / ::1 / <hostname> that install-db makes
        // (a more specific host wins over '%').
        await connection.query("DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost')");
        await connection.query("FLUSH PRIVILEGES");
        await connection.query(`CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY ${pw}`);
        await connection.query("GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION");
        await connection.query(`ALTER USER 'root'@'localhost' IDENTIFIED BY ${pw}`);
        if (options.binlogInitialisation) {
            await connection.query("SET SESSION sql_log_bin = 1");
            // Like the images' time-zone import (TRUNCATE, then INSERT): writes to a system schema, binlogged
            // with this server's id, that replay cleanly on a replica which made the same writes itself.
            await connection.query("CREATE TABLE IF NOT EXISTS mysql.entrypoint_marker (id INT PRIMARY KEY) ENGINE=InnoDB");
            await connection.query("TRUNCATE TABLE mysql.entrypoint_marker");
            await connection.query("INSERT INTO mysql.entrypoint_marker VALUES (1)");
        }
    } finally {
        await connection.end();
    }
}

/** The runbook's topology (db001 source, db002..) with `replicas` replicas. */
export function runbookSpecs(replicas: number, prefix = "db"): ServerSpec[] {
    return [
        { name: `${prefix}001`, serverId: 100, role: "source" },
        ...Array.from({ length: replicas }, (_, i) => ({
            name: `${prefix}${String(i + 2).padStart(3, "0")}`,
            serverId: (i + 2) * 100,
            role: "replica" as const,
        })),
    ];
}
