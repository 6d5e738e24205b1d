/**
 * The ReplicaSet component's resource graph under Pulumi mocks, field by field.
 *
 * The dev stack's settings come from Pulumi.dev.yaml through validateConfig (as the program does), and every
 * expected value below is written out literally: changing a runbook value in the YAML or in the component
 * breaks a test. Variants (MariaDB, MySQL 8.0, hostPath, deleteDataOnDestroy, passwords) change one setting.
 */
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { validateConfig } from "../../config/validate";
import type { ReplicaSetSettings } from "../../config/types";
import { ReplicaSet, type ReplicaSetArgs } from "../../components/replicaSet";
import {
    find,
    isSecretMarked,
    MOCK_IMAGE_ID,
    mockPassword,
    ofType,
    plainStrings,
    readStackConfig,
    reveal,
    runProgram,
    TYPES,
    tlsResourceNames,
    mockPem,
    valueOf,
    type ProgramRun,
    type RecordedResource,
    type StateOverride,
} from "../support/pulumiMocks";

/** index.ts names the component after the project. */
const NAME = "mysql-replicaset";
const ROOT_PW = mockPassword(`${NAME}-root-password`);
const REPL_PW = mockPassword(`${NAME}-replication-password`);
const MEMBERS = ["db001", "db002", "db003"] as const;
const HOST_PORT: Record<string, number> = { db001: 3306, db002: 3307, db003: 3308 };
const SERVER_ID: Record<string, number> = { db001: 100, db002: 200, db003: 300 };
/** The stack's TLS files in every container, and the flags that load them (replicationTls verify, the default). */
const TLS_FLAGS = ["--ssl-ca=/etc/mysql-replicaset-tls/ca.pem", "--ssl-cert=/etc/mysql-replicaset-tls/server-cert.pem", "--ssl-key=/etc/mysql-replicaset-tls/server-key.pem"];
const tlsUploads = (m: string) => [
    { file: "/etc/mysql-replicaset-tls/ca.pem", content: mockPem("CERTIFICATE", `${NAME}-ca`), permissions: "0644" },
    { file: "/etc/mysql-replicaset-tls/server-cert.pem", content: mockPem("CERTIFICATE", `${m}-tls-cert`), permissions: "0644" },
    { file: "/etc/mysql-replicaset-tls/server-key.pem", content: mockPem("PRIVATE KEY", `${m}-tls-key`), owner: "999", group: "999", permissions: "0600" },
    { file: "/etc/mysql-replicaset-tls/client-cert.pem", content: mockPem("CERTIFICATE", `${NAME}-replication-client-cert`), permissions: "0644" },
    { file: "/etc/mysql-replicaset-tls/client-key.pem", content: mockPem("PRIVATE KEY", `${NAME}-replication-client-key`), owner: "999", group: "999", permissions: "0600" },
];
const MYSQLADMIN_PING = ["CMD", "mysqladmin", "ping", "--protocol=tcp", "--host=127.0.0.1", "--port=3306", "--silent"];

const devRaw = () => readStackConfig("dev").raw;
const devSettings = (overrides: Record<string, unknown> = {}): ReplicaSetSettings => validateConfig({ ...devRaw(), ...overrides });

async function declare(
    settings: ReplicaSetSettings,
    extra: Omit<ReplicaSetArgs, "settings"> = {},
    state?: StateOverride,
): Promise<ProgramRun<ReplicaSet>> {
    const run = await runProgram(() => new ReplicaSet(NAME, { settings, ...extra }), { state });
    assert.equal(run.error, undefined, `declaring the component threw: ${String(run.error)}`);
    return run;
}

const container = (run: ProgramRun<unknown>, member: string) => find(run.resources, TYPES.container, member);
const replication = (run: ProgramRun<unknown>) => find(run.resources, TYPES.replication, `${NAME}-replication`);
const sorted = (values: unknown) => [...(values as string[])].sort();

/** Every string in every recorded input outside a secret marker, with where it was found. */
function plainTexts(resources: RecordedResource[]) {
    return resources.flatMap((r) => plainStrings(r.inputs).map((s) => ({ where: `${r.type} ${r.name} ${s.path}`, text: s.text })));
}

function assertNoPlainSecret(resources: RecordedResource[], secrets: string[]) {
    for (const { where, text } of plainTexts(resources)) {
        for (const secret of secrets) assert.ok(!text.includes(secret), `a password appears in plain text at ${where}`);
    }
}

// ---------------------------------------------------------------------------------------------------------

describe("dev stack (Pulumi.dev.yaml): the runbook topology", () => {
    let run: ProgramRun<ReplicaSet>;
    let component: RecordedResource;
    before(async () => {
        run = await declare(devSettings());
        component = find(run.resources, TYPES.replicaSet, NAME);
    });

    test("declares exactly the runbook's resources, each once", () => {
        const declared = run.resources.map((r) => `${r.type} ${r.name}`).sort();
        const expected = [
            `${TYPES.replicaSet} ${NAME}`,
            `${TYPES.network} mybridge`,
            `${TYPES.image} ${NAME}-image`,
            ...MEMBERS.flatMap((m) => [`${TYPES.volume} ${m}-data`, `${TYPES.volume} ${m}-log`, `${TYPES.container} ${m}`]),
            `${TYPES.password} ${NAME}-root-password`,
            `${TYPES.password} ${NAME}-replication-password`,
            `${TYPES.replication} ${NAME}-replication`,
            ...tlsResourceNames(NAME, MEMBERS),
        ].sort();
        assert.deepEqual(declared, expected);
        assert.ok(replication(run).type.startsWith("pulumi-nodejs:dynamic"), "replication is a dynamic resource");
    });

    test("every resource is a child of the component; the component is a component", () => {
        assert.equal(component.custom, false);
        assert.equal(component.parent, "");
        for (const r of run.resources.filter((x) => x !== component)) {
            assert.equal(r.parent, component.urn, `${r.type} ${r.name} has parent: this`);
            assert.equal(r.custom, true, `${r.name} is a custom resource`);
        }
    });

    test("network mybridge: a bridge network named mybridge", () => {
        const network = find(run.resources, TYPES.network, "mybridge");
        assert.deepEqual(reveal(network.inputs), { name: "mybridge", driver: "bridge" });
    });

    test("image percona:5.7.30, kept locally on destroy", () => {
        const image = find(run.resources, TYPES.image, `${NAME}-image`);
        assert.deepEqual(reveal(image.inputs), { name: "percona:5.7.30", keepLocally: true });
    });

    test("per-member data and log volumes, retained on delete by default", () => {
        for (const m of MEMBERS) {
            for (const kind of ["data", "log"]) {
                const volume = find(run.resources, TYPES.volume, `${m}-${kind}`);
                assert.deepEqual(reveal(volume.inputs), { name: `${m}-${kind}` });
                assert.equal(volume.retainOnDelete, true, `${m}-${kind} is retained`);
            }
        }
    });

    for (const m of MEMBERS) {
        test(`defect 10: container ${m}: every field, the mysqld command included (it was compared with itself)`, () => {
            const c = container(run, m);
            const inputs = reveal(c.inputs);
            assert.deepEqual(inputs, {
                name: m,
                image: MOCK_IMAGE_ID,
                hostname: m,
                networksAdvanced: [{ name: "mybridge", aliases: [m] }],
                ports: [{ internal: 3306, external: HOST_PORT[m], ip: "127.0.0.1", protocol: "tcp" }],
                volumes: [
                    { volumeName: `${m}-data`, containerPath: "/var/lib/mysql" },
                    { volumeName: `${m}-log`, containerPath: "/var/log/mysql" },
                ],
                envs: [`MYSQL_ROOT_PASSWORD=${ROOT_PW}`],
                // In the order serverFlags renders them; the next test pins the set independently of order.
                command: [
                    `--server-id=${SERVER_ID[m]}`,
                    "--log-bin=mysql-bin",
                    "--binlog-format=ROW",
                    "--log-slave-updates=ON",
                    `--report-host=${m}`,
                    "--event-scheduler=ON",
                    "--gtid-mode=ON",
                    "--enforce-gtid-consistency=ON",
                    "--read-only=ON",
                    ...TLS_FLAGS,
                ],
                uploads: tlsUploads(m),
                restart: "unless-stopped",
                healthcheck: { tests: MYSQLADMIN_PING, interval: "2s", timeout: "5s", retries: 3, startPeriod: "300s" },
                wait: true,
                waitTimeout: 300,
                // A delete (destroy, replacement) stops the server cleanly instead of killing it.
                destroyGraceSeconds: 120,
            });
            assert.deepEqual(c.propertyDependencies.image, [find(run.resources, TYPES.image, `${NAME}-image`).urn]);
            assert.deepEqual(c.propertyDependencies.networksAdvanced, [find(run.resources, TYPES.network, "mybridge").urn]);
            for (const kind of ["data", "log"]) {
                assert.ok(c.dependencies.includes(find(run.resources, TYPES.volume, `${m}-${kind}`).urn), `${m} waits for ${m}-${kind}`);
            }
        });

        test(`container ${m}: mysqld flags for percona 5.7.30`, () => {
            const command = container(run, m).inputs.command as string[];
            const expected = [
                `--server-id=${SERVER_ID[m]}`,
                "--log-bin=mysql-bin",
                "--binlog-format=ROW",
                "--gtid-mode=ON",
                "--enforce-gtid-consistency=ON",
                "--log-slave-updates=ON",
                `--report-host=${m}`,
                "--event-scheduler=ON",
                "--read-only=ON",
                ...TLS_FLAGS,
            ];
            assert.deepEqual(sorted(command), sorted(expected));
            assert.ok(!command.some((f) => f.includes("super-read-only") || f.includes("super_read_only")), "never super_read_only at startup");
        });
    }

    test("read_only on every member, the source too: the role is set by the provider at run time, not by the command", () => {
        const readOnly = MEMBERS.filter((m) => (container(run, m).inputs.command as string[]).includes("--read-only=ON"));
        assert.deepEqual(readOnly, ["db001", "db002", "db003"]);
    });

    test("root password in the environment is secret-marked", () => {
        for (const m of MEMBERS) {
            const envs = container(run, m).inputs.envs;
            assert.ok(isSecretMarked(envs), `${m}'s envs are secret`);
            assert.deepEqual(reveal(envs), [`MYSQL_ROOT_PASSWORD=${ROOT_PW}`]);
        }
        assert.deepEqual(container(run, "db001").propertyDependencies.envs, [find(run.resources, TYPES.password, `${NAME}-root-password`).urn]);
    });

    test("generated passwords: 24 characters without quotes or backslashes", () => {
        for (const which of ["root", "replication"]) {
            const password = find(run.resources, TYPES.password, `${NAME}-${which}-password`);
            assert.deepEqual(reveal(password.inputs), { length: 24, special: true, overrideSpecial: "-_.+=^~" });
        }
    });

    test("replication: depends on all three containers, and re-runs when one is replaced", () => {
        const r = replication(run);
        const containerUrns = MEMBERS.map((m) => container(run, m).urn);
        for (const urn of containerUrns) assert.ok(r.dependencies.includes(urn), `replication waits for ${urn}`);
        // The containers' ids are an input (a replaced container changes them); no other input comes from a container.
        assert.deepEqual(sorted(r.propertyDependencies.containerIds ?? []), sorted(containerUrns));
        for (const [property, urns] of Object.entries(r.propertyDependencies)) {
            if (property === "containerIds") continue;
            assert.ok(!urns.some((u) => containerUrns.includes(u)), `${property} is not computed from a container`);
        }
    });

    test("replication: every input", () => {
        const r = replication(run);
        const { __provider, ...inputs } = reveal(r.inputs);
        assert.equal(typeof __provider, "string", "the serialized provider travels as __provider");
        const endpoint = (m: string) => ({ name: m, host: "127.0.0.1", port: HOST_PORT[m], internalHost: m, internalPort: 3306 });
        assert.deepEqual(inputs, {
            source: endpoint("db001"),
            replicas: [endpoint("db002"), endpoint("db003")],
            rootUser: "root",
            rootPassword: ROOT_PW,
            replicationUser: "repl",
            replicationPassword: REPL_PW,
            replicationUserHost: "172.18.0.0/255.255.0.0",
            tls: "verify",
            tlsCertificates: {
                ca: mockPem("CERTIFICATE", `${NAME}-ca`),
                files: { ca: "/etc/mysql-replicaset-tls/ca.pem", clientCert: "/etc/mysql-replicaset-tls/client-cert.pem", clientKey: "/etc/mysql-replicaset-tls/client-key.pem" },
                revision: (inputs.tlsCertificates as { revision: string }).revision,
            },
            connectRetrySeconds: 10,
            deadlineSeconds: 300,
            verify: true,
            heartbeatIntervalMs: 1000,
            failover: "safe",
            seedMethod: "auto",
            reseed: [],
            containerIds: MEMBERS.map((m) => `${m}-id`),
        });
        assert.deepEqual(r.propertyDependencies.replicationUserHost, [find(run.resources, TYPES.network, "mybridge").urn]);
    });

    test("replication: passwords are secret inputs and secret outputs", () => {
        const r = replication(run);
        assert.ok(isSecretMarked(r.inputs.rootPassword), "rootPassword input is secret");
        assert.ok(isSecretMarked(r.inputs.replicationPassword), "replicationPassword input is secret");
        assert.deepEqual(sorted(r.additionalSecretOutputs), ["replicationPassword", "rootPassword"]);
    });

    test("no password appears in plain text in any input, nor in the serialized provider", () => {
        assertNoPlainSecret(run.resources, [ROOT_PW, REPL_PW]);
        // The check is not vacuous: the passwords are there, inside secret markers.
        assert.ok(JSON.stringify(run.resources.map((r) => r.inputs)).includes(ROOT_PW));
    });

    test("component outputs: passwords secret, topology and network name", async () => {
        const rs = run.result!;
        assert.equal(await pulumi.isSecret(rs.rootPassword), true);
        assert.equal(await pulumi.isSecret(rs.replicationPassword), true);
        assert.equal(await valueOf(rs.rootPassword), ROOT_PW);
        assert.equal(await valueOf(rs.topology), "db001 (source) -> db002, db003 (replicas) on network mybridge");
        assert.equal(await valueOf(rs.networkName), "mybridge");
        assert.deepEqual(Object.keys(rs.containers), [...MEMBERS]);
    });
});

// ---------------------------------------------------------------------------------------------------------

describe("options", () => {
    test("deleteDataOnDestroy: true drops retainOnDelete from the volumes", async () => {
        const run = await declare(devSettings({ deleteDataOnDestroy: true }));
        const volumes = ofType(run.resources, TYPES.volume);
        assert.equal(volumes.length, 6);
        for (const v of volumes) assert.equal(v.retainOnDelete, false, `${v.name} is deleted with the stack`);
    });

    test("bindAddress 0.0.0.0 publishes on every interface; the provider dials loopback", async () => {
        const run = await declare(devSettings({ bindAddress: "0.0.0.0" }));
        assert.deepEqual(reveal(container(run, "db002").inputs.ports), [{ internal: 3306, external: 3307, ip: "0.0.0.0", protocol: "tcp" }]);
        const inputs = reveal(replication(run).inputs);
        assert.equal(inputs.source.host, "127.0.0.1");
        assert.deepEqual(inputs.replicas.map((r: { host: string }) => r.host), ["127.0.0.1", "127.0.0.1"]);
    });

    test("an explicit replicationUserHost is used as written", async () => {
        const run = await declare(devSettings({ replicationUserHost: "10.0.0.0/255.0.0.0" }));
        assert.equal(reveal(replication(run).inputs).replicationUserHost, "10.0.0.0/255.0.0.0");
    });

    test("a network without an IPv4 subnet lets the account in from any host", async () => {
        const run = await declare(devSettings(), {}, (args) => (args.type === TYPES.network ? { ipamConfigs: [] } : undefined));
        assert.equal(reveal(replication(run).inputs).replicationUserHost, "%");
    });

    test("replication settings flow from config", async () => {
        const run = await declare(
            devSettings({ replicationUser: "replicator", replicationTls: "on", connectRetrySeconds: 7, readinessTimeoutSeconds: 90, verifyReplication: false, restartPolicy: "always" }),
        );
        const inputs = reveal(replication(run).inputs);
        assert.equal(inputs.replicationUser, "replicator");
        assert.equal(inputs.tls, "on");
        assert.equal(inputs.connectRetrySeconds, 7);
        assert.equal(inputs.deadlineSeconds, 90);
        assert.equal(inputs.verify, false);
        const c = reveal(container(run, "db001").inputs);
        assert.equal(c.waitTimeout, 90);
        assert.equal(c.healthcheck.startPeriod, "90s");
        assert.equal(c.restart, "always");
    });
});

// ---------------------------------------------------------------------------------------------------------

describe("flavors and versions", () => {
    test("mariadb:11.4: MARIADB_ROOT_PASSWORD, healthcheck.sh --connect, gtid_strict_mode, no gtid_mode", async () => {
        const run = await declare(devSettings({ image: "mariadb:11.4" }));
        assert.deepEqual(reveal(find(run.resources, TYPES.image, `${NAME}-image`).inputs), { name: "mariadb:11.4", keepLocally: true });
        for (const m of MEMBERS) {
            const c = container(run, m);
            assert.ok(isSecretMarked(c.inputs.envs));
            assert.deepEqual(reveal(c.inputs.envs), [`MARIADB_ROOT_PASSWORD=${ROOT_PW}`]);
            assert.deepEqual(reveal(c.inputs.healthcheck).tests, ["CMD", "healthcheck.sh", "--connect"]);
            assert.deepEqual(
                sorted(c.inputs.command),
                sorted([
                    `--server-id=${SERVER_ID[m]}`,
                    "--log-bin=mysql-bin",
                    "--binlog-format=ROW",
                    "--gtid-strict-mode=ON",
                    "--log-slave-updates=ON",
                    `--report-host=${m}`,
                    "--event-scheduler=ON",
                    "--read-only=ON",
                    ...TLS_FLAGS,
                ]),
            );
            const command = c.inputs.command as string[];
            assert.ok(!command.some((f) => f.startsWith("--gtid-mode") || f.startsWith("--enforce-gtid-consistency")), "MariaDB has no gtid_mode");
        }
        assertNoPlainSecret(run.resources, [ROOT_PW, REPL_PW]);
    });

    test("mysql:8.0.36: log_replica_updates (renamed in 8.0.26), MYSQL_ROOT_PASSWORD, mysqladmin over TCP", async () => {
        const run = await declare(devSettings({ image: "mysql:8.0.36" }));
        for (const m of MEMBERS) {
            const c = container(run, m);
            const command = c.inputs.command as string[];
            assert.ok(command.includes("--log-replica-updates=ON"), `${m} has --log-replica-updates`);
            assert.ok(!command.some((f) => f.startsWith("--log-slave-updates")), `${m} has no --log-slave-updates`);
            assert.ok(command.includes("--gtid-mode=ON") && command.includes("--enforce-gtid-consistency=ON"));
            // Seeding by clone needs nothing of the container (the provider's SHUTDOWN, then the restart policy), so an
            // existing stack's containers are declared as before: no replacement on upgrade.
            assert.deepEqual(reveal(c.inputs.envs), [`MYSQL_ROOT_PASSWORD=${ROOT_PW}`]);
            assert.equal(c.inputs.init, undefined);
            assert.deepEqual(reveal(c.inputs.healthcheck).tests, MYSQLADMIN_PING);
        }
    });

    test("seedMethod auto copies instead of cloning under a restart policy that would not start a cleanly stopped container", async () => {
        for (const [restartPolicy, seedMethod] of [["unless-stopped", "auto"], ["always", "auto"], ["on-failure", "dump"], ["no", "dump"]]) {
            const run = await declare(devSettings({ image: "mysql:9.7", restartPolicy }));
            assert.equal(reveal(replication(run).inputs).seedMethod, seedMethod, restartPolicy);
        }
    });

    test("mysql:8.0.25 still says log_slave_updates", async () => {
        const run = await declare(devSettings({ image: "mysql:8.0.25" }));
        const command = container(run, "db002").inputs.command as string[];
        assert.ok(command.includes("--log-slave-updates=ON"));
        assert.ok(!command.some((f) => f.startsWith("--log-replica-updates")));
    });
});

// ---------------------------------------------------------------------------------------------------------

describe("storage: hostPath (the runbook's /db/<member>/{data,log,conf})", () => {
    let run: ProgramRun<ReplicaSet>;
    before(async () => {
        run = await declare(devSettings({ storage: "hostPath", storageRoot: "/db" }));
    });

    test("no docker volumes; one local command per member", () => {
        assert.deepEqual(ofType(run.resources, TYPES.volume), []);
        assert.deepEqual(ofType(run.resources, TYPES.command).map((c) => c.name).sort(), ["db001-dirs", "db002-dirs", "db003-dirs"]);
    });

    for (const m of MEMBERS) {
        test(`${m}: its directories are made and owned by percona:5.7.30's mysqld (999:999), not chmod 777`, () => {
            const command = find(run.resources, TYPES.command, `${m}-dirs`);
            assert.equal(command.parent, find(run.resources, TYPES.replicaSet, NAME).urn);
            const create = String(reveal(command.inputs).create);
            // Every word single-quoted; mkdir before chown; data and log chowned, conf not; no chmod 777.
            assert.equal(
                create,
                `mkdir -p -- '/db/${m}/data' '/db/${m}/log' '/db/${m}/conf' && chown -- '999:999' '/db/${m}/data' '/db/${m}/log'`,
            );
            assert.ok(!/chmod|777/.test(create), "no chmod 777");
            assert.equal(reveal(command.inputs).delete, undefined, "host data stays on destroy by default");
            assert.equal(reveal(command.inputs).triggers, undefined, "no triggers: a changed trigger would replace (and delete)");
            assert.deepEqual(command.ignoreChanges, ["triggers"], "triggers kept in older stacks' state cause no replacement");
        });

        test(`${m}: keeps the skip-name-resolve of the image's docker.cnf, which the conf mount hides`, () => {
            const command = reveal(container(run, m).inputs.command) as string[];
            assert.ok(command.includes("--skip-name-resolve"), command.join(" "));
            assert.ok(command.includes(`--report-host=${m}`), "the replication flags are still there");
        });

        test(`${m}: bind mounts data, log and (read-only) conf`, () => {
            const c = container(run, m);
            assert.deepEqual(reveal(c.inputs.volumes), [
                { hostPath: `/db/${m}/data`, containerPath: "/var/lib/mysql" },
                { hostPath: `/db/${m}/log`, containerPath: "/var/log/mysql" },
                { hostPath: `/db/${m}/conf`, containerPath: "/etc/my.cnf.d", readOnly: true },
            ]);
            assert.ok(c.dependencies.includes(find(run.resources, TYPES.command, `${m}-dirs`).urn), `${m} waits for its directories`);
        });
    }

    test("mysql images: owner 999:999 and conf at /etc/mysql/conf.d", async () => {
        const mysqlRun = await declare(devSettings({ image: "mysql:8.0.36", storage: "hostPath", storageRoot: "/srv/db/" }));
        const create = String(reveal(find(mysqlRun.resources, TYPES.command, "db001-dirs").inputs).create);
        assert.match(create, /chown -- '999:999' /);
        assert.match(create, /'\/srv\/db\/db001\/data'/);
        assert.ok(!create.includes("//"), "trailing slash of the root is dropped");
        assert.deepEqual(reveal(container(mysqlRun, "db001").inputs.volumes)[2], {
            hostPath: "/srv/db/db001/conf",
            containerPath: "/etc/mysql/conf.d",
            readOnly: true,
        });
    });

    test("deleteDataOnDestroy with hostPath removes the member's data and log, conf and its directory only when empty", async () => {
        const deleting = await declare(devSettings({ storage: "hostPath", deleteDataOnDestroy: true }));
        assert.equal(
            reveal(find(deleting.resources, TYPES.command, "db002-dirs").inputs).delete,
            "rm -rf -- '/db/db002/data' '/db/db002/log' && { rmdir -- '/db/db002/conf' '/db/db002' 2>/dev/null || true; }",
        );
    });
});

// ---------------------------------------------------------------------------------------------------------

describe("defect 4: shell injection through storageRoot", () => {
    /** The member's create and delete commands as declared under the mocks. */
    async function dirCommands(settings: ReplicaSetSettings): Promise<Record<string, { create: string; delete?: string }>> {
        const run = await declare(settings);
        return Object.fromEntries(
            MEMBERS.map((m) => {
                const inputs = reveal(find(run.resources, TYPES.command, `${m}-dirs`).inputs);
                return [m, { create: String(inputs.create), delete: inputs.delete === undefined ? undefined : String(inputs.delete) }];
            }),
        );
    }
    /** Runs a rendered command as the command provider does (a shell's -c). */
    const sh = (script: string) => execFileSync("bash", ["-c", script], { stdio: "pipe" });
    const owner = () => `${process.getuid!()}:${process.getgid!()}`;

    test("defect 4: the declared commands quote every path, even a root that validateConfig would refuse", async () => {
        // The component does not rely on validation alone: a caller may hand it settings directly.
        const commands = await dirCommands({ ...devSettings({ deleteDataOnDestroy: true }), storage: { mode: "hostPath", root: "/srv;#" } });
        assert.equal(
            commands.db002.delete,
            "rm -rf -- '/srv;#/db002/data' '/srv;#/db002/log' && { rmdir -- '/srv;#/db002/conf' '/srv;#/db002' 2>/dev/null || true; }",
        );
        assert.equal(
            commands.db002.create,
            "mkdir -p -- '/srv;#/db002/data' '/srv;#/db002/log' '/srv;#/db002/conf' && chown -- '999:999' '/srv;#/db002/data' '/srv;#/db002/log'",
        );
        const quoted = await dirCommands({ ...devSettings({ deleteDataOnDestroy: true }), storage: { mode: "hostPath", root: "/it's" } });
        assert.match(quoted.db001.create, /^mkdir -p -- '\/it'\\''s\/db001\/data' /);
    });

    test("defect 4: a real run makes and removes only the member's own directories", async (t) => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "defect4-"));
        t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
        const root = path.join(tmp, "root");
        const commands = await dirCommands(devSettings({ storage: "hostPath", storageRoot: root, deleteDataOnDestroy: true, dataOwner: owner() }));
        // Things that are not the server's: another member's files, a sibling of the root, the user's own files
        // next to the data and in conf/.
        fs.mkdirSync(path.join(root, "db003", "data"), { recursive: true });
        fs.writeFileSync(path.join(root, "db003", "data", "ibdata1"), "db003's data");
        fs.writeFileSync(path.join(tmp, "sibling"), "outside the root");

        for (const m of ["db001", "db002"]) sh(commands[m].create);
        for (const m of ["db001", "db002"]) {
            for (const kind of ["data", "log", "conf"]) assert.ok(fs.statSync(path.join(root, m, kind)).isDirectory(), `${m}/${kind} made`);
            assert.equal(fs.statSync(path.join(root, m, "data")).uid, process.getuid!(), `${m}/data owned by dataOwner`);
        }
        sh(commands.db001.create); // a re-run (create runs again when its inputs change) is harmless
        fs.writeFileSync(path.join(root, "db001", "data", "ibdata1"), "db001's data");
        fs.writeFileSync(path.join(root, "db001", "log", "mysql-bin.000001"), "db001's binlog");
        fs.writeFileSync(path.join(root, "db001", "backup.sql"), "the user's backup");
        fs.writeFileSync(path.join(root, "db002", "conf", "tls.cnf"), "the user's option file");

        sh(commands.db001.delete!);
        sh(commands.db002.delete!);
        const left = (dir: string): string[] =>
            fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
                const p = path.join(dir, e.name);
                return e.isDirectory() ? [`${path.relative(tmp, p)}/`, ...left(p)] : [path.relative(tmp, p)];
            });
        assert.deepEqual(left(tmp).sort(), [
            "root/",
            "root/db001/", // kept: it holds the user's backup.sql
            "root/db001/backup.sql",
            "root/db002/", // kept: conf/ holds the user's file
            "root/db002/conf/",
            "root/db002/conf/tls.cnf",
            "root/db003/",
            "root/db003/data/",
            "root/db003/data/ibdata1",
            "sibling",
        ]);

        // Empty conf/ and member directory go too; the root stays. A delete of what is already gone succeeds.
        fs.rmSync(path.join(root, "db002", "conf", "tls.cnf"));
        sh(commands.db002.delete!);
        sh(commands.db002.delete!);
        assert.ok(!fs.existsSync(path.join(root, "db002")), "db002's empty directories are removed");
        assert.ok(fs.existsSync(root), "the root is never removed");
    });

    test("defect 4: a real run with metacharacters in the root runs nothing but mkdir, chown and rm", async (t) => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "defect4-"));
        t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
        const pwned = path.join(tmp, "pwned");
        const root = `${tmp}/a;touch ${pwned};#$(touch ${pwned})\`touch ${pwned}\`|x&&y 'q' "z"`;
        const commands = await dirCommands({ ...devSettings({ deleteDataOnDestroy: true, dataOwner: owner() }), storage: { mode: "hostPath", root } });
        sh(commands.db001.create);
        assert.ok(!fs.existsSync(pwned), "no injected command ran");
        assert.ok(fs.statSync(`${root}/db001/data`).isDirectory(), "the directories carry the root's name literally");
        sh(commands.db001.delete!);
        assert.ok(!fs.existsSync(pwned), "no injected command ran on delete");
        assert.ok(!fs.existsSync(`${root}/db001`) && fs.existsSync(root), "only the member's directories were removed");
    });
});

// ---------------------------------------------------------------------------------------------------------

describe("passwords given by the caller", () => {
    const ROOT = "given-root-Pw-4711";
    const REPL = "given-repl-Pw-0815";

    for (const [how, wrap] of [
        ["as Pulumi secrets", (v: string) => pulumi.secret(v)],
        ["as plain strings (the component must mark them secret itself)", (v: string) => v],
    ] as const) {
        test(`${how}: used, never in plain text, no password generated`, async () => {
            const run = await declare(devSettings(), { rootPassword: wrap(ROOT), replicationPassword: wrap(REPL) });
            assert.deepEqual(ofType(run.resources, TYPES.password), []);
            const r = replication(run);
            assert.ok(isSecretMarked(r.inputs.rootPassword) && isSecretMarked(r.inputs.replicationPassword));
            assert.equal(reveal(r.inputs.rootPassword), ROOT);
            assert.equal(reveal(r.inputs.replicationPassword), REPL);
            for (const m of MEMBERS) {
                assert.ok(isSecretMarked(container(run, m).inputs.envs));
                assert.deepEqual(reveal(container(run, m).inputs.envs), [`MYSQL_ROOT_PASSWORD=${ROOT}`]);
            }
            assertNoPlainSecret(run.resources, [ROOT, REPL]);
            assert.equal(await pulumi.isSecret(run.result!.rootPassword), true);
            assert.equal(await pulumi.isSecret(run.result!.replicationPassword), true);
        });
    }
});
