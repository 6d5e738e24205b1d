/**
 * A new user's mistakes (issue 35), refused by name before anything is declared: keys the program does not know,
 * reserved accounts as the replication user, root passwords a 5.7 entrypoint cannot take, router keys without a
 * router; and one clear line for a misspelt role, an address that is almost IPv4, a repeated host name.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { closestKey, ConfigError, validateConfig, type RawConfig } from "../../config/validate";
import { loadConfig } from "../../config/load";
import { KEY_NAMES } from "../../config/keys";
import { ROUTER_CHECK_USER } from "../../components/router/render";
import { CLONE_DONOR_USER } from "../../components/replication/dialect";
import { readStackConfig } from "../support/pulumiMocks";

const PROJECT = "mysql-replicaset";

function refusal(raw: RawConfig): ConfigError {
    try {
        validateConfig(raw);
    } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error;
    }
    assert.fail(`accepted: ${JSON.stringify(raw)}`);
}

/** The message's problem lines ("  - key = value: fix"). */
const lines = (error: ConfigError) => error.message.split("\n").slice(1);

/** loadConfig on a stack config as the engine hands it to the program (PULUMI_CONFIG: namespaced keys, text). */
function load(config: Record<string, string>, secretKeys: string[] = []) {
    pulumi.runtime.setAllConfig(config, secretKeys);
    try {
        return loadConfig(new pulumi.Config(PROJECT));
    } finally {
        pulumi.runtime.setAllConfig({}, []);
    }
}

function loadRefusal(config: Record<string, string>, secretKeys: string[] = []): ConfigError {
    try {
        load(config, secretKeys);
    } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error;
    }
    assert.fail("accepted");
}

describe("keys the program does not know are refused, with the closest known key", () => {
    for (const [typo, value, meant] of [
        ["imgae", "mysql:8.4.3", "image"],
        ["replicationTLS", "off", "replicationTls"],
        ["readinesTimeoutSeconds", "600", "readinessTimeoutSeconds"],
        ["member", '[{"name":"db001"}]', "members"],
        ["routerhost", "node1", "routerHost"],
    ] as const) {
        test(`${typo}: did you mean ${meant}?`, () => {
            const error = loadRefusal({ [`${PROJECT}:${typo}`]: value });
            assert.deepEqual(error.problems.map((p) => p.key), [typo]);
            const line = lines(error)[0];
            assert.ok(line.startsWith(`  - ${typo} = `), line);
            assert.ok(line.includes(`: not a key of this program: did you mean ${meant}? Remove it (pulumi config rm ${typo}) and set ${meant}`), line);
        });
    }

    test("a key like no other gets no suggestion; a secret one's value is not shown", () => {
        const error = loadRefusal({ [`${PROJECT}:colour`]: "blue", [`${PROJECT}:apiToken`]: "s3cr3t-t0ken-value" }, [`${PROJECT}:apiToken`]);
        const shown = lines(error);
        assert.ok(shown.some((l) => l === '  - colour = "blue": not a key of this program: Remove it (pulumi config rm colour); README\'s Configuration lists every key'), shown.join("\n"));
        assert.ok(shown.some((l) => l.startsWith("  - apiToken = (secret): not a key")), shown.join("\n"));
        assert.ok(!error.message.includes("s3cr3t-t0ken-value"));
    });

    test("other namespaces and every known key pass; the dev stack loads", () => {
        assert.equal(load({ "docker:host": "unix:///var/run/docker.sock", "aws:region": "eu-west-1", ...readStackConfig("dev").cli }).settings.image, "percona:5.7.30");
    });

    test("closestKey: a swap, a case difference, a missing letter; nothing for a distant word", () => {
        assert.equal(closestKey("imgae"), "image");
        assert.equal(closestKey("REPLICATIONUSER"), "replicationUser");
        assert.equal(closestKey("storgeRoot"), "storageRoot");
        assert.equal(closestKey("zzz"), undefined);
        assert.ok(KEY_NAMES.includes("image"));
    });
});

describe("reserved accounts as replicationUser", () => {
    for (const user of ["root", "mysql.sys", "mysql.session", "mysql.infoschema", "mariadb.sys", ROUTER_CHECK_USER, CLONE_DONOR_USER]) {
        test(`${user} is refused, saying why`, () => {
            const error = refusal({ replicationUser: user, replicationUserHost: "%" });
            assert.deepEqual(error.problems.map((p) => [p.key, p.value]), [["replicationUser", user]]);
            assert.match(error.problems[0].fix, new RegExp(`^${user.replace(".", "\\.")} is .*use an account of its own, e.g\\. repl$`));
        });
    }
    test("an ordinary account passes", () => {
        assert.equal(validateConfig({ replicationUser: "replicator" }).replicationUser, "replicator");
    });
});

describe("a root password the image's entrypoint cannot take", () => {
    for (const image of ["percona:5.7.30", "mysql:5.7.44"]) {
        for (const bad of ["it's-a-password", "back\\slash-pw"]) {
            test(`${image}: ${JSON.stringify(bad)} is refused, its value never shown`, () => {
                const error = refusal({ image, rootPassword: bad, replicationTls: "auto" });
                assert.deepEqual(error.problems.map((p) => [p.key, p.value]), [["rootPassword", `(secret, ${bad.length} characters)`]]);
                assert.match(error.message, new RegExp(`rootPassword = \\(secret, ${bad.length} characters\\): the ${image.replace(".", "\\.")} entrypoint .* ' or \\\\ in it`));
                assert.ok(!error.message.includes(bad));
            });
        }
    }
    test("images whose entrypoint escapes it (MySQL 8+, MariaDB) take them", () => {
        for (const image of ["mysql:8.4.3", "mariadb:11.8.2", "percona/percona-server:8.0.36-28"]) validateConfig({ image, rootPassword: "it's-a\\password" });
    });
});

describe("router keys without a router: one rule for all of them", () => {
    for (const [key, value] of [["writerPort", 7000], ["readerPort", "7001"], ["routerImage", "haproxy:3.2.1"], ["routerHost", "node1"]] as const) {
        test(`${key} with router none is refused`, () => {
            const error = refusal({ [key]: value });
            assert.deepEqual(error.problems.map((p) => [p.key, p.value, p.fix]), [[key, value, "remove it, or set router to haproxy: it configures the router, and router is none"]]);
        });
    }
    test("their defaults pass (the engine writes declared defaults into the config), and with router haproxy the values are taken", () => {
        validateConfig({ writerPort: "6446", readerPort: "6447", routerImage: "haproxy:3.4.7" });
        assert.equal(validateConfig({ router: "haproxy", writerPort: 7000 }).writerPort, 7000);
    });
});

describe("clearer messages", () => {
    const runbook = (role2: string) => [
        { name: "db001", role: "source", serverId: 100, hostPort: 3306 },
        { name: "db002", role: role2, serverId: 200, hostPort: 3307 },
    ];
    for (const [role, hint] of [["replcia", /did you mean replica\?$/], ["slave", /the runbook's slave is a `replica`/], ["Replica", /did you mean replica\?$/]] as const) {
        test(`a misspelt role (${role}) is one line naming it`, () => {
            const error = refusal({ members: runbook(role) });
            assert.deepEqual(error.problems.map((p) => p.key), ["members[1].role"]);
            assert.match(lines(error)[0], hint);
        });
    }
    test("a misspelt source role too: no cascade about the count of sources", () => {
        const error = refusal({ members: [{ name: "db001", role: "master", serverId: 1, hostPort: 3306 }, { name: "db002", role: "replica", serverId: 2, hostPort: 3307 }] });
        assert.deepEqual(error.problems.map((p) => p.key), ["members[0].role"]);
    });

    const host = (name: string, address: string) => ({ name, docker: `ssh://deploy@${address}`, address });
    const placed = [
        { name: "db001", role: "source", serverId: 100, hostPort: 3306, host: "node1" },
        { name: "db002", role: "replica", serverId: 200, hostPort: 3306, host: "node2" },
    ];
    test("an address that looks like IPv4 is checked as IPv4, in one line", () => {
        const error = refusal({ hosts: [host("node1", "10.0.0.300"), host("node2", "10.0.0.12")], members: placed });
        assert.deepEqual(lines(error), ['  - hosts[0].address = "10.0.0.300": not an IPv4 address: write four numbers from 0 to 255 separated by dots, e.g. 10.0.0.11']);
        assert.deepEqual(refusal({ hosts: [host("node1", "10.0.1"), host("node2", "10.0.0.12")], members: placed }).problems.map((p) => p.key), ["hosts[0].address"]);
    });
    test("a repeated host name is named, with the member's host as the likely meaning", () => {
        const error = refusal({ hosts: [host("node1", "10.0.0.11"), host("node1", "10.0.0.12")], members: placed });
        assert.deepEqual(lines(error), [
            '  - hosts[1].name = "node1": give every host its own name: hosts[0] has it already',
            '  - members[1].host = "node2": name one of hosts: node1; hosts[1] repeats the name node1: was it meant to be node2?',
        ]);
    });
});
