/**
 * Real servers for the integration tests and the benchmark, bare processes on 127.0.0.1 ports, in a matrix of
 * flavors:
 *
 *   mariadb-10.11  the host's Debian /usr/sbin/mariadbd (bookworm's mariadb-server)
 *   mariadb-11     mariadbd 11.8 of Debian sid, run with `chroot` from a debootstrapped root filesystem
 *   mysql-9        mysqld 9.7 of Debian sid (mysql-server-core), the same way
 *
 * The sid root filesystems come from test/support/rootfs.sh: the same cached debootstrap tarball as the flavor's
 * test image, extracted once under /var/cache/mysql-replicaset-test. chroot shares the network namespace, so the
 * servers listen on 127.0.0.1 like the host's; their datadirs live inside the rootfs (<rootfs>/srv/cluster-*).
 * Every server gets the replication flags the component renders (components/serverFlags.ts) for its flavor and
 * version, whatever its role: every one starts read-only, as the containers do, and the provider makes the declared
 * source writable. Its option file is empty but read (not --no-defaults), so MySQL loads what the provider persisted
 * (mysqld-auto.cnf) at a restart, as a container's server does.
 *
 * Datadirs are copied from one template per flavor and machine (mariadb-install-db, or mysqld
 * --initialize-insecure, made by the first test process that needs it and kept: see templateDatadir), so a fresh
 * server costs a copy and a start, not a full install. A MySQL copy drops
 * the template's auto.cnf (every server gets its own server_uuid: equal UUIDs break GTID replication) and its
 * *.pem, so each server generates its own TLS certificates at first start, as a fresh official container does.
 *
 * Usage:
 *   for (const flavor of MATRIX) {
 *       describe(`replication ${serverTitle(flavor)}`, () => {       // "... [MySQL 9.7.4]"
 *           let cluster: MariaCluster;
 *           before(async () => (cluster = await startCluster(flavor, runbookSpecs(2), { binlogInitialisation: true })));
 *           after(() => cluster.destroy());
 *           test(`replicates ${serverTitle(flavor)}`, async () => { await cluster.source.query("SELECT 1"); });
 *       });
 *   }
 */
import { spawn, execFile, execFileSync, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, rm, cp, mkdir, readFile, readdir, rename, stat, unlink, writeFile } from "node:fs/promises";
import { readFileSync, rmSync } from "node:fs";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import type { Connection } from "mysql2/promise";
import * as mysql from "mysql2/promise";
import { serverFlags } from "../../components/serverFlags";
import type { Flavor, MemberRole, ServerVersion } from "../../config/types";

const run = promisify(execFile);

/** A server of the test matrix. */
export type ServerFlavor = "mysql-9" | "mariadb-11" | "mariadb-10.11";

/** Every flavor the integration tests run on. */
export const MATRIX: readonly ServerFlavor[] = Object.freeze(["mysql-9", "mariadb-11", "mariadb-10.11"] as const);

/** The flavor of startCluster(specs, options) without one: the host's MariaDB, as before the matrix. */
export const DEFAULT_FLAVOR: ServerFlavor = "mariadb-10.11";

export interface ServerSpec {
    name: string;
    serverId: number;
    role: MemberRole;
}

export interface StartOptions {
    /** The server to run. Default mariadb-10.11 (or the first argument of startCluster). */
    flavor?: ServerFlavor;
    /** Root password for 'root'@'%' and 'root'@'localhost'. Default "root-secret". */
    rootPassword?: string;
    /**
     * Write a binlogged transaction during initialisation, as the official images' entrypoints do (time-zone
     * tables): the replica then holds GTIDs of its own that the provider must reset.
     */
    binlogInitialisation?: boolean;
    /** Extra server flags. */
    extraFlags?: string[];
    /**
     * Seconds to wait for each server to accept connections. Default 180: a ceiling, not a pause (a server that
     * exits fails the wait at once). On a loaded machine a MySQL start was seen to spend 23 s before its first log
     * line and 25 s in InnoDB's initialisation, past the 60 s this used to be.
     */
    readySeconds?: number;
}

/** What runs a flavor: where its root filesystem is and what its binary reports. */
export interface FlavorRuntime {
    flavor: ServerFlavor;
    /** The flavor as config and the provider name it. */
    kind: Flavor;
    /** "/" for the host's server, else the chroot's root. */
    root: string;
    /** The server binary, as a path inside `root`. */
    binary: string;
    /** From the binary's --version. */
    version: ServerVersion;
    /** "MySQL 9.7.4", "MariaDB 11.8.3". */
    product: string;
    /** The binary's whole --version line (with the distribution's build). */
    versionText: string;
}

const REPO = resolve(__dirname, "..", "..");
const runtimes = new Map<ServerFlavor, FlavorRuntime>();

/**
 * The runtime of a flavor (synchronous, cached per process): extracts the rootfs when needed
 * (test/support/rootfs.sh, which debootstraps when even the tarball is missing) and reads the binary's version.
 */
export function flavorRuntime(flavor: ServerFlavor): FlavorRuntime {
    const known = runtimes.get(flavor);
    if (known) return known;
    if (!MATRIX.includes(flavor)) throw new Error(`unknown server flavor ${JSON.stringify(flavor)}; known: ${MATRIX.join(", ")}`);
    let root: string;
    try {
        root = execFileSync("bash", [join(REPO, "test/support/rootfs.sh"), flavor], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 15 * 60_000 }).trim();
    } catch (error) {
        const e = error as { stderr?: string; message: string };
        throw new Error(`cannot prepare the ${flavor} server (test/support/rootfs.sh ${flavor}): ${e.stderr?.trim() || e.message}`);
    }
    const kind: Flavor = flavor.startsWith("mysql") ? "mysql" : "mariadb";
    const binary = kind === "mysql" ? "/usr/sbin/mysqld" : "/usr/sbin/mariadbd";
    const [file, args] = command(root, binary, ["--version"]);
    const text = execFileSync(file, args, { encoding: "utf8" });
    const m = /Ver (\d+)\.(\d+)\.(\d+)/.exec(text);
    if (!m) throw new Error(`cannot read the ${flavor} version from \`${binary} --version\`: ${text}`);
    const version = { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
    const runtime: FlavorRuntime = { flavor, kind, root, binary, version, product: `${kind === "mysql" ? "MySQL" : "MariaDB"} ${m[1]}.${m[2]}.${m[3]}`, versionText: text.trim() };
    runtimes.set(flavor, runtime);
    return runtime;
}

/**
 * The end of a test title for a flavor: "[MySQL 9.7.4]", "[MariaDB 11.8.3]", "[MariaDB 10.11.14]". Read from
 * the server binary; startCluster checks that every live server's VERSION() says the same.
 */
export function serverTitle(flavor: ServerFlavor): string {
    return `[${flavorRuntime(flavor).product}]`;
}

/** The title of a live server from its VERSION() text: "9.7.4" → "[MySQL 9.7.4]", "11.8.3-MariaDB-4" → "[MariaDB 11.8.3]". */
export function titleOfVersion(versionText: string): string {
    const m = /^(\d+\.\d+\.\d+)/.exec(versionText);
    return `[${/mariadb/i.test(versionText) ? "MariaDB" : "MySQL"} ${m ? m[1] : versionText}]`;
}

/** [file, args] that run `binary args` inside `root`. */
export function command(root: string, binary: string, args: string[]): [string, string[]] {
    return root === "/" ? [binary, args] : ["chroot", [root, binary, ...args]];
}

/** Thrown when a server could not bind its port (another process took it): the start is retried on another port. */
class PortTaken extends Error {}

export class MariaServer {
    readonly host = "127.0.0.1";
    process?: ChildProcess;
    /** VERSION() of the live server, read at its first start. */
    versionText = "";
    private exited?: Promise<void>;
    private current: number;
    private logStart = 0;

    constructor(
        readonly spec: ServerSpec,
        port: number,
        /** The server's directory as seen from this process. */
        readonly dir: string,
        readonly rootPassword: string,
        private readonly flags: string[],
        private readonly readySeconds: number,
        readonly runtime: FlavorRuntime,
    ) {
        this.current = port;
    }

    get name(): string {
        return this.spec.name;
    }
    get flavor(): ServerFlavor {
        return this.runtime.flavor;
    }
    /** The TCP port on 127.0.0.1 (a start may move it when another process took the chosen one first). */
    get port(): number {
        return this.current;
    }
    get datadir(): string {
        return join(this.dir, "data");
    }
    get socket(): string {
        return join(this.dir, "mysqld.sock");
    }
    /** The server's option file: empty (every setting is a flag), see args(). */
    get optionFile(): string {
        return join(this.dir, "server.cnf");
    }
    get errorLog(): string {
        return join(this.dir, "error.log");
    }
    /** "[MySQL 9.7.4]": the live server's VERSION(), for test titles. */
    get title(): string {
        return titleOfVersion(this.versionText);
    }

    /** A path of this process as the server sees it (inside its chroot). */
    private inside(path: string): string {
        return this.runtime.root === "/" ? path : `/${relative(this.runtime.root, path)}`;
    }

    private args(): string[] {
        const common = [
            // An empty option file, not --no-defaults: a server started with --no-defaults does not read the persisted
            // settings in its datadir's mysqld-auto.cnf either (SET PERSIST; seen on MySQL 9.7.4), which a container's
            // server does. MariaDB has no such file.
            `--defaults-file=${this.inside(this.optionFile)}`,
            `--datadir=${this.inside(this.datadir)}`,
            `--socket=${this.inside(this.socket)}`,
            `--pid-file=${this.inside(join(this.dir, "mysqld.pid"))}`,
            `--log-error=${this.inside(this.errorLog)}`,
            // Not /tmp: servers of other processes (other PID namespaces sharing /tmp) can have the same pid, and
            // with it the same #sql-temptable-<pid>-... names, and delete each other's temporary tables.
            `--tmpdir=${this.inside(this.dir)}`,
            `--port=${this.port}`,
            "--bind-address=127.0.0.1",
            "--skip-name-resolve",
            ...(process.getuid?.() === 0 ? ["--user=root"] : []),
        ];
        const sizing =
            this.runtime.kind === "mysql"
                ? ["--mysqlx=OFF", "--innodb-buffer-pool-size=32M", "--innodb-redo-log-capacity=8M", "--secure-file-priv="]
                : ["--innodb-buffer-pool-size=16M", "--innodb-log-file-size=16M", "--performance-schema=OFF"];
        return [...common, ...sizing, ...this.flags];
    }

    /**
     * Starts the server and waits until it accepts TCP connections. When another process bound the port first
     * (issue #20: a free port is only free until someone binds it), a first start moves to another free port;
     * a restart keeps its port (replicas know it) and retries it.
     */
    async start(): Promise<void> {
        const firstStart = this.versionText === "";
        for (let attempt = 1; ; attempt++) {
            try {
                await this.startOnce();
                break;
            } catch (error) {
                if (!(error instanceof PortTaken) || attempt >= 5) throw error;
                if (firstStart) {
                    const taken = this.current;
                    this.current = await freePort();
                    console.error(`${this.name}: port ${taken} was taken before the server bound it; retrying on ${this.current}`);
                }
            }
        }
    }

    private async startOnce(): Promise<void> {
        // Only this start's part of the error log tells why it failed.
        this.logStart = await stat(this.errorLog).then((s) => s.size, () => 0);
        await writeFile(this.optionFile, "", { flag: "a" });
        const child = this.spawnServer();
        try {
            await this.waitReady();
            this.served = child;
        } catch (error) {
            if (child.exitCode === null) {
                child.kill("SIGKILL");
                await this.exited;
            }
            this.process = undefined;
            throw error;
        }
    }

    /** Times the server stopped by itself and was started again (a clone's end: the provider's SHUTDOWN). */
    restarts = 0;

    /** The process stop() is stopping: its exit is not restarted. */
    private stopping?: ChildProcess;

    /** The process that has accepted connections: only such a server is restarted when it exits by itself. */
    private served?: ChildProcess;

    /**
     * Spawns the server and starts it again, on the same port and flags, whenever it exits without stop() having
     * asked: what the containers' restart policy (unless-stopped) does in production, where a clone ends with the
     * provider's SHUTDOWN and Docker starts the container again on the copy.
     */
    private spawnServer(): ChildProcess {
        const [file, args] = command(this.runtime.root, this.runtime.binary, this.args());
        const child = spawn(file, args, { stdio: "ignore" });
        this.process = child;
        this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
        child.once("exit", () => {
            // A server that never served (a failed start) is not restarted: startOnce reports it.
            if (this.stopping === child || this.process !== child || this.served !== child) return;
            this.restarts++;
            const next = this.spawnServer();
            void this.waitReady().then(() => {
                if (this.process === next) this.served = next;
            }, () => undefined);
        });
        return child;
    }

    private async waitReady(): Promise<void> {
        const deadline = Date.now() + this.readySeconds * 1000;
        const binary = this.runtime.binary.split("/").pop();
        let last = "";
        for (let attempt = 0; Date.now() < deadline; attempt++) {
            if (this.process?.exitCode !== null && this.process?.exitCode !== undefined) {
                const log = await this.logTail(40);
                const thisStart = await readFile(this.errorLog).then((b) => b.subarray(this.logStart).toString("utf8"), () => "");
                if (/Address already in use/.test(thisStart)) throw new PortTaken(`${this.name}: port ${this.port} is in use`);
                throw new Error(`${this.name}: ${binary} exited with ${this.process.exitCode}; log:\n${log}`);
            }
            try {
                const c = await mysql.createConnection({ host: this.host, port: this.port, user: "root", password: this.rootPassword, connectTimeout: 2000 });
                await c.end();
                return;
            } catch (error) {
                last = (error as Error).message;
                // Before the accounts are set the server answers "access denied" (MariaDB) or "host not allowed"
                // (MySQL has no root@'%' yet): it is up.
                const code = (error as { code?: string }).code;
                if (code === "ER_ACCESS_DENIED_ERROR" || code === "ER_HOST_NOT_PRIVILEGED") return;
            }
            await new Promise((r) => setTimeout(r, Math.min(200, 10 * 2 ** attempt)));
        }
        throw new Error(`${this.name}: ${binary} not accepting connections on ${this.host}:${this.port} after ${this.readySeconds}s: ${last}\n${await this.logTail()}`);
    }

    async logTail(lines = 15): Promise<string> {
        try {
            return (await readFile(this.errorLog, "utf8")).split("\n").slice(-lines).join("\n");
        } catch {
            return "(no error log)";
        }
    }

    /** Stops the server cleanly (SIGTERM), killing it if it does not stop within 30 s; `kill` skips the clean part. */
    async stop(kill = false): Promise<void> {
        const child = this.process;
        if (!child || child.exitCode !== null) return;
        this.stopping = child;
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
    constructor(
        readonly baseDir: string,
        readonly servers: MariaServer[],
        readonly flavor: ServerFlavor = DEFAULT_FLAVOR,
    ) {}

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
    /** The flavor as config names it (mysql | mariadb) and the version: what the provider's inputs need. */
    get kind(): Flavor {
        return flavorRuntime(this.flavor).kind;
    }
    get version(): ServerVersion {
        return flavorRuntime(this.flavor).version;
    }
    /** "[MySQL 9.7.4]" from the source's VERSION(). */
    get title(): string {
        return this.source.title;
    }

    /** Stops every server and removes the datadirs. */
    async destroy(): Promise<void> {
        // The datadirs are thrown away: no clean shutdown needed.
        await Promise.all(this.servers.map((s) => s.stop(true)));
        await rm(this.baseDir, { recursive: true, force: true });
    }
}

/** Where a flavor's clusters live (as this process sees it): tmp for the host, <rootfs>/srv else. */
async function workDir(runtime: FlavorRuntime, prefix: string): Promise<string> {
    if (runtime.root === "/") return mkdtemp(join(tmpdir(), `mariadb-${prefix}-`));
    await mkdir(join(runtime.root, "srv"), { recursive: true });
    return mkdtemp(join(runtime.root, "srv", `${prefix}-`));
}

const templates = new Map<ServerFlavor, Promise<string>>();
/** The longest a template's install may take (a MySQL install took 4 s on a quiet machine). */
const TEMPLATE_INSTALL_TIMEOUT_MS = 300_000;
/** Half-made templates of this process, removed when it exits (a finished one is kept for the next process). */
const partialTemplates = new Set<string>();
process.once("exit", () => {
    for (const dir of partialTemplates) rmSync(dir, { recursive: true, force: true });
});

/**
 * Where a flavor's initialised template lives, shared by every test process on this machine: inside the chroot's
 * root filesystem (a cache itself, extracted by rootfs.sh) or, for the host's server, in rootfs.sh's $CACHE_DIR. The
 * name carries a key of the binary (its --version text, size and mtime) and the install command, so an upgraded
 * server or a changed install gets a template of its own.
 */
async function templateHome(runtime: FlavorRuntime, file: string, args: string[]): Promise<{ parent: string; name: string }> {
    const binary = await stat(join(runtime.root, runtime.binary));
    const key = createHash("sha256")
        .update(JSON.stringify([runtime.versionText, binary.size, binary.mtimeMs, file, args]))
        .digest("hex")
        .slice(0, 16);
    const name = `template-${runtime.flavor}-${key}`;
    // Root only (rootfs.sh refuses to run otherwise), so the shared cache is never another user's to plant.
    const parent = runtime.root === "/" ? process.env.CACHE_DIR || "/var/cache/mysql-replicaset-test" : join(runtime.root, "srv");
    await mkdir(parent, { recursive: true });
    return { parent, name };
}

/**
 * The flavor's initialised datadir; servers start from copies of it. Made once per machine, not once per test
 * file: an install takes a few seconds per flavor and file (about 15 s a file under load), with the I/O of a MySQL
 * install at every file's start. Made in a private directory and renamed into place whole, so a
 * process sees either no template or a finished one; when two processes race, the first rename wins and the
 * other uses it. The copies are never started on the template itself (startCluster copies it first).
 */
function templateDatadir(runtime: FlavorRuntime): Promise<string> {
    let template = templates.get(runtime.flavor);
    if (template) return template;
    template = (async () => {
        // Paths inside the command are fixed up below: the install runs in a private directory first.
        const install = (dir: string): [string, string[]] => {
            const inside = (p: string) => (runtime.root === "/" ? p : `/${relative(runtime.root, p)}`);
            const asRoot = process.getuid?.() === 0 ? ["--user=root"] : [];
            return runtime.kind === "mysql"
                ? command(runtime.root, runtime.binary, [
                      "--no-defaults",
                      "--initialize-insecure",
                      `--datadir=${inside(join(dir, "data"))}`,
                      `--tmpdir=${inside(dir)}`,
                      `--log-error=${inside(join(dir, "init.log"))}`,
                      "--innodb-redo-log-capacity=8M",
                      "--secure-file-priv=",
                      ...asRoot,
                  ])
                : command(runtime.root, "/usr/bin/mariadb-install-db", [
                      "--no-defaults",
                      `--datadir=${inside(join(dir, "data"))}`,
                      "--auth-root-authentication-method=normal",
                      "--skip-test-db",
                      // A private tmpdir, as for the servers (MariaServer.start): a shared /tmp made bootstraps fail with
                      // "Error on delete of '/tmp/#sql-temptable-...'" and "Unknown table 'mysql.tmp_proxies_priv'".
                      `--tmpdir=${inside(dir)}`,
                      ...asRoot,
                  ]);
        };
        // The key is of the command with a placeholder directory: the private directory's name changes every time.
        const [keyFile, keyArgs] = install("/TEMPLATE");
        const { parent, name } = await templateHome(runtime, keyFile, keyArgs);
        const home = join(parent, name);
        const ready = async () => (await stat(join(home, "ready")).then(() => true, () => false)) ? join(home, "data") : undefined;
        const done = await ready();
        if (done) return done;

        // A half-made template of a process that was killed (no exit handler ran) is older than any install's limit.
        for (const other of await readdir(parent)) {
            if (!other.startsWith("template-") || !other.includes(".partial-")) continue;
            const made = await stat(join(parent, other)).then((st) => st.mtimeMs, () => Date.now());
            if (Date.now() - made > 2 * TEMPLATE_INSTALL_TIMEOUT_MS) await rm(join(parent, other), { recursive: true, force: true });
        }
        const dir = await mkdtemp(join(parent, `${name}.partial-`));
        partialTemplates.add(dir);
        try {
            const [file, args] = install(dir);
            try {
                await run(file, args, { timeout: TEMPLATE_INSTALL_TIMEOUT_MS });
            } catch (error) {
                const log = await readFile(join(dir, "init.log"), "utf8").catch(() => "");
                throw new Error(`${runtime.flavor}: initialising a template datadir failed: ${(error as Error).message}\n${log}`);
            }
            await writeFile(join(dir, "ready"), `${runtime.product}\n`);
            const placed = await rename(dir, home).then(
                () => true,
                async (error) => {
                    // Another process finished first (rename onto a non-empty directory fails): use its template.
                    if (await ready()) return false;
                    // A template without its marker is a removal cut short (a finished one always has it): replace it.
                    await rm(home, { recursive: true, force: true });
                    return rename(dir, home).then(
                        () => true,
                        async () => {
                            if (await ready()) return false;
                            throw error;
                        },
                    );
                },
            );
            if (placed) {
                partialTemplates.delete(dir);
                // Templates of this flavor under other keys (an older binary) are of no more use.
                for (const other of await readdir(parent)) {
                    if (other.startsWith(`template-${runtime.flavor}-`) && other !== name && !other.includes(".partial-")) {
                        await rm(join(parent, other), { recursive: true, force: true });
                    }
                }
            }
            return join(home, "data");
        } finally {
            if (partialTemplates.delete(dir)) await rm(dir, { recursive: true, force: true });
        }
    })();
    templates.set(runtime.flavor, template);
    // A failed install is not cached: the next start tries again.
    template.catch(() => templates.delete(runtime.flavor));
    return template;
}

/** Ports handed out by this process and not yet released, so two servers never get the same one. */
const handedOut = new Set<number>();

/** Linux's range for outgoing connections' local ports: picking below it, no client socket can take our port. */
function ephemeralLow(): number {
    try {
        const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
        if (low > 12000) return low;
    } catch {
        // not Linux: fall through
    }
    return 32768;
}

/**
 * A TCP port free on loopback now, below the ephemeral range (so outgoing connections, which take their local
 * port from that range, never take it), and not handed out before by this process. Free is not reserved: a
 * server's start retries on another port when it cannot bind (MariaServer.start).
 */
export async function freePort(): Promise<number> {
    const high = ephemeralLow();
    for (let attempt = 0; attempt < 200; attempt++) {
        const port = 10000 + Math.floor(Math.random() * (high - 10000));
        if (handedOut.has(port)) continue;
        const free = await new Promise<boolean>((resolve) => {
            const server = createServer();
            server.once("error", () => resolve(false));
            server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
        });
        if (free) {
            handedOut.add(port);
            return port;
        }
    }
    throw new Error(`no free TCP port on 127.0.0.1 in 10000-${high - 1} after 200 tries`);
}

/** The version of Debian's mariadbd on the host (the mariadb-10.11 flavor), e.g. { major: 10, minor: 11, patch: 6 }. */
export async function mariadbVersion(): Promise<{ major: number; minor: number; patch: number }> {
    const { version } = flavorRuntime("mariadb-10.11");
    return { major: version.major, minor: version.minor, patch: version.patch };
}

/** Starts fresh servers in parallel, each with root@'%' (password) and no anonymous accounts. */
export function startCluster(specs: ServerSpec[], options?: StartOptions): Promise<MariaCluster>;
export function startCluster(flavor: ServerFlavor, specs: ServerSpec[], options?: StartOptions): Promise<MariaCluster>;
export async function startCluster(a: ServerFlavor | ServerSpec[], b?: ServerSpec[] | StartOptions, c?: StartOptions): Promise<MariaCluster> {
    const [flavor, specs, options] = typeof a === "string" ? [a, b as ServerSpec[], c ?? {}] : [(b as StartOptions | undefined)?.flavor ?? DEFAULT_FLAVOR, a, (b as StartOptions | undefined) ?? {}];
    const runtime = flavorRuntime(flavor);
    const rootPassword = options.rootPassword ?? "root-secret";
    const baseDir = await workDir(runtime, "cluster");
    const source = await templateDatadir(runtime);
    const servers = await Promise.all(
        specs.map(async (spec) => {
            const dir = join(baseDir, spec.name);
            await mkdir(dir, { recursive: true });
            await cp(source, join(dir, "data"), { recursive: true });
            if (runtime.kind === "mysql") await forgetIdentity(join(dir, "data"));
            // The role is not a flag: every server starts read-only, as every member's container does.
            const flags = [...serverFlags(runtime.kind, runtime.version, spec), ...(options.extraFlags ?? [])];
            return new MariaServer(spec, await freePort(), dir, rootPassword, flags, options.readySeconds ?? 180, runtime);
        }),
    );
    const cluster = new MariaCluster(baseDir, servers, flavor);
    try {
        await Promise.all(servers.map((s) => s.start().then(() => secure(s, options))));
    } catch (error) {
        await cluster.destroy();
        throw error;
    }
    return cluster;
}

/** A MySQL copy must not keep the template's server_uuid (auto.cnf) nor share its TLS certificates and RSA keys. */
async function forgetIdentity(datadir: string): Promise<void> {
    for (const name of await readdir(datadir)) {
        if (name === "auto.cnf" || name.endsWith(".pem")) await unlink(join(datadir, name));
    }
}

/**
 * Sets the root password like the images' entrypoints (not binlogged), and for MariaDB drops the anonymous
 * accounts mariadb-install-db leaves: ''@'localhost' would shadow 'repl'@'%' for connections from loopback.
 * Reads the live VERSION() and checks it against the binary's (test titles come from the binary).
 */
async function secure(server: MariaServer, options: StartOptions): Promise<void> {
    const connection = await mysql.createConnection({ socketPath: server.socket, user: "root", password: "" });
    try {
        const pw = connection.escape(server.rootPassword);
        await connection.query("SET SESSION sql_log_bin = 0");
        if (server.runtime.kind === "mariadb") {
            // Anonymous accounts, and the passwordless root@127.0.0.1 / ::1 / <hostname> that install-db makes
            // (a more specific host wins over '%').
            await connection.query("DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host <> 'localhost')");
            await connection.query("FLUSH PRIVILEGES");
        }
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
        const [[row]] = (await connection.query("SELECT VERSION() AS v")) as unknown as [Array<{ v: string }>];
        server.versionText = row.v;
        if (server.title !== `[${server.runtime.product}]`) {
            throw new Error(`${server.name}: the live server says VERSION() = ${row.v}, its binary said ${server.runtime.product}`);
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
