/**
 * components/replication/gtid.ts: where a replica's extra (errant) GTIDs come from, and whether resetting
 * them is safe. MySQL GTIDs are `uuid:interval[:interval]` (8.3+ may add tags: `uuid:tag:interval`),
 * https://dev.mysql.com/doc/refman/8.4/en/replication-gtids-concepts.html ; MariaDB GTIDs are
 * `domain-server-seq`, one per (domain, server) in gtid_binlog_state, https://mariadb.com/kb/en/gtid/
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
    formatMariaGtids,
    mergeMariaStates,
    mariaSharedPosition,
    judgeHistory,
    mariaErrantGtids,
    mysqlGtidOrigins,
    parseMariaGtids,
    type ReplicaHistory,
} from "../../components/replication/gtid";

const SOURCE = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const REPLICA = "9b2f4e10-5a1c-11ef-8a3e-0242ac120003";
const OTHER = "c8ee89a9-0000-11ef-8a3e-0242ac120009";

describe("mysqlGtidOrigins", () => {
    test("one origin per uuid set, lowercased, across wrapped lines", () => {
        assert.deepEqual(mysqlGtidOrigins(`${SOURCE}:1-5,\n${REPLICA.toUpperCase()}:1-3:7-9`), [SOURCE, REPLICA]);
    });
    test("tagged GTIDs (uuid:tag:1-5) name their uuid, not the tag", () => {
        assert.deepEqual(mysqlGtidOrigins(`${REPLICA}:init:1-5`), [REPLICA]);
        assert.deepEqual(mysqlGtidOrigins(`${SOURCE}:1-5:audit:1-2,${REPLICA}:tz:1-4`), [SOURCE, REPLICA]);
    });
    test("an empty set has no origins", () => {
        assert.deepEqual(mysqlGtidOrigins(""), []);
        assert.deepEqual(mysqlGtidOrigins(" \n"), []);
    });
});

describe("parseMariaGtids / formatMariaGtids", () => {
    test("domain-server-seq lists, with or without whitespace", () => {
        assert.deepEqual(parseMariaGtids("0-100-42,\n1-200-7"), [
            { domain: 0, server: 100, sequence: 42 },
            { domain: 1, server: 200, sequence: 7 },
        ]);
        assert.equal(formatMariaGtids(parseMariaGtids("0-100-42, 1-200-7")), "0-100-42,1-200-7");
    });
    test("an empty list is empty", () => {
        assert.deepEqual(parseMariaGtids(""), []);
        assert.equal(formatMariaGtids([]), "");
    });
    test("a MySQL GTID or garbage is refused by name", () => {
        assert.throws(() => parseMariaGtids(`${SOURCE}:1-5`), /Not a MariaDB GTID/);
        assert.throws(() => parseMariaGtids("0-100"), /Not a MariaDB GTID: "0-100"/);
    });
});

describe("mariaErrantGtids(replica gtid_binlog_state, source gtid_binlog_state)", () => {
    test("a replica behind the source has nothing errant", () => {
        assert.deepEqual(mariaErrantGtids("0-100-5", "0-100-9"), []);
    });
    test("a replica level with the source has nothing errant", () => {
        assert.deepEqual(mariaErrantGtids("0-100-9,0-200-3", "0-100-9,0-200-3"), []);
    });
    test("a replica ahead of the source on the source's own server id is errant", () => {
        assert.deepEqual(mariaErrantGtids("0-100-12", "0-100-9"), [{ domain: 0, server: 100, sequence: 12 }]);
    });
    test("the replica's own writes (its server id, unknown to the source) are errant", () => {
        assert.deepEqual(mariaErrantGtids("0-100-9,0-200-3", "0-100-9"), [{ domain: 0, server: 200, sequence: 3 }]);
    });
    test("a foreign server's writes the source lacks are errant", () => {
        assert.deepEqual(mariaErrantGtids("0-300-1", "0-100-9"), [{ domain: 0, server: 300, sequence: 1 }]);
    });
    test("the same server in another domain is a different stream", () => {
        assert.deepEqual(mariaErrantGtids("1-100-5", "0-100-9"), [{ domain: 1, server: 100, sequence: 5 }]);
        assert.deepEqual(mariaErrantGtids("1-100-5", "0-100-9,1-100-5"), []);
    });
    test("a fresh replica with an empty state has nothing errant", () => {
        assert.deepEqual(mariaErrantGtids("", "0-100-9"), []);
    });
});

describe("judgeHistory", () => {
    const clean: ReplicaHistory = { errant: "", errantOrigins: [], ownOrigin: REPLICA, userSchemas: [], shared: "" };

    test("no errant GTIDs: keep", () => {
        assert.deepEqual(judgeHistory(clean), { action: "keep" });
        // Schemas alone do not matter when nothing is errant (they came from the source).
        assert.deepEqual(judgeHistory({ ...clean, userSchemas: ["app"] }), { action: "keep" });
    });
    test("only the replica's own initialisation: reset", () => {
        const errant = `${REPLICA}:1-5`;
        assert.deepEqual(judgeHistory({ ...clean, errant, errantOrigins: mysqlGtidOrigins(errant) }), { action: "reset", errant, keep: "" });
    });
    test("a reset keeps what the replica already applied from the source", () => {
        const errant = `${REPLICA}:1-5`;
        const shared = `${SOURCE}:1-40`;
        const verdict = judgeHistory({ ...clean, errant, errantOrigins: mysqlGtidOrigins(errant), shared });
        assert.deepEqual(verdict, { action: "reset", errant, keep: shared });
    });
    test("MariaDB: only the replica's own server id: reset", () => {
        const errant = mariaErrantGtids("0-100-9,0-200-3", "0-100-9");
        const verdict = judgeHistory({
            errant: formatMariaGtids(errant),
            errantOrigins: errant.map((g) => String(g.server)),
            ownOrigin: "200",
            userSchemas: [],
            shared: "",
        });
        assert.deepEqual(verdict, { action: "reset", errant: "0-200-3", keep: "" });
    });
    test("transactions from another server: refuse, naming the origin and listing the GTIDs", () => {
        const errant = `${REPLICA}:1-5,${OTHER}:1-2`;
        const verdict = judgeHistory({ ...clean, errant, errantOrigins: mysqlGtidOrigins(errant) });
        assert.equal(verdict.action, "refuse");
        assert.ok(verdict.action === "refuse");
        assert.equal(verdict.errant, errant);
        assert.match(verdict.reason, new RegExp(`other servers \\(${OTHER}\\)`));
    });
    test("the source's own uuid beyond the source's set (replica ahead): refuse", () => {
        const errant = `${SOURCE}:10-12`;
        const verdict = judgeHistory({ ...clean, errant, errantOrigins: mysqlGtidOrigins(errant) });
        assert.equal(verdict.action, "refuse");
        assert.ok(verdict.action === "refuse" && verdict.reason.includes(SOURCE));
    });
    test("a foreign origin is named once however often it appears", () => {
        const verdict = judgeHistory({ ...clean, errant: "x", errantOrigins: [OTHER, OTHER, REPLICA] });
        assert.ok(verdict.action === "refuse");
        assert.equal(verdict.reason.split(OTHER).length - 1, 1);
    });
    test("own GTIDs plus user schemas: refuse (someone wrote to the replica)", () => {
        const errant = `${REPLICA}:1-9`;
        const verdict = judgeHistory({ ...clean, errant, errantOrigins: [REPLICA], userSchemas: ["app", "crm"] });
        assert.equal(verdict.action, "refuse");
        assert.ok(verdict.action === "refuse" && /user schemas \(app, crm\)/.test(verdict.reason));
    });
});

describe("MariaDB positions for a switchover and a reset", () => {
    test("mergeMariaStates keeps the highest sequence per domain and server", () => {
        assert.equal(mergeMariaStates(["0-100-5,0-200-3", "0-100-7,1-300-2", ""]), "0-100-7,0-200-3,1-300-2");
    });
    test("defect 6: the shared position skips the replica's own errant GTIDs, per domain", () => {
        // A former source (server 100) reset as a replica of 200: its own 0-100-12 reached 200 (200 holds 0-100-12),
        // its later 0-100-13 did not.
        assert.equal(mariaSharedPosition("0-100-13,0-200-11", "0-100-12,0-200-11"), "0-200-11");
        // Nothing errant: the highest GTID per domain.
        assert.equal(mariaSharedPosition("0-100-12,0-200-11,1-100-4", "0-100-12,0-200-11,1-100-4"), "0-100-12,1-100-4");
        // Only errant GTIDs: nothing to keep.
        assert.equal(mariaSharedPosition("0-300-2", "0-100-12"), "");
        assert.equal(mariaSharedPosition("", "0-100-12"), "");
    });
});
