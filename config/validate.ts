/**
 * Pure validation: raw stack config (as the user wrote it) → ReplicaSetSettings, or a ConfigError that lists
 * every problem with the key, the bad value and the fix. Nothing is declared before this has passed.
 */
import { isIP } from "node:net";
import {
    type SeedMethod,
    RUNBOOK_MEMBERS,
    type FailoverMode,
    type Flavor,
    type MemberSettings,
    type HostSettings,
    type ReplicaSetSettings,
    type RouterMode,
    type ServerVersion,
    type StorageSettings,
    type TlsMode,
} from "./types";
import { checkPlacement, hostsKey, looksLikeIPv4 } from "./hosts";
import { CLONE_DONOR_USER, ROUTER_CHECK_USER } from "./accounts";
import { choices, DEFAULTS, KEY_NAMES, range, SECRET_KEY_NAMES, type ConfigKeyName } from "./keys";
import { cloneCapable, flavorFromRepository, formatVersion, parseImageReference, parseVersion, versionAtLeast, versionFromTag } from "./imageRef";

/** One problem in the config: which key, what was found, what to do. */
export interface ConfigProblem {
    key: string;
    /** The bad value; for a secret key only a description such as "(secret, 4 characters)", never the secret. */
    value: unknown;
    fix: string;
    /** The key holds a secret: `value` is a description, shown as is. */
    secret?: boolean;
}

export class ConfigError extends Error {
    constructor(public readonly problems: ConfigProblem[]) {
        super(
            `Invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was created:\n` +
                problems.map((p) => `  - ${p.key} = ${p.secret ? String(p.value) : show(p.value)}: ${p.fix}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** The raw config: every key optional, values as YAML gives them (strings, numbers, booleans, objects). */
export type RawConfig = Record<string, unknown>;

/** Stands for the value of a key the stack set as a secret (config/load.ts), so that no problem shows it. */
export const SECRET_VALUE = Symbol("secret config value");

/** The restart policies under which a member's container comes back after its server stops by itself (a clone's end). */
export const CLONE_RESTART_POLICIES: readonly string[] = ["unless-stopped", "always"];
/** RFC 1123 label: what Docker accepts as a hostname and network alias, and MySQL as report_host. */
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_SERVER_ID = 4294967295;
/**
 * Owner of the data directory: the uid:gid mysqld runs as in the image. The Docker Hub images (mysql, mariadb,
 * and percona up to 8.0) create mysql as 999; Percona's own percona/percona-server images create it as 1001.
 */
function defaultDataOwner(repository: string | undefined): string {
    return /(^|\/)percona-server$/.test(repository ?? "") ? "1001:1001" : "999:999";
}

export function validateConfig(raw: RawConfig): ReplicaSetSettings {
    const problems: ConfigProblem[] = [];
    const problem = (key: string, value: unknown, fix: string) => problems.push({ key, value, fix });
    unknownKeys(raw, problems);

    const image = stringKey(raw, "image", DEFAULTS.image, problem);
    const reference = parseImageReference(image);
    if (!reference) {
        problem("image", image, "write a Docker image reference such as `percona:5.7.30` or `mysql:8.0.36`");
    }

    // Flavor and version: stated in config, else read from the image reference.
    let flavor: Flavor | undefined;
    if (raw.flavor !== undefined) {
        if (choices("flavor").includes(raw.flavor as Flavor)) flavor = raw.flavor as Flavor;
        else problem("flavor", raw.flavor, `use one of ${choices("flavor").join(", ")}`);
    } else if (reference) {
        flavor = flavorFromRepository(reference.repository);
        if (!flavor) {
            problem("flavor", undefined, `the image \`${image}\` does not say which server it runs; set flavor to one of ${choices("flavor").join(", ")}`);
        }
    }
    let version: ServerVersion | undefined;
    if (raw.version !== undefined) {
        version = parseVersion(String(raw.version));
        if (!version) problem("version", raw.version, "write the server version as MAJOR.MINOR[.PATCH], e.g. 8.0.36");
    } else if (reference) {
        version = versionFromTag(reference.tag);
        if (!version) {
            problem(
                "version",
                undefined,
                `the image tag \`${reference.tag ?? "(none)"}\` does not say which server version runs (flag names depend on it); ` +
                    "use a versioned tag such as `8.0.36`, or set version (and flavor) explicitly",
            );
        }
    }
    if (flavor && version) checkSupportedVersion(flavor, version, problem);

    const networkName = stringKey(raw, "networkName", DEFAULTS.networkName, problem);
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(networkName)) {
        problem("networkName", networkName, "use letters, digits, '_', '.', '-' (Docker network name), starting with a letter or digit");
    }

    const bindAddress = stringKey(raw, "bindAddress", DEFAULTS.bindAddress, problem);
    if (!isIP(bindAddress)) problem("bindAddress", bindAddress, "use an IP address such as 127.0.0.1 (or 0.0.0.0 to publish on every interface)");

    const storage = storageKey(raw, problem);
    const members = membersKey(raw, problem, raw.hosts !== undefined);
    const hosts = hostsKey(raw.hosts, hostTlsNames(raw, problem), problem);
    checkPlacement(members, hosts, problem);
    if (hosts && storage.mode === "hostPath") {
        problem("storage", "hostPath", "use volume with hosts: hostPath directories are made on the machine that runs pulumi, not on each host");
    }

    const replicationUser = stringKey(raw, "replicationUser", DEFAULTS.replicationUser, problem);
    if (replicationUser.length === 0 || replicationUser.length > 32) {
        problem("replicationUser", replicationUser, "use a user name of 1 to 32 characters");
    } else if (reservedAccount(replicationUser)) {
        problem(
            "replicationUser",
            replicationUser,
            `${reservedAccount(replicationUser)}: the provider gives the replication account its own password and drops it on every member when the user changes; ` +
                `use an account of its own, e.g. ${DEFAULTS.replicationUser}`,
        );
    }
    const replicationUserHost = stringKey(raw, "replicationUserHost", DEFAULTS.replicationUserHost, problem);
    if (replicationUserHost.length > 255) problem("replicationUserHost", replicationUserHost, "use at most 255 characters");
    (hosts ?? []).forEach((h, index) => {
        if (replicationUserHost === "" && h.address !== "" && !isIP(h.address) && !looksLikeIPv4(h.address)) {
            problem(
                `hosts[${index}].address`,
                h.address,
                "the replication account's host part is computed from the hosts' addresses, and the servers skip name resolution: " +
                    "use the host's IP, or set replicationUserHost to a pattern that covers every host's address",
            );
        }
    });

    const replicationTls = stringKey(raw, "replicationTls", DEFAULTS.replicationTls, problem) as TlsMode;
    if (!choices("replicationTls").includes(replicationTls)) problem("replicationTls", replicationTls, `use one of ${choices("replicationTls").join(", ")}`);
    // MySQL Community binaries before 5.7.28 are built with yaSSL (MySQL 5.7 manual, "SSL Library-Dependent
    // Capabilities"): TLS 1.0/1.1 only, which Node (the provider's client) refuses, and no subjectAltName check.
    // Percona Server builds with OpenSSL.
    if (replicationTls === "verify" && flavor === "mysql" && version && version.major === 5 && !versionAtLeast(version, 5, 7, 28)) {
        problem(
            "replicationTls",
            replicationTls,
            `MySQL ${formatVersion(version)} Community binaries use yaSSL (TLS 1.0/1.1 only, no subjectAltName check), so verified TLS cannot work: ` +
                "set replicationTls to auto (encrypted, unverified), or use MySQL 5.7.28+ or Percona Server",
        );
    }

    const tlsValidityDays = integerKey(raw, "tlsValidityDays", problem);
    const connectRetrySeconds = integerKey(raw, "connectRetrySeconds", problem);
    const readinessTimeoutSeconds = integerKey(raw, "readinessTimeoutSeconds", problem);
    const verifyReplication = booleanKey(raw, "verifyReplication", DEFAULTS.verifyReplication, problem);
    const heartbeatIntervalMs = integerKey(raw, "heartbeatIntervalMs", problem);
    // The event scheduler counts in whole seconds.
    if (heartbeatIntervalMs !== 0 && heartbeatIntervalMs % 1000 !== 0) {
        problem("heartbeatIntervalMs", heartbeatIntervalMs, "use whole seconds in ms (1000, 2000, …), or 0 to turn the heartbeat off");
    }
    const readerMaxLagSeconds = integerKey(raw, "readerMaxLagSeconds", problem);
    const deleteDataOnDestroy = booleanKey(raw, "deleteDataOnDestroy", DEFAULTS.deleteDataOnDestroy, problem);
    const checkHostPorts = booleanKey(raw, "checkHostPorts", DEFAULTS.checkHostPorts, problem);
    const restartPolicy = stringKey(raw, "restartPolicy", DEFAULTS.restartPolicy, problem) as ReplicaSetSettings["restartPolicy"];
    if (!choices("restartPolicy").includes(restartPolicy)) problem("restartPolicy", restartPolicy, `use one of ${choices("restartPolicy").join(", ")}`);
    const failover = stringKey(raw, "failover", DEFAULTS.failover, problem) as FailoverMode;
    if (!choices("failover").includes(failover)) problem("failover", failover, `use one of ${choices("failover").join(", ")}`);

    const seedMethod = stringKey(raw, "seedMethod", DEFAULTS.seedMethod, problem) as SeedMethod;
    if (!choices("seedMethod").includes(seedMethod)) problem("seedMethod", seedMethod, `use one of ${choices("seedMethod").join(", ")}`);
    if (seedMethod === "clone" && flavor && version && !cloneCapable(flavor, version)) {
        problem(
            "seedMethod",
            seedMethod,
            `the clone plugin is MySQL's, from 8.0.17 (${flavor === "mariadb" ? "MariaDB has none" : `this image is ${formatVersion(version)}`}); ` +
                "use auto or dump (the provider's own consistent copy, every flavor)",
        );
    }
    // A clone ends with the replica's server stopping for a restart on the copy (the provider's SHUTDOWN when no
    // supervisor restarts mysqld); only a policy that restarts a container after a clean exit brings it back.
    if (seedMethod === "clone" && !CLONE_RESTART_POLICIES.includes(restartPolicy)) {
        problem(
            "seedMethod",
            seedMethod,
            `a clone restarts the replica's server, and Docker starts the container again after a clean exit only with restartPolicy ${CLONE_RESTART_POLICIES.join(" or ")} ` +
                `(unless-stopped is the default): set one of those, or use seedMethod dump`,
        );
    }

    const dataOwner = stringKey(raw, "dataOwner", defaultDataOwner(reference?.repository), problem);
    // It goes into the chown command (quoted there too): digits and one colon only.
    if (!/^\d{1,10}:\d{1,10}$/.test(dataOwner)) problem("dataOwner", dataOwner, "write uid:gid as numbers, e.g. 999:999");

    const router = routerKeys(raw, members, hosts, problem);
    // The router reads the lag from the heartbeat: none, or one written as often as the limit or less often, would
    // read every replica unfit.
    if (router.router === "haproxy" && readerMaxLagSeconds > 0 && heartbeatIntervalMs === 0) {
        problem("readerMaxLagSeconds", readerMaxLagSeconds, "the lag is read from the heartbeat, which heartbeatIntervalMs = 0 turns off: set readerMaxLagSeconds to 0 (no lag limit) or turn the heartbeat on");
    } else if (router.router === "haproxy" && readerMaxLagSeconds > 0 && readerMaxLagSeconds * 1000 <= heartbeatIntervalMs) {
        problem("readerMaxLagSeconds", readerMaxLagSeconds, `the heartbeat is written every ${heartbeatIntervalMs} ms, so an up-to-date replica's lag reads up to that much: use more seconds than that, or 0 (no lag limit)`);
    }

    checkPasswords(raw, replicationUser, flavor, version, image, problems);

    if (problems.length > 0) throw new ConfigError(problems);
    return {
        image,
        flavor: flavor!,
        version: version!,
        networkName,
        bindAddress,
        storage,
        dataOwner,
        members,
        replicationUser,
        replicationUserHost,
        replicationTls,
        tlsValidityDays,
        connectRetrySeconds,
        readinessTimeoutSeconds,
        verifyReplication,
        heartbeatIntervalMs,
        readerMaxLagSeconds,
        deleteDataOnDestroy,
        checkHostPorts,
        restartPolicy,
        failover,
        ...router,
        ...(hosts ? { hosts } : {}),
        seedMethod,
    };
}

/** Keys no table entry names (config/keys.ts): a typo would silently run the default. */
function unknownKeys(raw: RawConfig, problems: ConfigProblem[]): void {
    for (const key of Object.keys(raw)) {
        if (KEY_NAMES.includes(key)) continue;
        const near = closestKey(key);
        const fix = `not a key of this program: ${near ? `did you mean ${near}? ` : ""}Remove it (pulumi config rm ${key})${near ? ` and set ${near}` : ""}; README's Configuration lists every key`;
        // A misspelt secret key may hold a secret set in clear: never shown when the closest key is a secret one.
        if (raw[key] === SECRET_VALUE) problems.push({ key, value: "(secret)", fix, secret: true });
        else if (near && SECRET_KEY_NAMES.includes(near)) problems.push({ key, value: `(not shown: close to the secret key ${near})`, fix, secret: true });
        else problems.push({ key, value: raw[key], fix });
    }
}

/** The known key nearest to `key` (case aside, at most 2 edits or a third of its length), or undefined. */
export function closestKey(key: string, names: readonly string[] = KEY_NAMES): string | undefined {
    let best: { name: string; distance: number } | undefined;
    for (const name of names) {
        const distance = editDistance(key.toLowerCase(), name.toLowerCase());
        if (!best || distance < best.distance) best = { name, distance };
    }
    return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.name : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours count 1. */
function editDistance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

/**
 * router, routerImage, writerPort, readerPort, routerHost: the endpoints' ports must clash with nothing the set
 * publishes on the router's host (the one local engine, or with hosts the router's host).
 */
function routerKeys(
    raw: RawConfig,
    members: MemberSettings[],
    hosts: HostSettings[] | undefined,
    problem: Report,
): Pick<ReplicaSetSettings, "router" | "routerImage" | "writerPort" | "readerPort" | "routerHost"> {
    const router = stringKey(raw, "router", DEFAULTS.router, problem) as RouterMode;
    if (!choices("router").includes(router)) problem("router", router, `use one of ${choices("router").join(", ")} (haproxy: one container with a writer and a reader endpoint)`);
    if (router !== "haproxy") {
        // One rule for every router key: without a router it would be ignored. The engine writes each declared
        // default into the stack's config, so only a value other than the default can be the user's.
        const unused = ROUTER_KEYS.filter((key) => raw[key] !== undefined && String(raw[key]) !== String(DEFAULTS[key]));
        for (const key of unused) problem(key, raw[key], `remove it, or set router to haproxy: it configures the router, and router is ${router}`);
        return { router, routerImage: DEFAULTS.routerImage, writerPort: DEFAULTS.writerPort, readerPort: DEFAULTS.readerPort };
    }
    const routerImage = stringKey(raw, "routerImage", DEFAULTS.routerImage, problem);
    if (!parseImageReference(routerImage)) problem("routerImage", routerImage, `write a Docker image reference such as \`${DEFAULTS.routerImage}\``);
    const writerPort = integerKey(raw, "writerPort", problem);
    const readerPort = integerKey(raw, "readerPort", problem);
    const routerHost = routerHostKey(raw, hosts, problem);
    if (writerPort === readerPort) problem("readerPort", readerPort, `use a port other than writerPort (${writerPort}): each endpoint needs its own`);
    // With hosts, the members publishing on the router host's address: those on its host, and those on any
    // other host at the same address (a second engine on that machine), as checkPlacement pairs address:port.
    const routerAddress = hosts?.find((h) => h.name === routerHost)?.address;
    const neighbour = (m: MemberSettings) => !hosts || m.host === routerHost || (routerAddress !== undefined && hosts.find((h) => h.name === m.host)?.address === routerAddress);
    for (const [key, port] of [["writerPort", writerPort], ["readerPort", readerPort]] as const) {
        const index = members.findIndex((m) => neighbour(m) && m.hostPort === port);
        if (index >= 0) {
            const where = !hosts ? "" : members[index].host === routerHost ? ` on the router's host ${routerHost}` : ` on the router's host's address ${routerAddress}`;
            problem(key, port, `use a port no member publishes${where}: members[${index}] (${members[index].name}) has hostPort ${port}`);
        }
    }
    return { router, routerImage, writerPort, readerPort, ...(routerHost !== undefined ? { routerHost } : {}) };
}

/** The keys that configure the router: refused when there is none. */
const ROUTER_KEYS = ["routerImage", "writerPort", "readerPort", "routerHost", "readerMaxLagSeconds"] as const;

/**
 * routerHost (router haproxy): with hosts, the host the router runs on, default the first of hosts (a fixed host,
 * not the source's: the endpoints must not move when the source does). Refused without hosts.
 */
function routerHostKey(raw: RawConfig, hosts: HostSettings[] | undefined, problem: Report): string | undefined {
    const value = raw.routerHost;
    if (!hosts) {
        if (value !== undefined) problem("routerHost", value, "remove it, or list the Docker hosts under hosts ({name, docker, address}): without hosts the router runs on the local engine");
        return undefined;
    }
    if (value === undefined) return hosts[0]?.name;
    if (typeof value !== "string" || !hosts.some((h) => h.name === value)) {
        problem("routerHost", value, `name one of hosts: ${[...new Set(hosts.map((h) => h.name))].join(", ")} (default: the first)`);
        return undefined;
    }
    return value;
}

/** The host names the secret `hostTls` holds material for (config/load.ts passes only its keys). */
function hostTlsNames(raw: RawConfig, problem: Report): string[] | undefined {
    if (raw.hostTls === undefined) return undefined;
    if (!Array.isArray(raw.hostTls) || raw.hostTls.some((n) => typeof n !== "string")) {
        hostTlsProblem(problem);
        return [];
    }
    return raw.hostTls as string[];
}

function hostTlsProblem(problem: Report): void {
    problem("hostTls", "(secret)", "write an object keyed by host name: pulumi config set --secret --path 'hostTls.<host>.ca' < ca.pem (and .cert, .key)");
}

type Report = (key: string, value: unknown, fix: string) => void;

/**
 * Why `user` cannot be the replication account, or undefined: the administrative account the provider connects
 * as, the servers' own system accounts, and the accounts this project creates for itself.
 */
export function reservedAccount(user: string): string | undefined {
    if (user === "root") return "root is the account the provider administers every member with";
    if (/^(mysql|mariadb)\./.test(user)) return `${user} is one of the server's own system accounts (mysql.*, mariadb.sys)`;
    if (user === ROUTER_CHECK_USER) return `${user} is the router's health-check account (no password, no privilege)`;
    if (user === CLONE_DONOR_USER) return `${user} is the account this project's clone seeding creates on the source`;
    return undefined;
}

/** The shortest password accepted: error messages are redacted by the password's text (redact.ts), which a
 * short password would match inside ordinary words and names (`repl` in `user 'repl'@…`). */
export const MIN_PASSWORD_LENGTH = 8;

/** MySQL and Percona take a channel's replication password of at most 32 bytes in UTF-8 (MariaDB allows 96). */
export const MAX_MYSQL_SOURCE_PASSWORD_LENGTH = 32;

/**
 * rootPassword and replicationPassword, when the stack sets them (config/load.ts passes their plain text; they
 * are never part of the settings). Unset means generated (24 characters). The problem shows the length, never
 * the value.
 */
function checkPasswords(
    raw: RawConfig,
    replicationUser: string,
    flavor: Flavor | undefined,
    version: ServerVersion | undefined,
    image: string,
    problems: ConfigProblem[],
): void {
    for (const key of ["rootPassword", "replicationPassword"] as const) {
        const value = raw[key];
        if (value === undefined) continue;
        const secret = (fix: string, described: string) => problems.push({ key, value: described, fix, secret: true });
        if (typeof value !== "string") {
            secret(`write it as a string: pulumi config set --secret ${key} <password>`, "(secret, not a string)");
            continue;
        }
        const described = `(secret, ${value.length} character${value.length === 1 ? "" : "s"})`;
        if (value.length < MIN_PASSWORD_LENGTH) {
            secret(
                `use at least ${MIN_PASSWORD_LENGTH} characters (pulumi config set --secret ${key} <password>), ` +
                    "or remove the key to have one generated: pulumi config rm " + key,
                described,
            );
        } else if (key === "replicationPassword" && flavor !== "mariadb" && Buffer.byteLength(value, "utf8") > MAX_MYSQL_SOURCE_PASSWORD_LENGTH) {
            secret(
                `use at most ${MAX_MYSQL_SOURCE_PASSWORD_LENGTH} bytes (UTF-8; ä counts 2): MySQL refuses a longer SOURCE_PASSWORD / MASTER_PASSWORD ` +
                    "(ER_CHANGE_SOURCE_PASSWORD_LENGTH), or remove the key to have one generated: pulumi config rm replicationPassword",
                described,
            );
        } else if (key === "rootPassword" && flavor !== "mariadb" && version?.major === 5 && /['\\]/.test(value)) {
            // The 5.7 entrypoints paste MYSQL_ROOT_PASSWORD into SQL unescaped: the server never initialises.
            secret(
                `the ${image} entrypoint (MySQL/Percona 5.7) puts the root password into SQL unescaped and fails to initialise with ' or \\ in it: ` +
                    "choose one without them, or remove the key to have one generated: pulumi config rm rootPassword",
                described,
            );
        } else if (key === "replicationPassword" && value === replicationUser) {
            secret("choose a password other than the replicationUser name: the name appears in server messages", described);
        }
    }
}

/**
 * The oldest servers the provider's statements run on: MariaDB 10.5; MySQL/Percona 5.7.8, where
 * `CREATE USER IF NOT EXISTS` and `super_read_only` first appear (5.7.0–5.7.7 have neither). The same minimum
 * as components/replication/dialect.ts's table, which refuses a live server the config could not judge.
 */
function checkSupportedVersion(flavor: Flavor, version: ServerVersion, problem: Report): void {
    const [major, minor, patch] = flavor === "mariadb" ? [10, 5, 0] : [5, 7, 8];
    if (versionAtLeast(version, major, minor, patch)) return;
    const shown = formatVersion(version);
    const why =
        flavor !== "mariadb" && version.major === 5 && version.minor === 7
            ? ": CREATE USER IF NOT EXISTS and super_read_only first appear in 5.7.8"
            : "";
    problem("version", shown, `${flavor} ${shown} is not supported${why}; use ${major}.${minor}${patch ? `.${patch}` : ""} or newer`);
}

function membersKey(raw: RawConfig, problem: Report, placed: boolean): MemberSettings[] {
    if (raw.members === undefined) return RUNBOOK_MEMBERS.map((m) => ({ ...m }));
    if (!Array.isArray(raw.members)) {
        problem("members", raw.members, "write a list of {name, role, serverId, hostPort}");
        return [];
    }
    const members: MemberSettings[] = [];
    raw.members.forEach((entry: unknown, index: number) => {
        const key = `members[${index}]`;
        if (typeof entry !== "object" || entry === null) {
            problem(key, entry, "write {name, role, serverId, hostPort}");
            return;
        }
        const m = entry as Record<string, unknown>;
        const name = typeof m.name === "string" ? m.name : "";
        if (!DNS_LABEL.test(name)) {
            problem(`${key}.name`, m.name, "use a DNS label: lowercase letters, digits and '-', 1-63 characters, e.g. db001");
        }
        const role = m.role;
        if (role !== "source" && role !== "replica") {
            const near = typeof role === "string" ? closestKey(role, ["source", "replica"]) : undefined;
            const hint =
                role === "master" ? " (the runbook's master is the `source`)" : role === "slave" ? " (the runbook's slave is a `replica`)" : near ? `: did you mean ${near}?` : "";
            problem(`${key}.role`, role, `use source or replica${hint}`);
        }
        const serverId = wholeNumber(m.serverId);
        if (!Number.isInteger(serverId) || serverId < 1 || serverId > MAX_SERVER_ID) {
            problem(`${key}.serverId`, m.serverId, `use a whole number from 1 to ${MAX_SERVER_ID}, unique in the set`);
        }
        const hostPort = wholeNumber(m.hostPort);
        if (!Number.isInteger(hostPort) || hostPort < 1 || hostPort > 65535) {
            problem(`${key}.hostPort`, m.hostPort, "use a port number from 1 to 65535, unique in the set");
        }
        for (const extra of Object.keys(m)) {
            if (!["name", "role", "serverId", "hostPort", "host", "reseed"].includes(extra)) {
                problem(`${key}.${extra}`, m[extra], "remove it: a member takes name, role, serverId, hostPort, host and reseed");
            }
        }
        if (m.reseed !== undefined && typeof m.reseed !== "boolean") problem(`${key}.reseed`, m.reseed, "use true or false (true lets a seed replace this replica's own schemas)");
        if (m.reseed === true && role === "source") problem(`${key}.reseed`, m.reseed, "remove it: only a replica is seeded");
        // Checked against hosts by checkPlacement (config/hosts.ts).
        const host = m.host === undefined ? undefined : typeof m.host === "string" ? m.host : String(m.host);
        members.push({
            name,
            role: role as MemberSettings["role"],
            serverId,
            hostPort,
            ...(host !== undefined ? { host } : {}),
            ...(m.reseed === true ? { reseed: true } : {}),
        });
    });

    duplicates(members, (m) => m.name, "name", "give every member its own name", problem);
    duplicates(members, (m) => m.serverId, "serverId", "give every member its own server id", problem);
    // With hosts, ports are unique per host address (config/hosts.ts checkPlacement).
    if (!placed) duplicates(members, (m) => m.hostPort, "hostPort", "give every member its own host port", problem);
    // A misspelt role is reported once, on its entry: counting sources and replicas without it would only echo it.
    if (members.some((m) => m.role !== "source" && m.role !== "replica")) return members;
    const sources = members.filter((m) => m.role === "source");
    if (members.length > 0 && sources.length !== 1) {
        problem("members", sources.map((m) => m.name), "mark exactly one member with role: source (the runbook's master)");
    }
    if (members.length > 0 && !members.some((m) => m.role === "replica")) {
        problem("members", members.map((m) => m.name), "add at least one member with role: replica");
    }
    if (members.length === 0) problem("members", [], "list at least one source and one replica");
    return members;
}

function duplicates<T>(members: MemberSettings[], pick: (m: MemberSettings) => T, field: string, fix: string, problem: Report) {
    const seen = new Map<T, number>();
    members.forEach((m, index) => {
        const value = pick(m);
        // An invalid value is reported once, as invalid, not again as a duplicate of another invalid one.
        if (value === "" || Number.isNaN(value)) return;
        const first = seen.get(value);
        if (first !== undefined) problem(`members[${index}].${field}`, value, `${fix}: members[${first}] has it already`);
        else seen.set(value, index);
    });
}

function storageKey(raw: RawConfig, problem: Report): StorageSettings {
    const mode = stringKey(raw, "storage", DEFAULTS.storage, problem);
    if (mode === "volume") {
        return { mode };
    }
    if (mode === "hostPath") {
        const root = stringKey(raw, "storageRoot", DEFAULTS.storageRoot, problem);
        if (!safeStorageRoot(root)) {
            problem(
                "storageRoot",
                root,
                "use an absolute directory path of letters, digits, '.', '_', '-' and '/' only, other than / itself and " +
                    "without '.' or '..' segments (no spaces, quotes, newlines or shell characters such as ; | & $ ( ) ` # * < >), e.g. /db",
            );
        }
        return { mode, root: root.replace(/\/+$/, "") };
    }
    problem("storage", mode, "use volume (Docker named volumes, the default) or hostPath (the runbook's <root>/<member>/{data,log,conf})");
    return { mode: "volume" };
}

/**
 * A hostPath root goes into shell commands run where `pulumi` runs (components/shell.ts quotes it as well) and
 * into bind mounts: only absolute paths of portable file-name characters (POSIX's set, plus '/'), no empty,
 * '.' or '..' segment (a path that climbs or names the same directory twice), not the file-system root.
 */
export function safeStorageRoot(root: string): boolean {
    if (!/^\/[A-Za-z0-9._\/-]*$/.test(root)) return false;
    const segments = root.replace(/\/+$/, "").split("/").slice(1);
    return segments.length > 0 && segments.every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

function stringKey(raw: RawConfig, key: string, fallback: string, problem: Report): string {
    const value = raw[key];
    if (value === undefined) return fallback;
    if (typeof value !== "string") {
        problem(key, value, "write it as a string");
        return fallback;
    }
    return value;
}

function integerKey(raw: RawConfig, key: ConfigKeyName & keyof typeof DEFAULTS, problem: Report): number {
    const value = raw[key];
    const fallback = DEFAULTS[key] as number;
    if (value === undefined) return fallback;
    const [min, max] = range(key);
    const number = wholeNumber(value);
    if (!Number.isInteger(number) || number < min || number > max) {
        problem(key, value, `use a whole number from ${min} to ${max}`);
        return fallback;
    }
    return number;
}

/**
 * A number as YAML or the CLI gives it: a number, or decimal digits as text. Number() alone would also take
 * true, [5], "0x10" and "1e3".
 */
function wholeNumber(value: unknown): number {
    if (typeof value === "number") return value;
    if (typeof value === "string" && /^\s*\d+\s*$/.test(value)) return Number(value);
    return NaN;
}

function booleanKey(raw: RawConfig, key: string, fallback: boolean, problem: Report): boolean {
    const value = raw[key];
    if (value === undefined) return fallback;
    if (value === true || value === "true") return true;
    if (value === false || value === "false") return false;
    problem(key, value, "use true or false");
    return fallback;
}

function show(value: unknown): string {
    if (value === undefined) return "(not set)";
    return JSON.stringify(value);
}
