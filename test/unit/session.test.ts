/**
 * components/replication/session.ts without a server: a deadline ends a run between two statements, not only
 * inside waits; the test seam fails a chosen statement; errors never show a secret.
 */
import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { answeredByServer, connectTimeout, connectWithin, DeadlineExceeded, query, statementHooks, type Session } from "../../components/replication/session";
import { isGone } from "../../components/replication/members";

/** A session over a stand-in connection that records what it was asked to run and answers at once. */
function fakeSession(deadline: number, secrets: string[] = []): { session: Session; ran: string[] } {
    const ran: string[] = [];
    const connection = {
        async query(options: { sql: string; timeout: number }) {
            ran.push(options.sql);
            return [[{ ok: 1 }], []];
        },
    };
    return { session: { endpoint: { name: "db002", host: "127.0.0.1", port: 1 }, connection: connection as never, secrets, deadline }, ran };
}

describe("session deadline and test seam", () => {
    afterEach(() => {
        delete statementHooks.beforeStatement;
    });

    test("a statement runs while the deadline is ahead", async () => {
        const { session, ran } = fakeSession(Date.now() + 60_000);
        assert.deepEqual(await query(session, "SELECT 1"), [{ ok: 1 }]);
        assert.deepEqual(ran, ["SELECT 1"]);
    });

    test("once the deadline has passed, the next statement is refused before it reaches the server", async () => {
        const { session, ran } = fakeSession(Date.now() - 1, ["hunter2-password"]);
        await assert.rejects(query(session, "CHANGE MASTER TO MASTER_PASSWORD = 'hunter2-password'"), (error: Error) => {
            assert.ok(error instanceof DeadlineExceeded);
            assert.match(error.message, /^db002: the operation's deadline passed before: CHANGE MASTER TO MASTER_PASSWORD = '\[secret\]'/);
            assert.ok(!error.message.includes("hunter2-password"));
            return true;
        });
        assert.deepEqual(ran, [], "the statement reached the server");
    });

    test("a run with no wait in it still ends at its deadline: a step sequence stops at the first statement past it", async () => {
        const { session, ran } = fakeSession(Date.now() + 200);
        const steps = ["STOP SLAVE", "RESET MASTER", "CHANGE MASTER TO MASTER_HOST = 'db001'", "START SLAVE"];
        await assert.rejects(
            (async () => {
                for (const [i, sql] of steps.entries()) {
                    if (i === 2) await new Promise((r) => setTimeout(r, 250)); // a slow step between two statements
                    await query(session, sql);
                }
            })(),
            DeadlineExceeded,
        );
        assert.deepEqual(ran, ["STOP SLAVE", "RESET MASTER"]);
    });

    test("the seam fails the chosen statement before it reaches the server, and only that one", async () => {
        const { session, ran } = fakeSession(Date.now() + 60_000);
        statementHooks.beforeStatement = (member, sql) => {
            if (member === "db002" && sql.startsWith("RESET")) throw new Error(`interrupted before ${sql}`);
        };
        await query(session, "STOP SLAVE");
        await assert.rejects(query(session, "RESET MASTER"), /^Error: interrupted before RESET MASTER$/);
        await query(session, "START SLAVE");
        assert.deepEqual(ran, ["STOP SLAVE", "START SLAVE"]);
    });
});

describe("certificate refusals (tls verify)", () => {
    test("a handshake that names the certificate is a refusal, not a server still starting", async () => {
        const { isCertificateRefusal, certificateRefusal } = await import("../../components/replication/session");
        assert.equal(isCertificateRefusal("HANDSHAKE_SSL_ERROR", "HANDSHAKE_SSL_ERROR: self-signed certificate in certificate chain"), true);
        assert.equal(isCertificateRefusal("HANDSHAKE_SSL_ERROR", "Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: "), true);
        assert.equal(isCertificateRefusal("HANDSHAKE_SSL_ERROR", "HANDSHAKE_SSL_ERROR: unable to verify the first certificate"), true);
        assert.equal(isCertificateRefusal("HANDSHAKE_SSL_ERROR", "read ECONNRESET"), false);
        assert.equal(isCertificateRefusal("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:3306"), false);
        const message = certificateRefusal({ name: "db001", host: "127.0.0.1", port: 3306 }, "unable to verify the first certificate");
        assert.match(message, /^db001 \(127\.0\.0\.1:3306\) presented a TLS certificate the provider does not trust: unable to verify the first certificate\. .*names 127\.0\.0\.1.*Nothing was changed\.$/);
    });
});

describe("issue 29: down means unreachable, not busy", () => {
    test("a port nobody listens on is gone after goneAfterMs, well before the deadline", async () => {
        const { createServer } = await import("node:net");
        const port = await new Promise<number>((resolve) => {
            const server = createServer().listen(0, "127.0.0.1", () => {
                const { port } = server.address() as { port: number };
                server.close(() => resolve(port));
            });
        });
        const started = Date.now();
        const error = await connectWithin({ name: "db001", host: "127.0.0.1", port }, { user: "root", password: "root-secret" }, Date.now() + 60_000, { goneAfterMs: 500 }).then(
            () => assert.fail("connected"),
            (e: unknown) => e,
        );
        assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
        assert.equal((error as { serverAnswered?: boolean }).serverAnswered, false);
        assert.equal(isGone(error), true);
    });

    test("a server that answered with an error is not gone, whatever the text says", () => {
        const busy = connectTimeout("Timed out after 30.0s waiting for db001 to accept connections at 127.0.0.1:3306; last error: ER_CON_COUNT_ERROR: Too many connections", true);
        assert.equal(isGone(busy), false);
        assert.equal(isGone(Object.assign(new Error("Host '10.0.0.1' is blocked because of many connection errors"), { errno: 1129, code: "ER_HOST_IS_BLOCKED" })), false);
        assert.equal(isGone(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:3306"), { errno: -111, code: "ECONNREFUSED" })), true);
        assert.equal(answeredByServer({ errno: 1040 }), true);
        assert.equal(answeredByServer({ errno: -111 }), false);
        assert.equal(answeredByServer({ code: "ETIMEDOUT" }), false);
    });
});
