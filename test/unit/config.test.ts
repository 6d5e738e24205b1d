/**
 * config/validate.ts: raw stack config → validated settings, or a ConfigError naming the key, the bad value
 * and the fix. One test per bad-config case; plus the runbook defaults and Pulumi.yaml's declared defaults.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, validateConfig, type ConfigProblem, type RawConfig } from "../../config/validate";
import { RUNBOOK_MEMBERS, type ReplicaSetSettings } from "../../config/types";
import { loadConfig } from "../../config/load";
import * as pulumi from "@pulumi/pulumi";

/** The runbook's members as a user would write them, with per-index overrides. */
function members(...overrides: Array<Record<string, unknown> | undefined>): Array<Record<string, unknown>> {
    return RUNBOOK_MEMBERS.map((m, i) => ({ ...m, ...(overrides[i] ?? {}) }));
}

function refusal(raw: RawConfig): ConfigError {
    let caught: unknown;
    try {
        validateConfig(raw);
    } catch (error) {
        caught = error;
    }
    assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(raw)}, got ${String(caught)}`);
    return caught;
}

/**
 * Asserts that `raw` is refused with a problem on `key` whose value is `value`, and that the message names
 * the key, shows the value as JSON and gives a fix matching `fix`.
 */
function expectProblem(raw: RawConfig, key: string, value: unknown, fix: RegExp): ConfigProblem {
    const error = refusal(raw);
    const problem = error.problems.find((p) => p.key === key);
    assert.ok(problem, `no problem on ${key}; got ${JSON.stringify(error.problems)}`);
    assert.deepEqual(problem.value, value);
    assert.match(problem.fix, fix);
    const shown = value === undefined ? "(not set)" : JSON.stringify(value);
    const line = error.message.split("\n").find((l) => l.startsWith(`  - ${key} = `));
    assert.ok(line, `message has no line for ${key}:\n${error.message}`);
    assert.ok(line.includes(shown), `message line does not show the bad value ${shown}: ${line}`);
    assert.match(line, fix);
    assert.match(error.message, /nothing was created/);
    return problem;
}

describe("validateConfig: member names", () => {
    test("a name that is not a DNS label (uppercase, underscore) is refused", () => {
        expectProblem({ members: members({ name: "DB_001" }) }, "members[0].name", "DB_001", /DNS label.*e\.g\. db001/);
    });
    test("a name starting with '-' is refused", () => {
        expectProblem({ members: members(undefined, { name: "-db002" }) }, "members[1].name", "-db002", /DNS label/);
    });
    test("a name of 64 characters is refused (a label has at most 63)", () => {
        const long = "d".repeat(64);
        expectProblem({ members: members(undefined, undefined, { name: long }) }, "members[2].name", long, /1-63 characters/);
        assert.doesNotThrow(() => validateConfig({ members: members(undefined, undefined, { name: "d".repeat(63) }) }));
    });
    test("a missing name is refused", () => {
        const list = members();
        delete list[1].name;
        expectProblem({ members: list }, "members[1].name", undefined, /DNS label/);
    });
    test("a duplicate name is refused and points at the first holder", () => {
        expectProblem({ members: members(undefined, { name: "db001" }) }, "members[1].name", "db001", /own name: members\[0\] has it already/);
    });
});

describe("validateConfig: roles", () => {
    test("no source at all is refused", () => {
        expectProblem({ members: members({ role: "replica" }) }, "members", [], /exactly one member with role: source/);
    });
    test("two sources are refused, listing both", () => {
        expectProblem({ members: members(undefined, { role: "source" }) }, "members", ["db001", "db002"], /exactly one member with role: source/);
    });
    test("a source without any replica is refused", () => {
        expectProblem({ members: [RUNBOOK_MEMBERS[0]] }, "members", ["db001"], /at least one member with role: replica/);
    });
    test("an empty member list is refused", () => {
        expectProblem({ members: [] }, "members", [], /at least one source and one replica/);
    });
    test("members that are not a list are refused", () => {
        expectProblem({ members: "db001,db002" }, "members", "db001,db002", /list of \{name, role, serverId, hostPort\}/);
    });
    test("role `master` is refused with a hint that the runbook's master is the source", () => {
        expectProblem({ members: members({ role: "master" }) }, "members[0].role", "master", /use source or replica \(the runbook's master is the `source`\)/);
    });
    test("role `slave` is refused with a hint that a slave is a replica", () => {
        expectProblem({ members: members(undefined, { role: "slave" }) }, "members[1].role", "slave", /the runbook's slave is a `replica`/);
    });
});

describe("validateConfig: server ids", () => {
    test("a duplicate server id is refused", () => {
        expectProblem({ members: members(undefined, { serverId: 100 }) }, "members[1].serverId", 100, /own server id: members\[0\] has it already/);
    });
    test("server id 0 is refused (replication needs a non-zero id)", () => {
        expectProblem({ members: members({ serverId: 0 }) }, "members[0].serverId", 0, /whole number from 1 to 4294967295/);
    });
    test("server id 4294967296 (2^32) is refused; 4294967295 is the largest accepted", () => {
        expectProblem({ members: members({ serverId: 4294967296 }) }, "members[0].serverId", 4294967296, /1 to 4294967295/);
        assert.equal(validateConfig({ members: members({ serverId: 4294967295 }) }).members[0].serverId, 4294967295);
    });
    test("a non-integer server id is refused", () => {
        expectProblem({ members: members({ serverId: 100.5 }) }, "members[0].serverId", 100.5, /whole number/);
    });
    test("server ids that only coerce to numbers (text, boolean, list, hex) are refused", () => {
        for (const bad of ["abc", true, [5], "0x10", "1e2", ""]) {
            expectProblem({ members: members({ serverId: bad }) }, "members[0].serverId", bad, /whole number/);
        }
    });
    test("a server id written as digits text is accepted as the number", () => {
        assert.equal(validateConfig({ members: members({ serverId: "150" }) }).members[0].serverId, 150);
    });
    test("two invalid ids are each reported as invalid, not as duplicates of each other", () => {
        const error = refusal({ members: members({ serverId: "x" }, { serverId: "y" }) });
        assert.deepEqual(
            error.problems.filter((p) => p.key.endsWith(".serverId")).map((p) => p.key),
            ["members[0].serverId", "members[1].serverId"],
        );
        assert.ok(!error.problems.some((p) => /own server id/.test(p.fix)));
    });
});

describe("validateConfig: host ports", () => {
    test("a duplicate host port is refused", () => {
        expectProblem({ members: members(undefined, undefined, { hostPort: 3307 }) }, "members[2].hostPort", 3307, /own host port: members\[1\] has it already/);
    });
    test("host port 0 is refused", () => {
        expectProblem({ members: members({ hostPort: 0 }) }, "members[0].hostPort", 0, /port number from 1 to 65535/);
    });
    test("host port 70000 is refused; 65535 is accepted", () => {
        expectProblem({ members: members({ hostPort: 70000 }) }, "members[0].hostPort", 70000, /1 to 65535/);
        assert.equal(validateConfig({ members: members({ hostPort: 65535 }) }).members[0].hostPort, 65535);
    });
    test("a non-integer host port is refused", () => {
        expectProblem({ members: members({ hostPort: "33o6" }) }, "members[0].hostPort", "33o6", /port number/);
    });
});

describe("validateConfig: verified TLS needs a server built with OpenSSL", () => {
    test("MySQL Community before 5.7.28 (yaSSL) is refused with verify, the default, and accepted with auto", () => {
        expectProblem({ image: "mysql:5.7.20" }, "replicationTls", "verify", /yaSSL .* set replicationTls to auto/);
        assert.equal(validateConfig({ image: "mysql:5.7.20", replicationTls: "auto" }).replicationTls, "auto");
        assert.equal(validateConfig({ image: "mysql:5.7.28" }).replicationTls, "verify");
        assert.equal(validateConfig({ image: "percona:5.7.20" }).replicationTls, "verify");
    });
});

describe("validateConfig: member fields", () => {
    test("an unknown member field is refused and named", () => {
        expectProblem({ members: members({ port: 3306 }) }, "members[0].port", 3306, /remove it: a member takes name, role, serverId, hostPort, host and reseed/);
    });
    test("a member that is not an object is refused", () => {
        expectProblem({ members: ["db001", ...RUNBOOK_MEMBERS.slice(1)] }, "members[0]", "db001", /\{name, role, serverId, hostPort\}/);
    });
});

describe("validateConfig: image, flavor and version", () => {
    test("a malformed image reference is refused", () => {
        for (const bad of ["Percona:5.7.30", "percona:5.7.30:x", "percona: 5.7", "", "percona@sha256:abc", "Team/mysql:8.0"]) {
            expectProblem({ image: bad }, "image", bad, /Docker image reference such as `percona:5\.7\.30`/);
        }
    });
    test("tag `latest` without flavor/version is refused with an error asking for them", () => {
        const problem = expectProblem({ image: "percona:latest" }, "version", undefined, /tag `latest` does not say which server version/);
        assert.match(problem.fix, /set version \(and flavor\) explicitly/);
    });
    test("an image whose name says no flavor is refused asking for flavor (and version for its `latest` tag)", () => {
        const error = refusal({ image: "registry.example.com/db/custom:latest" });
        const keys = error.problems.map((p) => p.key);
        assert.deepEqual(keys.sort(), ["flavor", "version"]);
        assert.match(error.problems.find((p) => p.key === "flavor")!.fix, /does not say which server it runs; set flavor to one of mysql, percona, mariadb/);
    });
    test("an image without a tag asks for the version", () => {
        expectProblem({ image: "mysql" }, "version", undefined, /tag `\(none\)` does not say/);
    });
    test("tag `latest` is accepted once flavor and version are stated", () => {
        const s = validateConfig({ image: "registry.example.com/db/custom:latest", flavor: "mysql", version: "8.0.36" });
        assert.equal(s.flavor, "mysql");
        assert.deepEqual(s.version, { major: 8, minor: 0, patch: 36 });
    });
    test("an unknown flavor is refused", () => {
        expectProblem({ flavor: "oracle" }, "flavor", "oracle", /use one of mysql, percona, mariadb/);
    });
    test("version text that is not MAJOR.MINOR[.PATCH] is refused", () => {
        for (const bad of ["8.x", "eight", "8", "v8.0", "8.0.36-28"]) {
            expectProblem({ version: bad }, "version", bad, /MAJOR\.MINOR\[\.PATCH\], e\.g\. 8\.0\.36/);
        }
    });
    test("a version older than the supported ones is refused (MySQL 5.6, MariaDB 10.4)", () => {
        expectProblem({ image: "mysql:5.6.51" }, "version", "5.6.51", /mysql 5\.6\.51 is not supported; use 5\.7\.8 or newer/);
        expectProblem({ image: "mariadb:10.4" }, "version", "10.4", /mariadb 10\.4 is not supported; use 10\.5 or newer/);
    });
});

describe("validateConfig: other keys", () => {
    test("a network name Docker would refuse is refused", () => {
        expectProblem({ networkName: "my bridge" }, "networkName", "my bridge", /Docker network name/);
        expectProblem({ networkName: "-net" }, "networkName", "-net", /starting with a letter or digit/);
    });
    test("an unknown storage mode is refused", () => {
        expectProblem({ storage: "nfs" }, "storage", "nfs", /use volume .* or hostPath/);
    });
    test("a hostPath storageRoot that is relative, '/', has '..' or spaces is refused", () => {
        for (const bad of ["db", "/", "/db/../etc", "/my db", "/db'x"]) {
            expectProblem({ storage: "hostPath", storageRoot: bad }, "storageRoot", bad, /absolute directory path .* e\.g\. \/db/);
        }
    });
    test("hostPath defaults its root to the runbook's /db and drops a trailing slash", () => {
        assert.deepEqual(validateConfig({ storage: "hostPath" }).storage, { mode: "hostPath", root: "/db" });
        assert.deepEqual(validateConfig({ storage: "hostPath", storageRoot: "/srv/db/" }).storage, { mode: "hostPath", root: "/srv/db" });
    });
    test("a bindAddress that is not an IP address is refused", () => {
        expectProblem({ bindAddress: "localhost" }, "bindAddress", "localhost", /IP address such as 127\.0\.0\.1/);
        expectProblem({ bindAddress: "300.1.1.1" }, "bindAddress", "300.1.1.1", /IP address/);
    });
    test("an unknown replicationTls mode is refused", () => {
        expectProblem({ replicationTls: "required" }, "replicationTls", "required", /use one of verify, auto, on, off/);
    });
    test("integer keys refuse words, fractions, hex and out-of-range numbers", () => {
        expectProblem({ connectRetrySeconds: "ten" }, "connectRetrySeconds", "ten", /whole number from 1 to 3600/);
        expectProblem({ connectRetrySeconds: 0 }, "connectRetrySeconds", 0, /whole number from 1 to 3600/);
        expectProblem({ connectRetrySeconds: "1.5" }, "connectRetrySeconds", "1.5", /whole number/);
        expectProblem({ connectRetrySeconds: "0x10" }, "connectRetrySeconds", "0x10", /whole number/);
        expectProblem({ readinessTimeoutSeconds: 4 }, "readinessTimeoutSeconds", 4, /whole number from 5 to 86400/);
    });
    test("integer keys accept digits as text (how the Pulumi CLI hands them over)", () => {
        assert.equal(validateConfig({ connectRetrySeconds: "30" }).connectRetrySeconds, 30);
    });
    test("boolean keys refuse anything but true/false", () => {
        expectProblem({ verifyReplication: "yes" }, "verifyReplication", "yes", /use true or false/);
        expectProblem({ deleteDataOnDestroy: 1 }, "deleteDataOnDestroy", 1, /use true or false/);
    });
    test("boolean keys accept true/false as text", () => {
        assert.equal(validateConfig({ verifyReplication: "false" }).verifyReplication, false);
        assert.equal(validateConfig({ deleteDataOnDestroy: "true" }).deleteDataOnDestroy, true);
    });
    test("an unknown restart policy is refused", () => {
        expectProblem({ restartPolicy: "sometimes" }, "restartPolicy", "sometimes", /no, always, unless-stopped, on-failure/);
    });
    test("a dataOwner that is not uid:gid is refused", () => {
        expectProblem({ dataOwner: "mysql" }, "dataOwner", "mysql", /uid:gid as numbers/);
    });
    test("a string key given a number is refused", () => {
        expectProblem({ networkName: 5 }, "networkName", 5, /write it as a string/);
    });
    test("every problem is reported at once, not only the first", () => {
        const error = refusal({ storage: "nfs", bindAddress: "localhost", members: members({ role: "master" }) });
        const keys = error.problems.map((p) => p.key);
        for (const key of ["storage", "bindAddress", "members[0].role"]) assert.ok(keys.includes(key), `${key} missing from ${keys}`);
        assert.match(error.message, /^Invalid stack config \(\d+ problems\); nothing was created:/);
    });
});

describe("defaults", () => {
    test("an empty config is the runbook: percona:5.7.30 on mybridge, db001/100/3306 source, db002/200/3307 and db003/300/3308 replicas, 127.0.0.1", () => {
        const expected: ReplicaSetSettings = {
            image: "percona:5.7.30",
            flavor: "percona",
            version: { major: 5, minor: 7, patch: 30 },
            networkName: "mybridge",
            bindAddress: "127.0.0.1",
            storage: { mode: "volume" },
            dataOwner: "999:999",
            members: [
                { name: "db001", role: "source", serverId: 100, hostPort: 3306 },
                { name: "db002", role: "replica", serverId: 200, hostPort: 3307 },
                { name: "db003", role: "replica", serverId: 300, hostPort: 3308 },
            ],
            replicationUser: "repl",
            replicationUserHost: "",
            replicationTls: "verify",
            tlsValidityDays: 365,
            connectRetrySeconds: 10,
            readinessTimeoutSeconds: 300,
            verifyReplication: true,
            heartbeatIntervalMs: 1000,
            readerMaxLagSeconds: 30,
            deleteDataOnDestroy: false,
            checkHostPorts: true,
            restartPolicy: "unless-stopped",
            failover: "safe",
            // No router: the dev stack stays the runbook.
            router: "none",
            routerImage: "haproxy:3.4.7",
            writerPort: 6446,
            readerPort: 6447,
            seedMethod: "auto",
        };
        assert.deepEqual(validateConfig({}), expected);
    });
    test("the defaulted members are copies: changing them leaves the runbook constant alone", () => {
        validateConfig({}).members[0].serverId = 1;
        assert.equal(RUNBOOK_MEMBERS[0].serverId, 100);
    });
    test("dataOwner follows the image: Docker Hub mysql, mariadb and percona run as 999, percona/percona-server as 1001", () => {
        assert.equal(validateConfig({ image: "mysql:8.0.36" }).dataOwner, "999:999");
        assert.equal(validateConfig({ image: "mariadb:11.4" }).dataOwner, "999:999");
        // percona:5.7.30's Dockerfile: `useradd -u 999 -r -g 999 ... mysql`.
        assert.equal(validateConfig({ image: "percona:5.7.30" }).dataOwner, "999:999");
        assert.equal(validateConfig({ image: "percona/percona-server:8.0.36-28" }).dataOwner, "1001:1001");
    });
});

// ---------------------------------------------------------------------------------------------------------
// Review findings (issue 21): each test is named after its defect and failed before the fix.

describe("defect 4: storageRoot and dataOwner go into shell commands", () => {
    const METACHARACTER_ROOTS = [
        "/srv;#",
        "/srv;rm -rf /",
        "/srv|cat",
        "/srv&&true",
        "/srv&",
        "/srv$(id)",
        "/srv${HOME}",
        "/srv`id`",
        "/my db",
        "/srv\tdb",
        "/srv'x",
        '/srv"x',
        "/srv\\x",
        "/srv\nrm",
        "/srv/../etc",
        "/srv/..",
        "/srv/./db",
        "//srv",
        "/srv//db",
        "/srv/*",
        "/srv?",
        "/srv>x",
        "/srv<x",
        "/srv(x)",
        "/srv{a,b}",
        "/srv~",
        "/srv!",
        "/srv#x",
        "/",
        "srv",
        "",
    ];
    for (const bad of METACHARACTER_ROOTS) {
        test(`defect 4: storageRoot with shell metacharacters is refused: ${JSON.stringify(bad)}`, () => {
            expectProblem({ storage: "hostPath", storageRoot: bad, deleteDataOnDestroy: true }, "storageRoot", bad, /absolute directory path of letters, digits, '\.', '_', '-' and '\/' only.*e\.g\. \/db/);
        });
    }
    test("defect 4: plain absolute paths of safe characters are accepted", () => {
        for (const good of ["/db", "/srv/mysql-replicaset/db_1", "/var/lib/db.d", "/tmp/defect4-Ab12", "/srv/db/"]) {
            assert.equal(validateConfig({ storage: "hostPath", storageRoot: good }).storage.mode, "hostPath", good);
        }
    });
    test("defect 4: dataOwner other than uid:gid digits is refused (it goes into chown)", () => {
        for (const bad of ["999:999;id", "999:999 /", "$(id -u):0", "999", "999:", ":999", "mysql:mysql", "999:999\n"]) {
            expectProblem({ dataOwner: bad }, "dataOwner", bad, /write uid:gid as numbers, e\.g\. 999:999/);
        }
        assert.equal(validateConfig({ dataOwner: "1001:1001" }).dataOwner, "1001:1001");
    });
});

describe("defect 8: passwords shorter than 8 characters are refused", () => {
    for (const key of ["rootPassword", "replicationPassword"]) {
        test(`defect 8: a ${key} of 4 characters is refused, naming the key and its length, never the value`, () => {
            const error = refusal({ [key]: "repl" });
            const problem = error.problems.find((p) => p.key === key);
            assert.ok(problem, JSON.stringify(error.problems));
            assert.equal(problem.value, "(secret, 4 characters)");
            assert.match(problem.fix, /at least 8 characters.*pulumi config set --secret/);
            assert.ok(error.message.includes(`  - ${key} = (secret, 4 characters): use at least 8 characters`), error.message);
            assert.ok(!error.message.includes("repl\""), "the password itself is never shown");
        });
    }
    test("defect 8: an empty password set in config is refused too (it is not 'unset')", () => {
        assert.equal(refusal({ rootPassword: "" }).problems[0].value, "(secret, 0 characters)");
    });
    test("defect 8: 8 characters are enough; passwords are not part of the settings", () => {
        const settings = validateConfig({ rootPassword: "eightchr", replicationPassword: "Eight-Ch" });
        assert.ok(!JSON.stringify(settings).includes("eightchr") && !JSON.stringify(settings).includes("Eight-Ch"));
    });
    test("MySQL and Percona refuse a replication password over 32 bytes (ER_CHANGE_SOURCE_PASSWORD_LENGTH on 9.7.4); MariaDB does not", () => {
        const long = "x".repeat(33);
        for (const image of ["mysql:8.4.3", "percona:5.7.30"]) {
            const error = refusal({ image, replicationPassword: long });
            assert.match(error.message, /replicationPassword = \(secret, 33 characters\): use at most 32 bytes/);
        }
        validateConfig({ image: "mysql:8.4.3", replicationPassword: "x".repeat(32) });
        // Bytes, not characters: 17 × "ä" is 34 bytes.
        assert.match(refusal({ image: "mysql:8.4.3", replicationPassword: "ä".repeat(17) }).message, /use at most 32 bytes/);
        validateConfig({ image: "mariadb:10.11.6", replicationPassword: long });
    });
    test("failover is safe or force", () => {
        assert.equal(validateConfig({ failover: "force" }).failover, "force");
        assert.match(refusal({ failover: "always" }).message, /failover = "?always"?: use one of safe, force/);
    });
    test("readerMaxLagSeconds: 30 by default, 0 for no limit; with a router, refused when the heartbeat cannot measure it", () => {
        assert.equal(validateConfig({}).readerMaxLagSeconds, 30);
        assert.equal(validateConfig({ router: "haproxy", readerMaxLagSeconds: 0, heartbeatIntervalMs: 0 }).readerMaxLagSeconds, 0);
        assert.equal(validateConfig({ router: "haproxy", readerMaxLagSeconds: 2 }).readerMaxLagSeconds, 2);
        assert.match(refusal({ readerMaxLagSeconds: -1 }).message, /readerMaxLagSeconds = -1/);
        assert.match(refusal({ readerMaxLagSeconds: 1.5 }).message, /readerMaxLagSeconds = 1.5/);
        assert.match(refusal({ router: "haproxy", heartbeatIntervalMs: 0 }).message, /readerMaxLagSeconds = 30: the lag is read from the heartbeat, which heartbeatIntervalMs = 0 turns off/);
        assert.match(refusal({ router: "haproxy", readerMaxLagSeconds: 5, heartbeatIntervalMs: 5000 }).message, /readerMaxLagSeconds = 5: the heartbeat is written every 5000 ms/);
        // Without a router nothing reads it: a heartbeat turned off stays a valid choice.
        assert.equal(validateConfig({ heartbeatIntervalMs: 0 }).heartbeatIntervalMs, 0);
    });

    test("heartbeatIntervalMs takes whole seconds in ms, or 0 for off", () => {
        assert.equal(validateConfig({ heartbeatIntervalMs: 0 }).heartbeatIntervalMs, 0);
        assert.equal(validateConfig({ heartbeatIntervalMs: 5000 }).heartbeatIntervalMs, 5000);
        assert.match(refusal({ heartbeatIntervalMs: 1500 }).message, /heartbeatIntervalMs = 1500: use whole seconds in ms/);
    });
    test("defect 8: a replicationPassword equal to the replicationUser is refused", () => {
        const error = refusal({ replicationUser: "replicator", replicationPassword: "replicator" });
        assert.match(error.message, /replicationPassword = \(secret, 10 characters\): choose a password other than the replicationUser/);
        assert.ok(!error.message.includes('"replicator"'), "the password is not shown");
    });
    test("defect 8: loadConfig checks the secrets the stack sets before anything is declared", () => {
        pulumi.runtime.setAllConfig(
            { "mysql-replicaset:rootPassword": "short", "mysql-replicaset:replicationPassword": "long-enough-pw" },
            ["mysql-replicaset:rootPassword", "mysql-replicaset:replicationPassword"],
        );
        try {
            assert.throws(() => loadConfig(new pulumi.Config("mysql-replicaset")), (error: unknown) => {
                assert.ok(error instanceof ConfigError);
                assert.deepEqual(error.problems.map((p) => [p.key, p.value]), [["rootPassword", "(secret, 5 characters)"]]);
                assert.ok(!error.message.includes("short\""));
                return true;
            });
        } finally {
            pulumi.runtime.setAllConfig({}, []);
        }
    });
});

describe("defect 9: MySQL 5.7.0–5.7.7 have neither CREATE USER IF NOT EXISTS nor super_read_only", () => {
    for (const image of ["mysql:5.7.0", "mysql:5.7.7", "percona:5.7.7"]) {
        test(`defect 9: ${image} is refused, naming the version and 5.7.8`, () => {
            const version = image.split(":")[1];
            const flavor = image.split(":")[0];
            expectProblem(
                { image },
                "version",
                version,
                new RegExp(`${flavor} ${version.replace(/\./g, "\\.")} is not supported: CREATE USER IF NOT EXISTS and super_read_only first appear in 5\\.7\\.8; use 5\\.7\\.8 or newer`),
            );
        });
    }
    test("defect 9: a version stated in config is judged the same way", () => {
        expectProblem({ image: "registry.example.com/db/custom:latest", flavor: "mysql", version: "5.7.5" }, "version", "5.7.5", /first appear in 5\.7\.8/);
    });
    test("defect 9: 5.7.8, 5.7.44 and a floating 5.7 tag are accepted", () => {
        for (const image of ["mysql:5.7.8", "mysql:5.7.44", "percona:5.7", "percona:5.7.30"]) {
            // auto: MySQL 5.7.8 Community is built with yaSSL, which verified TLS (the default) cannot use.
            assert.equal(validateConfig({ image, replicationTls: "auto" }).version.major, 5, image);
        }
    });
});
