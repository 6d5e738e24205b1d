/**
 * Pure: what a provider call has to do. check (inputs → failures naming the property), diff (what changed,
 * never a replacement) and planUpdate (what an update must do beyond converging the new inputs).
 */
import type * as pulumi from "@pulumi/pulumi";
import { replicationAccountHosts, routerCheckHostsToDrop } from "./route";
import { SEED_METHODS, type SeedRecord } from "./seedPlan";
import { ROUTER_CHECK_READS, type MemberEndpoint, type ReplicationInputs, type ReplicationState, type TlsCertificates } from "./types";

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
    /**
     * The certificates were re-issued: every member reloads its TLS files, and the previous CA is trusted for
     * this run too (a member presents its old certificate until it reloads or its container is replaced).
     */
    rotateTls?: { previousCa: string };
    /** Replicas seeded by earlier runs (how, when): reported until they leave the set. */
    seeded?: Record<string, SeedRecord>;
    /** Rows of the router's check account the new inputs no longer declare: dropped on the source, binlogged. */
    dropRouterCheck?: Array<{ user: string; host: string }>;
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

export function checkInputs(news: Record<string, unknown>): pulumi.dynamic.CheckFailure[] {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const endpoint = (value: unknown, property: string) => {
        const e = value as Partial<MemberEndpoint> | undefined;
        if (!e || typeof e !== "object") {
            fail(property, "must be a member endpoint");
            return;
        }
        if (typeof e.name !== "string" || e.name === "") fail(`${property}.name`, "must be the member name");
        if (typeof e.host !== "string" || e.host === "") fail(`${property}.host`, "must be the published host address");
        if (!Number.isInteger(e.port)) fail(`${property}.port`, "must be the published port");
        if (typeof e.internalHost !== "string" || e.internalHost === "") fail(`${property}.internalHost`, "must be the network alias");
        if (!Number.isInteger(e.internalPort)) fail(`${property}.internalPort`, "must be the port inside the network");
        // Placement on several Docker hosts (route.ts): absent, or a host name with the address peers reach.
        if (e.dockerHost !== undefined && (typeof e.dockerHost !== "string" || e.dockerHost === "")) fail(`${property}.dockerHost`, "must be the Docker host's name");
        if (e.peerHost !== undefined && (typeof e.peerHost !== "string" || e.peerHost === "")) fail(`${property}.peerHost`, "must be the address other hosts reach it at");
        if (e.peerPort !== undefined && !Number.isInteger(e.peerPort)) fail(`${property}.peerPort`, "must be the port other hosts reach it at");
    };
    endpoint(news.source, "source");
    if (!Array.isArray(news.replicas) || news.replicas.length === 0) fail("replicas", "must list at least one replica");
    else news.replicas.forEach((r, i) => endpoint(r, `replicas[${i}]`));
    for (const key of ["rootUser", "rootPassword", "replicationUser", "replicationPassword"] as const) {
        if (typeof news[key] !== "string" || news[key] === "") fail(key, "must be a non-empty string");
    }
    // Short secrets cannot be redacted from messages without garbling them (`user 'repl'@…`): 8 at least.
    for (const key of ["rootPassword", "replicationPassword"] as const) {
        const length = typeof news[key] === "string" ? (news[key] as string).length : 0;
        if (length > 0 && length < 8) fail(key, `must be at least 8 characters (it has ${length}); set a longer one or let the program generate it`);
    }
    if (typeof news.replicationUserHost !== "string" || news.replicationUserHost === "") fail("replicationUserHost", "must be a host pattern");
    const others = news.otherReplicationUserHosts;
    if (others !== undefined && (!Array.isArray(others) || others.some((h) => typeof h !== "string" || h === ""))) {
        fail("otherReplicationUserHosts", "must be a list of host patterns");
    }
    if (!["verify", "auto", "on", "off"].includes(news.tls as string)) fail("tls", "must be verify, auto, on or off");
    if (news.tls === "verify") {
        const certs = news.tlsCertificates as Partial<TlsCertificates> | undefined;
        if (!certs || typeof certs.ca !== "string" || !certs.ca.includes("BEGIN CERTIFICATE")) fail("tlsCertificates.ca", "tls verify needs the stack's CA certificate (PEM)");
        const files = certs?.files as Partial<TlsCertificates["files"]> | undefined;
        for (const key of ["ca", "clientCert", "clientKey"] as const) {
            if (typeof files?.[key] !== "string" || !files[key]!.startsWith("/")) fail(`tlsCertificates.files.${key}`, "must be an absolute path on the members' filesystem");
        }
    }
    if (!Number.isInteger(news.connectRetrySeconds) || (news.connectRetrySeconds as number) < 1) fail("connectRetrySeconds", "must be a whole number ≥ 1");
    if (typeof news.deadlineSeconds !== "number" || news.deadlineSeconds <= 0) fail("deadlineSeconds", "must be a positive number");
    if (typeof news.verify !== "boolean") fail("verify", "must be true or false");
    if (news.failover !== undefined && !["safe", "force"].includes(news.failover as string)) fail("failover", "must be safe or force");
    if (news.routerCheckUser !== undefined && !(typeof news.routerCheckUser === "string" && /^[A-Za-z0-9_]{1,32}$/.test(news.routerCheckUser))) {
        fail("routerCheckUser", "must be 1 to 32 letters, digits or _");
    }
    if (news.routerCheckHosts !== undefined && !(Array.isArray(news.routerCheckHosts) && news.routerCheckHosts.length > 0 &&
        news.routerCheckHosts.every((h) => typeof h === "string" && h !== "" && h.length <= 255))) {
        fail("routerCheckHosts", "must list host patterns (1 to 255 characters each)");
    }
    if (news.routerCheckReads !== undefined && !(Array.isArray(news.routerCheckReads) && news.routerCheckReads.every((r) => ROUTER_CHECK_READS.includes(r as never)))) {
        fail("routerCheckReads", `must list what the router's checks read: ${ROUTER_CHECK_READS.join(", ")}`);
    }
    if (news.heartbeatIntervalMs !== undefined && !validHeartbeatInterval(news.heartbeatIntervalMs)) {
        fail("heartbeatIntervalMs", "must be 0 (off) or whole seconds in ms from 1000 to 3600000 (the event scheduler counts in seconds)");
    }
    if (news.seedMethod !== undefined && !SEED_METHODS.includes(news.seedMethod as never)) fail("seedMethod", `must be one of ${SEED_METHODS.join(", ")}`);
    if (news.reseed !== undefined && !(Array.isArray(news.reseed) && news.reseed.every((n) => typeof n === "string"))) fail("reseed", "must list member names");
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
    return { changes: changed.length > 0 || unhealthy || leftAttached, replaces: [], deleteBeforeReplace: false, stables: [] };
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
