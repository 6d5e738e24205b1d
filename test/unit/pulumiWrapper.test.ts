/**
 * bin/pulumi.ts (npm run preview/up/destroy/refresh) with stand-in `pulumi` executables that record how they were
 * called and a stand-in Docker engine on a unix socket: the wrapper must work on a machine with Node.js and Docker
 * and nothing else — no Pulumi CLI, no Pulumi account, no prompt.
 *
 * The end-to-end cases run the wrapper as `npm run up` does (a child `node --import tsx bin/pulumi.ts`, in a copy
 * of the project folder); the cases that vary only the environment call runWrapper in-process on the same
 * folder. The install's success path runs in-process with a fake installer (there is no network here);
 * the failure path runs the real one (PulumiCommand.install), which cannot reach get.pulumi.com here — on a
 * machine where it can, those cases are skipped, since they would download the real CLI.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtemp, mkdir, copyFile, writeFile, readFile, rm, chmod, symlink, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pbkdf2Sync, createDecipheriv } from "node:crypto";
import { readFileSync } from "node:fs";
import * as yaml from "js-yaml";
import { DEV_PASSPHRASE, resolveCli, runWrapper, WrapperError, type Installer } from "../../bin/pulumi";

const REPO = join(__dirname, "../..");

interface Call {
    cli: string;
    argv: string[];
    passphrase: string | null;
    passphraseFile: string | null;
    backend: string | null;
    path: string;
}

interface Run {
    code: number;
    stdout: string;
    stderr: string;
    ms: number;
    calls: Call[];
}

/**
 * A stand-in `pulumi` named `name` in `dir`: appends one JSON line per call to $FAKE_LOG; `whoami` fails unless
 * FAKE_LOGGED_IN is set (a machine that never logged in), and prints FAKE_BACKEND_URL as its backend; `version`
 * prints FAKE_VERSION; the verb in FAKE_FAIL exits 3.
 */
async function standIn(dir: string, name: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, "pulumi");
    await writeFile(
        file,
        `#!${process.execPath}
const fs = require("fs");
const env = process.env;
fs.appendFileSync(env.FAKE_LOG, JSON.stringify({ cli: ${JSON.stringify(name)}, argv: process.argv.slice(2),
    passphrase: env.PULUMI_CONFIG_PASSPHRASE ?? null, passphraseFile: env.PULUMI_CONFIG_PASSPHRASE_FILE ?? null,
    backend: env.PULUMI_BACKEND_URL ?? null, path: env.PATH }) + "\\n");
if (process.argv[2] === "whoami" && !env.FAKE_LOGGED_IN) process.exit(1);
if (process.argv[2] === "whoami" && env.FAKE_BACKEND_URL) console.log("User: someone\\nBackend URL: " + env.FAKE_BACKEND_URL);
if (process.argv[2] === "version" && env.FAKE_VERSION) console.log(env.FAKE_VERSION);
if (process.argv[2] === env.FAKE_FAIL) process.exit(3);
`,
    );
    await chmod(file, 0o755);
    return file;
}

/** The stand-in's calls, but `version` (the wrapper asks a CLI on PATH its age; the version test reads them all). */
async function readCalls(log: string, all = false): Promise<Call[]> {
    const text = await readFile(log, "utf8").catch(() => "");
    const calls = text.trim() === "" ? [] : text.trim().split("\n").map((line) => JSON.parse(line) as Call);
    return all ? calls : calls.filter((c) => c.argv[0] !== "version");
}

async function exists(file: string): Promise<boolean> {
    return access(file).then(
        () => true,
        () => false,
    );
}

/** Whether get.pulumi.com answers from here: then the real installer would download the real CLI. */
async function networkReachable(): Promise<boolean> {
    try {
        await fetch("https://get.pulumi.com/install.sh", { method: "HEAD", signal: AbortSignal.timeout(10_000) });
        return true;
    } catch {
        return false;
    }
}

describe("bin/pulumi.ts (npm run up/preview/destroy/refresh)", () => {
    let work: string;
    let project: string;
    let pathBin: string;
    let emptyBin: string;
    let dockerSocket: string;
    let docker: Server;
    let pinned: string;
    let offline: boolean;

    before(async () => {
        work = await mkdtemp(join(tmpdir(), "wrapper-"));
        project = join(work, "project");
        await mkdir(join(project, "bin"), { recursive: true });
        await copyFile(join(REPO, "bin/pulumi.ts"), join(project, "bin/pulumi.ts"));
        await symlink(join(REPO, "node_modules"), join(project, "node_modules"));
        pathBin = join(work, "path-bin");
        await standIn(pathBin, "path");
        emptyBin = join(work, "empty-bin");
        await mkdir(emptyBin);
        pinned = (JSON.parse(await readFile(join(REPO, "node_modules/@pulumi/pulumi/package.json"), "utf8")) as { version: string }).version;
        // A Docker engine as far as the wrapper can tell: GET /_ping answers on the socket.
        dockerSocket = join(work, "docker.sock");
        docker = createServer((req, res) => res.end(req.url === "/_ping" ? "OK" : "{}"));
        await new Promise<void>((resolve) => docker.listen(dockerSocket, resolve));
        offline = !(await networkReachable());
    });
    after(async () => {
        await new Promise((resolve) => docker.close(resolve));
        await rm(work, { recursive: true, force: true });
    });

    /** The wrapper as `npm run <verb>` runs it, stdin not a terminal; `pulumi` on PATH unless PATH is given. */
    async function wrapper(args: string[], env: Record<string, string> = {}, script = join(project, "bin/pulumi.ts"), cwd = project): Promise<Run> {
        const log = join(work, `calls-${Math.random().toString(36).slice(2)}.log`);
        const started = Date.now();
        const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
            const child = spawn(process.execPath, ["--import", "tsx", script, ...args], {
                cwd,
                env: { PATH: `${pathBin}:${emptyBin}`, HOME: work, FAKE_LOG: log, DOCKER_HOST: `unix://${dockerSocket}`, ...env },
            });
            let out = "";
            let err = "";
            child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
            child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
            child.on("error", reject);
            child.on("close", (exit) => resolve({ code: exit ?? -1, stdout: out, stderr: err }));
            child.stdin.end();
        });
        return { code, stdout, stderr, ms: Date.now() - started, calls: await readCalls(log) };
    }

    /**
     * The same wrapper in-process (runWrapper, as the child above runs it), for the cases that vary only the
     * environment: a WrapperError is exit 2 with its message, as in bin/pulumi.ts's main.
     */
    async function inProcess(args: string[], env: Record<string, string> = {}): Promise<Run> {
        const log = join(work, `calls-${Math.random().toString(36).slice(2)}.log`);
        const started = Date.now();
        const lines: string[] = [];
        const fullEnv = { PATH: `${pathBin}:${emptyBin}`, HOME: work, FAKE_LOG: log, DOCKER_HOST: `unix://${dockerSocket}`, ...env };
        let code: number;
        try {
            code = await runWrapper(args, { root: project, env: fullEnv, interactive: false, log: (line) => lines.push(line) });
        } catch (error) {
            if (!(error instanceof WrapperError)) throw error;
            lines.push(error.message);
            code = 2;
        }
        return { code, stdout: "", stderr: lines.map((l) => `${l}\n`).join(""), ms: Date.now() - started, calls: await readCalls(log) };
    }

    it("npm run preview/up/destroy/refresh run bin/pulumi.ts with their verb", async () => {
        const scripts = (JSON.parse(await readFile(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
        for (const verb of ["preview", "up", "destroy", "refresh"]) assert.equal(scripts[verb], `node --import tsx bin/pulumi.ts ${verb}`);
    });

    it("on a fresh machine: a project-local file backend for this run only (no pulumi login), selects or creates dev, runs up without prompting", async () => {
        const run = await wrapper(["up", "--yes"]);
        assert.equal(run.code, 0, run.stderr);
        const backend = `file://${project}/.pulumi-state`;
        assert.deepEqual(
            run.calls.map((c) => [c.argv, c.backend]),
            [
                [["whoami", "--verbose", "--non-interactive"], null],
                [["stack", "select", "--non-interactive", "--create", "dev"], backend],
                // No terminal here (like CI): pulumi is told not to prompt, and the user's --yes is passed through.
                [["up", "--non-interactive", "--stack", "dev", "--yes"], backend],
            ],
        );
        assert.ok(await exists(join(project, ".pulumi-state")));
        // whoami (which backend) runs before the passphrase is chosen: it needs none.
        assert.ok(run.calls.every((c) => c.cli === "path") && run.calls.slice(1).every((c) => c.passphrase === "mysql-replicaset-dev"));
        // The side effect is stated where it happens.
        assert.match(run.stderr, new RegExp(`not logged in to a Pulumi backend: using ${backend} for this run \\(PULUMI_BACKEND_URL; nothing is remembered\\)`));
    });

    it("the public dev passphrase only for dev: another stack without a passphrase is refused with how to set one, before any stack is made", async () => {
        for (const [args, env] of [[["up"], { PULUMI_STACK: "prod" }], [["up", "--stack", "prod"], {}], [["up", "-s", "prod"], {}], [["up", "--stack=prod"], {}]] as const) {
            const run = await inProcess([...args], { FAKE_LOGGED_IN: "1", ...env });
            assert.equal(run.code, 2, JSON.stringify(args));
            assert.match(run.stderr, /^stack prod needs a passphrase of its own: the public dev passphrase is only for the dev stack.*export PULUMI_CONFIG_PASSPHRASE=.*PULUMI_CONFIG_PASSPHRASE_FILE/);
            assert.deepEqual(run.calls.map((c) => c.argv[0]), ["whoami"], "no stack selected or created");
        }
        // With a passphrase (or a file), prod runs; on Pulumi Cloud (its own secrets provider) none is needed.
        const withFile = await inProcess(["up"], { FAKE_LOGGED_IN: "1", PULUMI_STACK: "prod", PULUMI_CONFIG_PASSPHRASE_FILE: "/secret/pass" });
        assert.equal(withFile.code, 0, withFile.stderr);
        assert.ok(withFile.calls.every((c) => c.passphrase === null));
        const cloud = await inProcess(["up"], { FAKE_LOGGED_IN: "1", FAKE_BACKEND_URL: "https://api.pulumi.com", PULUMI_STACK: "prod" });
        assert.equal(cloud.code, 0, cloud.stderr);
        assert.ok(cloud.calls.every((c) => c.passphrase === null));
    });

    it("--stack among the arguments is honoured: that stack is selected, dev is never created", async () => {
        for (const args of [["up", "--stack", "staging", "--yes"], ["up", "--yes", "-s", "staging"], ["up", "--stack=staging", "--yes"]]) {
            const run = await inProcess(args, { FAKE_LOGGED_IN: "1", PULUMI_CONFIG_PASSPHRASE: "mine", PULUMI_STACK: "dev" });
            assert.equal(run.code, 0, run.stderr);
            assert.deepEqual(run.calls.slice(1).map((c) => c.argv), [
                ["stack", "select", "--non-interactive", "--create", "staging"],
                ["up", "--non-interactive", "--stack", "staging", "--yes"],
            ]);
        }
        assert.equal((await inProcess(["up", "--stack"], { FAKE_LOGGED_IN: "1" })).code, 2);
    });

    it("a failing CLI step says which step failed and exits non-zero (PULUMI_CLI=/bin/false)", async () => {
        const run = await wrapper(["up"], { PULUMI_CLI: "/bin/false" });
        assert.equal(run.code, 1);
        assert.match(run.stderr, /could not select or create stack dev: `pulumi stack select --create dev` exited 1/);
        const up = await inProcess(["up"], { FAKE_LOGGED_IN: "1", FAKE_FAIL: "up" });
        assert.equal(up.code, 3);
        assert.match(up.stderr, /`pulumi up --stack dev` failed \(exit 3\)/);
    });

    it("a pulumi on PATH older than 3.160 is passed over for the pinned version, saying so", async () => {
        const root = await mkdtemp(join(work, "old-"));
        await symlink(join(REPO, "node_modules"), join(root, "node_modules"));
        const installed = await standIn(join(root, ".pulumi-cli", pinned, "bin"), "pinned");
        assert.ok(installed);
        const log = join(work, "old-calls.log");
        const lines: string[] = [];
        const env = { PATH: `${pathBin}:${emptyBin}`, HOME: work, FAKE_LOG: log, FAKE_LOGGED_IN: "1", FAKE_VERSION: "v3.150.0", DOCKER_HOST: `unix://${dockerSocket}` };
        assert.equal(await runWrapper(["preview"], { root, env, interactive: false, log: (l) => lines.push(l) }), 0);
        assert.deepEqual(lines, [`the pulumi on PATH is 3.150.0, older than 3.160.0 (check --refresh needs refresh --run-program): using Pulumi CLI ${pinned} from .pulumi-cli/ instead`]);
        const calls = await readCalls(log, true);
        assert.deepEqual(calls[0], { ...calls[0], cli: "path", argv: ["version"] });
        assert.ok(calls.slice(1).every((c) => c.cli === "pinned"), JSON.stringify(calls));
        // A current one is used as it is.
        const current = await resolveCli({ root, env: { ...env, FAKE_VERSION: "v3.248.0" }, install: false, log: () => undefined });
        assert.equal(current.origin, "PATH");
    });

    it("keeps a backend, a passphrase and a stack the user already chose", async () => {
        const run = await inProcess(["preview"], { FAKE_LOGGED_IN: "1", PULUMI_CONFIG_PASSPHRASE: "mine", PULUMI_STACK: "prod" });
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(
            run.calls.map((c) => c.argv),
            [
                ["whoami", "--verbose", "--non-interactive"],
                ["stack", "select", "--non-interactive", "--create", "prod"],
                ["preview", "--non-interactive", "--stack", "prod"],
            ],
        );
        assert.ok(run.calls.every((c) => c.passphrase === "mine"));
    });

    it("PULUMI_BACKEND_URL set: neither asks whoami nor logs in", async () => {
        const run = await inProcess(["preview"], { PULUMI_BACKEND_URL: "file:///somewhere" });
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(run.calls.map((c) => c.argv[0]), ["stack", "preview"]);
    });

    it("PULUMI_STACK: unset or empty means dev; any other value is selected (created if missing) and passed as --stack", async () => {
        const empty = await inProcess(["up"], { FAKE_LOGGED_IN: "1", PULUMI_STACK: "" });
        assert.deepEqual(empty.calls.at(-2)?.argv, ["stack", "select", "--non-interactive", "--create", "dev"]);
        assert.deepEqual(empty.calls.at(-1)?.argv, ["up", "--non-interactive", "--stack", "dev"]);
        const staging = await inProcess(["up", "--yes"], { FAKE_LOGGED_IN: "1", PULUMI_STACK: "staging", PULUMI_CONFIG_PASSPHRASE: "mine" });
        assert.deepEqual(staging.calls.at(-2)?.argv, ["stack", "select", "--non-interactive", "--create", "staging"]);
        assert.deepEqual(staging.calls.at(-1)?.argv, ["up", "--non-interactive", "--stack", "staging", "--yes"]);
    });

    it("PULUMI_CONFIG_PASSPHRASE_FILE set: no passphrase is added; PULUMI_CONFIG_PASSPHRASE empty and no file: the dev default", async () => {
        const withFile = await inProcess(["up"], { FAKE_LOGGED_IN: "1", PULUMI_CONFIG_PASSPHRASE_FILE: "/secret/pass" });
        assert.equal(withFile.code, 0, withFile.stderr);
        assert.ok(withFile.calls.every((c) => c.passphrase === null && c.passphraseFile === "/secret/pass"), JSON.stringify(withFile.calls));
        const both = await inProcess(["up"], { FAKE_LOGGED_IN: "1", PULUMI_CONFIG_PASSPHRASE_FILE: "/secret/pass", PULUMI_CONFIG_PASSPHRASE: "mine" });
        assert.ok(both.calls.every((c) => c.passphrase === "mine" && c.passphraseFile === "/secret/pass"));
        const emptyPassphrase = await inProcess(["up"], { FAKE_LOGGED_IN: "1", PULUMI_CONFIG_PASSPHRASE: "" });
        assert.ok(emptyPassphrase.calls.slice(1).every((c) => c.passphrase === "mysql-replicaset-dev" && c.passphraseFile === null));
    });

    it("destroy and refresh go through the same path", async () => {
        for (const action of ["destroy", "refresh"]) {
            const run = await inProcess([action, "--yes"], { FAKE_LOGGED_IN: "1" });
            assert.deepEqual(run.calls.at(-1)?.argv, [action, "--non-interactive", "--stack", "dev", "--yes"]);
        }
    });

    it("exits with pulumi's exit code; a failed stack select stops before the verb", async () => {
        const up = await inProcess(["up"], { FAKE_LOGGED_IN: "1", FAKE_FAIL: "up" });
        assert.equal(up.code, 3);
        const select = await inProcess(["up"], { FAKE_LOGGED_IN: "1", FAKE_FAIL: "stack" });
        assert.equal(select.code, 3);
        assert.ok(!select.calls.some((c) => c.argv[0] === "up"), "up ran after stack select failed");
    });

    it("PULUMI_CLI is used instead of the pulumi on PATH, with its folder first on the children's PATH", async () => {
        const chosen = await standIn(join(work, "chosen"), "chosen");
        const run = await inProcess(["up"], { FAKE_LOGGED_IN: "1", PULUMI_CLI: chosen });
        assert.equal(run.code, 0, run.stderr);
        assert.ok(run.calls.length > 0 && run.calls.every((c) => c.cli === "chosen" && c.path.startsWith(`${join(work, "chosen")}:`)));
        const missing = await inProcess(["up"], { PULUMI_CLI: join(work, "nowhere/pulumi") });
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /PULUMI_CLI=.*nowhere\/pulumi is not an executable file/);
        assert.deepEqual(missing.calls, []);
    });

    describe("no Docker engine: one line saying so, exit 2, and no Pulumi step", () => {
        it("a unix socket nobody listens on", async () => {
            const run = await wrapper(["up", "--yes"], { DOCKER_HOST: `unix://${work}/no-engine.sock` });
            assert.equal(run.code, 2);
            assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
            assert.match(run.stderr, /^no Docker engine answers on unix:\/\/.*no-engine\.sock \(ENOENT\): start one .*DOCKER_HOST/);
            assert.deepEqual(run.calls, []);
        });

        it("a tcp endpoint nobody listens on", async () => {
            const closed = createServer();
            await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
            const port = (closed.address() as { port: number }).port;
            await new Promise((resolve) => closed.close(resolve));
            const run = await inProcess(["preview"], { DOCKER_HOST: `tcp://127.0.0.1:${port}` });
            assert.equal(run.code, 2);
            assert.match(run.stderr, new RegExp(`^no Docker engine answers on tcp://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
            assert.deepEqual(run.calls, []);
        });

        it("comes before the CLI: nothing is installed when there is no engine", async () => {
            const run = await inProcess(["up", "--yes"], { PATH: emptyBin, DOCKER_HOST: `unix://${work}/no-engine.sock` });
            assert.equal(run.code, 2);
            assert.doesNotMatch(run.stderr, /installing/);
            assert.equal(await exists(join(project, ".pulumi-cli")), false);
        });
    });

    describe("no pulumi on PATH", () => {
        /** A fresh project folder for each case, so no CLI is left over from another. */
        async function freshRoot(): Promise<string> {
            const root = await mkdtemp(join(work, "root-"));
            await symlink(join(REPO, "node_modules"), join(root, "node_modules"));
            return root;
        }

        /** Writes a stand-in where the real installer puts the CLI (`<root>/bin/pulumi`), and remembers its calls. */
        function fakeInstaller(calls: Array<{ root: string; version: string }>): Installer {
            return async (opts) => {
                calls.push(opts);
                return { command: await standIn(join(opts.root, "bin"), "installed") };
            };
        }

        it("installs the pinned CLI version into .pulumi-cli/<version> and runs everything with it", async () => {
            const root = await freshRoot();
            const log = join(root, "calls.log");
            const lines: string[] = [];
            const installs: Array<{ root: string; version: string }> = [];
            const env = { PATH: emptyBin, HOME: root, FAKE_LOG: log, DOCKER_HOST: `unix://${dockerSocket}` };
            const code = await runWrapper(["up", "--yes"], { root, env, interactive: false, installer: fakeInstaller(installs), log: (l) => lines.push(l) });
            assert.equal(code, 0);
            const folder = join(root, ".pulumi-cli", pinned);
            assert.deepEqual(installs, [{ root: folder, version: pinned }]);
            assert.deepEqual(lines, [
                `installing Pulumi CLI ${pinned} into ${folder}`,
                `not logged in to a Pulumi backend: using file://${root}/.pulumi-state for this run (PULUMI_BACKEND_URL; nothing is remembered). Plain pulumi reaches this stack with the same PULUMI_BACKEND_URL.`,
            ]);
            const calls = await readCalls(log);
            assert.deepEqual(calls.at(-1)?.argv, ["up", "--non-interactive", "--stack", "dev", "--yes"]);
            assert.ok(calls.every((c) => c.cli === "installed" && c.path === `${join(folder, "bin")}:${emptyBin}`), JSON.stringify(calls));

            // The next run finds it: no second install, no install message.
            lines.length = 0;
            assert.equal(await runWrapper(["preview"], { root, env, interactive: false, installer: fakeInstaller(installs), log: (l) => lines.push(l) }), 0);
            assert.equal(installs.length, 1);
            assert.deepEqual(lines.filter((l) => /install/.test(l)), []);
            assert.equal((await readCalls(log)).at(-1)?.cli, "installed");
        });

        it("a pulumi on PATH is used as it is: nothing installed", async () => {
            const root = await freshRoot();
            const installs: Array<{ root: string; version: string }> = [];
            const cli = await resolveCli({ root, env: { PATH: `${emptyBin}:${pathBin}` }, install: true, installer: fakeInstaller(installs), log: () => undefined });
            assert.deepEqual(cli, { command: "pulumi", origin: "PATH" });
            assert.deepEqual(installs, []);
        });

        it("a failing installer: `could not install the Pulumi CLI: <reason>` and what to do instead", async () => {
            const root = await freshRoot();
            const failing: Installer = async () => {
                throw new Error("Failed to download https://get.pulumi.com/install.sh: fetch failed");
            };
            await assert.rejects(
                resolveCli({ root, env: { PATH: emptyBin }, install: true, installer: failing, log: () => undefined }),
                (error: Error) =>
                    error instanceof WrapperError &&
                    /^could not install the Pulumi CLI: Failed to download https:\/\/get\.pulumi\.com\/install\.sh: fetch failed\n/.test(error.message) &&
                    /Install it yourself .* or set PULUMI_CLI/.test(error.message),
            );
        });

        it("an installer that never finishes is given up at its deadline", async () => {
            const root = await freshRoot();
            const hanging: Installer = () => new Promise(() => undefined);
            const started = Date.now();
            await assert.rejects(
                resolveCli({ root, env: { PATH: emptyBin }, install: true, installer: hanging, installTimeoutMs: 300, log: () => undefined }),
                (error: Error) =>
                    error instanceof WrapperError &&
                    /^could not install the Pulumi CLI: the install did not finish within 0\.3 s \(PULUMI_CLI_INSTALL_TIMEOUT_SECONDS\)\n/.test(error.message),
            );
            assert.ok(Date.now() - started < 5000);
        });

        it("the real installer, without network: the message, exit 2, within the deadline, no Pulumi step", { timeout: 120_000 }, async (t) => {
            if (!offline) return t.skip("get.pulumi.com answers from here: the real installer would download the CLI");
            const run = await wrapper(["up", "--yes"], { PATH: emptyBin, PULUMI_CLI_INSTALL_TIMEOUT_SECONDS: "60" });
            const lines = run.stderr.trim().split("\n");
            assert.equal(lines[0], `installing Pulumi CLI ${pinned} into ${join(project, ".pulumi-cli", pinned)}`, run.stderr);
            assert.match(lines[1], /^could not install the Pulumi CLI: \S/);
            assert.match(lines[2], /set PULUMI_CLI/);
            assert.equal(run.code, 2);
            assert.ok(run.ms < 70_000, `took ${run.ms} ms`);
            assert.deepEqual(run.calls, []);
            assert.equal(await exists(join(project, ".pulumi-cli", pinned, "bin/pulumi")), false);
        });

        it("npm run check -- --refresh installs the same way (real installer, without network: exit 2)", { timeout: 120_000 }, async (t) => {
            if (!offline) return t.skip("get.pulumi.com answers from here: the real installer would download the CLI");
            if (await exists(join(REPO, ".pulumi-cli", pinned, "bin/pulumi"))) return t.skip("this checkout already has its project-local CLI");
            const run = await wrapper(["--refresh"], { PATH: emptyBin, PULUMI_CLI_INSTALL_TIMEOUT_SECONDS: "60" }, join(REPO, "bin/check.ts"), REPO);
            assert.equal(run.code, 2);
            assert.match(run.stderr, new RegExp(`^check: installing Pulumi CLI ${pinned.replace(/\./g, "\\.")} into `));
            assert.match(run.stderr, /\ncheck: could not install the Pulumi CLI: \S.*\n.*set PULUMI_CLI/);
            // Without --refresh nothing is installed: the CLI is looked for, and its absence reported.
            const plain = await wrapper([], { PATH: emptyBin }, join(REPO, "bin/check.ts"), REPO);
            assert.equal(plain.code, 2);
            assert.doesNotMatch(plain.stderr, /installing/);
            assert.match(plain.stderr, /Pulumi CLI \(pulumi\) is not on PATH.*--file FILE/);
        });
    });
});

/**
 * The passphrase secrets manager's check of a passphrase against a stack's `encryptionsalt`, as pulumi/pulumi does it
 * (pkg/secrets/passphrase/manager.go symmetricCrypterFromPhraseAndState; sdk/go/common/resource/config/crypt.go):
 * state `v1:<salt b64>:v1:<nonce b64>:<AES-256-GCM of "pulumi", tag appended, b64>`, key PBKDF2-SHA256(passphrase,
 * salt, 1,000,000 iterations, 32 bytes). A stack config with a salt is used as it is (NewPromptingPassphraseSecretsManager
 * "If we have a salt, we can just use it"), and not saved again (needsSaveProjectStackAfterSecretManger).
 */
function decryptsWith(passphrase: string, state: string): boolean {
    const [version, salt, innerVersion, nonce, sealed] = state.split(":");
    if (version !== "v1" || innerVersion !== "v1") return false;
    const key = pbkdf2Sync(passphrase, Buffer.from(salt, "base64"), 1_000_000, 32, "sha256");
    const bytes = Buffer.from(sealed, "base64");
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    try {
        return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString("utf8") === "pulumi";
    } catch {
        return false;
    }
}

describe("Pulumi.dev.yaml carries the dev passphrase's salt (the first run rewrites no tracked file)", () => {
    it("its encryptionsalt opens with DEV_PASSPHRASE and with nothing else", () => {
        const stack = yaml.load(readFileSync(join(REPO, "Pulumi.dev.yaml"), "utf8")) as { encryptionsalt?: string };
        assert.ok(stack.encryptionsalt, "Pulumi.dev.yaml has no encryptionsalt");
        assert.equal(decryptsWith(DEV_PASSPHRASE, stack.encryptionsalt), true);
        assert.equal(decryptsWith("another passphrase", stack.encryptionsalt), false);
    });
});
