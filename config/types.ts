/**
 * The validated, fully defaulted settings of one replica set. Pure data: this module imports nothing from
 * Pulumi so that the loader, the component and the tests share one definition.
 */

/** The server family. Percona Server uses MySQL's numbering and SQL; it differs in images and defaults. */
export type Flavor = "mysql" | "percona" | "mariadb";

/** A server version as numbers. A tag like `8.0` floats to the newest patch, so its patch is `Infinity`. */
export interface ServerVersion {
    major: number;
    minor: number;
    patch: number;
}

/** `source` is the runbook's master; every other member replicates from it. */
export type MemberRole = "source" | "replica";

export interface MemberSettings {
    /** DNS label used as container name, hostname, network alias and report_host (runbook: db001). */
    name: string;
    role: MemberRole;
    /** The server_id; unique in the set, 1..4294967295 (runbook: 100, 200, 300). */
    serverId: number;
    /** The host port that publishes the member's 3306 (runbook: 3306, 3307, 3308). */
    hostPort: number;
    /** Opt-in: a seed may replace the schemas this replica holds (it is refused otherwise). Default false. */
    reseed?: boolean;
    /** Name of the Docker host (`hosts[].name`) the member runs on; absent when `hosts` is not set. */
    host?: string;
}

/** One Docker host members can be placed on (config `hosts`). */
export interface HostSettings {
    /** Name the members refer to (`members[].host`): a DNS label. */
    name: string;
    /** The engine as the Docker provider takes it: `ssh://user@host`, `tcp://host:2376` (with TLS), `unix:///…`. */
    docker: string;
    /** Name or IP at which the other hosts and the machine running `pulumi` reach ports published on this host. */
    address: string;
    /** Host address the member ports are published on: the host's `address` when it is an IP. Never 0.0.0.0 by default. */
    bindAddress: string;
}

/** Where members keep data and logs. */
export type StorageSettings =
    | { mode: "volume" }
    /** The runbook's layout: `<root>/<member>/{data,log,conf}` bind-mounted from the Docker host. */
    | { mode: "hostPath"; root: string };

/**
 * Replication over TLS. `verify` (default): mutual TLS under the stack's own CA, every link verified; `auto`: TLS
 * when the source server has TLS configured, unverified; `on`: TLS required, unverified; `off`: in the clear.
 */
export type TlsMode = "verify" | "auto" | "on" | "off";

export interface ReplicaSetSettings {
    /** Image reference used for every member, e.g. `percona:5.7.30`. */
    image: string;
    flavor: Flavor;
    version: ServerVersion;
    /** Name of the user-defined bridge network (runbook: mybridge). */
    networkName: string;
    /** Host address the member ports are published on. 127.0.0.1 unless the user widens it. */
    bindAddress: string;
    storage: StorageSettings;
    /** uid:gid that owns hostPath directories: the user the image's mysqld runs as. */
    dataOwner: string;
    members: MemberSettings[];
    /** Name of the replication account created on the source (runbook: repl). */
    replicationUser: string;
    /**
     * Host part of the replication account. Empty means "the Docker network's subnet", written in the
     * netmask notation that MySQL 5.7, 8.x and MariaDB all accept.
     */
    replicationUserHost: string;
    replicationTls: TlsMode;
    /** Validity of the stack's certificates (`verify`), in days; a change re-issues them. */
    tlsValidityDays: number;
    /** Seconds a replica waits between reconnect attempts to the source (MASTER_CONNECT_RETRY). */
    connectRetrySeconds: number;
    /** Deadline for a server to become healthy, and for the replication resource's waits. */
    readinessTimeoutSeconds: number;
    /** Write a probe row on the source and wait for it on every replica after (re)configuring. */
    verifyReplication: boolean;
    /** How often the source's event writes its heartbeat, in ms (whole seconds); 0 = off. */
    heartbeatIntervalMs: number;
    /**
     * The router's reader serves a replica whose heartbeat lag is at most this many seconds (and whose replication
     * threads run); 0: no lag limit (threads only).
     */
    readerMaxLagSeconds: number;
    /** Opt-in: let `pulumi destroy` delete data volumes. Off by default: volumes are retained. */
    deleteDataOnDestroy: boolean;
    /**
     * Before declaring anything, check on this host that every member's host port is free or held by that
     * member's own container. Turn off when the Docker engine is on another host.
     */
    checkHostPorts: boolean;
    /** Docker restart policy of the containers. */
    restartPolicy: "no" | "always" | "unless-stopped" | "on-failure";
    /** A failover to a replica behind another one: refused (safe) or done, sidelining the ahead replica (force). */
    failover: FailoverMode;
    /** Endpoints for applications (issue #15): none, or one HAProxy container with a writer and a reader port. */
    router: RouterMode;
    /** Image of the router container (the official haproxy image's contract). */
    routerImage: string;
    /** Host port of the writer endpoint (to the declared source). */
    writerPort: number;
    /** Host port of the reader endpoint (balanced over the replicas). */
    readerPort: number;
    /** The Docker hosts members are placed on (config `hosts`); absent: every member on the one local engine. */
    hosts?: HostSettings[];
    /**
     * With `hosts` and `router: haproxy`: the host (`hosts[].name`) the router container runs on; default the first
     * of `hosts`. Absent otherwise.
     */
    routerHost?: string;
    /** How a replica the source's binlogs cannot bring up to date is seeded: auto, clone (MySQL 8.0.17+), dump, or none (refused). */
    seedMethod: SeedMethod;
}

export type RouterMode = "none" | "haproxy";
export type SeedMethod = "auto" | "clone" | "dump" | "none";
export type FailoverMode = "safe" | "force";

// The keys' values and defaults live in the one table of config keys (keys.ts imports only types from here).
export { DEFAULTS, FAILOVER_MODES, ROUTER_MODES, SEED_METHODS } from "./keys";

/** The runbook topology: one source and two replicas. */
export const RUNBOOK_MEMBERS: readonly MemberSettings[] = Object.freeze([
    { name: "db001", role: "source", serverId: 100, hostPort: 3306 },
    { name: "db002", role: "replica", serverId: 200, hostPort: 3307 },
    { name: "db003", role: "replica", serverId: 300, hostPort: 3308 },
] as MemberSettings[]);
