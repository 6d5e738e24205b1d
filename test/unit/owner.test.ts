/**
 * components/replication/owner.ts: which resource owns the set, and what a replaced resource's delete leaves alone.
 * The engine's rule it answers (pulumi/pulumi pkg/resource/deploy/step_generator.go, ~L2030-2165 and ~L2405-2425):
 * a replacement without deleteBeforeReplace creates the new resource first and deletes the old one after.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { claimStatements, otherOwner } from "../../components/replication/owner";
import { stateOf } from "../../components/replication/report";
import type { ReplicationInputs } from "../../components/replication/types";

describe("issue 29: owner claims", () => {
    test("a claim names exactly the declared members, escaped, and drops everyone else's rows", () => {
        const [, , drop, claim] = claimStatements("db001-replicaset-0a1b2c3d", ["db001", "db'002"]);
        assert.equal(drop, "DELETE FROM `replicaset_probe`.`owner` WHERE member NOT IN ('db001', 'db\\'002')");
        assert.equal(claim, "REPLACE INTO `replicaset_probe`.`owner` (member, owner) VALUES ('db001', 'db001-replicaset-0a1b2c3d'), ('db\\'002', 'db001-replicaset-0a1b2c3d')");
    });

    test("a delete leaves a member another resource claims anywhere, and detaches one claimed by itself or by nobody", () => {
        const onReplica = new Map([["db002", "new"]]);
        const onSource = new Map([["db002", "old"], ["db003", "new"]]);
        assert.equal(otherOwner("db002", "old", [onReplica, onSource]), "new");
        assert.equal(otherOwner("db003", "old", [new Map(), onSource]), "new");
        assert.equal(otherOwner("db002", "new", [onReplica, new Map([["db002", "new"]])]), undefined);
        assert.equal(otherOwner("db004", "old", [onReplica, onSource]), undefined, "a member nobody claims is detached, as before claims existed");
    });
});

describe("issue 29: a former source not fenced yet keeps the set unhealthy", () => {
    test("stateOf", () => {
        const source = { member: "db002", endpoint: "127.0.0.1:3307", serverVersion: "", flavor: "mysql", dialect: "mysql-8", readOnly: false } as const;
        const inputs = { source: { name: "db002" }, replicas: [] } as unknown as ReplicationInputs;
        const pending = [{ name: "db001", host: "127.0.0.1", port: 3306, internalHost: "db001", internalPort: 3306 }];
        assert.equal(stateOf(inputs, source, {}, false, ["db001"], pending).healthy, false);
        assert.deepEqual(stateOf(inputs, source, {}, false, ["db001"], pending).fencePending, pending);
        assert.equal(stateOf(inputs, source, {}, false, [], []).healthy, true);
        assert.equal(stateOf(inputs, source, {}, false, [], []).fencePending, undefined);
    });
});
