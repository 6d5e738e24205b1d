import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { assertHostPortsFree, portInUse, portProblems } from "../../config/preflight";
import { ConfigError, validateConfig } from "../../config/validate";

function listen(): Promise<{ server: Server; port: number }> {
    return new Promise((resolve) => {
        const server = createServer();
        server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as { port: number }).port }));
    });
}

function settingsWithPorts(ports: number[]) {
    return validateConfig({
        members: ports.map((hostPort, i) => ({ name: `db00${i + 1}`, role: i === 0 ? "source" : "replica", serverId: (i + 1) * 100, hostPort })),
    });
}

describe("host port preflight", () => {
    it("detects a port something listens on, and a free one", async () => {
        const { server, port } = await listen();
        try {
            assert.equal(await portInUse("127.0.0.1", port), true);
        } finally {
            server.close();
        }
        assert.equal(await portInUse("127.0.0.1", port), false);
    });

    it("refuses a member whose host port is taken, naming the key, before anything is declared", async () => {
        const { server, port } = await listen();
        try {
            const free = await listen().then(({ server: other, port: p }) => new Promise<number>((r) => other.close(() => r(p))));
            const settings = settingsWithPorts([free, port]);
            await assert.rejects(assertHostPortsFree(settings), (error: unknown) => {
                assert.ok(error instanceof ConfigError);
                assert.equal(error.problems.length, 1);
                assert.equal(error.problems[0].key, "members[1].hostPort");
                assert.equal(error.problems[0].value, port);
                assert.match(error.message, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
                return true;
            });
        } finally {
            server.close();
        }
    });

    it("accepts a port published by the member's own container (a second pulumi up)", () => {
        const settings = settingsWithPorts([13306, 13307]);
        const taken = new Set([13306, 13307]);
        const problems = portProblems(settings, taken, [
            { names: ["db001"], publicPorts: [13306] },
            { names: ["someone-else"], publicPorts: [13307] },
        ]);
        assert.deepEqual(problems.map((p) => p.key), ["members[1].hostPort"]);
        assert.match(problems[0].fix, /container someone-else/);
    });
});
