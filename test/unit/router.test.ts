/**
 * The router (issue #15): config keys, the rendered haproxy.cfg (the parts that decide behaviour), the check
 * account's SQL, the endpoints output read back, and the resource graph under Pulumi mocks.
 */
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, validateConfig } from "../../config/validate";
import type { ReplicaSetSettings } from "../../config/types";
import { ReplicaSet } from "../../components/replicaSet";
import { routerConfig, routerEndpoints } from "../../components/router/declare";
import {
    caching2HandshakeResponse,
    checkStyleFor,
    renderHaproxyConfig,
    ROUTER_CONFIG_PATH,
    type RouterTopology,
} from "../../components/router/render";
import { ROUTER_CHECK_USER } from "../../config/accounts";
import { createRouterCheckAccount, dialectFor, identifyServer } from "../../components/replication/dialect";
import { checkInputs } from "../../components/replication/plan";
import { parseStackOutputs } from "../../components/outputs";
import { portProblems } from "../../config/preflight";
import { find, readStackConfig, reveal, runProgram, TYPES, valueOf, type ProgramRun } from "../support/pulumiMocks";
import { cliJson, stackOutputs } from "../support/stackOutputs";

const NAME = "mysql-replicaset";
const devRaw = () => readStackConfig("dev").raw;
const withRouter = (overrides: Record<string, unknown> = {}): ReplicaSetSettings => validateConfig({ ...devRaw(), router: "haproxy", ...overrides });

function problems(raw: Record<string, unknown>): Array<{ key: string; value: unknown; fix: string }> {
    try {
        validateConfig({ ...devRaw(), ...raw });
    } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
    }
    return [];
}

// ---------------------------------------------------------------------------------------------------------

describe("router config", () => {
    test("default: no router, the official haproxy image of the LTS branch pinned to a patch, ports 6446/6447", () => {
        const s = validateConfig(devRaw());
        assert.equal(s.router, "none");
        assert.match(s.routerImage, /^haproxy:3\.4\.\d+$/);
        assert.equal(s.writerPort, 6446);
        assert.equal(s.readerPort, 6447);
    });

    test("router takes none or haproxy; the error names the key, the value and the choices", () => {
        const [p] = problems({ router: "proxysql" });
        assert.equal(p.key, "router");
        assert.equal(p.value, "proxysql");
        assert.match(p.fix, /none, haproxy/);
    });

    test("an endpoint port a member publishes is refused, naming the member", () => {
        const found = problems({ router: "haproxy", writerPort: 3307 });
        assert.deepEqual(found.map((p) => [p.key, p.value]), [["writerPort", 3307]]);
        assert.match(found[0].fix, /members\[1\] \(db002\) has hostPort 3307/);
    });

    test("writer and reader on one port are refused; ports out of range are refused", () => {
        assert.deepEqual(problems({ router: "haproxy", writerPort: 7000, readerPort: 7000 }).map((p) => p.key), ["readerPort"]);
        assert.deepEqual(problems({ router: "haproxy", readerPort: 70000 }).map((p) => p.key), ["readerPort"]);
        assert.deepEqual(problems({ router: "haproxy", routerImage: "Not An Image" }).map((p) => p.key), ["routerImage"]);
    });

    test("with router none, a router key other than its default is refused by name (it would be ignored); its default passes (the engine writes declared defaults into the config)", () => {
        assert.deepEqual(problems({ writerPort: 3306 }).map((p) => [p.key, p.value, p.fix]), [["writerPort", 3306, "remove it, or set router to haproxy: it configures the router, and router is none"]]);
        assert.deepEqual(problems({ writerPort: "6446", readerPort: 6447, routerImage: "haproxy:3.4.7", routerHost: undefined }), []);
    });
});

describe("router ports before anything is declared (preflight)", () => {
    test("a taken writer or reader port is named; the router's own container from an earlier run may hold them", () => {
        const s = withRouter();
        const taken = new Set([6446, 6447]);
        const other = [{ names: ["someone-else"], publicPorts: [6446] }];
        assert.deepEqual(portProblems(s, taken, other, "mysql-replicaset-router").map((p) => [p.key, p.value]), [["writerPort", 6446], ["readerPort", 6447]]);
        assert.match(portProblems(s, taken, other, "mysql-replicaset-router")[0].fix, /container someone-else/);
        const own = [{ names: ["mysql-replicaset-router"], publicPorts: [6446, 6447] }];
        assert.deepEqual(portProblems(s, taken, own, "mysql-replicaset-router"), []);
    });

    test("with router none, the router ports are not looked at", () => {
        assert.deepEqual(portProblems(validateConfig(devRaw()), new Set([6446, 6447]), [], "mysql-replicaset-router"), []);
    });
});

// ---------------------------------------------------------------------------------------------------------

const TOPOLOGY: RouterTopology = {
    source: { name: "db001", host: "db001", port: 3306 },
    replicas: [
        { name: "db002", host: "db002", port: 3306 },
        { name: "db003", host: "db003", port: 3306 },
    ],
    checkUser: "replicaset_check",
    checkStyle: "mysql-check",
};

/** The lines of one section (`backend writer`, ...), trimmed, comments out. */
function section(cfg: string, header: string): string[] {
    const lines = cfg.split("\n");
    const start = lines.indexOf(header);
    assert.ok(start >= 0, `no section ${header} in:\n${cfg}`);
    const out: string[] = [];
    for (const line of lines.slice(start + 1)) {
        if (line !== "" && !line.startsWith(" ")) break;
        if (line.trim() !== "" && !line.trim().startsWith("#")) out.push(line.trim());
    }
    return out;
}

describe("renderHaproxyConfig", () => {
    const cfg = renderHaproxyConfig(TOPOLOGY);

    test("the writer frontend listens on 6446 and reaches the declared source only", () => {
        assert.deepEqual(section(cfg, "frontend writer"), ["bind :6446", "default_backend writer"]);
        const servers = section(cfg, "backend writer").filter((l) => l.startsWith("server "));
        assert.deepEqual(servers, ["server db001 db001:3306 check"]);
    });

    test("the reader frontend listens on 6447 and balances the replicas by leastconn, the source a backup only", () => {
        assert.deepEqual(section(cfg, "frontend reader"), ["bind :6447", "default_backend reader"]);
        const reader = section(cfg, "backend reader");
        assert.ok(reader.includes("balance leastconn"));
        assert.deepEqual(reader.filter((l) => l.startsWith("server ")), [
            "server db002 db002:3306 check",
            "server db003 db003:3306 check",
            "server db001 db001:3306 check backup",
        ]);
    });

    test("every server is checked each second, down after 2 failures, up after 1 success, found through Docker's DNS", () => {
        const [defaults] = section(cfg, "defaults").filter((l) => l.startsWith("default-server"));
        for (const part of ["inter 1000ms", "fall 2", "rise 1", "resolvers docker", "init-addr last,libc,none", "on-marked-down shutdown-sessions"]) {
            assert.ok(defaults.includes(part), `${part} in ${defaults}`);
        }
        assert.ok(section(cfg, "resolvers docker").includes("nameserver dns 127.0.0.11:53"));
        assert.ok(section(cfg, "defaults").includes("mode tcp"));
    });

    test("MariaDB / MySQL 5.7: HAProxy's mysql-check logs in as the check account", () => {
        for (const backend of ["backend writer", "backend reader"]) {
            assert.ok(section(cfg, backend).includes("option mysql-check user replicaset_check post-41"), backend);
        }
    });

    test("MySQL 8+: a tcp-check sends a caching_sha2_password handshake response with an empty password and wants OK", () => {
        const sha = renderHaproxyConfig({ ...TOPOLOGY, checkStyle: "caching-sha2" });
        const writer = section(sha, "backend writer");
        assert.ok(!sha.includes("mysql-check"));
        assert.deepEqual(writer.slice(0, 4), [
            "option tcp-check",
            "tcp-check connect",
            `tcp-check send-binary ${caching2HandshakeResponse("replicaset_check")}0100000001`,
            "tcp-check expect binary 0700000200",
        ]);
    });

    test("the handshake response: length, sequence 1, CLIENT_PLUGIN_AUTH, the user, an empty auth response, the plugin", () => {
        const packet = Buffer.from(caching2HandshakeResponse("hc"), "hex");
        assert.equal(packet.readUIntLE(0, 3), packet.length - 4);
        assert.equal(packet[3], 1);
        const capabilities = packet.readUInt32LE(4);
        assert.equal(capabilities & 0x00080000, 0x00080000, "CLIENT_PLUGIN_AUTH");
        assert.equal(capabilities & 0x00000200, 0x00000200, "CLIENT_PROTOCOL_41");
        assert.equal(capabilities & 0x00008000, 0x00008000, "CLIENT_SECURE_CONNECTION");
        assert.equal(packet.subarray(36).toString("latin1"), "hc\0\0caching_sha2_password\0");
    });

    test("the check style follows the flavor's default authentication plugin", () => {
        assert.equal(checkStyleFor("mysql", { major: 9, minor: 7, patch: 4 }), "caching-sha2");
        assert.equal(checkStyleFor("percona", { major: 8, minor: 0, patch: 36 }), "caching-sha2");
        assert.equal(checkStyleFor("percona", { major: 5, minor: 7, patch: 30 }), "mysql-check");
        assert.equal(checkStyleFor("mariadb", { major: 11, minor: 8, patch: 9 }), "mysql-check");
    });

    test("deterministic, and refuses names that would break the file", () => {
        assert.equal(renderHaproxyConfig(TOPOLOGY), cfg);
        assert.throws(() => renderHaproxyConfig({ ...TOPOLOGY, checkUser: "a b" }), /checkUser/);
        assert.throws(() => renderHaproxyConfig({ ...TOPOLOGY, source: { name: "db001\nlisten x", host: "db001", port: 3306 } }), /DNS labels/);
    });

    test("a role swap in config renders another writer and reader pool", () => {
        const s = withRouter();
        const swapped = { ...s, members: s.members.map((m) => ({ ...m, role: m.name === "db002" ? "source" : "replica" }) as typeof m) };
        const after = routerConfig(swapped);
        assert.notEqual(after, routerConfig(s));
        assert.deepEqual(section(after, "backend writer").filter((l) => l.startsWith("server ")), ["server db002 db002:3306 check"]);
        assert.deepEqual(section(after, "backend reader").filter((l) => l.startsWith("server ")), [
            "server db001 db001:3306 check",
            "server db003 db003:3306 check",
            "server db002 db002:3306 check backup",
        ]);
    });
});

// ---------------------------------------------------------------------------------------------------------

describe("the check account", () => {
    const dialect = (v: string, c = "") => dialectFor(identifyServer(v, c));
    test("MySQL 8+: caching_sha2_password with no password; MySQL 5.7: mysql_native_password; MariaDB: the default (native)", () => {
        assert.equal(createRouterCheckAccount(dialect("9.7.4-2"), "replicaset_check", "172.18.0.0/255.255.0.0"),
            "CREATE USER IF NOT EXISTS 'replicaset_check'@'172.18.0.0/255.255.0.0' IDENTIFIED WITH caching_sha2_password");
        assert.equal(createRouterCheckAccount(dialect("5.7.30-33-log", "Percona Server"), "u", "%"), "CREATE USER IF NOT EXISTS 'u'@'%' IDENTIFIED WITH mysql_native_password");
        assert.equal(createRouterCheckAccount(dialect("11.8.9-MariaDB-4"), "u", "10.0.0.0/255.0.0.0"), "CREATE USER IF NOT EXISTS 'u'@'10.0.0.0/255.0.0.0'");
    });

    test("no statement grants anything or sets a password", () => {
        for (const v of ["9.7.4", "8.0.36", "5.7.30", "10.11.6-MariaDB"]) {
            const sql = createRouterCheckAccount(dialect(v), "u", "%");
            assert.doesNotMatch(sql, /GRANT|BY\s+'/i);
        }
    });

    test("the provider's check refuses a check user that is not a plain name", () => {
        const base = { routerCheckUser: "x y" } as Record<string, unknown>;
        assert.ok(checkInputs(base).some((f) => f.property === "routerCheckUser"));
        assert.ok(!checkInputs({ routerCheckUser: "replicaset_check" }).some((f) => f.property === "routerCheckUser"));
    });
});

describe("endpoints in the output contract", () => {
    test("read back when present, tolerated when absent (older stacks), refused when mistyped", () => {
        const outputs = stackOutputs();
        const withEndpoints = { ...JSON.parse(cliJson(outputs)), endpoints: { writer: "127.0.0.1:6446", reader: "127.0.0.1:6447" } };
        const parsed = parseStackOutputs(withEndpoints);
        assert.ok(parsed.ok);
        assert.deepEqual(parsed.ok && parsed.outputs.endpoints, { writer: "127.0.0.1:6446", reader: "127.0.0.1:6447" });
        assert.ok(parseStackOutputs(JSON.parse(cliJson(outputs))).ok);
        const bad = parseStackOutputs({ ...withEndpoints, endpoints: { writer: 6446, reader: "x" } });
        assert.deepEqual(!bad.ok && bad.problems, ["endpoints.writer: expected string, got 6446"]);
    });
});

// ---------------------------------------------------------------------------------------------------------

describe("graph with router: haproxy", () => {
    let run: ProgramRun<ReplicaSet>;
    before(async () => {
        run = await runProgram(() => new ReplicaSet(NAME, { settings: withRouter() }));
        assert.equal(run.error, undefined, String(run.error));
    });

    test("one router container on the set's network, writer and reader published on bindAddress", () => {
        const router = find(run.resources, TYPES.container, `${NAME}-router`);
        const inputs = reveal(router.inputs) as Record<string, any>;
        assert.equal(inputs.name, `${NAME}-router`);
        assert.deepEqual(inputs.networksAdvanced, [{ name: "mybridge" }]);
        assert.deepEqual(inputs.ports, [
            { internal: 6446, external: 6446, ip: "127.0.0.1", protocol: "tcp" },
            { internal: 6447, external: 6447, ip: "127.0.0.1", protocol: "tcp" },
        ]);
        assert.equal(inputs.restart, "unless-stopped");
        assert.equal(router.deleteBeforeReplace, true, "fixed name and ports: the old router goes first");
        const image = find(run.resources, TYPES.image, `${NAME}-router-image`);
        assert.equal((reveal(image.inputs) as { name: string }).name, "haproxy:3.4.7");
    });

    test("its configuration is the rendered one, uploaded where the official image reads it", () => {
        const inputs = reveal(find(run.resources, TYPES.container, `${NAME}-router`).inputs) as Record<string, any>;
        assert.deepEqual(inputs.uploads, [{ file: ROUTER_CONFIG_PATH, content: routerConfig(withRouter()) }]);
        assert.equal(ROUTER_CONFIG_PATH, "/usr/local/etc/haproxy/haproxy.cfg");
    });

    test("the router waits for the replication resource (which creates the check account)", () => {
        const router = find(run.resources, TYPES.container, `${NAME}-router`);
        const replication = find(run.resources, TYPES.replication, `${NAME}-replication`);
        assert.ok(router.dependencies.includes(replication.urn));
        assert.equal((reveal(replication.inputs) as { routerCheckUser: string }).routerCheckUser, ROUTER_CHECK_USER);
    });

    test("endpoints: host:port of the writer and the reader", async () => {
        assert.deepEqual(await valueOf(run.result!.endpoints), { writer: "127.0.0.1:6446", reader: "127.0.0.1:6447" });
    });

    test("bindAddress 0.0.0.0: published on every interface, endpoints dialled on 127.0.0.1; custom ports", async () => {
        const wide = await runProgram(() => new ReplicaSet(NAME, { settings: withRouter({ bindAddress: "0.0.0.0", writerPort: 16446, readerPort: 16447 }) }));
        const inputs = reveal(find(wide.resources, TYPES.container, `${NAME}-router`).inputs) as Record<string, any>;
        assert.deepEqual(inputs.ports.map((p: { external: number; ip: string }) => [p.external, p.ip]), [[16446, "0.0.0.0"], [16447, "0.0.0.0"]]);
        assert.deepEqual(await valueOf(wide.result!.endpoints), { writer: "127.0.0.1:16446", reader: "127.0.0.1:16447" });
    });

    test("an IPv6 bindAddress: the endpoints bracket the address, as host:port is read after the last colon", () => {
        assert.deepEqual(routerEndpoints(withRouter({ bindAddress: "::" })), { writer: "[::1]:6446", reader: "[::1]:6447" });
        assert.deepEqual(routerEndpoints(withRouter({ bindAddress: "fd00::5" })), { writer: "[fd00::5]:6446", reader: "[fd00::5]:6447" });
    });

    test("router none: no router container, no image, no check account, empty endpoints", async () => {
        const none = await runProgram(() => new ReplicaSet(NAME, { settings: validateConfig(devRaw()) }));
        assert.equal(none.resources.filter((r) => r.name.endsWith("-router") || r.name.endsWith("-router-image")).length, 0);
        assert.equal((reveal(find(none.resources, TYPES.replication, `${NAME}-replication`).inputs) as Record<string, unknown>).routerCheckUser, undefined);
        assert.deepEqual(await valueOf(none.result!.endpoints), { writer: "", reader: "" });
        assert.equal(await pulumi.isSecret(none.result!.endpoints), false);
    });
});
