/**
 * The whole program (index.ts) under Pulumi mocks, with stack config set the way the CLI passes it.
 *
 * index.ts declares resources when it is loaded, so each test installs mocks and config first and only then
 * requires it (a fresh copy each time: its cache entry is dropped; the modules it imports are pure).
 */
import { describe, test, before } from "node:test";
import { createServer } from "node:net";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../../config/validate";
import { validateConfig } from "../../config/validate";
import { ReplicaSet } from "../../components/replicaSet";
import type { ReplicaStatus, SourceStatus } from "../../components/outputs";
import {
    find,
    isSecretMarked,
    mockPassword,
    ofType,
    plainStrings,
    readProjectDefaults,
    readStackConfig,
    reveal,
    runProgram,
    TYPES,
    tlsResourceNames,
    valueOf,
    type ProgramRun,
    type StateOverride,
} from "../support/pulumiMocks";

const PROJECT = "mysql-replicaset";
const INDEX = require.resolve("../../index");

type ProgramExports = Awaited<ReturnType<typeof import("../../index")>>;

/**
 * Runs index.ts as Pulumi does: require the module, call the exported function, take what it returns.
 * The host-port preflight is off unless a test turns it on: it would depend on this machine's ports
 * (test/unit/preflight.test.ts covers it).
 */
function runIndex(config: Record<string, string>, options: { secretKeys?: string[]; state?: StateOverride } = {}): Promise<ProgramRun<ProgramExports>> {
    return runProgram(
        async () => {
            delete require.cache[INDEX];
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const program = require(INDEX) as typeof import("../../index");
            return program();
        },
        { config: { [key("checkHostPorts")]: "false", ...config }, ...options },
    );
}

const devConfig = () => readStackConfig("dev").cli;
const key = (name: string) => `${PROJECT}:${name}`;

/** The recorded graph in a stable order (registration order depends on when inputs resolve). */
function comparable(run: ProgramRun<unknown>) {
    return [...run.resources].sort((a, b) => a.urn.localeCompare(b.urn));
}

// ---------------------------------------------------------------------------------------------------------

describe("index.ts with the dev stack's config (Pulumi.dev.yaml)", () => {
    let run: ProgramRun<ProgramExports>;
    before(async () => {
        run = await runIndex(devConfig());
    });

    test("the config file is the runbook's", () => {
        assert.deepEqual(devConfig(), {
            [key("image")]: "percona:5.7.30",
            [key("networkName")]: "mybridge",
            [key("members")]: JSON.stringify([
                { name: "db001", role: "source", serverId: 100, hostPort: 3306 },
                { name: "db002", role: "replica", serverId: 200, hostPort: 3307 },
                { name: "db003", role: "replica", serverId: 300, hostPort: 3308 },
            ]),
        });
    });

    test("runs and declares the runbook's resources under one ReplicaSet named after the project", () => {
        assert.equal(run.error, undefined, String(run.error));
        const component = find(run.resources, TYPES.replicaSet, PROJECT);
        assert.deepEqual(
            run.resources.map((r) => `${r.type} ${r.name}`).sort(),
            [
                `${TYPES.replicaSet} ${PROJECT}`,
                `${TYPES.network} mybridge`,
                `${TYPES.image} ${PROJECT}-image`,
                ...["db001", "db002", "db003"].flatMap((m) => [`${TYPES.volume} ${m}-data`, `${TYPES.volume} ${m}-log`, `${TYPES.container} ${m}`]),
                `${TYPES.password} ${PROJECT}-root-password`,
                `${TYPES.password} ${PROJECT}-replication-password`,
                `${TYPES.replication} ${PROJECT}-replication`,
                ...tlsResourceNames(PROJECT, ["db001", "db002", "db003"]),
            ].sort(),
        );
        for (const r of run.resources) if (r !== component) assert.equal(r.parent, component.urn);
    });

    test("config reaches the containers: server ids, ports, image", () => {
        const ports = ["db001", "db002", "db003"].map((m) => reveal(find(run.resources, TYPES.container, m).inputs.ports)[0].external);
        assert.deepEqual(ports, [3306, 3307, 3308]);
        const ids = ["db001", "db002", "db003"].map((m) =>
            (find(run.resources, TYPES.container, m).inputs.command as string[]).find((f) => f.startsWith("--server-id=")),
        );
        assert.deepEqual(ids, ["--server-id=100", "--server-id=200", "--server-id=300"]);
        assert.equal(reveal(find(run.resources, TYPES.image, `${PROJECT}-image`).inputs).name, "percona:5.7.30");
    });

    test("the graph is exactly the one the component declares from the same settings (field by field in replicaSet.test.ts)", async () => {
        const direct = await runProgram(() => new ReplicaSet(PROJECT, { settings: validateConfig(readStackConfig("dev").raw) }));
        assert.equal(direct.error, undefined);
        assert.deepEqual(comparable(run), comparable(direct));
    });

    test("with Pulumi.yaml's declared defaults added, as the CLI passes them, the graph is the same", async () => {
        const defaults = readProjectDefaults();
        assert.ok(Object.keys(defaults).length > 0, "Pulumi.yaml declares config defaults");
        for (const k of Object.keys(defaults)) assert.match(k, /^mysql-replicaset:[a-zA-Z]+$/);
        const withDefaults = await runIndex({ ...defaults, ...devConfig() });
        assert.equal(withDefaults.error, undefined, String(withDefaults.error));
        assert.deepEqual(comparable(withDefaults), comparable(run));
    });

    test("stack outputs: exactly the contract's keys plus the two passwords, the passwords secret", async () => {
        const exports = run.result!;
        assert.deepEqual(Object.keys(exports).sort(), ["caCertificate", "endpoints", "healthy", "replicas", "replicationPassword", "rootPassword", "source", "topology"]);
        // The dev stack declares no router: empty endpoints, and no router container.
        assert.deepEqual(await valueOf(exports.endpoints), { writer: "", reader: "" });
        assert.equal(run.resources.filter((r) => r.type === TYPES.container).length, 3);
        // The CA certificate is public: applications verify the servers with it.
        assert.equal(await pulumi.isSecret(exports.caCertificate!), false);
        assert.match(String(await valueOf(exports.caCertificate!)), /^-----BEGIN CERTIFICATE-----/);
        assert.equal(await pulumi.isSecret(exports.rootPassword), true);
        assert.equal(await pulumi.isSecret(exports.replicationPassword), true);
        assert.equal(await valueOf(exports.rootPassword), mockPassword(`${PROJECT}-root-password`));
        assert.equal(await valueOf(exports.replicationPassword), mockPassword(`${PROJECT}-replication-password`));
        assert.equal(await pulumi.isSecret(exports.topology), false);
        assert.equal(await valueOf(exports.topology), "db001 (source) -> db002, db003 (replicas) on network mybridge");
    });

    test("no password in plain text in any recorded input", () => {
        const secrets = [mockPassword(`${PROJECT}-root-password`), mockPassword(`${PROJECT}-replication-password`)];
        for (const r of run.resources) {
            for (const s of plainStrings(r.inputs)) {
                for (const secret of secrets) assert.ok(!s.text.includes(secret), `password in plain text: ${r.name} ${s.path}`);
            }
        }
    });
});

// ---------------------------------------------------------------------------------------------------------

describe("stack outputs from the replication resource's state", () => {
    const sourceStatus: SourceStatus = { member: "db001", endpoint: "127.0.0.1:3306", serverVersion: "5.7.30-33-log", flavor: "percona", dialect: "mysql-5.7" };
    const replica = (port: number, lastIoError = ""): ReplicaStatus => ({
        endpoint: `127.0.0.1:${port}`,
        source: "db001:3306",
        ioRunning: lastIoError === "",
        sqlRunning: true,
        secondsBehindSource: lastIoError === "" ? 0 : null,
        lastIoError,
        lastSqlError: "",
        retrievedGtidSet: "uuid:1-5",
        executedGtidSet: "uuid:1-5",
        probeLagMs: 12,
        heartbeatLagMs: 250,
        errantGtids: "",
        serverVersion: "5.7.30-33-log",
        dialect: "mysql-5.7",
        seededBy: "",
        seededAt: "",
    });
    const withStatus = (replicaStatus: Record<string, ReplicaStatus>): StateOverride => (args) =>
        args.type === TYPES.replication ? { sourceStatus, replicaStatus, healthy: true } : undefined;

    test("source, replicas and healthy come through index.ts", async () => {
        const replicaStatus = { db002: replica(3307), db003: replica(3308) };
        const run = await runIndex(devConfig(), { state: withStatus(replicaStatus) });
        assert.equal(run.error, undefined);
        const exports = run.result!;
        assert.deepEqual(await valueOf(exports.source), sourceStatus);
        assert.deepEqual(await valueOf(exports.replicas), replicaStatus);
        assert.equal(await valueOf(exports.healthy), true);
    });

    test("healthy is false when one replica reports an IO error", async () => {
        const run = await runIndex(devConfig(), {
            state: withStatus({ db002: replica(3307), db003: replica(3308, "1045: Access denied for user 'repl'") }),
        });
        assert.equal(await valueOf(run.result!.healthy), false);
    });

    test("healthy is false when the provider's own verdict is false although every replica looks healthy (a former source not fenced yet)", async () => {
        const replicaStatus = { db002: replica(3307), db003: replica(3308) };
        const run = await runIndex(devConfig(), {
            state: (args) => (args.type === TYPES.replication ? { sourceStatus, replicaStatus, healthy: false, fencePending: [{ name: "db009", host: "127.0.0.1", port: 3399 }] } : undefined),
        });
        assert.equal(run.error, undefined);
        assert.equal(await valueOf(run.result!.healthy), false);
    });

    test("healthy is false when a replica reports no status at all", async () => {
        const run = await runIndex(devConfig(), { state: withStatus({ db002: replica(3307) }) });
        assert.equal(await valueOf(run.result!.healthy), false);
        const none = await runIndex(devConfig(), { state: withStatus({}) });
        assert.equal(await valueOf(none.result!.healthy), false);
    });
});

// ---------------------------------------------------------------------------------------------------------

describe("passwords from stack config secrets", () => {
    const ROOT = "cfg-root-Secret-913";
    const REPL = "cfg-repl-Secret-266";
    let run: ProgramRun<ProgramExports>;
    before(async () => {
        run = await runIndex(
            { ...devConfig(), [key("rootPassword")]: ROOT, [key("replicationPassword")]: REPL },
            { secretKeys: [key("rootPassword"), key("replicationPassword")] },
        );
    });

    test("are used instead of generated ones", () => {
        assert.equal(run.error, undefined);
        assert.deepEqual(ofType(run.resources, TYPES.password), []);
        const r = find(run.resources, TYPES.replication, `${PROJECT}-replication`);
        assert.equal(reveal(r.inputs.rootPassword), ROOT);
        assert.equal(reveal(r.inputs.replicationPassword), REPL);
        assert.deepEqual(reveal(find(run.resources, TYPES.container, "db003").inputs.envs), [`MYSQL_ROOT_PASSWORD=${ROOT}`]);
    });

    test("stay secret: marked in every input, never plain text, secret stack outputs", async () => {
        const r = find(run.resources, TYPES.replication, `${PROJECT}-replication`);
        assert.ok(isSecretMarked(r.inputs.rootPassword) && isSecretMarked(r.inputs.replicationPassword));
        for (const res of run.resources) {
            for (const s of plainStrings(res.inputs)) {
                assert.ok(!s.text.includes(ROOT) && !s.text.includes(REPL), `password in plain text: ${res.name} ${s.path}`);
            }
        }
        assert.equal(await pulumi.isSecret(run.result!.rootPassword), true);
        assert.equal(await pulumi.isSecret(run.result!.replicationPassword), true);
        assert.equal(await valueOf(run.result!.rootPassword), ROOT);
    });
});

// ---------------------------------------------------------------------------------------------------------

describe("bad config: index.ts throws ConfigError naming the key, and declares nothing", () => {
    const members = (...list: Array<Record<string, unknown>>) => JSON.stringify(list);
    const m = (name: string, role: string, serverId: unknown, hostPort: unknown) => ({ name, role, serverId, hostPort });
    const runbook = [m("db001", "source", 100, 3306), m("db002", "replica", 200, 3307), m("db003", "replica", 300, 3308)];

    const cases: Array<{ what: string; set: Record<string, string>; key: string; value?: string }> = [
        { what: "member name not a DNS label", set: { members: members(runbook[0], m("DB_2", "replica", 200, 3307)) }, key: "members[1].name", value: '"DB_2"' },
        { what: "duplicate member name", set: { members: members(runbook[0], m("db001", "replica", 200, 3307)) }, key: "members[1].name", value: '"db001"' },
        { what: "two sources", set: { members: members(runbook[0], m("db002", "source", 200, 3307)) }, key: "members", value: '["db001","db002"]' },
        { what: "no replica", set: { members: members(runbook[0]) }, key: "members" },
        { what: "no members at all", set: { members: "[]" }, key: "members" },
        { what: "members not a list", set: { members: "db001" }, key: "members", value: '"db001"' },
        { what: "the runbook's word master as a role", set: { members: members(m("db001", "master", 100, 3306), runbook[1]) }, key: "members[0].role", value: '"master"' },
        { what: "server id 0", set: { members: members(m("db001", "source", 0, 3306), runbook[1]) }, key: "members[0].serverId", value: "0" },
        { what: "server id above 4294967295", set: { members: members(runbook[0], m("db002", "replica", 4294967296, 3307)) }, key: "members[1].serverId", value: "4294967296" },
        { what: "duplicate server id", set: { members: members(runbook[0], m("db002", "replica", 100, 3307)) }, key: "members[1].serverId", value: "100" },
        { what: "host port out of range", set: { members: members(m("db001", "source", 100, 70000), runbook[1]) }, key: "members[0].hostPort", value: "70000" },
        { what: "duplicate host port", set: { members: members(...runbook.slice(0, 2), m("db003", "replica", 300, 3306)) }, key: "members[2].hostPort", value: "3306" },
        { what: "unknown member field", set: { members: members({ ...runbook[0], port: 3306 }, runbook[1]) }, key: "members[0].port" },
        { what: "malformed image reference", set: { image: "Percona:5.7.30" }, key: "image", value: '"Percona:5.7.30"' },
        { what: "a tag that names no version", set: { image: "mysql:latest" }, key: "version" },
        { what: "an image that names no flavor", set: { image: "registry.example.com/db/server:8.0.36" }, key: "flavor" },
        { what: "unknown flavor", set: { image: "mysql:8.0.36", flavor: "postgres" }, key: "flavor", value: '"postgres"' },
        { what: "unparseable version", set: { image: "mysql:8.0.36", version: "eight" }, key: "version", value: '"eight"' },
        { what: "unsupported old version", set: { image: "mysql:5.6.51" }, key: "version", value: '"5.6.51"' },
        { what: "network name with a space", set: { networkName: "my bridge" }, key: "networkName", value: '"my bridge"' },
        { what: "bind address not an IP", set: { bindAddress: "localhost" }, key: "bindAddress", value: '"localhost"' },
        { what: "unknown storage mode", set: { storage: "nfs" }, key: "storage", value: '"nfs"' },
        { what: "relative storage root", set: { storage: "hostPath", storageRoot: "db" }, key: "storageRoot", value: '"db"' },
        { what: "data owner not uid:gid", set: { dataOwner: "mysql" }, key: "dataOwner", value: '"mysql"' },
        { what: "unknown restart policy", set: { restartPolicy: "sometimes" }, key: "restartPolicy", value: '"sometimes"' },
        { what: "unknown TLS mode", set: { replicationTls: "maybe" }, key: "replicationTls", value: '"maybe"' },
        { what: "connect retry of 0 seconds", set: { connectRetrySeconds: "0" }, key: "connectRetrySeconds", value: '"0"' },
        { what: "readiness timeout not a number", set: { readinessTimeoutSeconds: "soon" }, key: "readinessTimeoutSeconds", value: '"soon"' },
        { what: "verifyReplication not a boolean", set: { verifyReplication: "yes" }, key: "verifyReplication", value: '"yes"' },
        { what: "deleteDataOnDestroy not a boolean", set: { deleteDataOnDestroy: "always" }, key: "deleteDataOnDestroy", value: '"always"' },
        // Keys the program does not know (issue 35): a typo would run the default.
        { what: "misspelt key imgae", set: { imgae: "mysql:8.4.3" }, key: "imgae", value: '"mysql:8.4.3"' },
        { what: "misspelt key replicationTLS", set: { replicationTLS: "off" }, key: "replicationTLS", value: '"off"' },
        { what: "the administrative account as replication user", set: { replicationUser: "root", replicationUserHost: "%" }, key: "replicationUser", value: '"root"' },
    ];

    for (const c of cases) {
        test(`${c.what} → ${c.key}`, async () => {
            const config = { ...devConfig() };
            for (const [name, value] of Object.entries(c.set)) config[key(name)] = value;
            const run = await runIndex(config);
            assert.ok(run.error instanceof ConfigError, `expected a ConfigError, got ${String(run.error)}`);
            const error = run.error as ConfigError;
            assert.ok(
                error.problems.some((p) => p.key === c.key),
                `a problem names ${c.key}; problems: ${error.problems.map((p) => p.key).join(", ")}`,
            );
            const line = error.message.split("\n").find((l) => l.startsWith(`  - ${c.key} = `));
            assert.ok(line, `the message names ${c.key}:\n${error.message}`);
            if (c.value !== undefined) assert.ok(line.startsWith(`  - ${c.key} = ${c.value}: `), `the message shows the bad value ${c.value}: ${line}`);
            assert.ok(line.split(": ").slice(1).join(": ").length > 10, `the message says how to fix it: ${line}`);
            assert.deepEqual(run.resources, [], "no resource was registered");
            assert.deepEqual(run.requested, [], "no resource was even requested");
        });
    }

    test("the same program with the dev config declares resources (the cases above are not vacuous)", async () => {
        const run = await runIndex(devConfig());
        assert.equal(run.error, undefined);
        assert.ok(run.resources.length > 0);
    });

    test("a host port already in use on this host → members[1].hostPort, before anything is declared", async () => {
        const server = createServer();
        const taken = await new Promise<number>((r) => server.listen(0, "127.0.0.1", () => r((server.address() as { port: number }).port)));
        try {
            const members = [
                { name: "db001", role: "source", serverId: 100, hostPort: taken === 65535 ? taken - 1 : taken + 1 },
                { name: "db002", role: "replica", serverId: 200, hostPort: taken },
            ];
            const run = await runIndex({ ...devConfig(), [key("members")]: JSON.stringify(members), [key("checkHostPorts")]: "true" });
            assert.ok(run.error instanceof ConfigError, `expected a ConfigError, got ${String(run.error)}`);
            assert.deepEqual((run.error as ConfigError).problems.map((p) => p.key), ["members[1].hostPort"]);
            assert.match((run.error as ConfigError).message, /already in use by another process/);
            assert.deepEqual(run.requested, [], "no resource was even requested");
        } finally {
            server.close();
        }
    });
});
