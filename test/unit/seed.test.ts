/**
 * Seeding (issue 18), the pure parts: the config keys (seedMethod, members[].reseed), the provider's input
 * check, and the verdicts of seedPlan.ts (who needs a seed, who is refused, MariaDB's purge arithmetic).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, validateConfig } from "../../config/validate";
import { RUNBOOK_MEMBERS } from "../../config/types";
import { checkInputs } from "../../components/replication/plan";
import { estimateSecondsLeft, judgeSeed, methodFor, mariaFurthest, mariaPurgedBeyond, withSeedRecords, type SeedFacts } from "../../components/replication/seedPlan";
import { replicaStatus } from "../support/stackOutputs";
import { columnLiteral, insertRows, rowTuple } from "../../components/replication/dialect";

function problemsOf(raw: Record<string, unknown>): ConfigError {
    try {
        validateConfig(raw);
    } catch (error) {
        assert.ok(error instanceof ConfigError);
        return error;
    }
    assert.fail(`expected a ConfigError for ${JSON.stringify(raw)}`);
}

describe("config: seedMethod and members[].reseed", () => {
    test("seedMethod defaults to auto and takes dump and none", () => {
        assert.equal(validateConfig({}).seedMethod, "auto");
        assert.equal(validateConfig({ seedMethod: "dump" }).seedMethod, "dump");
        assert.equal(validateConfig({ seedMethod: "none" }).seedMethod, "none");
    });
    test("an unknown seedMethod is refused naming the key, the value and the choices", () => {
        const error = problemsOf({ seedMethod: "xtrabackup" });
        const line = error.message.split("\n").find((l) => l.includes("seedMethod"));
        assert.ok(line, error.message);
        assert.match(line, /"xtrabackup"/);
        assert.match(line, /auto, clone, dump, none/);
    });
    test("reseed: true on a replica is kept; absent means no", () => {
        const members = RUNBOOK_MEMBERS.map((m) => (m.name === "db003" ? { ...m, reseed: true } : { ...m }));
        const settings = validateConfig({ members });
        assert.equal(settings.members.find((m) => m.name === "db003")?.reseed, true);
        assert.equal(settings.members.find((m) => m.name === "db002")?.reseed, undefined);
    });
    test("reseed must be a boolean, and only on a replica", () => {
        const notBool = problemsOf({ members: RUNBOOK_MEMBERS.map((m) => (m.name === "db002" ? { ...m, reseed: "yes" } : { ...m })) });
        assert.match(notBool.message, /members\[1\]\.reseed = "yes".*true or false/);
        const onSource = problemsOf({ members: RUNBOOK_MEMBERS.map((m) => (m.role === "source" ? { ...m, reseed: true } : { ...m })) });
        assert.match(onSource.message, /members\[0\]\.reseed = true.*only a replica/);
    });
    test("the provider's check refuses a bad seedMethod or reseed", () => {
        const failures = checkInputs({ seedMethod: "clone-ish", reseed: "db002" });
        assert.ok(failures.some((f) => f.property === "seedMethod"), JSON.stringify(failures));
        assert.ok(failures.some((f) => f.property === "reseed"), JSON.stringify(failures));
    });
});

const facts = (overrides: Partial<SeedFacts> = {}): SeedFacts => ({
    replica: "db003",
    source: "db001",
    missing: "0-100-6",
    userSchemas: [],
    unfinishedSeed: false,
    reseed: false,
    method: "auto",
    ...overrides,
});

describe("judgeSeed", () => {
    test("nothing purged that the replica lacks: attach as usual", () => {
        assert.deepEqual(judgeSeed(facts({ missing: "" })), { action: "attach" });
        assert.deepEqual(judgeSeed(facts({ missing: "", userSchemas: ["app"] })), { action: "attach" });
    });
    test("purged and empty: seeded by dump under auto and dump", () => {
        for (const method of ["auto", "dump"] as const) {
            const verdict = judgeSeed(facts({ method }));
            assert.equal(verdict.action, "seed");
            assert.equal(verdict.action === "seed" && verdict.method, "dump");
        }
    });
    test("purged, with schemas of its own: refused naming the schemas and members[].reseed; accepted with reseed", () => {
        const verdict = judgeSeed(facts({ userSchemas: ["mine", "other"] }));
        assert.equal(verdict.action, "refuse");
        assert.match(verdict.action === "refuse" ? verdict.reason : "", /db003: .*mine, other.*reseed: true on member db003/);
        assert.equal(judgeSeed(facts({ userSchemas: ["mine"], reseed: true })).action, "seed");
    });
    test("seedMethod none: a replica that needs a seed is refused naming the key", () => {
        const verdict = judgeSeed(facts({ method: "none" }));
        assert.equal(verdict.action, "refuse");
        assert.match(verdict.action === "refuse" ? verdict.reason : "", /seedMethod is none.*auto, clone or dump/);
    });
    test("an unfinished seed is copied again without reseed: the schemas there are the provider's partial copy", () => {
        assert.equal(judgeSeed(facts({ unfinishedSeed: true, userSchemas: ["app1"], missing: "" })).action, "seed");
    });
    test("purged, with accounts of its own that differ from the source's: refused naming them and members[].reseed; replaced with reseed", () => {
        const verdict = judgeSeed(facts({ ownAccounts: ["app@%"] }));
        assert.equal(verdict.action, "refuse");
        assert.match(verdict.action === "refuse" ? verdict.reason : "", /db003: .*accounts of its own .*\(app@%\).*Nothing was changed.*reseed: true on member db003/);
        const both = judgeSeed(facts({ ownAccounts: ["app@%"], userSchemas: ["mine"] }));
        assert.match(both.action === "refuse" ? both.reason : "", /schemas of its own \(mine\) and accounts of its own .*\(app@%\)/);
        assert.equal(judgeSeed(facts({ ownAccounts: ["app@%"], reseed: true })).action, "seed");
        assert.equal(judgeSeed(facts({ ownAccounts: ["app@%"], missing: "" })).action, "attach", "nothing to seed: nothing replaced");
    });
    test("grants on tables or columns gone on the source: refused with each REVOKE, reseed or not, unfinished or not", () => {
        const revoke = "REVOKE SELECT ON `app`.`t` FROM 'app'@'%'";
        for (const f of [facts({ danglingGrants: [revoke] }), facts({ danglingGrants: [revoke], reseed: true }), facts({ danglingGrants: [revoke], unfinishedSeed: true, missing: "" })]) {
            const verdict = judgeSeed(f);
            assert.equal(verdict.action, "refuse", JSON.stringify(f));
            assert.ok(verdict.action === "refuse" && verdict.reason.includes(`then run again: ${revoke};`), JSON.stringify(verdict));
            assert.match(verdict.action === "refuse" ? verdict.reason : "", /^db003: .*Nothing was changed/);
        }
        const both = judgeSeed(facts({ danglingGrants: [revoke], ownAccounts: ["app@%"] }));
        assert.equal(both.action === "refuse" && both.reason.split("\n").length, 2, "both reasons given at once");
        assert.equal(judgeSeed(facts({ danglingGrants: [revoke], missing: "" })).action, "attach");
    });
});

describe("MariaDB purge arithmetic", () => {
    test("a replica behind the oldest binlog's GTID list in a domain is missing it", () => {
        assert.equal(mariaPurgedBeyond("", "0-100-6"), "0-100-6");
        assert.equal(mariaPurgedBeyond("0-100-5", "0-100-6"), "0-100-6");
        assert.equal(mariaPurgedBeyond("0-100-6", "0-100-6"), "");
        assert.equal(mariaPurgedBeyond("0-200-9", "0-100-6"), "", "sequences grow within a domain whatever the server");
        assert.equal(mariaPurgedBeyond("0-100-9", "0-100-6,1-100-3"), "1-100-3", "a domain the replica never saw");
        assert.equal(mariaPurgedBeyond("0-100-9", ""), "", "nothing purged");
    });
    test("the furthest position per domain", () => {
        assert.equal(mariaFurthest("0-100-5", "0-200-7,1-100-2", ""), "0-200-7,1-100-2");
        assert.equal(mariaFurthest("", ""), "");
    });
});

describe("progress and records", () => {
    test("an estimate of the time left from the pace so far", () => {
        assert.equal(estimateSecondsLeft(0, 100, 1000), undefined);
        assert.equal(estimateSecondsLeft(50, 100, 2000), 2);
        assert.equal(estimateSecondsLeft(100, 100, 2000), 0);
    });
    test("seed records fill seededBy and seededAt of the seeded replicas only", () => {
        const statuses = withSeedRecords({ db002: replicaStatus(), db003: replicaStatus() }, { db003: { by: "dump", at: "2026-11-28T18:00:00.000Z" } });
        assert.equal(statuses.db002.seededBy, "");
        assert.equal(statuses.db003.seededBy, "dump");
        assert.equal(statuses.db003.seededAt, "2026-11-28T18:00:00.000Z");
    });
});

describe("seeding by clone: config, method, verdicts", () => {
    test("seedMethod clone is taken on MySQL 8.0.17+ and refused, naming the key, on MariaDB and older MySQL", () => {
        assert.equal(validateConfig({ image: "mysql:9.7", seedMethod: "clone" }).seedMethod, "clone");
        assert.equal(validateConfig({ image: "mysql:8.0.17", seedMethod: "clone" }).seedMethod, "clone");
        for (const image of ["mariadb:11.8", "mysql:8.0.16", "percona:5.7.30"]) {
            const error = problemsOf({ image, seedMethod: "clone" });
            const line = error.message.split("\n").find((l) => l.includes("seedMethod"));
            assert.ok(line, `${image}: ${error.message}`);
            assert.match(line, /seedMethod = "clone".*clone plugin is MySQL's, from 8\.0\.17.*use auto or dump/, image);
        }
        assert.match(problemsOf({ image: "mariadb:11.8", seedMethod: "clone" }).message, /MariaDB has none/);
    });
    test("seedMethod clone needs a restart policy that starts a cleanly stopped container again (unless-stopped, always)", () => {
        for (const restartPolicy of ["no", "on-failure"]) {
            assert.match(problemsOf({ image: "mysql:9.7", seedMethod: "clone", restartPolicy }).message, /seedMethod = "clone".*restartPolicy unless-stopped or always/, restartPolicy);
        }
        for (const restartPolicy of ["unless-stopped", "always"]) assert.equal(validateConfig({ image: "mysql:9.7", seedMethod: "clone", restartPolicy }).seedMethod, "clone");
    });
    test("auto clones where both ends have the clone plugin, and copies elsewhere; dump always copies", () => {
        const cloned = judgeSeed(facts({ cloneCapable: true }));
        assert.equal(cloned.action === "seed" && cloned.method, "clone");
        assert.equal(methodFor("auto", true), "clone");
        assert.equal(methodFor("auto", false), "dump");
        assert.equal(methodFor("dump", true), "dump");
        assert.equal(methodFor("clone", true), "clone");
        assert.equal(methodFor("none", true), undefined);
    });
    test("seedMethod clone without the plugin (MariaDB, MySQL 5.7) is refused naming the key, before anything is written", () => {
        const verdict = judgeSeed(facts({ method: "clone", cloneCapable: false }));
        assert.equal(verdict.action, "refuse");
        assert.match(verdict.action === "refuse" ? verdict.reason : "", /db003: seedMethod is clone, but the clone plugin needs MySQL 8\.0\.17.*Set seedMethod to auto or dump\. Nothing was changed/);
        // Nothing to seed: the method does not matter.
        assert.deepEqual(judgeSeed(facts({ method: "clone", cloneCapable: false, missing: "" })), { action: "attach" });
    });
    test("a clone replaces the replica's data: own schemas are refused naming members[].reseed as for a copy", () => {
        const verdict = judgeSeed(facts({ method: "clone", cloneCapable: true, userSchemas: ["mine"] }));
        assert.match(verdict.action === "refuse" ? verdict.reason : "", /schemas of its own \(mine\).*reseed: true on member db003/);
    });
    test("the copy reads values as the literals the source computes: QUOTE, bytes as X'hex', BIT as its number", () => {
        assert.equal(columnLiteral({ name: "n`ame", type: "varchar" }), "QUOTE(`n``ame`)");
        assert.equal(columnLiteral({ name: "body", type: "VARBINARY" }), "IF(`body` IS NULL, 'NULL', CONCAT('X''', HEX(`body`), ''''))");
        assert.equal(columnLiteral({ name: "flag", type: "bit" }), "IFNULL(`flag` + 0, 'NULL')");
        // FLOAT widened to DOUBLE (its own text has 6 digits), text of other character sets as its bytes with an introducer.
        assert.equal(columnLiteral({ name: "f", type: "float" }), "QUOTE(`f` + 0e0)");
        assert.equal(columnLiteral({ name: "n", type: "bigint" }), "IFNULL(`n`, 'NULL')");
        assert.equal(columnLiteral({ name: "m", type: "decimal" }), "IFNULL(`m`, 'NULL')");
        assert.equal(columnLiteral({ name: "d", type: "double" }), "QUOTE(`d`)");
        assert.equal(columnLiteral({ name: "y", type: "year" }), "QUOTE(`y`)");
        assert.equal(columnLiteral({ name: "s", type: "varchar", charset: "sjis" }), "IF(`s` IS NULL, 'NULL', CONCAT('_sjis X''', HEX(`s`), ''''))");
        assert.equal(columnLiteral({ name: "s", type: "text", charset: "utf8mb4" }), "QUOTE(`s`)");
        assert.equal(columnLiteral({ name: "e", type: "enum", charset: "latin1" }), "QUOTE(`e`)");
        assert.ok(columnLiteral({ name: "g", type: "point" }).startsWith("IF(`g` IS NULL"));
        assert.equal(insertRows("a", "t", ["x", "y"], [rowTuple(["'1'", "NULL"]), rowTuple(["'2'", "X'00'"])]), "INSERT INTO `a`.`t` (`x`, `y`) VALUES ('1',NULL),('2',X'00')");
    });
});
