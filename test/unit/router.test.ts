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
import { routerCheckReads, routerConfig, routerEndpoints } from "../../components/router/declare";
import { ROUTER_CHECK_USER } from "../../config/accounts";
import { CHECK_TIMING, renderHaproxyConfig, ROUTER_CONFIG_PATH, type RouterTopology } from "../../components/router/render";
import {
    CHECK_FLAVOR_OF_DIALECT,
    checkExchange,
    checkFlavorFor,
    checkQuery,
    COM_QUIT,
    comQuery,
    FIT_MARKER,
    handshakeResponse,
    type CheckFlavor,
} from "../../components/router/check";
import { createRouterCheckAccount, dialectFor, DIALECTS, grantTableSelect, identifyServer, routerCheckTables, tableGrantExists } from "../../components/replication/dialect";
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
    checkFlavor: "mariadb",
    readerMaxLagSeconds: 30,
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

const serversOf = (cfg: string, backend: string) => section(cfg, `backend ${backend}`).filter((l) => l.startsWith("server "));
const checkOf = (cfg: string, backend: string) => section(cfg, `backend ${backend}`).filter((l) => /^(option tcp-check|tcp-check )/.test(l));

describe("renderHaproxyConfig", () => {
    const cfg = renderHaproxyConfig(TOPOLOGY);

    test("the writer: the declared source the one active server, the replicas backups in declared order; only the first usable backup serves", () => {
        assert.deepEqual(section(cfg, "frontend writer"), ["bind :6446", "default_backend writer"]);
        assert.deepEqual(serversOf(cfg, "writer"), [
            "server db001 db001:3306 check on-marked-up shutdown-backup-sessions",
            "server db002 db002:3306 check backup",
            "server db003 db003:3306 check backup",
        ]);
        // `option allbackups` would spread the writer over every writable replica.
        assert.ok(!cfg.includes("allbackups"));
        // While the source is unfit, the replica the writer went to keeps it as long as it stays fit.
        const writer = section(cfg, "backend writer");
        // Room for more entries than the global maxconn: a full table would drop the one key.
        const size = /^stick-table type integer size (\d+)k$/.exec(writer.find((l) => l.startsWith("stick-table"))!);
        assert.ok(size && Number(size[1]) * 1024 > Number(/maxconn (\d+)/.exec(cfg)![1]), writer.join("\n"));
        assert.ok(writer.includes("stick on int(0) unless { srv_is_up(writer/db001) }"));
        assert.ok(!section(cfg, "backend writer").some((l) => l.startsWith("balance")), "the default balance: one active server");
    });

    test("the writer's check wants read_only = 0", () => {
        assert.deepEqual(checkOf(cfg, "writer"), [
            "option tcp-check",
            "tcp-check connect",
            `tcp-check send-binary ${checkExchange("replicaset_check", "mariadb", "writer").toString("hex")}`,
            "tcp-check expect string replicaset-fit",
        ]);
    });

    test("the reader: the replicas by leastconn under the reader check; the source a backup following its login check", () => {
        assert.deepEqual(section(cfg, "frontend reader"), ["bind :6447", "use_backend reader_any if { nbsrv(reader) lt 1 }", "default_backend reader"]);
        assert.ok(section(cfg, "backend reader").includes("balance leastconn"));
        assert.deepEqual(serversOf(cfg, "reader"), [
            "server db002 db002:3306 check",
            "server db003 db003:3306 check",
            "server db001 db001:3306 backup track source_alive/db001",
        ]);
        assert.deepEqual(checkOf(cfg, "reader")[2], `tcp-check send-binary ${checkExchange("replicaset_check", "mariadb", "reader", 30).toString("hex")}`);
        assert.deepEqual(serversOf(cfg, "source_alive"), ["server db001 db001:3306 check"]);
        assert.deepEqual(checkOf(cfg, "source_alive")[2], `tcp-check send-binary ${checkExchange("replicaset_check", "mariadb", "alive").toString("hex")}`);
        assert.ok(!cfg.includes("frontend source_alive"), "checks only, no endpoint");
    });

    test("the reader's last resort: while neither a fit replica nor the source is up, every replica that accepts the login check", () => {
        // nbsrv(reader) counts the source while it is an UP backup, so the source still comes before unfit replicas.
        assert.ok(section(cfg, "frontend reader").indexOf("use_backend reader_any if { nbsrv(reader) lt 1 }") < section(cfg, "frontend reader").indexOf("default_backend reader"));
        assert.ok(section(cfg, "backend reader_any").includes("balance leastconn"));
        assert.deepEqual(serversOf(cfg, "reader_any"), ["server db002 db002:3306 check", "server db003 db003:3306 check"]);
        // The same login-only check as the source's, not the reader's fitness query.
        assert.deepEqual(checkOf(cfg, "reader_any"), checkOf(cfg, "source_alive"));
        assert.ok(!cfg.includes("frontend reader_any"), "reached through the reader's port only");
    });

    test("every server is checked each second, each 500 ms while changing, down after 2 failures, up after 2 successes, found through Docker's DNS", () => {
        const [defaults] = section(cfg, "defaults").filter((l) => l.startsWith("default-server"));
        for (const part of ["inter 1000ms", "fastinter 500ms", "fall 2", "rise 2", "resolvers docker", "init-addr last,libc,none", "on-marked-down shutdown-sessions"]) {
            assert.ok(defaults.includes(part), `${part} in ${defaults}`);
        }
        // The ceiling: out of its pool within 3 s of turning unfit (a check's own time aside).
        assert.ok(CHECK_TIMING.intervalMs + (CHECK_TIMING.fall - 1) * CHECK_TIMING.fastIntervalMs <= 2000);
        assert.ok(section(cfg, "resolvers docker").includes("nameserver dns 127.0.0.11:53"));
        assert.ok(section(cfg, "defaults").includes("mode tcp"));
        assert.ok(!cfg.includes("mysql-check"));
    });

    test("the lag limit is in the reader's query; 0 leaves the threads only", () => {
        const noLimit = renderHaproxyConfig({ ...TOPOLOGY, readerMaxLagSeconds: 0 });
        assert.equal(checkOf(noLimit, "reader")[2], `tcp-check send-binary ${checkExchange("replicaset_check", "mariadb", "reader", 0).toString("hex")}`);
        assert.notEqual(noLimit, cfg);
        assert.throws(() => renderHaproxyConfig({ ...TOPOLOGY, readerMaxLagSeconds: -1 }), /readerMaxLagSeconds/);
    });

    test("deterministic, and refuses names that would break the file", () => {
        assert.equal(renderHaproxyConfig(TOPOLOGY), cfg);
        assert.throws(() => renderHaproxyConfig({ ...TOPOLOGY, checkUser: "a b" }), /checkUser/);
        assert.throws(() => renderHaproxyConfig({ ...TOPOLOGY, source: { name: "db001\nlisten x", host: "db001", port: 3306 } }), /DNS labels/);
    });

    test("a role swap in config renders another writer order and reader pool", () => {
        const s = withRouter();
        const swapped = { ...s, members: s.members.map((m) => ({ ...m, role: m.name === "db002" ? "source" : "replica" }) as typeof m) };
        const after = routerConfig(swapped);
        assert.notEqual(after, routerConfig(s));
        assert.deepEqual(serversOf(after, "writer"), [
            "server db002 db002:3306 check on-marked-up shutdown-backup-sessions",
            "server db001 db001:3306 check backup",
            "server db003 db003:3306 check backup",
        ]);
        assert.deepEqual(serversOf(after, "reader"), [
            "server db001 db001:3306 check",
            "server db003 db003:3306 check",
            "server db002 db002:3306 backup track source_alive/db002",
        ]);
    });

    test("the configured readerMaxLagSeconds and flavor reach the rendered checks", () => {
        const s = withRouter({ readerMaxLagSeconds: 7 });
        assert.equal(checkOf(routerConfig(s), "reader")[2], `tcp-check send-binary ${checkExchange(ROUTER_CHECK_USER, checkFlavorFor(s.flavor, s.version), "reader", 7).toString("hex")}`);
    });
});

describe("the check's packets (byte-exact)", () => {
    test("HandshakeResponse41: length, sequence 1, capabilities, 16 MiB, utf8, 23 zeros, user, empty auth response, plugin", () => {
        assert.equal(
            handshakeResponse("hc", "caching_sha2_password").toString("hex"),
            "3a000001" + "00820800" + "00000001" + "21" + "00".repeat(23) + "686300" + "00" + Buffer.from("caching_sha2_password\0").toString("hex"),
        );
        assert.equal(
            handshakeResponse("replicaset_check", "mysql_native_password").toString("hex"),
            "48000001" + "00820800" + "00000001" + "21" + "00".repeat(23) + Buffer.from("replicaset_check\0").toString("hex") + "00" +
                Buffer.from("mysql_native_password\0").toString("hex"),
        );
        const packet = handshakeResponse("hc", "caching_sha2_password");
        const capabilities = packet.readUInt32LE(4);
        assert.equal(capabilities & 0x00080000, 0x00080000, "CLIENT_PLUGIN_AUTH");
        assert.equal(capabilities & 0x00000200, 0x00000200, "CLIENT_PROTOCOL_41");
        assert.equal(capabilities & 0x00008000, 0x00008000, "CLIENT_SECURE_CONNECTION");
        assert.equal(capabilities & 0x00000008, 0, "no CLIENT_CONNECT_WITH_DB");
        assert.equal(capabilities & 0x00000800, 0, "no CLIENT_SSL");
    });

    test("COM_QUERY: length of command byte and text, sequence 0, 0x03; COM_QUIT: 01 00 00 00 01", () => {
        assert.equal(comQuery("SELECT 1").toString("hex"), "09000000" + "03" + "53454c4543542031");
        assert.equal(COM_QUIT.toString("hex"), "0100000001");
    });

    test("the exchange: the handshake response for the flavor's plugin, the query, COM_QUIT", () => {
        const exchange = checkExchange("replicaset_check", "mysql-8", "writer");
        const first = handshakeResponse("replicaset_check", "caching_sha2_password");
        const query = comQuery("SELECT IF(@@GLOBAL.read_only = 0, CONCAT('replicaset', '-fit'), 'unfit') AS f");
        assert.equal(exchange.toString("hex"), Buffer.concat([first, query, COM_QUIT]).toString("hex"));
    });
});

describe("the check's queries (flavor table)", () => {
    test("writer: read_only = 0 on every flavor; alive: the marker", () => {
        for (const flavor of ["mysql-5.7", "mysql-8", "mariadb"] as CheckFlavor[]) {
            assert.equal(checkQuery(flavor, "writer"), "SELECT IF(@@GLOBAL.read_only = 0, CONCAT('replicaset', '-fit'), 'unfit') AS f");
            assert.equal(checkQuery(flavor, "alive"), "SELECT CONCAT('replicaset', '-fit') AS f");
        }
    });

    test("reader on MySQL: both threads ON in performance_schema, and the heartbeat lag", () => {
        assert.equal(
            checkQuery("mysql-8", "reader", 30),
            "SELECT IF(EXISTS(SELECT 1 FROM performance_schema.replication_connection_status c JOIN performance_schema.replication_applier_status a " +
                "USING (CHANNEL_NAME) WHERE CHANNEL_NAME = '' AND c.SERVICE_STATE = 'ON' AND a.SERVICE_STATE = 'ON') AND " +
                "(SELECT TIMESTAMPDIFF(MICROSECOND, beat, NOW(6)) FROM replicaset_probe.heartbeat WHERE id = 1) <= 30000000, CONCAT('replicaset', '-fit'), 'unfit') AS f",
        );
        assert.equal(checkQuery("mysql-5.7", "reader", 30), checkQuery("mysql-8", "reader", 30));
    });

    test("reader on MariaDB: Slave_running ON; no lag limit: no heartbeat read", () => {
        assert.equal(
            checkQuery("mariadb", "reader", 0),
            "SELECT IF((SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SLAVE_RUNNING') = 'ON', CONCAT('replicaset', '-fit'), 'unfit') AS f",
        );
    });

    test("no query holds the marker as written, so an error quoting it cannot pass for fit", () => {
        for (const flavor of ["mysql-5.7", "mysql-8", "mariadb"] as CheckFlavor[]) {
            for (const kind of ["writer", "reader", "alive"] as const) assert.ok(!checkQuery(flavor, kind, 30).includes(FIT_MARKER), `${flavor} ${kind}`);
        }
        assert.ok(!"replicaset-unfit".includes(FIT_MARKER));
    });

    test("the flavor of the configured image and of every server dialect", () => {
        assert.equal(checkFlavorFor("mysql", { major: 9, minor: 7, patch: 4 }), "mysql-8");
        assert.equal(checkFlavorFor("percona", { major: 8, minor: 0, patch: 36 }), "mysql-8");
        assert.equal(checkFlavorFor("percona", { major: 5, minor: 7, patch: 30 }), "mysql-5.7");
        assert.equal(checkFlavorFor("mariadb", { major: 11, minor: 8, patch: 9 }), "mariadb");
        for (const { dialect } of DIALECTS) assert.ok(CHECK_FLAVOR_OF_DIALECT[dialect.name], dialect.name);
        assert.equal(CHECK_FLAVOR_OF_DIALECT[dialectFor(identifyServer("5.7.30-33-log", "Percona Server")).name], "mysql-5.7");
    });
});

// ---------------------------------------------------------------------------------------------------------

describe("the check account", () => {
    const dialect = (v: string, c = "") => dialectFor(identifyServer(v, c));
    test("no password, the plugin the check's handshake names: caching_sha2_password on MySQL 8+, mysql_native_password on 5.7 and MariaDB", () => {
        assert.equal(createRouterCheckAccount(dialect("9.7.4-2"), "replicaset_check", "172.18.0.0/255.255.0.0"),
            "CREATE USER IF NOT EXISTS 'replicaset_check'@'172.18.0.0/255.255.0.0' IDENTIFIED WITH caching_sha2_password");
        assert.equal(createRouterCheckAccount(dialect("5.7.30-33-log", "Percona Server"), "u", "%"), "CREATE USER IF NOT EXISTS 'u'@'%' IDENTIFIED WITH mysql_native_password");
        assert.equal(createRouterCheckAccount(dialect("11.8.9-MariaDB-4"), "u", "10.0.0.0/255.0.0.0"), "CREATE USER IF NOT EXISTS 'u'@'10.0.0.0/255.0.0.0' IDENTIFIED WITH mysql_native_password");
        for (const v of ["9.7.4", "8.0.36", "5.7.30", "10.11.6-MariaDB"]) assert.doesNotMatch(createRouterCheckAccount(dialect(v), "u", "%"), /GRANT|BY\s+'/i);
    });

    test("SELECT on the tables the checks read, and nothing else", () => {
        const heartbeat = { schema: "replicaset_probe", table: "heartbeat" };
        const all = { threads: true, heartbeat: true };
        assert.deepEqual(routerCheckTables(dialect("9.7.4"), all), [
            { schema: "performance_schema", table: "replication_connection_status" },
            { schema: "performance_schema", table: "replication_applier_status" },
            heartbeat,
        ]);
        assert.deepEqual(routerCheckTables(dialect("9.7.4"), { threads: true, heartbeat: false }).map((t) => t.schema), ["performance_schema", "performance_schema"]);
        assert.deepEqual(routerCheckTables(dialect("5.7.30-33-log", "Percona Server"), all), routerCheckTables(dialect("9.7.4"), all));
        assert.deepEqual(routerCheckTables(dialect("11.8.9-MariaDB"), all), [heartbeat]);
        assert.deepEqual(routerCheckTables(dialect("11.8.9-MariaDB"), { threads: true, heartbeat: false }), []);
        assert.equal(grantTableSelect("u", "%", heartbeat), "GRANT SELECT ON `replicaset_probe`.`heartbeat` TO 'u'@'%'");
        assert.match(tableGrantExists("u", "%", heartbeat), /FROM mysql\.tables_priv WHERE User = 'u' AND Host = '%' AND Db = 'replicaset_probe' AND Table_name = 'heartbeat'/);
    });

    test("the provider's check refuses a check user that is not a plain name, and reads it does not know", () => {
        const base = { routerCheckUser: "x y" } as Record<string, unknown>;
        assert.ok(checkInputs(base).some((f) => f.property === "routerCheckUser"));
        assert.ok(!checkInputs({ routerCheckUser: "replicaset_check" }).some((f) => f.property === "routerCheckUser"));
        assert.ok(checkInputs({ routerCheckReads: ["threads", "mysql.user"] }).some((f) => f.property === "routerCheckReads"));
        assert.ok(!checkInputs({ routerCheckReads: ["threads", "heartbeat"] }).some((f) => f.property === "routerCheckReads"));
    });

    test("what the checks read follows readerMaxLagSeconds: no lag limit, no heartbeat grant", () => {
        assert.deepEqual(routerCheckReads(withRouter()), ["threads", "heartbeat"]);
        assert.deepEqual(routerCheckReads(withRouter({ readerMaxLagSeconds: 0 })), ["threads"]);
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
        assert.deepEqual((reveal(replication.inputs) as { routerCheckReads: string[] }).routerCheckReads, ["threads", "heartbeat"]);
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
        assert.equal((reveal(find(none.resources, TYPES.replication, `${NAME}-replication`).inputs) as Record<string, unknown>).routerCheckReads, undefined);
        assert.deepEqual(await valueOf(none.result!.endpoints), { writer: "", reader: "" });
        assert.equal(await pulumi.isSecret(none.result!.endpoints), false);
    });
});
