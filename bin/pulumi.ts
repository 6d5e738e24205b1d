/**
 * `npm run preview|up|destroy|refresh [-- args]`: plain `pulumi <verb>` made to work on a machine with Node.js and
 * Docker and nothing else — no Pulumi CLI, no Pulumi account, no prompt outside a terminal:
 * 1. the Docker engine must answer (DOCKER_HOST, or /var/run/docker.sock); when it does not, one line says so and
 *    no Pulumi step runs (exit 2);
 * 2. the Pulumi CLI is PULUMI_CLI, else `pulumi` on PATH (unless older than MIN_CLI_VERSION: it says so and goes on),
 *    else the project-local one in .pulumi-cli/<version>/, else that one is installed with the Automation API
 *    (PulumiCommand.install), in the version of the pinned @pulumi/pulumi; an install that fails or passes its
 *    deadline ends here (exit 2) with what to do instead;
 * 3. the stack is `--stack NAME` (or `-s NAME`) among the arguments, else $PULUMI_STACK, else dev;
 * 4. without PULUMI_BACKEND_URL, when `pulumi whoami` fails (never logged in), the children get PULUMI_BACKEND_URL
 *    set to a project-local file backend in .pulumi-state/, for this run only (no `pulumi login`, which every
 *    project of the user would then share), and it says so;
 * 5. when PULUMI_CONFIG_PASSPHRASE and PULUMI_CONFIG_PASSPHRASE_FILE are both unset or empty, the dev stack gets
 *    its documented, public passphrase (README: Secrets); any other stack is refused (exit 2) with how to set one,
 *    unless its backend is Pulumi Cloud (whose own secrets provider needs none);
 * 6. it selects the stack, creating it when it does not exist, and passes `--stack` with it to the verb; outside a
 *    terminal (stdin or stdout not a TTY) it adds --non-interactive.
 * Anything else after the verb is passed to pulumi (e.g. `npm run up -- --yes`); the exit code is pulumi's, and a
 * failing step says which one failed.
 *
 * bin/check.ts (`npm run check -- --refresh`) finds or installs the CLI the same way (resolveCli).
 */
import { spawn, type StdioOptions } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { access, mkdir, readFile, stat } from "node:fs/promises";
import { request, type RequestOptions } from "node:http";
import { createRequire } from "node:module";
import { constants as osConstants } from "node:os";
import path from "node:path";

/** The project folder (Pulumi.yaml), where every pulumi command runs. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");
/** The dev stack's documented passphrase (README), used when the caller set none. */
export const DEV_PASSPHRASE = "mysql-replicaset-dev";
/** Where a CLI installed by this wrapper lives, one folder per version, under the project folder (git-ignored). */
export const CLI_FOLDER = ".pulumi-cli";
/** The project-local file backend used when no backend is chosen (git-ignored). */
export const STATE_FOLDER = ".pulumi-state";
/** The install's deadline unless PULUMI_CLI_INSTALL_TIMEOUT_SECONDS says otherwise: a slow link still fits. */
export const DEFAULT_INSTALL_TIMEOUT_SECONDS = 600;
/**
 * The oldest Pulumi CLI taken from PATH: `refresh --run-program` (check --refresh) needs 3.160. An older one is
 * passed over for the pinned version (project-local, installed when missing).
 */
export const MIN_CLI_VERSION = "3.160.0";
/** How long the Docker engine has to answer its ping. */
const DOCKER_PING_TIMEOUT_MS = 5000;

/** A failure that ends the wrapper before pulumi runs: its message is printed, the exit code is 2. */
export class WrapperError extends Error {}

/** Installs the CLI `version` into `root` (the CLI is then `<root>/bin/pulumi`); resolves with its path. */
export type Installer = (opts: { root: string; version: string }) => Promise<{ command: string }>;

/** The Automation API's installer (downloads get.pulumi.com/install.sh and runs it), loaded only when needed. */
export const automationInstaller: Installer = async ({ root, version }) => {
    const { PulumiCommand } = await import("@pulumi/pulumi/automation");
    // PulumiCommand.install wants the SemVer class of the semver copy the SDK itself uses.
    const sdkRequire = createRequire(require.resolve("@pulumi/pulumi/package.json"));
    const { SemVer } = sdkRequire("semver") as { SemVer: new (v: string) => NonNullable<Parameters<typeof PulumiCommand.install>[0]>["version"] };
    const cli = await PulumiCommand.install({ root, version: new SemVer(version) });
    return { command: cli.command };
};

export interface Cli {
    /** Absolute path of the pulumi executable, or "pulumi" for the one on PATH. */
    command: string;
    /** The folder to put first on the children's PATH (its bundled language plugins sit next to it). */
    binDir?: string;
    origin: "PULUMI_CLI" | "PATH" | "project" | "installed";
}

export interface ResolveOptions {
    root: string;
    env: NodeJS.ProcessEnv;
    /** Whether a missing CLI may be installed; without it a missing CLI is a WrapperError. */
    install: boolean;
    installer?: Installer;
    /** Overrides PULUMI_CLI_INSTALL_TIMEOUT_SECONDS. */
    installTimeoutMs?: number;
    log: (line: string) => void;
}

async function isExecutableFile(file: string): Promise<boolean> {
    try {
        await access(file, fsConstants.X_OK);
        return (await stat(file)).isFile();
    } catch {
        return false;
    }
}

/** The first executable `name` on `searchPath`, like `command -v`. */
export async function onPath(name: string, searchPath: string | undefined): Promise<string | undefined> {
    for (const dir of (searchPath ?? "").split(path.delimiter)) {
        if (dir !== "" && (await isExecutableFile(path.join(dir, name)))) return path.join(dir, name);
    }
    return undefined;
}

/** The version of @pulumi/pulumi installed in the project (package.json pins it): the CLI version to install. */
export async function pinnedSdkVersion(root: string): Promise<string> {
    const manifest = createRequire(path.join(root, "package.json")).resolve("@pulumi/pulumi/package.json");
    return (JSON.parse(await readFile(manifest, "utf8")) as { version: string }).version;
}

/** The project-local CLI folder for a version: `<root>/.pulumi-cli/<version>`. */
export function localCliRoot(root: string, version: string): string {
    return path.join(root, CLI_FOLDER, version);
}

function installTimeoutMs(options: ResolveOptions): number {
    if (options.installTimeoutMs !== undefined) return options.installTimeoutMs;
    const raw = options.env.PULUMI_CLI_INSTALL_TIMEOUT_SECONDS;
    if (raw === undefined || raw.trim() === "") return DEFAULT_INSTALL_TIMEOUT_SECONDS * 1000;
    const seconds = Number(raw);
    if (!Number.isFinite(seconds) || seconds <= 0) {
        throw new WrapperError(`PULUMI_CLI_INSTALL_TIMEOUT_SECONDS: expected a number of seconds > 0, got ${JSON.stringify(raw)}`);
    }
    return seconds * 1000;
}

/** Settles with `work`, or rejects when `ms` pass first (the work itself is abandoned, not stopped). */
function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
    const signal = AbortSignal.timeout(ms);
    return new Promise<T>((resolve, reject) => {
        const onAbort = () => reject(new Error(`${what} did not finish within ${ms / 1000} s (PULUMI_CLI_INSTALL_TIMEOUT_SECONDS)`));
        signal.addEventListener("abort", onAbort, { once: true });
        work.then(
            (value) => (signal.removeEventListener("abort", onAbort), resolve(value)),
            (error: unknown) => (signal.removeEventListener("abort", onAbort), reject(error)),
        );
    });
}

/**
 * The Pulumi CLI to run: PULUMI_CLI, else `pulumi` on PATH, else `<root>/.pulumi-cli/<version>/bin/pulumi`, else
 * (when `install`) that one installed now. Throws a WrapperError saying what to do when there is none.
 */
export async function resolveCli(options: ResolveOptions): Promise<Cli> {
    const { env, root } = options;
    if (env.PULUMI_CLI) {
        const command = path.resolve(env.PULUMI_CLI);
        if (!(await isExecutableFile(command))) throw new WrapperError(`PULUMI_CLI=${env.PULUMI_CLI} is not an executable file`);
        return { command, binDir: path.dirname(command), origin: "PULUMI_CLI" };
    }
    const version = await pinnedSdkVersion(root);
    if (await onPath("pulumi", env.PATH)) {
        const found = await cliVersion("pulumi", env);
        if (found === undefined || !olderThan(found, MIN_CLI_VERSION)) return { command: "pulumi", origin: "PATH" };
        options.log(`the pulumi on PATH is ${found}, older than ${MIN_CLI_VERSION} (check --refresh needs refresh --run-program): using Pulumi CLI ${version} from ${CLI_FOLDER}/ instead`);
    }
    const folder = localCliRoot(root, version);
    const local = path.join(folder, "bin", "pulumi");
    if (await isExecutableFile(local)) return { command: local, binDir: path.dirname(local), origin: "project" };
    const instead =
        "Install it yourself (https://www.pulumi.com/docs/install/) so that `pulumi` is on PATH, " +
        "or set PULUMI_CLI to the path of a pulumi executable, and run this again.";
    if (!options.install) throw new WrapperError(`the Pulumi CLI (pulumi) is not on PATH, PULUMI_CLI is unset, and ${local} does not exist`);
    const deadline = installTimeoutMs(options);
    options.log(`installing Pulumi CLI ${version} into ${folder}`);
    let installed: { command: string };
    try {
        installed = await withDeadline((options.installer ?? automationInstaller)({ root: folder, version }), deadline, "the install");
    } catch (error) {
        const reason = (error instanceof Error ? error.message : String(error)).trim().replace(/\s*\n\s*/g, " | ");
        throw new WrapperError(`could not install the Pulumi CLI: ${reason}\n${instead}`);
    }
    const command = path.resolve(installed.command);
    if (!(await isExecutableFile(command))) throw new WrapperError(`could not install the Pulumi CLI: ${command} is not an executable file\n${instead}`);
    return { command, binDir: path.dirname(command), origin: "installed" };
}

/** The version `command version` prints (`v3.150.0` → 3.150.0), or undefined when it says none. */
async function cliVersion(command: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
    const { code, stdout } = await capture({ command, origin: "PATH" }, ["version"], env, process.cwd());
    const match = /^v?(\d+\.\d+\.\d+)/.exec(stdout.trim());
    return code === 0 && match ? match[1] : undefined;
}

/** Whether version a (x.y.z) is older than b. */
export function olderThan(a: string, b: string): boolean {
    const [x, y] = [a, b].map((v) => v.split(".").map(Number));
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i];
    return false;
}

/** Runs `cli args`, its output captured; resolves with its exit code and stdout (a start failure counts as 127). */
function capture(cli: Cli, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number; stdout: string }> {
    return new Promise((resolve) => {
        const child = spawn(cli.command, args, { cwd, env, stdio: ["ignore", "pipe", "ignore"] });
        let stdout = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
        child.on("error", () => resolve({ code: 127, stdout }));
        child.on("close", (code) => resolve({ code: code ?? 1, stdout }));
    });
}

/**
 * The backend the children use: PULUMI_BACKEND_URL when set; the user's login when `pulumi whoami` answers; else a
 * project-local file backend, passed as PULUMI_BACKEND_URL for this run only (a `pulumi login` would be remembered
 * in ~/.pulumi and move the user's other projects to this folder). Returns the backend's URL when known.
 */
export async function chooseBackend(cli: Cli, env: NodeJS.ProcessEnv, root: string, log: (line: string) => void): Promise<string | undefined> {
    if (env.PULUMI_BACKEND_URL) return env.PULUMI_BACKEND_URL;
    const whoami = await capture(cli, ["whoami", "--verbose", "--non-interactive"], env, root);
    if (whoami.code === 0) return /Backend URL:\s*(\S+)/.exec(whoami.stdout)?.[1];
    const state = path.join(root, STATE_FOLDER);
    await mkdir(state, { recursive: true });
    env.PULUMI_BACKEND_URL = `file://${state}`;
    log(`not logged in to a Pulumi backend: using ${env.PULUMI_BACKEND_URL} for this run (PULUMI_BACKEND_URL; nothing is remembered). Plain pulumi reaches this stack with the same PULUMI_BACKEND_URL.`);
    return env.PULUMI_BACKEND_URL;
}

/** `--stack NAME`, `--stack=NAME`, `-s NAME` among pulumi arguments: the stack, and the arguments without it. */
export function stackArgument(args: string[]): { stack?: string; rest: string[] } {
    const rest: string[] = [];
    let stack: string | undefined;
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        if (arg === "--stack" || arg === "-s") {
            if (args[i + 1] === undefined || args[i + 1].startsWith("-")) throw new WrapperError(`${arg} needs a stack name, e.g. ${arg} prod`);
            stack = args[++i];
        } else if (arg.startsWith("--stack=")) stack = arg.slice("--stack=".length);
        else rest.push(arg);
    }
    return { stack, rest };
}

/** The environment for the CLI's children: its own folder first on PATH (bundled plugins), nothing else changed. */
export function cliEnv(cli: Cli, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return cli.binDir ? { ...env, PATH: env.PATH ? `${cli.binDir}${path.delimiter}${env.PATH}` : cli.binDir } : { ...env };
}

/** Where the Docker engine is asked, or undefined for an endpoint a plain HTTP ping cannot reach (ssh://, npipe://). */
export function dockerEndpoint(env: NodeJS.ProcessEnv): { label: string; request: RequestOptions } | undefined {
    const host = env.DOCKER_HOST || "unix:///var/run/docker.sock";
    if (host.startsWith("unix://")) return { label: host, request: { socketPath: host.slice("unix://".length) } };
    if (host.startsWith("tcp://")) {
        const url = new URL(host.replace(/^tcp:/, "http:"));
        // An engine that wants TLS answers a plain HTTP request with 400: that still proves it is there.
        const port = url.port || (env.DOCKER_TLS_VERIFY ? "2376" : "2375");
        return { label: host, request: { host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(port) } };
    }
    return undefined;
}

/** Undefined when the engine answers (or cannot be pinged), else the one-line message. */
export async function dockerProblem(env: NodeJS.ProcessEnv, timeoutMs = DOCKER_PING_TIMEOUT_MS): Promise<string | undefined> {
    const endpoint = dockerEndpoint(env);
    if (!endpoint) return undefined;
    const reason = await new Promise<string | undefined>((resolve) => {
        const req = request({ ...endpoint.request, path: "/_ping", method: "GET", timeout: timeoutMs }, (res) => {
            res.resume();
            resolve(undefined);
        });
        req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
        req.end();
    });
    if (reason === undefined) return undefined;
    return (
        `no Docker engine answers on ${endpoint.label} (${reason}): start one (\`sudo systemctl start docker\`, ` +
        `Docker Desktop, or \`sudo bash scripts/dockerd.sh start\`) or point DOCKER_HOST at one, and run this again`
    );
}

export interface WrapperOptions {
    root: string;
    env: NodeJS.ProcessEnv;
    /** Whether stdin and stdout are both terminals (pulumi may prompt). */
    interactive: boolean;
    installer?: Installer;
    installTimeoutMs?: number;
    log: (line: string) => void;
}

/** Runs `cli args` in the project folder; resolves with its exit code (128 + signal number when killed). */
function run(cli: Cli, args: string[], env: NodeJS.ProcessEnv, cwd: string, stdio: StdioOptions): Promise<number> {
    return new Promise((resolve, reject) => {
        const child = spawn(cli.command, args, { cwd, env, stdio });
        // Ctrl-C reaches pulumi directly (same process group) and it cancels cleanly; we wait for it. SIGTERM and
        // SIGHUP are passed on.
        const ignore = () => undefined;
        const forward = (signal: NodeJS.Signals) => child.kill(signal);
        process.on("SIGINT", ignore).on("SIGTERM", forward).on("SIGHUP", forward);
        const done = () => process.off("SIGINT", ignore).off("SIGTERM", forward).off("SIGHUP", forward);
        child.on("error", (error) => (done(), reject(new WrapperError(`could not run ${cli.command}: ${error.message}`))));
        child.on("close", (code, signal) => (done(), resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 1))));
    });
}

/** The wrapper: returns the exit code (pulumi's, or 2 when it stops before pulumi runs). */
export async function runWrapper(argv: string[], options: WrapperOptions): Promise<number> {
    const [action, ...given] = argv;
    if (!action) throw new WrapperError("usage: node --import tsx bin/pulumi.ts <preview|up|destroy|refresh> [pulumi arguments]");
    const { stack: named, rest } = stackArgument(given);
    const stack = named ?? (options.env.PULUMI_STACK || "dev");
    const problem = await dockerProblem(options.env);
    if (problem) throw new WrapperError(problem);
    const cli = await resolveCli({ ...options, install: true });
    const env = cliEnv(cli, options.env);
    const backend = await chooseBackend(cli, env, options.root, options.log);
    if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
        // The dev stack's passphrase is public (README): it protects generated passwords of containers on 127.0.0.1.
        if (stack === DEV_STACK) env.PULUMI_CONFIG_PASSPHRASE = DEV_PASSPHRASE;
        else if (!/^https?:\/\//.test(backend ?? "")) throw new WrapperError(passphraseMissing(stack));
    }
    const quiet: StdioOptions = ["ignore", "ignore", "inherit"];
    const selected = await run(cli, ["stack", "select", "--non-interactive", "--create", stack], env, options.root, quiet);
    if (selected !== 0) {
        options.log(`could not select or create stack ${stack}: \`pulumi stack select --create ${stack}\` exited ${selected}`);
        return selected;
    }
    // At a terminal, pulumi asks before it changes anything; elsewhere (CI, no stdin) it must be told --yes.
    const args = [action, ...(options.interactive ? [] : ["--non-interactive"]), "--stack", stack, ...rest];
    const code = await run(cli, args, env, options.root, "inherit");
    if (code !== 0) options.log(`\`pulumi ${action} --stack ${stack}\` failed (exit ${code})`);
    return code;
}

/** The stack that may use the public DEV_PASSPHRASE. */
export const DEV_STACK = "dev";

function passphraseMissing(stack: string): string {
    return (
        `stack ${stack} needs a passphrase of its own: the public dev passphrase is only for the dev stack, and it would encrypt ${stack}'s secrets. ` +
        `Set one and keep it (every later run needs the same): export PULUMI_CONFIG_PASSPHRASE='<passphrase>', ` +
        "or put it in a file readable only by you and export PULUMI_CONFIG_PASSPHRASE_FILE=<that file>"
    );
}

if (require.main === module) {
    runWrapper(process.argv.slice(2), {
        root: PROJECT_ROOT,
        env: process.env,
        interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
        log: (line) => process.stderr.write(`${line}\n`),
    }).then(
        (code) => process.exit(code),
        (caught: unknown) => {
            const message = caught instanceof WrapperError ? caught.message : `internal error: ${caught instanceof Error ? caught.stack : String(caught)}`;
            process.stderr.write(`${message}\n`);
            // exit, not exitCode: an abandoned install (past its deadline) must not keep the process alive.
            process.exit(2);
        },
    );
}
