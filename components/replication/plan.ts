/**
 * Pure: what a provider call has to do. check (inputs → failures naming the property), diff (what changed,
 * never a replacement) and planUpdate (what an update must do beyond converging the new inputs).
 */
import type * as pulumi from "@pulumi/pulumi";
import { replicationAccountHosts, routerCheckHostsToDrop } from "./route";
import { SEED_METHODS, type SeedRecord } from "./seedPlan";
import { ROUTER_CHECK_READS, type MemberEndpoint, type ReplicationInputs, type ReplicationState } from "./types";

/** What one convergence run does beyond attaching every replica to the declared source. */
export interface ConvergeOptions {
    /** Replicas to re-point even when they already replicate from the source (source or credentials changed). */
    reconfigure: Set<string>;
    /** Replicas that left the set: stop and forget their channel. */
    detach: MemberEndpoint[];
    /** Those of `detach` that left at an earlier run (its detach failed): they never fail this run. */
    pendingDetach?: string[];
    /** Replication accounts that are no longer wanted (user or host changed): dropped on every member. */
    dropAccounts: Array<{ user: string; host: string }>;
    /**
     * The member that was the source before this run, when the declared source changed: it is fenced
     * (read-only) and the new source catches up with it before the new source takes writes.
     */
    previousSource?: MemberEndpoint;
    /** Members a failover fenced: made read-only first whenever they answer, then rejoined if they can be. */
    fenced: string[];
    /** Former sources a failover left behind that are no longer declared: made read-only whenever they answer. */
    fencePending?: MemberEndpoint[];
    /**
     * The certificates were re-issued: every member reloads its TLS files, and the previous CA is trusted for
     * this run too (a member presents its old certificate until it reloads or its container is replaced).
     */
    rotateTls?: { previousCa: string };
    /** Replicas seeded by earlier runs (how, when): reported until they leave the set. */
    seeded?: Record<string, SeedRecord>;
    /** Rows of the router's check account the new inputs no longer declare: dropped on the source, binlogged. */
    dropRouterCheck?: Array<{ user: string; host: string }>;
    /** The id of the resource this run is for: it claims every declared member (owner.ts). */
    owner?: string;
}

export const INPUT_KEYS: ReadonlyArray<keyof ReplicationInputs> = [
    "source",
    "replicas",
    "rootUser",
    "rootPassword",
    "replicationUser",
    "replicationPassword",
    "replicationUserHost",
    "otherReplicationUserHosts",
    "tls",
    "tlsCertificates",
    "connectRetrySeconds",
    "deadlineSeconds",
    "verify",
    "heartbeatIntervalMs",
    "failover",
    "containerIds",
    "routerCheckUser",
    "routerCheckHosts",
    "routerCheckReads",
    "seedMethod",
    "reseed",
];

/**
 * The engine's value for "not known yet" (pulumi/pulumi sdk/go/common/resource/plugin/rpc.go UnknownStringValue).
 * In a preview (and the preview `pulumi up` runs first) every input computed from a resource still to be created
 * reaches check as this string, at any depth: a whole object or list made by an apply, an element, a field.
 */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * The inputs' failures, each naming its property. Only what is known is judged: a check failure stops a preview
 * (step_generator.go issueCheckErrors), and the same inputs are checked again, known, before create or update.
 */
export function checkInputs(news: Record<string, unknown>): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const known = (value: unknown) => value !== UNKNOWN_VALUE;
    // Each rule runs only on a known value; `ok` says whether it passes.
    const rule = (value: unknown, property: string, ok: (value: unknown) => boolean, reason: string) => {
        if (known(value) && !ok(value)) failures.push({ property, reason });
    };
    const text = (value: unknown) => typeof value === "string" && value !== "";
    const optional = (ok: (value: unknown) => boolean) => (value: unknown) => value === undefined || ok(value);
    const record = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
    /** A list whose known elements pass `ok`. */
    const listOf = (ok: (value: unknown) => boolean, nonEmpty = false) => (value: unknown) =>
        Array.isArray(value) && (!nonEmpty || value.length > 0) && value.every((element) => !known(element) || ok(element));

    const endpoint = (value: unknown, property: string) => {
        if (!known(value)) return;
        if (!record(value)) {
            failures.push({ property, reason: "must be a member endpoint" });
            return;
        }
        rule(value.name, `${property}.name`, text, "must be the member name");
        rule(value.host, `${property}.host`, text, "must be the published host address");
        rule(value.port, `${property}.port`, Number.isInteger, "must be the published port");
        rule(value.internalHost, `${property}.internalHost`, text, "must be the network alias");
        rule(value.internalPort, `${property}.internalPort`, Number.isInteger, "must be the port inside the network");
        // Placement on several Docker hosts (route.ts): absent, or a host name with the address peers reach.
        rule(value.dockerHost, `${property}.dockerHost`, optional(text), "must be the Docker host's name");
        rule(value.peerHost, `${property}.peerHost`, optional(text), "must be the address other hosts reach it at");
        rule(value.peerPort, `${property}.peerPort`, optional(Number.isInteger), "must be the port other hosts reach it at");
    };
    endpoint(news.source, "source");
    rule(news.replicas, "replicas", (v) => Array.isArray(v) && v.length > 0, "must list at least one replica");
    if (Array.isArray(news.replicas)) news.replicas.forEach((r, i) => endpoint(r, `replicas[${i}]`));
    for (const key of ["rootUser", "rootPassword", "replicationUser", "replicationPassword"] as const) {
        rule(news[key], key, text, "must be a non-empty string");
    }
    // Short secrets cannot be redacted from messages without garbling them (`user 'repl'@…`): 8 at least.
    for (const key of ["rootPassword", "replicationPassword"] as const) {
        const value = news[key];
        if (known(value) && typeof value === "string" && value.length > 0 && value.length < 8) {
            failures.push({ property: key, reason: `must be at least 8 characters (it has ${value.length}); set a longer one or let the program generate it` });
        }
    }
    rule(news.replicationUserHost, "replicationUserHost", text, "must be a host pattern");
    rule(news.otherReplicationUserHosts, "otherReplicationUserHosts", optional(listOf(text)), "must be a list of host patterns");
    rule(news.tls, "tls", (v) => ["verify", "auto", "on", "off"].includes(v as string), "must be verify, auto, on or off");
    // An unknown tls may be verify: its certificates are then checked as if it were.
    if (news.tls === "verify" || !known(news.tls)) {
        const certs = news.tlsCertificates;
        const needed = news.tls === "verify";
        if (known(certs) && (certs !== undefined || needed)) {
            const c = record(certs) ? certs : {};
            rule(c.ca, "tlsCertificates.ca", (v) => typeof v === "string" && v.includes("BEGIN CERTIFICATE"), "tls verify needs the stack's CA certificate (PEM)");
            const files = c.files;
            if (known(files)) {
                const f = record(files) ? files : {};
                for (const key of ["ca", "clientCert", "clientKey"] as const) {
                    rule(f[key], `tlsCertificates.files.${key}`, (v) => typeof v === "string" && v.startsWith("/"), "must be an absolute path on the members' filesystem");
                }
            }
        }
    }
    rule(news.connectRetrySeconds, "connectRetrySeconds", (v) => Number.isInteger(v) && (v as number) >= 1, "must be a whole number ≥ 1");
    rule(news.deadlineSeconds, "deadlineSeconds", (v) => typeof v === "number" && v > 0, "must be a positive number");
    rule(news.verify, "verify", (v) => typeof v === "boolean", "must be true or false");
    rule(news.failover, "failover", optional((v) => ["safe", "force"].includes(v as string)), "must be safe or force");
    rule(news.routerCheckUser, "routerCheckUser", optional((v) => typeof v === "string" && /^[A-Za-z0-9_]{1,32}$/.test(v)), "must be 1 to 32 letters, digits or _");
    rule(
        news.routerCheckHosts,
        "routerCheckHosts",
        optional(listOf((h) => typeof h === "string" && h !== "" && h.length <= 255, true)),
        "must list host patterns (1 to 255 characters each)",
    );
    rule(
        news.routerCheckReads,
        "routerCheckReads",
        optional(listOf((r) => ROUTER_CHECK_READS.includes(r as never))),
        `must list what the router's checks read: ${ROUTER_CHECK_READS.join(", ")}`,
    );
    rule(
        news.heartbeatIntervalMs,
        "heartbeatIntervalMs",
        optional(validHeartbeatInterval),
        "must be 0 (off) or whole seconds in ms from 1000 to 3600000 (the event scheduler counts in seconds)",
    );
    rule(news.seedMethod, "seedMethod", optional((v) => SEED_METHODS.includes(v as never)), `must be one of ${SEED_METHODS.join(", ")}`);
    rule(news.reseed, "reseed", optional(listOf((n) => typeof n === "string")), "must list member names");
    return failures;
}

/** 0 (off), or a whole number of seconds in ms between 1 s and 1 h. */
export function validHeartbeatInterval(value: unknown): boolean {
    return value === 0 || (Number.isInteger(value) && (value as number) >= 1000 && (value as number) <= 3_600_000 && (value as number) % 1000 === 0);
}

/** Pure: which inputs changed. Replication is converged in place, so nothing forces a replacement. */
export function diffInputs(olds: Partial<ReplicationState>, news: Partial<ReplicationInputs>): pulumi.dynamic.DiffResult {
    const changed = INPUT_KEYS.filter((key) => canonical(olds[key]) !== canonical(news[key]));
    // A set last observed unhealthy (e.g. by `pulumi refresh`) is converged again by the next `pulumi up`,
    // even without a config change; a healthy one is left alone, so a second `up` changes nothing.
    const unhealthy = olds.healthy === false;
    // So is a set that still has a replica to detach (it left the set, and its detach failed at the last run).
    const leftAttached = (olds.notDetached ?? []).length > 0;
    // So is a set with a former source still to fence (fencePending).
    const leftWritable = (olds.fencePending ?? []).length > 0;
    return { changes: changed.length > 0 || unhealthy || leftAttached || leftWritable, replaces: [], deleteBeforeReplace: false, stables: [] };
}

/**
 * JSON with object keys sorted: olds come back from state through a protobuf Struct, whose map order is not
 * the order the program wrote, so plain JSON.stringify would report a change on every preview.
 */
function canonical(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) =>
        v && typeof v === "object" && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
            : v,
    );
}

export function sameEndpoint(a: MemberEndpoint, b: MemberEndpoint): boolean {
    return a.name === b.name && a.internalHost === b.internalHost && a.internalPort === b.internalPort;
}

/** Pure: what an update has to do beyond converging the new inputs. */
export function planUpdate(olds: ReplicationInputs, news: ReplicationInputs): ConvergeOptions {
    const sourceMoved = !sameEndpoint(olds.source, news.source);
    const credentialsChanged =
        olds.replicationUser !== news.replicationUser ||
        olds.replicationPassword !== news.replicationPassword ||
        olds.replicationUserHost !== news.replicationUserHost ||
        canonical(replicationAccountHosts(olds)) !== canonical(replicationAccountHosts(news)) ||
        olds.tls !== news.tls ||
        canonical(olds.tlsCertificates) !== canonical(news.tlsCertificates) ||
        olds.connectRetrySeconds !== news.connectRetrySeconds;
    const reconfigure = new Set<string>();
    if (sourceMoved || credentialsChanged) news.replicas.forEach((r) => reconfigure.add(r.name));
    const newNames = new Set(news.replicas.map((r) => r.name));
    newNames.add(news.source.name);
    // A replica that left the set stops replicating. One promoted to source is not detached here: the
    // switchover detaches it itself, after it has caught up with the previous source.
    // So does one that left at an earlier run and whose detach failed then (notDetached), unless it is back, or
    // its address is a declared member's now (its container went with it; connectLeaving checks report_host too).
    const declared = [news.source, ...news.replicas];
    const pending = ((olds as Partial<ReplicationState>).notDetached ?? []).filter(
        (p) => !newNames.has(p.name) && !olds.replicas.some((r) => r.name === p.name) && !declared.some((d) => d.host === p.host && d.port === p.port),
    );
    const detach = [...olds.replicas.filter((r) => !newNames.has(r.name)), ...pending];
    // Every old account (user @ host pattern) that the new inputs no longer declare.
    const kept = new Set(replicationAccountHosts(news).map((host) => `${news.replicationUser}@${host}`));
    const dropped = replicationAccountHosts(olds)
        .filter((host) => !kept.has(`${olds.replicationUser}@${host}`))
        .map((host) => ({ user: olds.replicationUser, host }));
    return {
        reconfigure,
        detach,
        ...(pending.length > 0 ? { pendingDetach: pending.map((p) => p.name) } : {}),
        // The old account goes wherever it exists, whether or not the source moved in the same update.
        dropAccounts: olds.replicationUser !== news.rootUser ? dropped : [],
        previousSource: sourceMoved ? olds.source : undefined,
        fenced: (olds as Partial<ReplicationState>).fenced ?? [],
        fencePending: (olds as Partial<ReplicationState>).fencePending ?? [],
        ...(news.tls === "verify" && news.tlsCertificates && olds.tlsCertificates?.revision !== news.tlsCertificates.revision
            ? { rotateTls: { previousCa: olds.tlsCertificates?.ca ?? "" } }
            : {}),
        seeded: (olds as Partial<ReplicationState>).seeded ?? {},
        dropRouterCheck: routerCheckHostsToDrop(olds, news),
    };
}

/** The options of a run with nothing to do beyond converging: create, or an update without changes. */
export function plainRun(): ConvergeOptions {
    return { reconfigure: new Set(), detach: [], dropAccounts: [], fenced: [] };
}
