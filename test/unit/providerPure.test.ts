/**
 * components/replication/provider.ts, its pure part: check (inputs → failures naming the property), diff
 * (changes, never a replacement) and planUpdate (what an update must do beyond converging). No database.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkInputs, diffInputs, planUpdate } from "../../components/replication/provider";
import type { MemberEndpoint, ReplicationInputs } from "../../components/replication/types";

function endpoint(name: string, port: number): MemberEndpoint {
    return { name, host: "127.0.0.1", port, internalHost: name, internalPort: 3306 };
}

function inputs(overrides: Partial<ReplicationInputs> = {}): ReplicationInputs {
    return {
        source: endpoint("db001", 3306),
        replicas: [endpoint("db002", 3307), endpoint("db003", 3308)],
        rootUser: "root",
        rootPassword: "root-secret",
        replicationUser: "repl",
        replicationPassword: "repl-secret",
        replicationUserHost: "172.18.0.0/255.255.0.0",
        tls: "auto",
        connectRetrySeconds: 10,
        deadlineSeconds: 300,
        verify: true,
        ...overrides,
    };
}

/** The inputs as the engine hands them to check: plain JSON. */
function news(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...JSON.parse(JSON.stringify(inputs())), ...overrides };
}

function failedProperties(values: Record<string, unknown>): string[] {
    return checkInputs(values).map((f) => f.property);
}

describe("checkInputs", () => {
    test("valid inputs pass", () => {
        assert.deepEqual(checkInputs(news()), []);
    });
    test("defect 8: a password shorter than 8 characters is refused, naming the key and not the value", () => {
        const failures = checkInputs(news({ rootPassword: "short", replicationPassword: "repl" }));
        assert.deepEqual(failures.map((f) => f.property), ["rootPassword", "replicationPassword"]);
        assert.match(failures[0].reason, /at least 8 characters \(it has 5\)/);
        assert.ok(!JSON.stringify(failures).includes("short\"") && !JSON.stringify(failures).includes("\"repl\""));
        assert.deepEqual(checkInputs(news({ rootPassword: "12345678" })), []);
    });
    test("failover: safe or force", () => {
        assert.deepEqual(checkInputs(news({ failover: "force" })), []);
        assert.deepEqual(checkInputs(news({ failover: "yes" })).map((f) => f.property), ["failover"]);
    });
    test("heartbeatIntervalMs: 0 (off) or whole seconds from 1 s to 1 h", () => {
        for (const ok of [0, 1000, 5000, 3_600_000, undefined]) assert.deepEqual(checkInputs(news({ heartbeatIntervalMs: ok })), [], String(ok));
        for (const bad of [500, 1500, -1000, 7_200_000, "1000"]) {
            assert.deepEqual(checkInputs(news({ heartbeatIntervalMs: bad })).map((f) => f.property), ["heartbeatIntervalMs"], String(bad));
        }
    });
    test("a missing source is named", () => {
        const values = news();
        delete values.source;
        assert.deepEqual(checkInputs(values), [{ property: "source", reason: "must be a member endpoint" }]);
    });
    test("each bad endpoint field is named with its path", () => {
        const values = news({
            source: { ...endpoint("db001", 3306), host: "" },
            replicas: [endpoint("db002", 3307), { ...endpoint("db003", 3308), port: "3308", internalHost: undefined, name: "" }],
        });
        assert.deepEqual(failedProperties(values), ["source.host", "replicas[1].name", "replicas[1].port", "replicas[1].internalHost"]);
    });
    test("no replicas, or replicas that are not a list, are named", () => {
        assert.deepEqual(failedProperties(news({ replicas: [] })), ["replicas"]);
        assert.deepEqual(failedProperties(news({ replicas: "db002" })), ["replicas"]);
    });
    test("empty credentials are named one by one", () => {
        for (const key of ["rootUser", "rootPassword", "replicationUser", "replicationPassword"]) {
            const failures = checkInputs(news({ [key]: "" }));
            assert.deepEqual(failures, [{ property: key, reason: "must be a non-empty string" }], key);
        }
    });
    test("the account host, tls mode, retry, deadline and verify are each checked", () => {
        assert.deepEqual(failedProperties(news({ replicationUserHost: "" })), ["replicationUserHost"]);
        assert.deepEqual(failedProperties(news({ tls: "required" })), ["tls"]);
        assert.deepEqual(failedProperties(news({ connectRetrySeconds: 0 })), ["connectRetrySeconds"]);
        assert.deepEqual(failedProperties(news({ connectRetrySeconds: 2.5 })), ["connectRetrySeconds"]);
        assert.deepEqual(failedProperties(news({ deadlineSeconds: 0 })), ["deadlineSeconds"]);
        assert.deepEqual(failedProperties(news({ deadlineSeconds: "300" })), ["deadlineSeconds"]);
        assert.deepEqual(failedProperties(news({ verify: "yes" })), ["verify"]);
    });
    test("every failure carries a reason", () => {
        const failures = checkInputs({});
        assert.ok(failures.length >= 10, JSON.stringify(failures));
        for (const f of failures) assert.ok(f.reason.length > 0, f.property);
    });
});

describe("diffInputs", () => {
    test("no change: no update", () => {
        assert.deepEqual(diffInputs(inputs(), inputs()), { changes: false, replaces: [], deleteBeforeReplace: false, stables: [] });
    });
    test("state kept next to the inputs (statuses, observedAt) is not a change", () => {
        const olds = { ...inputs(), healthy: true, observedAt: "2026-01-01T00:00:00Z", replicaStatus: {} } as unknown as ReplicationInputs;
        assert.equal(diffInputs(olds, inputs()).changes, false);
    });
    test("a set last observed unhealthy is converged again, in place, without a config change", () => {
        const olds = { ...inputs(), healthy: false, observedAt: "2026-01-01T00:00:00Z", replicaStatus: {} } as unknown as ReplicationInputs;
        const result = diffInputs(olds, inputs());
        assert.equal(result.changes, true);
        assert.deepEqual(result.replaces, []);
    });
    test("a replica left attached by the last run (its detach failed) makes the same config a change", () => {
        const olds = { ...inputs(), healthy: true, replicaStatus: {}, notDetached: [endpoint("db004", 3309)] } as unknown as ReplicationInputs;
        assert.equal(diffInputs(olds, inputs()).changes, true);
        assert.equal(diffInputs({ ...olds, notDetached: [] } as unknown as ReplicationInputs, inputs()).changes, false);
    });
    test("the same endpoints with keys in another order (as state comes back through protobuf) are not a change", () => {
        const reorder = (e: MemberEndpoint): MemberEndpoint =>
            Object.fromEntries(Object.entries(e).reverse()) as unknown as MemberEndpoint;
        const olds = inputs({ source: reorder(inputs().source), replicas: inputs().replicas.map(reorder) });
        assert.equal(diffInputs(olds, inputs()).changes, false);
    });
    const changes: Array<[string, Partial<ReplicationInputs>]> = [
        ["the replication password", { replicationPassword: "new-secret" }],
        ["the root password", { rootPassword: "new-root" }],
        ["the source", { source: endpoint("db002", 3307) }],
        ["a replica's port", { replicas: [endpoint("db002", 4407), endpoint("db003", 3308)] }],
        ["the replica list", { replicas: [endpoint("db002", 3307)] }],
        ["the replicas' order", { replicas: [endpoint("db003", 3308), endpoint("db002", 3307)] }],
        ["tls", { tls: "off" }],
        ["verify", { verify: false }],
        ["a container (replaced: new id)", { containerIds: ["db001-new", "db002", "db003"] }],
    ];
    for (const [what, change] of changes) {
        test(`a change of ${what} is an update in place, never a replacement`, () => {
            const result = diffInputs(inputs(), inputs(change));
            assert.equal(result.changes, true);
            assert.deepEqual(result.replaces, []);
            assert.equal(result.deleteBeforeReplace, false);
        });
    }
});

describe("planUpdate", () => {
    test("nothing that matters changed: nothing beyond converging", () => {
        const plan = planUpdate(inputs(), inputs({ deadlineSeconds: 60, verify: false, rootPassword: "new-root" }));
        assert.deepEqual([...plan.reconfigure], []);
        assert.deepEqual(plan.detach, []);
        assert.deepEqual(plan.dropAccounts, []);
    });
    test("the source moved (another alias or port): every replica is re-pointed", () => {
        for (const source of [{ ...endpoint("db001", 3306), internalHost: "db001-new" }, { ...endpoint("db001", 3306), internalPort: 3307 }]) {
            const plan = planUpdate(inputs(), inputs({ source }));
            assert.deepEqual([...plan.reconfigure].sort(), ["db002", "db003"]);
            assert.deepEqual(plan.detach, []);
            assert.deepEqual(plan.dropAccounts, []);
        }
    });
    test("a promotion (db002 becomes source, db001 a replica): all re-pointed, db001 is the previous source to fence", () => {
        const plan = planUpdate(inputs(), inputs({ source: endpoint("db002", 3307), replicas: [endpoint("db001", 3306), endpoint("db003", 3308)] }));
        assert.deepEqual([...plan.reconfigure].sort(), ["db001", "db003"]);
        // db002 is not detached up front: the switchover detaches it only once it has caught up with db001.
        assert.deepEqual(plan.detach, []);
        assert.equal(plan.previousSource?.name, "db001");
        assert.deepEqual(plan.dropAccounts, []);
    });
    test("a replica whose detach failed at the last run is detached again, unless it is back in the set", () => {
        const olds = { ...inputs({ replicas: [endpoint("db002", 3307)] }), notDetached: [endpoint("db003", 3308), endpoint("db004", 3309)] } as unknown as ReplicationInputs;
        assert.deepEqual(planUpdate(olds, inputs({ replicas: [endpoint("db002", 3307)] })).detach.map((e) => e.name), ["db003", "db004"]);
        // db003 back: not detached; db002 leaving now and db004 still pending: both.
        const plan = planUpdate(olds, inputs({ replicas: [endpoint("db003", 3308)] }));
        assert.deepEqual(plan.detach.map((e) => e.name), ["db002", "db004"]);
        // Only db004 left at an earlier run: a refusal of its never fails the run.
        assert.deepEqual(plan.pendingDetach, ["db004"]);
    });
    test("a replica whose detach failed is not tried where a declared member answers now (its address was reused)", () => {
        const olds = { ...inputs({ replicas: [endpoint("db002", 3307)] }), notDetached: [endpoint("db003", 3308)] } as unknown as ReplicationInputs;
        const plan = planUpdate(olds, inputs({ replicas: [endpoint("db002", 3307), endpoint("db004", 3308)] }));
        assert.deepEqual(plan.detach, []);
        assert.equal(plan.pendingDetach, undefined);
    });
    test("no source change: no previous source", () => {
        assert.equal(planUpdate(inputs(), inputs({ replicationPassword: "new-secret" })).previousSource, undefined);
    });
    test("the replication password changed: every replica is re-pointed with it", () => {
        const plan = planUpdate(inputs(), inputs({ replicationPassword: "new-secret" }));
        assert.deepEqual([...plan.reconfigure].sort(), ["db002", "db003"]);
        assert.deepEqual(plan.detach, []);
        assert.deepEqual(plan.dropAccounts, []);
    });
    test("tls or the retry interval changed: every replica is re-pointed", () => {
        assert.equal(planUpdate(inputs(), inputs({ tls: "on" })).reconfigure.size, 2);
        assert.equal(planUpdate(inputs(), inputs({ connectRetrySeconds: 30 })).reconfigure.size, 2);
    });
    test("a replica removed: it is detached, the others are left alone", () => {
        const plan = planUpdate(inputs(), inputs({ replicas: [endpoint("db002", 3307)] }));
        assert.deepEqual(plan.detach, [endpoint("db003", 3308)]);
        assert.deepEqual([...plan.reconfigure], []);
        assert.deepEqual(plan.dropAccounts, []);
    });
    test("a replica added: neither detach nor reconfigure (converge attaches it)", () => {
        const plan = planUpdate(inputs(), inputs({ replicas: [...inputs().replicas, endpoint("db004", 3309)] }));
        assert.deepEqual(plan.detach, []);
        assert.deepEqual([...plan.reconfigure], []);
        assert.deepEqual(plan.dropAccounts, []);
    });
    test("the replication user changed: the old account is dropped and every replica re-pointed", () => {
        const plan = planUpdate(inputs(), inputs({ replicationUser: "repl2" }));
        assert.deepEqual(plan.dropAccounts, [{ user: "repl", host: "172.18.0.0/255.255.0.0" }]);
        assert.deepEqual([...plan.reconfigure].sort(), ["db002", "db003"]);
    });
    test("the account host changed: the old account is dropped", () => {
        const plan = planUpdate(inputs(), inputs({ replicationUserHost: "%" }));
        assert.deepEqual(plan.dropAccounts, [{ user: "repl", host: "172.18.0.0/255.255.0.0" }]);
    });
    test("defect 5: the account changed together with the source: the old account is still dropped", () => {
        const plan = planUpdate(inputs(), inputs({ replicationUser: "repl2", source: endpoint("db002", 3307), replicas: [endpoint("db001", 3306), endpoint("db003", 3308)] }));
        assert.deepEqual(plan.dropAccounts, [{ user: "repl", host: "172.18.0.0/255.255.0.0" }]);
        assert.equal(plan.previousSource?.name, "db001");
    });
    test("an old replication account named like the root user is never dropped", () => {
        assert.deepEqual(planUpdate(inputs({ replicationUser: "root" }), inputs()).dropAccounts, []);
    });
});

describe("tls verify (issue #13)", () => {
    const certs = (revision: string, ca = "-----BEGIN CERTIFICATE-----\nCA1\n-----END CERTIFICATE-----\n") => ({
        ca,
        files: { ca: "/etc/mysql-replicaset-tls/ca.pem", clientCert: "/etc/mysql-replicaset-tls/client-cert.pem", clientKey: "/etc/mysql-replicaset-tls/client-key.pem" },
        revision,
    });
    test("verify is a mode; it needs the CA certificate and absolute paths, each named", () => {
        assert.deepEqual(failedProperties(news({ tls: "verify", tlsCertificates: certs("r1") })), []);
        assert.deepEqual(failedProperties(news({ tls: "verify" })), ["tlsCertificates.ca", "tlsCertificates.files.ca", "tlsCertificates.files.clientCert", "tlsCertificates.files.clientKey"]);
        assert.deepEqual(failedProperties(news({ tls: "verify", tlsCertificates: { ...certs("r1"), ca: "not a pem" } })), ["tlsCertificates.ca"]);
        assert.deepEqual(failedProperties(news({ tls: "verify", tlsCertificates: { ...certs("r1"), files: { ...certs("r1").files, clientKey: "client-key.pem" } } })), ["tlsCertificates.files.clientKey"]);
        assert.match(checkInputs(news({ tls: "strict" }))[0].reason, /verify, auto, on or off/);
    });
    test("an existing stack moving from auto to verify: every replica is re-pointed, no rotation (nothing was issued before)", () => {
        const plan = planUpdate(inputs({ tls: "auto" }), inputs({ tls: "verify", tlsCertificates: certs("r1") }));
        assert.deepEqual([...plan.reconfigure].sort(), ["db002", "db003"]);
        assert.deepEqual(plan.rotateTls, { previousCa: "" });
    });
    test("re-issued certificates (a new revision): members reload, the previous CA is trusted for the run, replicas re-pointed", () => {
        const newCa = "-----BEGIN CERTIFICATE-----\nCA2\n-----END CERTIFICATE-----\n";
        const plan = planUpdate(inputs({ tls: "verify", tlsCertificates: certs("r1") }), inputs({ tls: "verify", tlsCertificates: certs("r2", newCa) }));
        assert.deepEqual(plan.rotateTls, { previousCa: certs("r1").ca });
        assert.deepEqual([...plan.reconfigure].sort(), ["db002", "db003"]);
    });
    test("the same certificates: no reload, no re-point", () => {
        const plan = planUpdate(inputs({ tls: "verify", tlsCertificates: certs("r1") }), inputs({ tls: "verify", tlsCertificates: certs("r1") }));
        assert.equal(plan.rotateTls, undefined);
        assert.equal(plan.reconfigure.size, 0);
        assert.equal(diffInputs({ ...inputs({ tls: "verify", tlsCertificates: certs("r1") }), healthy: true }, inputs({ tls: "verify", tlsCertificates: certs("r1") })).changes, false);
    });
});

describe("issue 29: a former source left behind by a failover, no longer declared (fencePending)", () => {
    test("makes the same config a change until it is fenced, and is handed to the next run", () => {
        const olds = { ...inputs(), healthy: true, replicaStatus: {}, fenced: ["db009"], fencePending: [endpoint("db009", 3310)] } as unknown as ReplicationInputs;
        assert.equal(diffInputs(olds, inputs()).changes, true);
        assert.equal(diffInputs({ ...olds, fencePending: undefined } as unknown as ReplicationInputs, inputs()).changes, false);
        assert.deepEqual(planUpdate(olds, inputs()).fencePending?.map((e) => e.name), ["db009"]);
        assert.deepEqual(planUpdate(olds, inputs()).fenced, ["db009"]);
    });
});
