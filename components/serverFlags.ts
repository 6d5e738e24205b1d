/**
 * Pure: what each member's server is started with, rendered for its flavor and version.
 *
 * Settings go on the mysqld command line because every official image (mysql, percona, percona/percona-server,
 * mariadb) forwards container arguments that start with '-' to the server, its init server and its config check;
 * a mounted my.cnf lands in a different include directory per image. A flag the server does not know stops it
 * from starting, so every name here is the one the reference manual of that version documents.
 */
import type { Flavor, MemberSettings, ServerVersion } from "../config/types";
import { versionAtLeast } from "../config/imageRef";

/** Port the server listens on inside its container. */
export const SERVER_PORT = 3306;
/** Mount points shared by every official image. */
export const DATA_DIR = "/var/lib/mysql";
export const LOG_DIR = "/var/log/mysql";
/**
 * Seconds a member's server is given to shut down cleanly when its container is deleted (destroyGraceSeconds):
 * a ceiling, the delete goes on as soon as the server has stopped. A small MySQL 9.7.4 source with replicas
 * attached and the event scheduler on took 11 s (4 s with the scheduler off): it keeps its binlog dump threads up
 * to 8 s for the other sessions to end first (mysqld.cc, close_connections). InnoDB's shutdown then writes the
 * buffer pool's dirty pages, which on a large, busy server takes far longer.
 */
export const SERVER_STOP_GRACE_SECONDS = 120;

/**
 * Where an image reads extra *.cnf files, for the hostPath layout's `conf` directory. percona:5.7's /etc/mysql
 * is a symlink to /etc/my.cnf.d, and percona/percona-server 8.x reads only /etc/my.cnf.d.
 */
export function configIncludeDir(flavor: Flavor): string {
    return flavor === "percona" ? "/etc/my.cnf.d" : "/etc/mysql/conf.d";
}

/**
 * The mysqld flags of one member. Its role is deliberately not an argument: a flag that followed the role would change
 * the container's command at every switchover and failover, and Docker replaces a container whose command changed,
 * before the replication resource (which depends on every container) runs. With the old source's machine gone,
 * that replacement cannot happen at all and the failover would never run. The provider sets the role at run time.
 */
export function serverFlags(flavor: Flavor, version: ServerVersion, member: Pick<MemberSettings, "name" | "serverId">): string[] {
    const flags = [
        `--server-id=${member.serverId}`,
        "--log-bin=mysql-bin",
        "--binlog-format=ROW",
        // A replica that logs what it applies can be promoted, and can feed replicas of its own.
        `--${logReplicaUpdatesName(flavor, version)}=ON`,
        `--report-host=${member.name}`,
        // The source's heartbeat is an event of its own scheduler (off by default on MariaDB and MySQL 5.7);
        // on replicas, replicated events stay disabled.
        "--event-scheduler=ON",
    ];
    if (flavor === "mariadb") {
        // MariaDB always writes GTIDs when the binlog is on; it has no gtid_mode/enforce_gtid_consistency and
        // refuses to start on them. Strict mode makes an out-of-order (errant) GTID an error instead of a fork.
        flags.push("--gtid-strict-mode=ON");
    } else {
        flags.push("--gtid-mode=ON", "--enforce-gtid-consistency=ON");
    }
    // Every member starts fenced, the source too: a server that restarts (crash, reboot, an engine back after a
    // failover) takes no writes until the provider's next run has decided it is the declared source and made it
    // writable (dialect.ts makeWritable; on MySQL 8+ it also comes back super_read_only, persisted by the provider).
    // The fail-safe of orchestrator and Vitess: never two writable members because one came back on its own.
    // read_only only: super_read_only as a startup flag would also bind the entrypoint's init server, whose
    // root/user setup then fails.
    flags.push("--read-only=ON");
    return flags;
}

/** MySQL 8.0.26 renamed log_slave_updates to log_replica_updates; MariaDB kept the old name. */
export function logReplicaUpdatesName(flavor: Flavor, version: ServerVersion): string {
    if (flavor !== "mariadb" && versionAtLeast(version, 8, 0, 26)) return "log-replica-updates";
    return "log-slave-updates";
}

/** Environment variable that sets the root password at first start. */
export function rootPasswordVariable(flavor: Flavor): string {
    return flavor === "mariadb" ? "MARIADB_ROOT_PASSWORD" : "MYSQL_ROOT_PASSWORD";
}

/**
 * A TCP health check. A socket ping already passes while the entrypoint's temporary init server runs with
 * --skip-networking, so the check must go over TCP. `mysqladmin ping` exits 0 even on "Access denied" (the
 * server answered), so it needs no password. The mariadb image has no mysqladmin from 11.0 but ships
 * healthcheck.sh, whose --connect does the same TCP check.
 */
export function healthcheckTest(flavor: Flavor): string[] {
    if (flavor === "mariadb") return ["CMD", "healthcheck.sh", "--connect"];
    return ["CMD", "mysqladmin", "ping", "--protocol=tcp", "--host=127.0.0.1", `--port=${SERVER_PORT}`, "--silent"];
}
