/**
 * config/imageRef.ts: Docker image references (grammar of github.com/distribution/reference) and what they
 * say about the server inside: flavor from the repository, version from the tag.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
    flavorFromRepository,
    formatVersion,
    parseImageReference,
    parseVersion,
    versionAtLeast,
    versionFromTag,
} from "../../config/imageRef";

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

/** What the project reads from a reference: flavor and version, as validate.ts combines them. */
function serverOf(reference: string) {
    const parsed = parseImageReference(reference);
    assert.ok(parsed, `${reference} should parse`);
    return { flavor: flavorFromRepository(parsed.repository), version: versionFromTag(parsed.tag) };
}

describe("parseImageReference", () => {
    test("registry with a port, nested path, tag", () => {
        assert.deepEqual(parseImageReference("registry.example.com:5000/team/db/mysql:8.0.36"), {
            registry: "registry.example.com:5000",
            repository: "team/db/mysql",
            tag: "8.0.36",
            digest: undefined,
        });
    });
    test("localhost is a registry, with or without a port", () => {
        assert.equal(parseImageReference("localhost:5000/mysql:8.4")?.registry, "localhost:5000");
        assert.equal(parseImageReference("localhost/mysql:8.4")?.registry, "localhost");
        assert.equal(parseImageReference("localhost/mysql:8.4")?.repository, "mysql");
    });
    test("a first component without '.' or ':' is a path, not a registry (library/mysql, percona/percona-server)", () => {
        assert.deepEqual(parseImageReference("library/mysql:8.4"), { registry: undefined, repository: "library/mysql", tag: "8.4", digest: undefined });
        assert.deepEqual(parseImageReference("percona/percona-server:8.0.36-28"), {
            registry: undefined,
            repository: "percona/percona-server",
            tag: "8.0.36-28",
            digest: undefined,
        });
    });
    test("docker.io/library/mysql keeps docker.io as the registry", () => {
        const r = parseImageReference("docker.io/library/mysql:8.0");
        assert.equal(r?.registry, "docker.io");
        assert.equal(r?.repository, "library/mysql");
    });
    test("a digest alone, and a tag with a digest", () => {
        assert.deepEqual(parseImageReference(`mysql@${DIGEST}`), { registry: undefined, repository: "mysql", tag: undefined, digest: DIGEST });
        assert.deepEqual(parseImageReference(`mysql:8.0.36@${DIGEST}`), { registry: undefined, repository: "mysql", tag: "8.0.36", digest: DIGEST });
    });
    test("malformed references are refused", () => {
        for (const bad of [
            "MySQL:8.0", // repositories are lowercase
            "Team/mysql:8.0", // so is every path component, also the first
            "mysql:",
            ":8.0",
            "mysql::8.0",
            "mysql:8.0 ",
            " mysql:8.0",
            "mysql:-8.0", // a tag starts with a word character
            `mysql:${"a".repeat(129)}`, // a tag has at most 128 characters
            "mysql@sha256:abc", // a sha256 digest has 64 hex digits
            `mysql@sha256:${"A".repeat(64)}`, // lowercase hex
            "my--sql_/x:8.0",
            "",
        ]) {
            assert.equal(parseImageReference(bad), undefined, `${JSON.stringify(bad)} should be refused`);
        }
    });
    test("a 128-character tag is accepted", () => {
        assert.equal(parseImageReference(`mysql:8${"a".repeat(127)}`)?.tag?.length, 128);
    });
});

describe("flavor and version from the reference", () => {
    test("percona:5.7.30 (the runbook) is Percona 5.7.30", () => {
        assert.deepEqual(serverOf("percona:5.7.30"), { flavor: "percona", version: { major: 5, minor: 7, patch: 30 } });
    });
    test("percona/percona-server:8.0.36-28 is Percona 8.0.36 (the -28 build suffix is not the patch)", () => {
        assert.deepEqual(serverOf("percona/percona-server:8.0.36-28"), { flavor: "percona", version: { major: 8, minor: 0, patch: 36 } });
    });
    test("mysql:8.4 is MySQL 8.4, floating to the newest patch", () => {
        const { flavor, version } = serverOf("mysql:8.4");
        assert.equal(flavor, "mysql");
        assert.deepEqual(version, { major: 8, minor: 4, patch: Infinity });
    });
    test("mariadb:11.4 is MariaDB 11.4", () => {
        assert.deepEqual(serverOf("mariadb:11.4"), { flavor: "mariadb", version: { major: 11, minor: 4, patch: Infinity } });
    });
    test("mysql/mysql-server:5.7 is MySQL 5.7", () => {
        assert.deepEqual(serverOf("mysql/mysql-server:5.7"), { flavor: "mysql", version: { major: 5, minor: 7, patch: Infinity } });
    });
    test("variant suffixes after the version are ignored (8.4-oracle, 8.0.36-debian, 10.11.6-jammy)", () => {
        assert.deepEqual(serverOf("mysql:8.4-oracle").version, { major: 8, minor: 4, patch: Infinity });
        assert.deepEqual(serverOf("mysql:8.0.36-debian").version, { major: 8, minor: 0, patch: 36 });
        assert.deepEqual(serverOf("mariadb:10.11.6-jammy").version, { major: 10, minor: 11, patch: 6 });
    });
    test("a registry, library path or digest does not change what the name says", () => {
        assert.deepEqual(serverOf(`registry.example.com:5000/library/mariadb:10.11@${DIGEST}`), {
            flavor: "mariadb",
            version: { major: 10, minor: 11, patch: Infinity },
        });
        assert.equal(serverOf("bitnami/mysql:8.0.36").flavor, "mysql");
    });
    test("tags that say no version give no version", () => {
        for (const tag of ["latest", "lts", "8", "11", "oracle", "ps-8.0", "8.0.36.1", "v8.0"]) {
            assert.equal(versionFromTag(tag), undefined, `tag ${tag}`);
        }
        assert.equal(versionFromTag(undefined), undefined);
        assert.equal(serverOf(`mysql@${DIGEST}`).version, undefined);
    });
    test("repositories that say no flavor give no flavor", () => {
        for (const repository of ["postgres", "team/database", "mariadb/server", "mysql/community-server"]) {
            assert.equal(flavorFromRepository(repository), undefined, repository);
        }
    });
});

describe("versions", () => {
    test("parseVersion reads MAJOR.MINOR[.PATCH] and nothing else", () => {
        assert.deepEqual(parseVersion("8.0.36"), { major: 8, minor: 0, patch: 36 });
        assert.deepEqual(parseVersion(" 8.0 "), { major: 8, minor: 0, patch: Infinity });
        for (const bad of ["8", "8.0.36-28", "v8.0", "8.x", ""]) assert.equal(parseVersion(bad), undefined, bad);
    });
    test("versionAtLeast compares major, then minor, then patch", () => {
        const v = (major: number, minor: number, patch: number) => ({ major, minor, patch });
        assert.equal(versionAtLeast(v(8, 0, 25), 8, 0, 26), false);
        assert.equal(versionAtLeast(v(8, 0, 26), 8, 0, 26), true);
        assert.equal(versionAtLeast(v(8, 0, Infinity), 8, 0, 26), true);
        assert.equal(versionAtLeast(v(5, 7, 44), 8, 0, 0), false);
        assert.equal(versionAtLeast(v(9, 0, 0), 8, 4, 0), true);
        assert.equal(versionAtLeast(v(8, 1, 0), 8, 0, 99), true);
    });
    test("formatVersion writes floating versions without a patch", () => {
        assert.equal(formatVersion({ major: 5, minor: 7, patch: 30 }), "5.7.30");
        assert.equal(formatVersion({ major: 11, minor: 4, patch: Infinity }), "11.4");
    });
});
