/**
 * components/serverFlags.ts: the mysqld flags per flavor and version, the healthcheck, and the image facts
 * the component needs; components/network.ts: account-host netmasks and dial addresses.
 *
 * A flag the server does not know stops it from starting, so each name is pinned to the reference manual:
 * - MySQL 5.7/8.0 binary log options (log-bin, binlog-format, log-slave-updates / log-replica-updates):
 *   https://dev.mysql.com/doc/refman/8.0/en/replication-options-binary-log.html
 * - gtid-mode / enforce-gtid-consistency: https://dev.mysql.com/doc/refman/8.0/en/replication-options-gtids.html
 * - report-host, read-only, server-id: https://dev.mysql.com/doc/refman/8.0/en/replication-options-replica.html
 * - MariaDB --log-slave-updates[={OFF|ON}] and --gtid-strict-mode[={OFF|ON}]:
 *   https://mariadb.com/docs/server/ref/mdb/cli/mariadbd/log-slave-updates ,
 *   https://mariadb.com/docs/server/ref/mdb/system-variables/gtid_strict_mode
 * Checked live on mariadbd 10.11.19 (`mariadbd --verbose --help` with the flags, as the image entrypoints do):
 * the MariaDB flags below pass; --gtid-mode, --enforce-gtid-consistency, --super-read-only and
 * --log-replica-updates each abort with "unknown variable".
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
    configIncludeDir,
    DATA_DIR,
    healthcheckTest,
    LOG_DIR,
    logReplicaUpdatesName,
    rootPasswordVariable,
    serverFlags,
    SERVER_PORT,
} from "../../components/serverFlags";
import { cidrToAccountHost, dialAddress } from "../../components/network";
import type { Flavor, MemberSettings, ServerVersion } from "../../config/types";

const SOURCE: MemberSettings = { name: "db001", role: "source", serverId: 100, hostPort: 3306 };
const REPLICA: MemberSettings = { name: "db002", role: "replica", serverId: 200, hostPort: 3307 };

function v(text: string): ServerVersion {
    const [major, minor, patch] = text.split(".").map(Number);
    return { major, minor, patch: patch ?? Infinity };
}

/** The flags as name → value; fails on anything not of the form --name=value or on a repeated name. */
function flagMap(flavor: Flavor, version: string, member: MemberSettings): Map<string, string> {
    const map = new Map<string, string>();
    for (const flag of serverFlags(flavor, v(version), member)) {
        const match = /^--([a-z][a-z-]*)=(\S+)$/.exec(flag);
        assert.ok(match, `flag ${JSON.stringify(flag)} is not --name=value`);
        assert.ok(!map.has(match[1]), `flag ${match[1]} given twice`);
        map.set(match[1], match[2]);
    }
    return map;
}

describe("serverFlags: MySQL and Percona", () => {
    test("percona 5.7.30 source (the runbook): binlog, ROW, log-slave-updates, GTIDs on, report-host, read-only", () => {
        assert.deepEqual(
            Object.fromEntries(flagMap("percona", "5.7.30", SOURCE)),
            {
                "server-id": "100",
                "log-bin": "mysql-bin",
                "binlog-format": "ROW",
                "log-slave-updates": "ON",
                "report-host": "db001",
                "event-scheduler": "ON",
                "gtid-mode": "ON",
                "enforce-gtid-consistency": "ON",
                "read-only": "ON",
            },
        );
    });
    test("percona 5.7.30 replica: the same, report-host and server-id its own", () => {
        const flags = flagMap("percona", "5.7.30", REPLICA);
        assert.equal(flags.get("read-only"), "ON");
        assert.equal(flags.get("report-host"), "db002");
        assert.equal(flags.get("server-id"), "200");
    });
    // log_slave_updates → log_replica_updates from MySQL 8.0.26 (8.0.26 release notes; the 8.0 manual's
    // binary-log options page: https://dev.mysql.com/doc/refman/8.0/en/replication-options-binary-log.html#sysvar_log_replica_updates).
    test("mysql 8.0.25 still says log-slave-updates; 8.0.26 says log-replica-updates", () => {
        assert.equal(flagMap("mysql", "8.0.25", REPLICA).get("log-slave-updates"), "ON");
        assert.equal(flagMap("mysql", "8.0.25", REPLICA).has("log-replica-updates"), false);
        assert.equal(flagMap("mysql", "8.0.26", REPLICA).get("log-replica-updates"), "ON");
        assert.equal(flagMap("mysql", "8.0.26", REPLICA).has("log-slave-updates"), false);
    });
    test("a floating 8.0 tag (newest patch) gets the new name, as do 8.4, 9.x and percona 8.0.36", () => {
        assert.equal(logReplicaUpdatesName("mysql", v("8.0")), "log-replica-updates");
        assert.equal(logReplicaUpdatesName("mysql", v("8.4")), "log-replica-updates");
        assert.equal(logReplicaUpdatesName("mysql", v("9.1.0")), "log-replica-updates");
        assert.equal(logReplicaUpdatesName("percona", v("8.0.36")), "log-replica-updates");
        assert.equal(logReplicaUpdatesName("mysql", v("5.7")), "log-slave-updates");
    });
    test("mysql 8.4: GTID flags, log-replica-updates, no removed names", () => {
        const flags = flagMap("mysql", "8.4.3", REPLICA);
        assert.equal(flags.get("gtid-mode"), "ON");
        assert.equal(flags.get("enforce-gtid-consistency"), "ON");
        assert.equal(flags.get("log-replica-updates"), "ON");
        assert.equal(flags.get("read-only"), "ON");
        assert.ok(![...flags.keys()].some((name) => /slave|master/.test(name)), [...flags.keys()].join(" "));
    });
});

describe("serverFlags: MariaDB", () => {
    for (const version of ["10.6", "10.11.6", "11.4"]) {
        test(`mariadb ${version}: no gtid-mode/enforce-gtid-consistency, gtid-strict-mode instead, log-slave-updates`, () => {
            const flags = flagMap("mariadb", version, REPLICA);
            assert.equal(flags.has("gtid-mode"), false);
            assert.equal(flags.has("enforce-gtid-consistency"), false);
            assert.equal(flags.get("gtid-strict-mode"), "ON");
            // MariaDB kept log_slave_updates: its version numbers are above 8.0.26, its names are not MySQL's.
            assert.equal(flags.get("log-slave-updates"), "ON");
            assert.equal(flags.has("log-replica-updates"), false);
            assert.equal(flags.get("log-bin"), "mysql-bin");
            assert.equal(flags.get("binlog-format"), "ROW");
            assert.equal(flags.get("report-host"), "db002");
            assert.equal(flags.get("read-only"), "ON");
        });
    }
});

describe("serverFlags: read-only, whatever the role", () => {
    const cases: Array<[Flavor, string]> = [
        ["percona", "5.7.30"],
        ["mysql", "8.0.36"],
        ["mysql", "8.4"],
        ["mariadb", "11.4"],
    ];
    for (const [flavor, version] of cases) {
        // A member's role is the provider's to set at run time: a flag that followed it would change the container's
        // command, and so replace the container, at every switchover and failover (on a lost host: impossible).
        test(`${flavor} ${version}: every member starts read-only, source and replica alike; never super-read-only as a startup flag`, () => {
            assert.equal(flagMap(flavor, version, SOURCE).get("read-only"), "ON");
            assert.equal(flagMap(flavor, version, REPLICA).get("read-only"), "ON");
            const sameMember = { ...REPLICA, role: "source" as const };
            assert.deepEqual(serverFlags(flavor, v(version), sameMember), serverFlags(flavor, v(version), REPLICA), "the role changes no flag");
            for (const member of [SOURCE, REPLICA]) {
                const all = serverFlags(flavor, v(version), member).join(" ");
                assert.doesNotMatch(all, /super[-_]read[-_]only/);
            }
        });
    }
});

describe("healthcheck and image facts", () => {
    test("mysql and percona: mysqladmin ping over TCP to 127.0.0.1:3306 (a socket ping passes during init)", () => {
        for (const flavor of ["mysql", "percona"] as const) {
            const check = healthcheckTest(flavor);
            assert.equal(check[0], "CMD");
            assert.deepEqual(check.slice(1, 3), ["mysqladmin", "ping"]);
            assert.ok(check.includes("--protocol=tcp"), check.join(" "));
            assert.ok(check.includes("--host=127.0.0.1"), check.join(" "));
            assert.ok(check.includes(`--port=${SERVER_PORT}`), check.join(" "));
            assert.ok(!check.some((arg) => /socket|localhost/.test(arg)), check.join(" "));
            // No password on the command line: ping exits 0 on "Access denied" (the server answered).
            assert.ok(!check.some((arg) => /^-p|password/.test(arg)), check.join(" "));
        }
    });
    test("mariadb: the image's healthcheck.sh --connect (TCP; the image has no mysqladmin from 11.0)", () => {
        // mariadb-docker healthcheck.sh: connect() runs `mariadb -h localhost --protocol tcp` and fails only on "Can't connect".
        assert.deepEqual(healthcheckTest("mariadb"), ["CMD", "healthcheck.sh", "--connect"]);
    });
    test("the server listens on 3306 and keeps data and logs where every official image does", () => {
        assert.equal(SERVER_PORT, 3306);
        assert.equal(DATA_DIR, "/var/lib/mysql");
        assert.equal(LOG_DIR, "/var/log/mysql");
    });
    test("root password variable: MARIADB_ROOT_PASSWORD for mariadb, MYSQL_ROOT_PASSWORD otherwise", () => {
        assert.equal(rootPasswordVariable("mariadb"), "MARIADB_ROOT_PASSWORD");
        assert.equal(rootPasswordVariable("mysql"), "MYSQL_ROOT_PASSWORD");
        assert.equal(rootPasswordVariable("percona"), "MYSQL_ROOT_PASSWORD");
    });
    test("extra *.cnf directory: /etc/my.cnf.d for percona (its /etc/mysql is a symlink there), /etc/mysql/conf.d otherwise", () => {
        assert.equal(configIncludeDir("percona"), "/etc/my.cnf.d");
        assert.equal(configIncludeDir("mysql"), "/etc/mysql/conf.d");
        assert.equal(configIncludeDir("mariadb"), "/etc/mysql/conf.d");
    });
});

describe("network helpers", () => {
    test("a CIDR becomes MySQL's netmask account host, with host bits cleared", () => {
        assert.equal(cidrToAccountHost("172.18.0.0/16"), "172.18.0.0/255.255.0.0");
        assert.equal(cidrToAccountHost("172.18.5.7/16"), "172.18.0.0/255.255.0.0");
        assert.equal(cidrToAccountHost("10.1.2.3/20"), "10.1.0.0/255.255.240.0");
        assert.equal(cidrToAccountHost("192.168.1.9/32"), "192.168.1.9/255.255.255.255");
        assert.equal(cidrToAccountHost("10.0.0.0/0"), "0.0.0.0/0.0.0.0");
    });
    test("anything but an IPv4 CIDR gives undefined (netmasks are IPv4 only)", () => {
        for (const bad of [undefined, "", "172.18.0.0", "172.18.0.0/33", "300.1.1.1/8", "fd00::/64", "172.18.0.0/16/1"]) {
            assert.equal(cidrToAccountHost(bad), undefined, String(bad));
        }
    });
    test("a wildcard bind address is dialled on loopback; a specific one as is", () => {
        assert.equal(dialAddress("0.0.0.0"), "127.0.0.1");
        assert.equal(dialAddress("::"), "::1");
        assert.equal(dialAddress("127.0.0.1"), "127.0.0.1");
        assert.equal(dialAddress("192.168.1.5"), "192.168.1.5");
    });
});
