/**
 * components/replication/clock.ts and the check's judgement of lag (issue 29, point 5): the heartbeat lag corrected
 * by the members' clocks, never a negative figure, and a lag that cannot be told failing `--max-lag`. On real
 * servers: test/integration/health.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { clockReading, correctHeartbeatLag } from "../../components/replication/clock";
import { judge, parseStackOutputs } from "../../components/outputs";
import { stackOutputs } from "../support/stackOutputs";

const names = { replica: "db002", source: "db001" };

describe("clockReading: one round trip", () => {
    test("the offset is the server's time minus the round trip's midpoint, right within half the round trip", () => {
        assert.deepEqual(clockReading(1000, 1506, 1010), { offsetMs: 501, uncertaintyMs: 5 });
        assert.deepEqual(clockReading(1000, 995, 1000), { offsetMs: -5, uncertaintyMs: 0 });
    });
});

describe("correctHeartbeatLag", () => {
    const exact = (offsetMs: number) => ({ offsetMs, uncertaintyMs: 1 });

    test("shared clocks: the lag as read", () => {
        assert.deepEqual(correctHeartbeatLag(1234.4, exact(0), exact(0), names), { heartbeatLagMs: 1234, clockSkewMs: 0, heartbeatError: "" });
    });

    test("a replica whose clock is 5 s behind reads 5 s less lag (here: negative); corrected, the true lag", () => {
        // True lag 1.2 s: the replica's clock reads 5 s less, so its NOW(6) minus the beat is 1200 - 5000.
        assert.deepEqual(correctHeartbeatLag(1200 - 5000, exact(-5000), exact(0), names), { heartbeatLagMs: 1200, clockSkewMs: -5000, heartbeatError: "" });
    });

    test("a source whose clock is ahead writes beats from the replica's future; corrected by its offset", () => {
        assert.deepEqual(correctHeartbeatLag(300 - 2000, exact(0), exact(2000), names), { heartbeatLagMs: 300, clockSkewMs: -2000, heartbeatError: "" });
        // Both ahead alike: nothing to correct.
        assert.deepEqual(correctHeartbeatLag(300, exact(7000), exact(7000), names), { heartbeatLagMs: 300, clockSkewMs: 0, heartbeatError: "" });
    });

    test("a negative corrected lag within the readings' uncertainty is 0", () => {
        assert.deepEqual(correctHeartbeatLag(-1.5, { offsetMs: 0, uncertaintyMs: 1 }, { offsetMs: 0, uncertaintyMs: 1 }, names), { heartbeatLagMs: 0, clockSkewMs: 0, heartbeatError: "" });
    });

    test("beyond it the lag is unknown, with the reason and the skew", () => {
        const lag = correctHeartbeatLag(-4800, exact(10), exact(0), names);
        assert.equal(lag.heartbeatLagMs, null);
        assert.equal(lag.clockSkewMs, 10);
        assert.match(lag.heartbeatError, /^the heartbeat lag reads -4810 ms after correcting for the clocks \(db002's is 10 ms ahead of db001's, ±2 ms\): a beat from the future/);
    });

    test("no beat: no lag and no error; the skew is still reported", () => {
        assert.deepEqual(correctHeartbeatLag(null, exact(-40), exact(2), names), { heartbeatLagMs: null, clockSkewMs: -42, heartbeatError: "" });
    });

    test("the source's clock unread: the lag cannot be corrected, so it is unknown", () => {
        const lag = correctHeartbeatLag(800, exact(0), undefined, names);
        assert.equal(lag.heartbeatLagMs, null);
        assert.equal(lag.clockSkewMs, null);
        assert.match(lag.heartbeatError, /db001's clock could not be read/);
    });
});

describe("judge: a lag that cannot be told never passes --max-lag", () => {
    test("heartbeatError: unknown, not Seconds_Behind_Source's 0", () => {
        const outputs = stackOutputs({ db002: { heartbeatLagMs: null, heartbeatError: "the heartbeat lag reads -4810 ms …", secondsBehindSource: 0 } });
        const verdict = judge(outputs, { maxLagSeconds: 5 });
        assert.equal(verdict.healthy, false);
        assert.deepEqual(verdict.reasons, ["db002: lag unknown with a max lag of 5 s: the heartbeat lag reads -4810 ms …"]);
        assert.equal(verdict.replicas[0].lag, null);
        assert.equal(judge(outputs).healthy, true, "without --max-lag lag is not judged");
    });
    test("a negative heartbeatLagMs (a provider before this check) is unknown too", () => {
        const verdict = judge(stackOutputs({ db002: { heartbeatLagMs: -5000, secondsBehindSource: 0 } }), { maxLagSeconds: 1 });
        assert.equal(verdict.healthy, false);
        assert.match(verdict.reasons[0], /^db002: lag unknown with a max lag of 1 s: the heartbeat lag reads -5000 ms/);
    });
});

describe("the contract: clockSkewMs and heartbeatError", () => {
    test("optional when read back (older stacks lack them), typed when present", () => {
        const older = JSON.parse(JSON.stringify(stackOutputs()));
        for (const status of Object.values(older.replicas) as Array<Record<string, unknown>>) {
            delete status.clockSkewMs;
            delete status.heartbeatError;
        }
        assert.equal(parseStackOutputs(older).ok, true);
        const current = parseStackOutputs(stackOutputs({ db002: { clockSkewMs: -12, heartbeatError: "" } }));
        assert.equal(current.ok && current.outputs.replicas.db002.clockSkewMs, -12);
        const wrong = parseStackOutputs(JSON.parse(JSON.stringify(stackOutputs({ db002: { clockSkewMs: "12" as unknown as number, heartbeatError: 3 as unknown as string } }))));
        assert.deepEqual(wrong.ok ? [] : wrong.problems, [
            'replicas.db002.clockSkewMs: expected number or null, got "12"',
            "replicas.db002.heartbeatError: expected string, got 3",
        ]);
    });
});
