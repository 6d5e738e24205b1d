/**
 * The check command (bin/check.ts) as CI runs it: a child process reading outputs from --file, from stdin
 * (--file -), or from a stand-in `pulumi` on PATH; asserting exit codes and what it prints.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ReplicaStatus, StackOutputs, Verdict } from "../../components/outputs";
import { cliJson, sourceStatus, stackOutputs } from "../support/stackOutputs";

const ROOT = resolve(__dirname, "../..");

interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs `node --import tsx bin/check.ts ARGS` in the repo root, optionally feeding stdin. */
function check(args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
    return new Promise((done, fail) => {
        const child = spawn(process.execPath, ["--import", "tsx", "bin/check.ts", ...args], {
            cwd: ROOT,
            env: opts.env ?? process.env,
            stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
        child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
        child.on("error", fail);
        child.on("close", (code) => done({ code, stdout, stderr }));
        child.stdin.end(opts.stdin ?? "");
    });
}

let dir: string;
let fileNo = 0;

/** Writes text to a fresh file in the test's temp dir; returns its path. */
async function writeTemp(text: string): Promise<string> {
    const path = join(dir, `outputs-${++fileNo}.json`);
    await writeFile(path, text);
    return path;
}

/** Writes outputs as `pulumi stack output --json` would print them; returns the file path. */
function outputsFile(outputs: StackOutputs): Promise<string> {
    return writeTemp(cliJson(outputs));
}

/** The table row of one member (the line starting with its name). */
function row(stdout: string, member: string): string {
    const line = stdout.split("\n").find((l) => l.startsWith(`${member} `));
    assert.ok(line, `no table row for ${member} in:\n${stdout}`);
    return line;
}

const IO_ERROR = "2003: error connecting to master 'repl@db001:3306' - retry-time: 10 retries: 3";
const brokenIo: Partial<ReplicaStatus> = { ioRunning: false, secondsBehindSource: null, lastIoError: IO_ERROR };

before(async () => {
    dir = await mkdtemp(join(tmpdir(), "check-test-"));
});
after(async () => {
    await rm(dir, { recursive: true, force: true });
});

describe("check --file", { concurrency: true }, () => {
    it("exits 0 on healthy outputs and lists the source and each replica", async () => {
        const run = await check(["--file", await outputsFile(stackOutputs())]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(row(run.stdout, "db001"), /^db001\s+source\s+127\.0\.0\.1:3306\b/);
        assert.match(row(run.stdout, "db002"), /^db002\s+replica\s+127\.0\.0\.1:3307\s+yes\s+yes\s+0 s$/);
        assert.match(row(run.stdout, "db003"), /^db003\s+replica\s+127\.0\.0\.1:3308\s+yes\s+yes\s+0 s$/);
        assert.match(run.stdout, /HEALTHY: 2 of 2 replicas/);
        assert.equal(run.stderr, "");
    });

    it("reads stdin with --file -", async () => {
        const run = await check(["--file", "-"], { stdin: cliJson(stackOutputs({ db003: brokenIo })) });
        assert.equal(run.code, 1, run.stderr);
        assert.match(row(run.stdout, "db003"), /\bNO\s+yes\s+unknown\s+2003: error connecting/);
    });

    it("exits 1 on a broken replica, naming it and the IO error", async () => {
        const run = await check(["--file", await outputsFile(stackOutputs({ db003: brokenIo }))]);
        assert.equal(run.code, 1);
        assert.match(run.stdout, /UNHEALTHY: db003\n/);
        assert.ok(run.stdout.includes("- db003: IO thread not running"), run.stdout);
        assert.ok(run.stdout.includes(`- db003: IO error: ${IO_ERROR}`), run.stdout);
        assert.doesNotMatch(run.stdout, /- db002:/);
    });

    it("exits 1 on a replica lagging over --max-lag, naming it and the lag", async () => {
        const file = await outputsFile(stackOutputs({ db002: { secondsBehindSource: 95 } }));
        const under = await check(["--file", file, "--max-lag", "120"]);
        assert.equal(under.code, 0, under.stdout);
        const over = await check(["--file", file, "--max-lag", "30"]);
        assert.equal(over.code, 1);
        assert.match(row(over.stdout, "db002"), /\b95 s$/);
        assert.match(over.stdout, /UNHEALTHY: db002 \(max lag 30 s\)\n {2}- db002: lag 95 s over the limit 30 s$/m);
    });

    it("judges --max-lag on the heartbeat when it is known (Seconds_Behind_Source reads 0 while the IO thread stalls)", async () => {
        const file = await outputsFile(stackOutputs({ db002: { secondsBehindSource: 0, heartbeatLagMs: 3200 } }));
        const over = await check(["--file", file, "--max-lag", "1"]);
        assert.equal(over.code, 1, over.stdout);
        assert.match(over.stdout, /- db002: lag 3\.2 s over the limit 1 s$/m);
        assert.equal((await check(["--file", file, "--max-lag", "5"])).code, 0);
    });

    it("exits 1 on a replica holding errant transactions, naming it and the set", async () => {
        const file = await outputsFile(stackOutputs({ db003: { errantGtids: "0-300-7" } }, { healthy: false }));
        const run = await check(["--file", file]);
        assert.equal(run.code, 1, run.stdout);
        assert.match(run.stdout, /UNHEALTHY: db003\n {2}- db003: errant transactions: 0-300-7$/m);
    });

    it("exits 2 on missing fields, naming each missing path", async () => {
        const value = JSON.parse(cliJson(stackOutputs()));
        delete value.replicas.db002.ioRunning;
        delete value.healthy;
        const run = await check(["--file", await writeTemp(JSON.stringify(value))]);
        assert.equal(run.code, 2);
        assert.match(run.stderr, /does not match the output contract/);
        assert.ok(run.stderr.includes("- replicas.db002.ioRunning: missing (expected boolean)"), run.stderr);
        assert.ok(run.stderr.includes("- healthy: missing (expected boolean)"), run.stderr);
        assert.equal(run.stdout, "");
    });

    it("exits 2 on a wrong-typed field, naming it and the value", async () => {
        const value = JSON.parse(cliJson(stackOutputs()));
        value.replicas.db002.ioRunning = "Yes";
        const run = await check(["--file", "-"], { stdin: JSON.stringify(value) });
        assert.equal(run.code, 2);
        assert.ok(run.stderr.includes('replicas.db002.ioRunning: expected boolean, got "Yes"'), run.stderr);
    });

    it("exits 2 on malformed JSON without quoting the input", async () => {
        for (const stdin of ['{"source": {"member": "db001", "rootPassword": hunter2', "hunter2", '{"healthy": true}} "hunter2"']) {
            const run = await check(["--file", "-"], { stdin });
            assert.equal(run.code, 2, stdin);
            assert.match(run.stderr, /stdin is not valid JSON/);
            assert.doesNotMatch(run.stderr + run.stdout, /hunter2/);
        }
    });

    it("exits 2 on empty input and on an unreadable file", async () => {
        const empty = await check(["--file", "-"], { stdin: "" });
        assert.equal(empty.code, 2);
        assert.match(empty.stderr, /stdin is not valid JSON/);
        const missing = await check(["--file", join(dir, "nope.json")]);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /cannot read .*nope\.json/);
    });

    it("never prints passwords present in the input", async () => {
        const outputs = stackOutputs({ db003: brokenIo });
        const secrets = { rootPassword: "s3cret-root-pw", replicationPassword: "s3cret-repl-pw" };
        for (const extra of [[], ["--json"]]) {
            const run = await check(["--file", "-", ...extra], { stdin: cliJson(outputs, secrets) });
            assert.equal(run.code, 1);
            assert.doesNotMatch(run.stdout + run.stderr, /s3cret/);
        }
    });
});

describe("check --json", { concurrency: true }, () => {
    it("prints the verdict: healthy, limit, source, one entry per replica with reasons", async () => {
        const file = await outputsFile(stackOutputs({ db002: { secondsBehindSource: 40 }, db003: brokenIo }));
        const run = await check(["--file", file, "--json", "--max-lag", "30"]);
        assert.equal(run.code, 1);
        const verdict = JSON.parse(run.stdout) as Verdict;
        assert.deepEqual(Object.keys(verdict).sort(), ["healthy", "maxLagSeconds", "reasons", "replicas", "source"]);
        assert.equal(verdict.healthy, false);
        assert.equal(verdict.maxLagSeconds, 30);
        assert.equal(verdict.source.member, "db001");
        assert.deepEqual(verdict.replicas, [
            {
                member: "db002",
                role: "replica",
                endpoint: "127.0.0.1:3307",
                io: true,
                sql: true,
                lag: 40,
                heartbeatLagMs: null,
                errantGtids: "",
                lastError: "",
                healthy: false,
                reasons: ["db002: lag 40 s over the limit 30 s"],
            },
            {
                member: "db003",
                role: "replica",
                endpoint: "127.0.0.1:3308",
                io: false,
                sql: true,
                lag: null,
                heartbeatLagMs: null,
                errantGtids: "",
                lastError: IO_ERROR,
                healthy: false,
                reasons: ["db003: IO thread not running", `db003: IO error: ${IO_ERROR}`],
            },
        ]);
        assert.deepEqual(verdict.reasons, [...verdict.replicas[0].reasons, ...verdict.replicas[1].reasons]);
    });

    it("prints healthy: true and exits 0 on healthy outputs, with a null limit when none is given", async () => {
        const run = await check(["--json", "--file", await outputsFile(stackOutputs())]);
        assert.equal(run.code, 0);
        const verdict = JSON.parse(run.stdout) as Verdict;
        assert.equal(verdict.healthy, true);
        assert.equal(verdict.maxLagSeconds, null);
        assert.deepEqual(verdict.reasons, []);
        assert.deepEqual(verdict.replicas.map((r) => r.member), ["db002", "db003"]);
    });

    it("still prints one JSON document on exit 2", async () => {
        const run = await check(["--json", "--file", "-"], { stdin: JSON.stringify({ healthy: true }) });
        assert.equal(run.code, 2);
        const report = JSON.parse(run.stdout) as { healthy: boolean; error: string; problems: string[] };
        assert.equal(report.healthy, false);
        assert.match(report.error, /does not match the output contract/);
        assert.ok(report.problems.includes("source: missing (expected object)"), report.problems.join("\n"));
    });
});

describe("check arguments", { concurrency: true }, () => {
    it("prints help with the options and exit codes, exit 0", async () => {
        const run = await check(["--help"]);
        assert.equal(run.code, 0);
        for (const option of ["--file", "--stack", "--refresh", "--max-lag", "--json"]) assert.ok(run.stdout.includes(option), option);
        assert.match(run.stdout, /Exit codes: 0 .* 1 .* 2 /);
    });

    it("exits 2 on an unknown option, a bad --max-lag, or --refresh with --file", async () => {
        const unknown = await check(["--bogus"]);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /Unknown option '--bogus'/);
        const file = await outputsFile(stackOutputs());
        for (const lag of ["-1", "soon", ""]) {
            const run = await check(["--file", file, `--max-lag=${lag}`]);
            assert.equal(run.code, 2, `--max-lag ${JSON.stringify(lag)}`);
            assert.match(run.stderr, /--max-lag: expected a number of seconds >= 0/);
        }
        const both = await check(["--file", file, "--refresh"]);
        assert.equal(both.code, 2);
        assert.match(both.stderr, /--refresh .* cannot be combined with --file/);
    });
});

describe("check with the Pulumi CLI", () => {
    let bin: string;
    let log: string;
    let fixture: string;

    /** A stand-in `pulumi` that logs its arguments, prints the fixture for `stack output` and fails on stack "gone". */
    before(async () => {
        bin = await mkdtemp(join(dir, "bin-"));
        log = join(bin, "calls.log");
        fixture = await outputsFile(stackOutputs({ db002: brokenIo }));
        const script = [
            "#!/bin/sh",
            `echo "$*" >> '${log}'`,
            'case "$*" in *gone*) echo "error: no stack named \'gone\' found" >&2; exit 255;; esac',
            'if [ "$1" = refresh ]; then echo "Refreshing (dev)"; exit 0; fi',
            `cat '${fixture}'`,
        ].join("\n");
        await writeFile(join(bin, "pulumi"), `${script}\n`);
        await chmod(join(bin, "pulumi"), 0o755);
    });

    const env = () => ({ ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` });
    /** The stand-in's calls but the CLI's own look-ups (`version` for its age, `whoami` for its backend). */
    const verbs = async (file: string) => (await readFile(file, "utf8")).split("\n").filter((l) => !/^(version|whoami)\b/.test(l)).join("\n");

    it("reads `pulumi stack output --json` by default and passes --stack through", async () => {
        await rm(log, { force: true });
        const run = await check(["--stack", "dev"], { env: env() });
        assert.equal(run.code, 1, run.stderr);
        assert.ok(run.stdout.includes("- db002: IO thread not running"), run.stdout);
        assert.equal(await verbs(log), "stack output --json --stack dev\n");
    });

    it("with --refresh, refreshes the same stack first and keeps the CLI's progress off stdout", async () => {
        await rm(log, { force: true });
        const run = await check(["--refresh", "--stack", "dev", "--json"], { env: env() });
        assert.equal(run.code, 1, run.stderr);
        assert.equal((await verbs(log)).split("\n")[0], "refresh --yes --run-program --stack dev");
        assert.equal((await verbs(log)).split("\n")[1], "stack output --json --stack dev");
        assert.match(run.stderr, /Refreshing \(dev\)/);
        assert.equal((JSON.parse(run.stdout) as Verdict).healthy, false);
    });

    // Pulumi's engine never changes a component resource on refresh ("Component, provider, and pending-replace
    // resources never change with a refresh", pulumi/pulumi pkg/resource/deploy/step.go RefreshStep.Apply), and
    // the stack's outputs are the root component's: only a refresh that runs the program (`--run-program`) writes
    // them anew. This stand-in does the same: its stack outputs stay those of the last `up` unless the refresh ran
    // the program.
    it("with --refresh, reports what the servers are now: a source that restarted read-only since the last `up`", async () => {
        const cli = await mkdtemp(join(dir, "bin-live-"));
        const calls = join(cli, "calls.log");
        const refreshed = join(cli, "refreshed");
        const asOfUp = await outputsFile(stackOutputs());
        const live = await outputsFile(stackOutputs({}, { source: sourceStatus({ readOnly: true }), healthy: false }));
        const script = [
            "#!/bin/sh",
            `echo "$*" >> '${calls}'`,
            `if [ "$1" = refresh ]; then case " $* " in *" --run-program "*) touch '${refreshed}';; esac; exit 0; fi`,
            `if [ -e '${refreshed}' ]; then cat '${live}'; else cat '${asOfUp}'; fi`,
        ].join("\n");
        await writeFile(join(cli, "pulumi"), `${script}\n`);
        await chmod(join(cli, "pulumi"), 0o755);
        const run = await check(["--refresh"], { env: { ...process.env, PATH: `${cli}:${process.env.PATH ?? ""}` } });
        assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}\ncalls:\n${await readFile(calls, "utf8")}`);
        assert.match(run.stdout, /db001 \(source\): read-only/);
    });

    it("exits 2 with the CLI's error when it fails", async () => {
        const run = await check(["--stack", "gone"], { env: env() });
        assert.equal(run.code, 2);
        assert.match(run.stderr, /`pulumi stack output --json --stack gone` failed \(exit 255\)/);
        assert.match(run.stderr, /no stack named 'gone'/);
    });

    it("exits 2 and suggests --file when the CLI is not installed", async () => {
        const empty = await mkdtemp(join(dir, "empty-"));
        const run = await check([], { env: { ...process.env, PATH: empty } });
        assert.equal(run.code, 2);
        assert.match(run.stderr, /Pulumi CLI \(pulumi\) is not on PATH.*--file FILE/);
    });
});
