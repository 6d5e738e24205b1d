/**
 * The outputs contract only ever adds fields, so a field added after the first release is optional when read back:
 * `npm run check -- --file` judges an older stack's outputs by health (exit 0 or 1), never refuses them (exit 2).
 * README's example outputs are complete and pass the check.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseStackOutputs } from "../../components/outputs";
import { replicaStatus, sourceStatus, stackOutputs } from "../support/stackOutputs";

const REPO = join(__dirname, "..", "..");

/**
 * The fields of the first release of the contract (components/outputs.ts as first committed, 3ae3b41): required
 * when read back. Every field added since is optional.
 */
const FIRST_RELEASE = {
    top: ["source", "replicas", "healthy", "topology"],
    source: ["member", "endpoint", "serverVersion", "flavor", "dialect"],
    replica: [
        "endpoint",
        "source",
        "ioRunning",
        "sqlRunning",
        "secondsBehindSource",
        "lastIoError",
        "lastSqlError",
        "retrievedGtidSet",
        "executedGtidSet",
        "probeLagMs",
        "serverVersion",
        "dialect",
    ],
};

/** `npm run check -- --file - [args]` on `text`: exit code and output. */
function check(text: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = execFile(process.execPath, ["--import", "tsx", "bin/check.ts", "--file", "-", ...args], { cwd: REPO }, (error, stdout, stderr) => {
            resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
        child.stdin!.end(text);
    });
}

function without<T extends object>(value: T, ...keys: string[]): Record<string, unknown> {
    return Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)));
}

describe("a field added after the first release is optional when read back", () => {
    const full = { ...stackOutputs(), endpoints: { writer: "", reader: "" }, caCertificate: "" };

    test("every later field may be absent; every first-release field is required", () => {
        const replicaFields = Object.keys(replicaStatus());
        const sourceFields = [...Object.keys(sourceStatus()), "readOnly"];
        for (const field of replicaFields) {
            const outputs = { ...full, replicas: { ...full.replicas, db002: without(full.replicas.db002, field) } };
            const parsed = parseStackOutputs(outputs);
            assert.equal(parsed.ok, !FIRST_RELEASE.replica.includes(field), `replicas.db002.${field} absent: ${JSON.stringify(parsed)}`);
        }
        for (const field of sourceFields) {
            assert.equal(parseStackOutputs({ ...full, source: without(full.source, field) }).ok, !FIRST_RELEASE.source.includes(field), `source.${field}`);
        }
        for (const field of Object.keys(full)) {
            assert.equal(parseStackOutputs(without(full, field)).ok, !FIRST_RELEASE.top.includes(field), field);
        }
    });

    test("an absent later field reads as not measured: \"\" for text, null for a lag", () => {
        const old = { ...full, replicas: { db002: without(full.replicas.db002, "seededBy", "seededAt", "heartbeatLagMs", "errantGtids") } };
        const parsed = parseStackOutputs(old);
        assert.ok(parsed.ok);
        assert.deepEqual(
            [parsed.outputs.replicas.db002.seededBy, parsed.outputs.replicas.db002.seededAt, parsed.outputs.replicas.db002.heartbeatLagMs, parsed.outputs.replicas.db002.errantGtids],
            ["", "", null, ""],
        );
        // Present, a later field must still have its type.
        const wrong = parseStackOutputs({ ...full, replicas: { db002: { ...full.replicas.db002, seededBy: 3 } } });
        assert.deepEqual(wrong.ok ? [] : wrong.problems, ["replicas.db002.seededBy: expected string, got 3"]);
    });

    /** The outputs of a stack made before seeding existed: no seededBy / seededAt. */
    const beforeSeeding = (replicas: Parameters<typeof stackOutputs>[0] = {}) => {
        const outputs = stackOutputs(replicas);
        for (const member of Object.keys(outputs.replicas)) outputs.replicas[member] = without(outputs.replicas[member], "seededBy", "seededAt") as never;
        return JSON.stringify({ ...outputs, rootPassword: "[secret]", replicationPassword: "[secret]" });
    };

    test("check --file on outputs without seededBy/seededAt: exit 0 for a healthy set", async () => {
        const run = await check(beforeSeeding());
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /HEALTHY: 2 of 2 replicas/);
    });

    test("check --file on outputs without seededBy/seededAt: exit 1 for an unhealthy set, naming the replica", async () => {
        const run = await check(beforeSeeding({ db003: { ioRunning: false, secondsBehindSource: null, lastIoError: "2003: cannot connect" } }));
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stdout, /UNHEALTHY: db003\n/);
    });
});

/** The fenced ```json blocks under the heading `## Outputs` (up to the next `## `), parsed. */
function readmeOutputExamples(markdown: string): unknown[] {
    const lines = markdown.split("\n");
    const start = lines.findIndex((l) => l.trim() === "## Outputs");
    assert.ok(start >= 0, "README has no `## Outputs` heading");
    const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    const section = lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
    return [...section.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => JSON.parse(m[1]));
}

describe("README's example outputs", () => {
    const examples = readmeOutputExamples(readFileSync(join(REPO, "README.md"), "utf8"));

    test("there is one, and it has every field of the contract (no placeholder entries)", () => {
        assert.ok(examples.length > 0, "no ```json block under ## Outputs");
        const full = { ...stackOutputs(), endpoints: { writer: "", reader: "" }, caCertificate: "" };
        for (const example of examples as Array<Record<string, any>>) {
            assert.deepEqual(Object.keys(example).sort(), [...Object.keys(full), "rootPassword", "replicationPassword"].sort());
            assert.deepEqual(Object.keys(example.source).sort(), [...Object.keys(sourceStatus()), "readOnly"].sort());
            for (const [member, replica] of Object.entries(example.replicas as Record<string, object>)) {
                assert.deepEqual(Object.keys(replica).sort(), Object.keys(replicaStatus()).sort(), `replicas.${member}`);
            }
        }
    });

    test("npm run check -- --file on each: exit 0", async () => {
        for (const example of examples) {
            const run = await check(JSON.stringify(example));
            assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
        }
    });

    test("the README parser reads a README rewrite's ## Outputs section", () => {
        assert.deepEqual(readmeOutputExamples("## Outputs\n\ntext\n\n```json\n{\"a\": 1}\n```\n\n## Next\n```json\n{}\n```"), [{ a: 1 }]);
    });
});
