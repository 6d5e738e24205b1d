/**
 * The output contract read back: parseStackOutputs (what is missing or mistyped, by path), judge (per-replica
 * verdicts and reasons) and renderTable. Pure; the check command's process-level tests are in check.test.ts.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { judge, parseStackOutputs, renderTable, type StackOutputs } from "../../components/outputs";
import { cliJson, stackOutputs } from "../support/stackOutputs";

/** Parses and asserts failure; returns the problems. */
function problemsOf(value: unknown): string[] {
    const result = parseStackOutputs(value);
    assert.equal(result.ok, false, "expected the value to be rejected");
    return result.ok ? [] : result.problems;
}

/** A deep copy as plain JSON, to mutate into invalid shapes. */
function asJson(outputs: StackOutputs): Record<string, any> {
    return JSON.parse(JSON.stringify(outputs));
}

describe("parseStackOutputs", () => {
    it("accepts what the CLI prints and returns exactly the contract, dropping extra fields such as secrets", () => {
        const outputs = stackOutputs();
        const result = parseStackOutputs(JSON.parse(cliJson(outputs)));
        assert.equal(result.ok, true);
        assert.deepEqual(result.ok && result.outputs, outputs);
        assert.equal(result.ok && "rootPassword" in result.outputs, false);
    });

    it("tolerates extra fields inside source and replicas and drops them", () => {
        const value = asJson(stackOutputs());
        value.source.uptime = 12;
        value.replicas.db002.channel = "";
        const result = parseStackOutputs(value);
        assert.equal(result.ok, true);
        assert.deepEqual(result.ok && result.outputs, stackOutputs());
    });

    it("accepts null lags (a stopped thread, an unverified probe)", () => {
        const outputs = stackOutputs({ db002: { secondsBehindSource: null, probeLagMs: null } });
        const result = parseStackOutputs(asJson(outputs));
        assert.equal(result.ok, true);
        assert.equal(result.ok && result.outputs.replicas.db002.secondsBehindSource, null);
    });

    it("names a wrong-typed field by path, with the expected type and the value found", () => {
        const value = asJson(stackOutputs());
        value.replicas.db002.ioRunning = "Yes";
        assert.deepEqual(problemsOf(value), ['replicas.db002.ioRunning: expected boolean, got "Yes"']);
    });

    it("names every missing field, at every level", () => {
        const value = asJson(stackOutputs());
        delete value.source.flavor;
        delete value.replicas.db003.secondsBehindSource;
        delete value.topology;
        assert.deepEqual(problemsOf(value), [
            "source.flavor: missing (expected string)",
            "replicas.db003.secondsBehindSource: missing (expected number or null)",
            "topology: missing (expected string)",
        ]);
    });

    it("rejects a lag that is not a number or null", () => {
        const value = asJson(stackOutputs());
        value.replicas.db002.secondsBehindSource = "12";
        value.replicas.db003.probeLagMs = false;
        assert.deepEqual(problemsOf(value), [
            'replicas.db002.secondsBehindSource: expected number or null, got "12"',
            "replicas.db003.probeLagMs: expected number or null, got false",
        ]);
    });

    it("names missing or non-object sections, and says when one is a secret", () => {
        assert.deepEqual(problemsOf({ healthy: true, topology: "t" }), ["source: missing (expected object)", "replicas: missing (expected object)"]);
        const value = asJson(stackOutputs()) as Record<string, unknown>;
        value.replicas = "[secret]";
        value.source = [];
        assert.deepEqual(problemsOf(value), ["source: expected object, got array", 'replicas: expected object, got a secret ("[secret]"); it must be a plain output']);
    });

    it("reads the source's readOnly when present (a stack made before it has none) and rejects a non-boolean", () => {
        const fenced = stackOutputs({}, { source: { ...stackOutputs().source, readOnly: true } });
        const result = parseStackOutputs(asJson(fenced));
        assert.equal(result.ok && result.outputs.source.readOnly, true);
        const older = parseStackOutputs(asJson(stackOutputs()));
        assert.equal(older.ok && "readOnly" in older.outputs.source, false);
        const value = asJson(stackOutputs());
        value.source.readOnly = "ON";
        assert.deepEqual(problemsOf(value), ['source.readOnly: expected boolean, got "ON"']);
    });

    it("quotes member names that are not plain identifiers", () => {
        const value = asJson(stackOutputs());
        value.replicas["db.4"] = 7;
        assert.deepEqual(problemsOf(value), ['replicas["db.4"]: expected object, got number']);
    });

    it("rejects non-objects at the top without echoing them, and hints at an undeployed stack", () => {
        assert.deepEqual(problemsOf("hunter2-password"), ["outputs: expected object, got string"]);
        assert.deepEqual(problemsOf(null), ["outputs: expected object, got null"]);
        assert.match(problemsOf({})[0], /no outputs; has `pulumi up` run\?/);
    });
});

describe("judge", () => {
    it("an errant transaction makes a replica unhealthy, and replicaHealthy agrees", () => {
        const verdict = judge(stackOutputs({ db002: { errantGtids: "uuid-b:1-2" } }, { healthy: false }));
        assert.equal(verdict.healthy, false);
        assert.deepEqual(verdict.replicas[0].reasons, ["db002: errant transactions: uuid-b:1-2"]);
        assert.equal(verdict.replicas[0].errantGtids, "uuid-b:1-2");
    });
    it("lag comes from the heartbeat when known, else from Seconds_Behind_Source", () => {
        const verdict = judge(stackOutputs({ db002: { heartbeatLagMs: 2600, secondsBehindSource: 0 }, db003: { heartbeatLagMs: null, secondsBehindSource: 4 } }), { maxLagSeconds: 2 });
        assert.deepEqual(verdict.replicas.map((r) => r.lag), [2.6, 4]);
        assert.equal(verdict.healthy, false);
    });
    it("finds a healthy set healthy, with one verdict per replica sorted by member", () => {
        const verdict = judge(stackOutputs({ db004: { endpoint: "127.0.0.1:3309" } }), { maxLagSeconds: 30 });
        assert.equal(verdict.healthy, true);
        assert.deepEqual(verdict.reasons, []);
        assert.equal(verdict.maxLagSeconds, 30);
        assert.equal(verdict.source.member, "db001");
        assert.deepEqual(
            verdict.replicas.map((r) => [r.member, r.role, r.endpoint, r.io, r.sql, r.lag, r.healthy]),
            [
                ["db002", "replica", "127.0.0.1:3307", true, true, 0, true],
                ["db003", "replica", "127.0.0.1:3308", true, true, 0, true],
                ["db004", "replica", "127.0.0.1:3309", true, true, 0, true],
            ],
        );
    });

    it("names the replica whose IO thread stopped, with the error text", () => {
        const error = "2003: error connecting to master 'repl@db001:3306' - retry-time: 10 retries: 1";
        const verdict = judge(stackOutputs({ db003: { ioRunning: false, secondsBehindSource: null, lastIoError: error } }));
        assert.equal(verdict.healthy, false);
        const db003 = verdict.replicas.find((r) => r.member === "db003")!;
        assert.equal(db003.healthy, false);
        assert.equal(db003.lastError, error);
        assert.deepEqual(db003.reasons, ["db003: IO thread not running", `db003: IO error: ${error}`]);
        assert.deepEqual(verdict.reasons, db003.reasons);
        assert.equal(verdict.replicas.find((r) => r.member === "db002")!.healthy, true);
    });

    it("names a stopped SQL thread and its error", () => {
        const error = "1062: Duplicate entry '1' for key 'PRIMARY'";
        const verdict = judge(stackOutputs({ db002: { sqlRunning: false, lastSqlError: error } }));
        assert.deepEqual(verdict.reasons, ["db002: SQL thread not running", `db002: SQL error: ${error}`]);
        assert.equal(verdict.replicas[0].lastError, error);
    });

    it("finds an error unhealthy even while both threads run", () => {
        const verdict = judge(stackOutputs({ db002: { lastIoError: "1236: Got fatal error from master" } }));
        assert.equal(verdict.healthy, false);
        assert.deepEqual(verdict.reasons, ["db002: IO error: 1236: Got fatal error from master"]);
    });

    it("judges lag only with a max lag, and only strictly over it", () => {
        const outputs = stackOutputs({ db002: { secondsBehindSource: 45 }, db003: { secondsBehindSource: 30 } });
        assert.equal(judge(outputs).healthy, true);
        const verdict = judge(outputs, { maxLagSeconds: 30 });
        assert.equal(verdict.healthy, false);
        assert.deepEqual(verdict.reasons, ["db002: lag 45 s over the limit 30 s"]);
        assert.deepEqual(verdict.replicas.map((r) => [r.member, r.lag, r.healthy]), [["db002", 45, false], ["db003", 30, true]]);
    });

    it("treats an unknown lag as unhealthy under a max lag, unless a stopped thread already explains it", () => {
        const unknown = stackOutputs({ db002: { secondsBehindSource: null } });
        assert.equal(judge(unknown).healthy, true);
        assert.deepEqual(judge(unknown, { maxLagSeconds: 5 }).reasons, ["db002: lag unknown (null) with a max lag of 5 s"]);
        const stopped = stackOutputs({ db002: { sqlRunning: false, secondsBehindSource: null } });
        assert.deepEqual(judge(stopped, { maxLagSeconds: 5 }).reasons, ["db002: SQL thread not running"]);
    });

    it("is unhealthy with no replicas, or when the stack's own healthy flag is false", () => {
        const none = judge({ ...stackOutputs(), replicas: {} });
        assert.equal(none.healthy, false);
        assert.deepEqual(none.reasons, ["no replicas in the outputs"]);
        const stale = judge(stackOutputs({}, { healthy: false }));
        assert.equal(stale.healthy, false);
        assert.match(stale.reasons[0], /`healthy` is false although every replica looks healthy/);
    });

    it("a read-only source makes the set unhealthy, naming it and how to make it writable", () => {
        const verdict = judge(stackOutputs({}, { source: { ...stackOutputs().source, readOnly: true }, healthy: false }));
        assert.equal(verdict.healthy, false);
        assert.equal(verdict.replicas.every((r) => r.healthy), true);
        assert.equal(verdict.reasons.length, 1, JSON.stringify(verdict.reasons));
        assert.match(verdict.reasons[0], /^db001 \(source\): read-only, it refuses writes .*pulumi up --refresh/);
        assert.equal(judge(stackOutputs({}, { source: { ...stackOutputs().source, readOnly: false } })).healthy, true);
    });

    it("rejects a negative or non-finite max lag", () => {
        assert.throws(() => judge(stackOutputs(), { maxLagSeconds: -1 }), RangeError);
        assert.throws(() => judge(stackOutputs(), { maxLagSeconds: Number.NaN }), RangeError);
    });
});

describe("renderTable", () => {
    it("lists the source and each replica with threads, lag and last error, then the outcome", () => {
        const text = renderTable(judge(stackOutputs({ db003: { ioRunning: false, secondsBehindSource: null, lastIoError: "2003: cannot connect" } })));
        const lines = text.split("\n");
        assert.match(lines[0], /^MEMBER\s+ROLE\s+ENDPOINT\s+IO\s+SQL\s+LAG\s+LAST ERROR$/);
        assert.match(lines[1], /^db001\s+source\s+127\.0\.0\.1:3306\s+-\s+-\s+-$/);
        assert.match(lines[2], /^db002\s+replica\s+127\.0\.0\.1:3307\s+yes\s+yes\s+0 s$/);
        assert.match(lines[3], /^db003\s+replica\s+127\.0\.0\.1:3308\s+NO\s+yes\s+unknown\s+2003: cannot connect$/);
        assert.equal(lines[5], "UNHEALTHY: db003");
        assert.deepEqual(lines.slice(6), ["  - db003: IO thread not running", "  - db003: IO error: 2003: cannot connect"]);
    });

    it("marks a read-only source in its row and names it as unhealthy", () => {
        const lines = renderTable(judge(stackOutputs({}, { source: { ...stackOutputs().source, readOnly: true }, healthy: false }))).split("\n");
        assert.match(lines[1], /^db001\s+source\s+127\.0\.0\.1:3306\s+-\s+-\s+-\s+read-only$/);
        assert.equal(lines[5], "UNHEALTHY: db001");
    });

    it("says healthy with the count and the limit applied, and shortens long errors in the cell only", () => {
        assert.match(renderTable(judge(stackOutputs(), { maxLagSeconds: 30 })), /\nHEALTHY: 2 of 2 replicas \(max lag 30 s\)$/);
        const long = `1236: ${"x".repeat(200)}`;
        const text = renderTable(judge(stackOutputs({ db002: { lastIoError: long } })));
        const row = text.split("\n")[2];
        assert.ok(row.endsWith("…") && !row.includes(long), row);
        assert.ok(text.includes(`db002: IO error: ${long}`));
    });
});
