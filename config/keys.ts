/**
 * The one table of the stack's config keys (namespace `mysql-replicaset:`): name, type, default, a one-line
 * description and the key's own validator. The loader reads exactly these keys (and refuses any other in the
 * namespace), DEFAULTS comes from here, and tests hold Pulumi.yaml's declarations and README's config table to it.
 * Rules that involve several keys (a router port against the members' ports, a seed method against the version)
 * live in validate.ts.
 */
// Types only: types.ts re-exports DEFAULTS and the lists below from here.
import type { FailoverMode, Flavor, RouterMode, SeedMethod, TlsMode } from "./types";

/** Pulumi's config types (Pulumi.yaml `type:`). */
export type KeyType = "string" | "integer" | "boolean" | "array" | "object";

/** What a key's value must be on its own: one of a list, or a whole number in a range. */
export type KeyValidator = { oneOf: readonly string[] } | { range: readonly [number, number] };

export interface ConfigKey {
    name: string;
    type: KeyType;
    /**
     * The value when the stack does not set the key. Keys with a default are declared in Pulumi.yaml with it (the
     * engine then writes it into the stack's config); "" means "unset" (the loader skips empty text). Keys without
     * one are derived (from the image, generated) or optional, and are not declared: the engine would refuse every
     * stack that does not set a declared key without a default.
     */
    default?: string | number | boolean;
    /** One line: Pulumi.yaml's description. */
    description: string;
    /** Set with `pulumi config set --secret`; never part of the settings. */
    secret?: boolean;
    validator?: KeyValidator;
}

export const FLAVORS: readonly Flavor[] = ["mysql", "percona", "mariadb"];
export const TLS_MODES: readonly TlsMode[] = ["verify", "auto", "on", "off"];
export const RESTART_POLICIES = ["no", "always", "unless-stopped", "on-failure"] as const;
export const STORAGE_MODES = ["volume", "hostPath"] as const;
export const ROUTER_MODES: readonly RouterMode[] = ["none", "haproxy"];
export const SEED_METHODS: readonly SeedMethod[] = ["auto", "clone", "dump", "none"];
export const FAILOVER_MODES: readonly FailoverMode[] = ["safe", "force"];

export const CONFIG_KEYS = [
    { name: "image", type: "string", default: "percona:5.7.30", description: "Image of every member. Its repository and tag give flavor and version unless those are set." },
    { name: "flavor", type: "string", description: "mysql, percona or mariadb: required when the image name does not say which server it runs.", validator: { oneOf: FLAVORS } },
    { name: "version", type: "string", description: "MAJOR.MINOR[.PATCH] of the server: required when the image tag does not say (latest, lts)." },
    { name: "networkName", type: "string", default: "mybridge", description: "Name of the Docker bridge network the members share." },
    { name: "bindAddress", type: "string", default: "127.0.0.1", description: "Host address member ports are published on. 0.0.0.0 publishes on every interface." },
    { name: "members", type: "array", description: "The members: a list of {name, role, serverId, hostPort, host?, reseed?}; default the runbook's db001 (source), db002 and db003." },
    { name: "storage", type: "string", default: "volume", description: "volume (Docker named volumes) or hostPath (the runbook's <storageRoot>/<member>/{data,log,conf}).", validator: { oneOf: STORAGE_MODES } },
    { name: "storageRoot", type: "string", default: "/db", description: "Root directory of storage hostPath: an absolute path of letters, digits, '.', '_', '-' and '/'." },
    { name: "dataOwner", type: "string", description: "uid:gid that owns hostPath data directories: the user the image's mysqld runs as (999:999, 1001:1001 for percona/percona-server)." },
    { name: "rootPassword", type: "string", secret: true, description: "Root password of every member, at least 8 characters; generated when unset." },
    { name: "replicationUser", type: "string", default: "repl", description: "Replication account created on the source." },
    { name: "replicationPassword", type: "string", secret: true, description: "Password of the replication account, at least 8 characters; generated when unset." },
    { name: "replicationUserHost", type: "string", default: "", description: "Host part of the replication account. Empty means the network's subnet (netmask notation)." },
    {
        name: "replicationTls",
        type: "string",
        default: "verify",
        description: "verify (mutual TLS under the stack's own CA, every link verified), auto (TLS when the source has certificates, unverified), on (TLS, unverified), or off.",
        validator: { oneOf: TLS_MODES },
    },
    { name: "tlsValidityDays", type: "integer", default: 365, description: "Validity of the stack's certificates (replicationTls verify), in days; a change re-issues them.", validator: { range: [2, 3650] } },
    { name: "connectRetrySeconds", type: "integer", default: 10, description: "Seconds a replica waits between reconnect attempts (MASTER_CONNECT_RETRY).", validator: { range: [1, 3600] } },
    { name: "readinessTimeoutSeconds", type: "integer", default: 300, description: "Deadline for servers to become healthy and for replication to start.", validator: { range: [5, 86400] } },
    { name: "verifyReplication", type: "boolean", default: true, description: "Write a probe row on the source and wait until every replica has it." },
    {
        name: "heartbeatIntervalMs",
        type: "integer",
        default: 1000,
        description: "How often the source writes its heartbeat (whole seconds, in ms); replicas report true lag from it. 0 turns it off.",
        validator: { range: [0, 3_600_000] },
    },
    {
        name: "deleteDataOnDestroy",
        type: "boolean",
        default: false,
        description: "Opt-in. When true, pulumi destroy deletes the data volumes; otherwise they are retained. Takes effect at the next pulumi up (destroy reads it from the state).",
    },
    {
        name: "checkHostPorts",
        type: "boolean",
        default: true,
        description: "Check before declaring anything that each host port is free or held by the member's own container. Turn off for a remote Docker engine.",
    },
    {
        name: "failover",
        type: "string",
        default: "safe",
        description: "When the source is dead and the config names another, safe refuses to promote a replica behind another one; force promotes it anyway, sidelining (never deleting) what is given up.",
        validator: { oneOf: FAILOVER_MODES },
    },
    {
        name: "seedMethod",
        type: "string",
        default: "auto",
        description: "How a replica the source's binary logs can no longer bring up to date (purged) is seeded before it replicates; auto, clone (MySQL 8.0.17+), dump (the provider's own consistent logical copy), or none (refused).",
        validator: { oneOf: SEED_METHODS },
    },
    { name: "restartPolicy", type: "string", default: "unless-stopped", description: "Docker restart policy (no, always, unless-stopped, on-failure).", validator: { oneOf: RESTART_POLICIES } },
    {
        name: "router",
        type: "string",
        default: "none",
        description: "none, or haproxy (one HAProxy container with a writer endpoint to the source and a reader endpoint over the replicas).",
        validator: { oneOf: ROUTER_MODES },
    },
    { name: "routerImage", type: "string", default: "haproxy:3.4.7", description: "Image of the router container (official haproxy image contract; current LTS branch, pinned)." },
    { name: "writerPort", type: "integer", default: 6446, description: "Host port of the writer endpoint (router haproxy).", validator: { range: [1, 65535] } },
    { name: "readerPort", type: "integer", default: 6447, description: "Host port of the reader endpoint (router haproxy).", validator: { range: [1, 65535] } },
    // bitpoke's and Vitess's threshold.
    {
        name: "readerMaxLagSeconds",
        type: "integer",
        default: 30,
        description:
            "With router haproxy, the reader serves a replica whose replication threads run and whose heartbeat lag is at most this many seconds; 0 means no lag limit (threads only). Must exceed the heartbeat interval.",
        validator: { range: [0, 86400] },
    },
    { name: "routerHost", type: "string", default: "", description: "With hosts and router haproxy, the host (hosts[].name) the router runs on; empty, the first of hosts." },
    { name: "hosts", type: "array", description: "Docker hosts to place members on: a list of {name, docker, address, bindAddress?}; unset, every member runs on the local engine." },
    { name: "hostTls", type: "object", secret: true, description: "TLS material of tcp:// engines: {<host>: {ca, cert, key}} (PEM text)." },
] as const satisfies readonly ConfigKey[];

export type ConfigKeyName = (typeof CONFIG_KEYS)[number]["name"];

/** Every key name, for lookups. */
export const KEY_NAMES: readonly string[] = CONFIG_KEYS.map((k) => k.name);

/** The keys set with `pulumi config set --secret`. */
export const SECRET_KEY_NAMES: readonly string[] = CONFIG_KEYS.filter((k) => "secret" in k && k.secret).map((k) => k.name);

/** The table's entry for a key. */
export function configKey(name: ConfigKeyName): ConfigKey {
    return CONFIG_KEYS.find((k) => k.name === name)!;
}

type Widen<T> = T extends string ? string : T extends number ? number : T extends boolean ? boolean : never;
type WithDefault = Extract<(typeof CONFIG_KEYS)[number], { default: unknown }>;

/** The default of every key that has one: the runbook's values where it has one, the safe choice otherwise. */
export const DEFAULTS = Object.freeze(
    Object.fromEntries(CONFIG_KEYS.flatMap((k) => ("default" in k ? [[k.name, k.default]] : []))) as { readonly [K in WithDefault as K["name"]]: Widen<K["default"]> },
);

/** The allowed values of a key whose validator is a list. */
export function choices(name: ConfigKeyName): readonly string[] {
    const validator = configKey(name).validator;
    if (!validator || !("oneOf" in validator)) throw new Error(`config key ${name} has no list of values`);
    return validator.oneOf;
}

/** The range of a key whose validator is a range. */
export function range(name: ConfigKeyName): readonly [number, number] {
    const validator = configKey(name).validator;
    if (!validator || !("range" in validator)) throw new Error(`config key ${name} has no range`);
    return validator.range;
}
