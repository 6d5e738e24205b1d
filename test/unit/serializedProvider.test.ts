/**
 * The replication provider survives serialization: the `__provider` text the dynamic resource carries (what
 * the engine stores in state and runs later) is loaded the way Pulumi's dynamic provider host loads it
 * (@pulumi/pulumi/cmd/dynamic-provider/index.js: `requireFromString(text).handler()`), and its pure methods
 * check and diff are called on it. They must not open a connection nor load mysql2.
 */
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import Module from "node:module";
import { validateConfig } from "../../config/validate";
import { ReplicaSet, type ReplicaSetArgs } from "../../components/replicaSet";
import { replicationProvider } from "../../components/replication/provider";
import { find, mockPassword, readStackConfig, REPO_ROOT, reveal, runProgram, TYPES } from "../support/pulumiMocks";
import type * as pulumi from "@pulumi/pulumi";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string") as (code: string, filename?: string) => { handler(): pulumi.dynamic.ResourceProvider };

const NAME = "mysql-replicaset";

/** Declares the dev stack's ReplicaSet under mocks and returns the replication resource's inputs as the engine sends them (no secrets: the dynamic provider does not accept them). */
async function replicationInputs(extra: Omit<ReplicaSetArgs, "settings"> = {}): Promise<Record<string, any>> {
    const run = await runProgram(() => new ReplicaSet(NAME, { settings: validateConfig(readStackConfig("dev").raw), ...extra }));
    assert.equal(run.error, undefined);
    return reveal(find(run.resources, TYPES.replication, `${NAME}-replication`).inputs);
}

/** Records, while `body` runs, every socket connect and every require of a database driver; connects fail. */
async function watchIo<T>(body: () => Promise<T>): Promise<{ result: T; connects: unknown[]; requires: string[] }> {
    const connects: unknown[] = [];
    const requires: string[] = [];
    const originalConnect = net.Socket.prototype.connect;
    const moduleInternals = Module as unknown as { _load(request: string, ...rest: unknown[]): unknown };
    const originalLoad = moduleInternals._load;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
        connects.push(args[0]);
        throw new Error("check/diff must not open connections");
    } as typeof originalConnect;
    moduleInternals._load = function (request: string, ...rest: unknown[]) {
        if (/^(mysql2|mysql|mariadb|sqlstring)(\/|$)/.test(request)) requires.push(request);
        return originalLoad.call(this, request, ...rest);
    };
    try {
        return { result: await body(), connects, requires };
    } finally {
        net.Socket.prototype.connect = originalConnect;
        moduleInternals._load = originalLoad;
    }
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

/**
 * Runs the provider text in a plain `node` process (no tsx, cwd = the project, as the engine starts the
 * dynamic provider host), the way the host loads it, and reports what check, diff and create returned.
 */
function runInPlainNode(text: string, inputs: Record<string, unknown>, createInputs: Record<string, unknown>): Record<string, any> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "serialized-provider-"));
    try {
        const file = path.join(dir, "call.json");
        fs.writeFileSync(file, JSON.stringify({ text, inputs, createInputs }));
        const script = `
            const { text, inputs, createInputs } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
            const provider = require("require-from-string")(text).handler();
            (async () => {
                const out = {};
                out.check = await provider.check({}, inputs);
                out.diff = await provider.diff("id", inputs, inputs);
                try { out.create = await provider.create(createInputs); } catch (e) { out.createError = String(e && e.message); }
                process.stdout.write(JSON.stringify(out));
            })().catch((e) => { process.stderr.write(String(e && e.stack)); process.exit(3); });
        `;
        const env = { ...process.env, NODE_OPTIONS: "" };
        return JSON.parse(execFileSync(process.execPath, ["-e", script, file], { cwd: REPO_ROOT, env, encoding: "utf8", timeout: 60000 }));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("the serialized replication provider", () => {
    let inputs: Record<string, any>;
    let text: string;
    let provider: pulumi.dynamic.ResourceProvider;

    before(async () => {
        inputs = await replicationInputs();
        text = inputs.__provider;
        provider = requireFromString(text).handler();
    });

    test("is module text whose handler() yields a provider with every operation", () => {
        assert.equal(typeof text, "string");
        assert.match(text, /exports\.handler/);
        assert.notEqual(provider, replicationProvider, "the provider comes from the text, not from this process's module");
        for (const op of ["check", "diff", "create", "read", "update", "delete"] as const) {
            assert.equal(typeof provider[op], "function", `${op} survives serialization`);
        }
    });

    test("contains no password, and does not change with the passwords (it captures none)", async () => {
        for (const secret of [mockPassword(`${NAME}-root-password`), mockPassword(`${NAME}-replication-password`), "MOCKPW"]) {
            assert.ok(!text.includes(secret), `the serialized provider contains ${secret}`);
        }
        const other = await replicationInputs({ rootPassword: "other-Root-Pw-1", replicationPassword: "other-Repl-Pw-2" });
        assert.ok(!other.__provider.includes("other-Root-Pw-1") && !other.__provider.includes("other-Repl-Pw-2"));
        assert.equal(other.__provider, text);
    });

    test("captures no Set or Map: closure serialization turns them into empty objects whose methods throw", () => {
        // A captured Set is written as `{}` plus `has: global.Set.prototype.has` (see the plain-node test below).
        assert.doesNotMatch(text, /global\.(Set|Map|WeakSet|WeakMap)\.prototype/);
    });

    test("check accepts the inputs the component declares, as they are, without I/O", async () => {
        const { result, connects, requires } = await watchIo(() => provider.check!({}, inputs));
        assert.deepEqual(result.failures, []);
        assert.deepEqual(result.inputs, inputs);
        assert.deepEqual(connects, []);
        assert.deepEqual(requires, []);
    });

    test("check names every bad input", async () => {
        const bad = {
            ...inputs,
            source: { ...inputs.source, host: "" },
            replicas: [{ ...inputs.replicas[0], port: "3307" }],
            rootPassword: "",
            replicationUserHost: "",
            tls: "sometimes",
            connectRetrySeconds: 0,
            deadlineSeconds: -1,
            verify: "yes",
        };
        const { result, connects } = await watchIo(() => provider.check!({}, bad));
        assert.deepEqual(
            (result.failures ?? []).map((f) => f.property).sort(),
            ["connectRetrySeconds", "deadlineSeconds", "replicas[0].port", "replicationUserHost", "rootPassword", "source.host", "tls", "verify"].sort(),
        );
        for (const f of result.failures ?? []) assert.ok(f.reason.length > 5, `${f.property} has a reason`);
        assert.deepEqual(connects, []);

        const none = await provider.check!({}, { ...inputs, replicas: [] });
        assert.deepEqual(none.failures?.map((f) => f.property), ["replicas"]);
    });

    test("diff: no change when nothing changed, even with observed status in the old state", async () => {
        const olds = { ...inputs, sourceStatus: { member: "db001" }, replicaStatus: {}, healthy: true, tlsInUse: false, observedAt: "2026-01-01T00:00:00Z" };
        const { result, connects, requires } = await watchIo(() => provider.diff!("db001-replicaset", olds, { ...inputs }));
        assert.equal(result.changes, false);
        assert.deepEqual(result.replaces, []);
        assert.deepEqual(connects, []);
        assert.deepEqual(requires, []);
    });

    test("diff: a changed input is an in-place change, never a replacement", async () => {
        for (const [field, value] of [
            ["replicationPassword", "new-Repl-Pw-3"],
            ["replicas", [inputs.replicas[0]]],
            ["replicationUserHost", "%"],
            ["source", { ...inputs.source, internalHost: "db009" }],
            ["verify", false],
        ] as const) {
            const { result, connects } = await watchIo(() => provider.diff!("db001-replicaset", inputs, { ...inputs, [field]: value }));
            assert.equal(result.changes, true, `${field} changed`);
            assert.deepEqual(result.replaces, [], `${field} does not replace`);
            assert.equal(result.deleteBeforeReplace, false);
            assert.deepEqual(connects, []);
        }
    });

    test("runs in a plain node process: check and diff as here, create reaches mysql2 and times out naming the member", async () => {
        const port = await closedPort();
        const nowhere = (e: Record<string, unknown>) => ({ ...e, port });
        const createInputs = {
            ...inputs,
            source: nowhere(inputs.source),
            replicas: inputs.replicas.map(nowhere),
            // Not 1 s: at load average 35+ a 1 s deadline once ran out before the first refused connect was
            // recorded. Nothing listens, so the test lasts exactly this long.
            deadlineSeconds: 4,
        };
        const out = runInPlainNode(text, inputs, createInputs);
        assert.deepEqual(out.check.failures, []);
        assert.equal(out.diff.changes, false);
        assert.equal(out.create, undefined, "create cannot succeed: nothing listens");
        // Module-level objects must survive serialization (a captured Set, for one, does not: its methods then
        // throw "called on incompatible receiver"); a failed connect must end in the deadline message.
        assert.match(out.createError, new RegExp(`Timed out after [\\d.]+s waiting for db001 to accept connections at 127\\.0\\.0\\.1:${port}`));
        assert.match(out.createError, /ECONNREFUSED/);
        assert.doesNotMatch(out.createError, /incompatible receiver|is not a function|is not defined/);
        assert.ok(!out.createError.includes(inputs.rootPassword), "the error shows no password");
    });

    test("diff: a new provider version alone changes nothing (replication is not redone on a code upgrade)", async () => {
        const result = await provider.diff!("db001-replicaset", inputs, { ...inputs, __provider: `${text}\n// v2` });
        assert.equal(result.changes, false);
    });
});
