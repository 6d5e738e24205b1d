/**
 * scripts/pulumi.sh (npm run up/preview/destroy/refresh) with a stand-in `pulumi` on PATH that records how
 * it was called: the wrapper must work on a fresh machine with no Pulumi account and no prompt.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, copyFile, writeFile, readFile, rm, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Run {
    code: number;
    calls: string[][];
    env: Record<string, string>;
}

describe("scripts/pulumi.sh", () => {
    let project: string;
    let bin: string;

    before(async () => {
        project = await mkdtemp(join(tmpdir(), "wrapper-project-"));
        bin = join(project, "fake-bin");
        await mkdir(join(project, "scripts"));
        await mkdir(bin);
        await copyFile(join(__dirname, "../../scripts/pulumi.sh"), join(project, "scripts/pulumi.sh"));
        // The stand-in records each call (one JSON array per line) and the passphrase it saw; `whoami` fails
        // unless FAKE_LOGGED_IN is set, like a machine that never logged in.
        await writeFile(
            join(bin, "pulumi"),
            `#!/usr/bin/env node
const fs = require("fs");
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(process.argv.slice(2)) + "\\n");
fs.writeFileSync(process.env.FAKE_LOG + ".env", JSON.stringify({ passphrase: process.env.PULUMI_CONFIG_PASSPHRASE ?? "" }));
if (process.argv[2] === "whoami" && !process.env.FAKE_LOGGED_IN) process.exit(1);
`,
        );
        await chmod(join(bin, "pulumi"), 0o755);
    });
    after(async () => rm(project, { recursive: true, force: true }));

    async function wrapper(args: string[], env: Record<string, string> = {}): Promise<Run> {
        const log = join(project, `calls-${Math.random().toString(36).slice(2)}.log`);
        const code = await new Promise<number>((resolve) => {
            const child = execFile(
                "bash",
                [join(project, "scripts/pulumi.sh"), ...args],
                { env: { PATH: `${bin}:${process.env.PATH}`, HOME: project, FAKE_LOG: log, ...env } },
                (error) => resolve(error ? Number((error as { code?: number }).code ?? 1) : 0),
            );
            child.stdin?.end();
        });
        const calls = (await readFile(log, "utf8")).trim().split("\n").map((line) => JSON.parse(line) as string[]);
        const seen = JSON.parse(await readFile(`${log}.env`, "utf8")) as Record<string, string>;
        return { code, calls, env: seen };
    }

    it("on a fresh machine: logs in to a project-local file backend, selects or creates dev, runs up without prompting", async () => {
        const run = await wrapper(["up", "--yes"]);
        assert.equal(run.code, 0);
        assert.deepEqual(run.calls[0].slice(0, 1), ["whoami"]);
        assert.deepEqual(run.calls[1], ["login", "--non-interactive", `file://${project}/.pulumi-state`]);
        assert.deepEqual(run.calls[2], ["stack", "select", "--non-interactive", "--create", "dev"]);
        // No terminal here (like CI): pulumi is told not to prompt, and the user's --yes is passed through.
        assert.deepEqual(run.calls[3], ["up", "--non-interactive", "--stack", "dev", "--yes"]);
        assert.equal(run.env.passphrase, "mysql-replicaset-dev");
    });

    it("keeps a backend, a passphrase and a stack the user already chose", async () => {
        const run = await wrapper(["preview"], { FAKE_LOGGED_IN: "1", PULUMI_CONFIG_PASSPHRASE: "mine", PULUMI_STACK: "prod" });
        assert.equal(run.code, 0);
        assert.ok(!run.calls.some((c) => c[0] === "login"), "it logged in although a backend was chosen");
        assert.deepEqual(run.calls.at(-1), ["preview", "--non-interactive", "--stack", "prod"]);
        assert.equal(run.env.passphrase, "mine");
    });

    it("destroy and refresh go through the same path", async () => {
        for (const action of ["destroy", "refresh"]) {
            const run = await wrapper([action, "--yes"], { FAKE_LOGGED_IN: "1" });
            assert.deepEqual(run.calls.at(-1), [action, "--non-interactive", "--stack", "dev", "--yes"]);
        }
    });
});
