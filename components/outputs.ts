/**
 * The stack's output contract: what `pulumi stack output --json` prints, what CI reads, and what the check
 * command (bin/check.ts) validates. One definition, used by index.ts and by the check command alike.
 */

/** The source (the runbook's master). */
export interface SourceStatus {
    /** Member name, e.g. db001. */
    member: string;
    /** Published address, host:port. */
    endpoint: string;
    /** VERSION() of the live server, e.g. "5.7.30-33-log" or "10.11.6-MariaDB-0+deb12u1-log". */
    serverVersion: string;
    /** mysql | percona | mariadb, as detected on the live server. */
    flavor: string;
    /** SQL dialect the provider chose for it (mysql-5.7, mysql-8.0-legacy, mysql-8.0, mysql-8.4, mariadb). */
    dialect: string;
    /**
     * The source's server refuses writes (@@read_only): every member starts read-only, so a source that restarted
     * since the provider's last run stays so until the next one. Optional when read back: stacks made before it
     * lack it.
     */
    readOnly?: boolean;
}

/** One replica's replication status. */
export interface ReplicaStatus {
    /** Published address, host:port. */
    endpoint: string;
    /** Where the replica points inside the network, host:port ("" when not configured). */
    source: string;
    /** The IO (receiver) thread runs: Slave_IO_Running / Replica_IO_Running = Yes. */
    ioRunning: boolean;
    /** The SQL (applier) thread runs. */
    sqlRunning: boolean;
    /** Seconds_Behind_Source/Master; null when a thread is not running. */
    secondsBehindSource: number | null;
    /** "errno: message" of the last IO error, "" when none. */
    lastIoError: string;
    /** "errno: message" of the last SQL error, "" when none. */
    lastSqlError: string;
    /** GTIDs received from the source (MariaDB: Gtid_IO_Pos). */
    retrievedGtidSet: string;
    /** GTIDs applied (MariaDB: Gtid_Slave_Pos). */
    executedGtidSet: string;
    /** Milliseconds from writing the probe row on the source to the replica reporting it applied; null when not verified. */
    probeLagMs: number | null;
    /**
     * The replica's clock minus the last heartbeat it applied (the source writes its NOW(6) every
     * heartbeatIntervalMs), in ms, corrected by the two servers' clocks as the provider read them (clockSkewMs): true
     * lag, also while the IO thread is stalled. Never negative. null before the first heartbeat, with the heartbeat
     * off, or when it cannot be told (heartbeatError says why).
     */
    heartbeatLagMs: number | null;
    /**
     * This replica's clock minus its source's, in ms, each read by the provider against its own clock in one round
     * trip; null when one could not be read. Optional when read back: stacks made before it lack it.
     */
    clockSkewMs?: number | null;
    /** Why heartbeatLagMs is null although a heartbeat was read (the clocks moved); "" otherwise. Optional when read back. */
    heartbeatError?: string;
    /** Transactions this replica holds that the source lacks (someone wrote to it), "" when none. */
    errantGtids: string;
    /** VERSION() of the live server. */
    serverVersion: string;
    /** SQL dialect the provider chose for it. */
    dialect: string;
    /** How the provider seeded this replica from a copy of the source: "dump", or "" when it never did. */
    seededBy: string;
    /** When (ISO time) that seed finished; "" when never. */
    seededAt: string;
}

/** Where applications connect (issue #15): host:port of the router's endpoints, "" without a router. */
export interface Endpoints {
    /** Reaches the declared source only: writes. */
    writer: string;
    /** Balanced over the replicas (the source only while none is up): reads. */
    reader: string;
}

/** The top-level stack outputs. */
export interface StackOutputs {
    source: SourceStatus;
    /** Keyed by member name. */
    replicas: Record<string, ReplicaStatus>;
    /** True when every replica's threads run, no error is set, and the source is not read-only. */
    healthy: boolean;
    /** A short human-readable summary, e.g. "db001 (source) -> db002, db003 on network mybridge". */
    topology: string;
    /** The router's endpoints; empty strings with `router: none`. Optional when read back: older stacks lack it. */
    endpoints?: Endpoints;
    /** The stack's CA certificate (PEM, public) that every member's certificate chains to; "" unless replicationTls is verify. */
    caCertificate?: string;
}

/** The source takes writes (not reported read-only; a status without the field, from an older stack, counts as writable). */
export function sourceWritable(status: Pick<SourceStatus, "readOnly"> | undefined): boolean {
    return status?.readOnly !== true;
}

/** True when both threads run, neither reports an error, and the replica holds no transaction the source lacks. */
export function replicaHealthy(
    status: Pick<ReplicaStatus, "ioRunning" | "sqlRunning" | "lastIoError" | "lastSqlError"> & Partial<Pick<ReplicaStatus, "errantGtids">>,
): boolean {
    return status.ioRunning && status.sqlRunning && status.lastIoError === "" && status.lastSqlError === "" && (status.errantGtids ?? "") === "";
}

export function topologySummary(source: string, replicas: string[], network: string): string {
    return `${source} (source) -> ${replicas.join(", ")} (replicas) on network ${network}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the contract back (CI, bin/check.ts): validate what `pulumi stack output --json` printed, then judge it.
// Pure: no I/O, no Pulumi. The field tables below are checked against the interfaces at compile time.
// ---------------------------------------------------------------------------------------------------------------

/**
 * The JSON type a contract field must have. A field added after the first release ends in "?": older stacks lack
 * it, so it may be absent when read back (the contract only ever adds fields). An absent "string?" reads as ""
 * and "number|null?" as null (not measured); an absent "boolean?" stays absent (its type says so).
 */
type FieldKind = "string" | "boolean" | "number|null" | "boolean?" | "string?" | "number|null?";

/** What an absent later field reads as. */
const ABSENT: Partial<Record<FieldKind, unknown>> = { "string?": "", "number|null?": null };

const SOURCE_FIELDS = {
    member: "string",
    endpoint: "string",
    serverVersion: "string",
    flavor: "string",
    dialect: "string",
    readOnly: "boolean?",
} as const satisfies Record<keyof SourceStatus, FieldKind>;

const REPLICA_FIELDS = {
    endpoint: "string",
    source: "string",
    ioRunning: "boolean",
    sqlRunning: "boolean",
    secondsBehindSource: "number|null",
    lastIoError: "string",
    lastSqlError: "string",
    retrievedGtidSet: "string",
    executedGtidSet: "string",
    probeLagMs: "number|null",
    heartbeatLagMs: "number|null?",
    clockSkewMs: "number|null?",
    heartbeatError: "string?",
    errantGtids: "string?",
    serverVersion: "string",
    dialect: "string",
    seededBy: "string?",
    seededAt: "string?",
} as const satisfies Record<keyof ReplicaStatus, FieldKind>;

const ENDPOINT_FIELDS = {
    writer: "string",
    reader: "string",
} as const satisfies Record<keyof Endpoints, FieldKind>;

/** What `pulumi stack output --json` prints in place of a secret value. */
const SECRET_PLACEHOLDER = "[secret]";

/** The result of parseStackOutputs: the typed outputs, or every problem found (each naming a path). */
export type ParseResult = { ok: true; outputs: StackOutputs } | { ok: false; problems: string[] };

/**
 * Validates a parsed JSON value against the output contract. Extra fields (e.g. the password outputs, which
 * the CLI prints as "[secret]") are tolerated and dropped: the returned outputs hold only contract fields.
 * Problems name the path and say what was expected and found, e.g.
 * `replicas.db002.ioRunning: expected boolean, got "Yes"`.
 */
export function parseStackOutputs(value: unknown): ParseResult {
    const problems: string[] = [];
    const top = expectObject(value, "outputs", problems);
    if (!top) return { ok: false, problems };
    if (Object.keys(top).length === 0) problems.push("outputs: empty (the stack has no outputs; has `pulumi up` run?)");

    const source = readFields(top.source, "source", SOURCE_FIELDS, problems) as SourceStatus | undefined;
    const replicas: Record<string, ReplicaStatus> = {};
    const rawReplicas = expectObject(top.replicas, "replicas", problems);
    for (const [member, raw] of Object.entries(rawReplicas ?? {})) {
        const status = readFields(raw, `replicas${pathKey(member)}`, REPLICA_FIELDS, problems) as ReplicaStatus | undefined;
        if (status) replicas[member] = status;
    }
    const healthy = readField(top, "healthy", "", "boolean", problems) as boolean;
    const topology = readField(top, "topology", "", "string", problems) as string;
    // Added after the first release, so optional: stacks made before the router (or verified TLS) lack them.
    const endpoints = top.endpoints === undefined ? undefined : (readFields(top.endpoints, "endpoints", ENDPOINT_FIELDS, problems) as Endpoints | undefined);
    const caCertificate = top.caCertificate === undefined ? undefined : (readField(top, "caCertificate", "", "string", problems) as string);

    if (problems.length > 0 || !source) return { ok: false, problems };
    return { ok: true, outputs: { source, replicas, healthy, topology, ...(endpoints ? { endpoints } : {}), ...(caCertificate !== undefined ? { caCertificate } : {}) } };
}

/** Options of judge(). */
export interface JudgeOptions {
    /**
     * A replica more than this many seconds behind its source is unhealthy: judged on heartbeatLagMs when it is
     * known, else on secondsBehindSource. Default: lag is not judged.
     */
    maxLagSeconds?: number;
}

/** The verdict on one replica. */
export interface ReplicaVerdict {
    /** Member name (the key in `replicas`). */
    member: string;
    role: "replica";
    /** Published address, host:port. */
    endpoint: string;
    /** The IO (receiver) thread runs. */
    io: boolean;
    /** The SQL (applier) thread runs. */
    sql: boolean;
    /** Seconds behind the source (from the heartbeat when known, else Seconds_Behind_Source); null when unknown. */
    lag: number | null;
    /** The heartbeat lag in ms; null when unknown. */
    heartbeatLagMs: number | null;
    /** Transactions the replica holds that the source lacks; "" when none. */
    errantGtids: string;
    /** The last IO error, else the last SQL error, else "". */
    lastError: string;
    healthy: boolean;
    /** Why it is unhealthy, each naming the member, e.g. "db002: IO thread not running"; empty when healthy. */
    reasons: string[];
}

/** The verdict on the whole set: what `check --json` prints. */
export interface Verdict {
    /** True when every replica is healthy and the source takes writes (and there is at least one replica, and the stack's `healthy` agrees). */
    healthy: boolean;
    /** The max-lag limit applied, in seconds; null when lag was not judged. */
    maxLagSeconds: number | null;
    source: SourceStatus;
    /** Sorted by member name. */
    replicas: ReplicaVerdict[];
    /** Every reason for an unhealthy verdict: the replicas' reasons, then set-level ones. */
    reasons: string[];
}

/**
 * Judges validated outputs. A replica is healthy when replicaHealthy() holds and, with maxLagSeconds set, its
 * lag is known and at most the limit. An unknown (null) lag is reported only when both threads run: with a
 * stopped thread the lag is null by definition and the thread's own reason already says why.
 */
export function judge(outputs: StackOutputs, options: JudgeOptions = {}): Verdict {
    const max = options.maxLagSeconds;
    if (max !== undefined && !(Number.isFinite(max) && max >= 0)) {
        throw new RangeError(`maxLagSeconds must be a finite number >= 0, got ${max}`);
    }
    const replicas = Object.keys(outputs.replicas)
        .sort()
        .map((member) => judgeReplica(member, outputs.replicas[member], max));
    const reasons = replicas.flatMap((r) => r.reasons);
    if (!sourceWritable(outputs.source)) {
        reasons.push(
            `${outputs.source.member} (source): read-only, it refuses writes (every member starts read-only: it restarted since the last run); ` +
                "`pulumi up --refresh` makes the declared source writable",
        );
    }
    if (replicas.length === 0) reasons.push("no replicas in the outputs");
    if (reasons.length === 0 && !outputs.healthy) {
        reasons.push("the stack output `healthy` is false although every replica looks healthy (stale outputs? try --refresh)");
    }
    return { healthy: reasons.length === 0, maxLagSeconds: max ?? null, source: outputs.source, replicas, reasons };
}

function judgeReplica(member: string, s: ReplicaStatus, max: number | undefined): ReplicaVerdict {
    const why: string[] = [];
    if (!s.ioRunning) why.push("IO thread not running");
    if (s.lastIoError !== "") why.push(`IO error: ${s.lastIoError}`);
    if (!s.sqlRunning) why.push("SQL thread not running");
    if (s.lastSqlError !== "") why.push(`SQL error: ${s.lastSqlError}`);
    if (s.errantGtids !== "") why.push(`errant transactions: ${s.errantGtids}`);
    // The heartbeat is the true lag (Seconds_Behind_Source reads 0 while the IO thread is stalled). One that cannot
    // be told (the clocks moved; a negative figure from an older provider) is unknown, not Seconds_Behind_Source's 0.
    const untold = heartbeatUntold(s);
    const lag = untold ? null : s.heartbeatLagMs !== null ? Math.round(s.heartbeatLagMs) / 1000 : s.secondsBehindSource;
    if (max !== undefined) {
        if (untold) why.push(`lag unknown with a max lag of ${max} s: ${untold}`);
        else if (lag === null && s.ioRunning && s.sqlRunning) why.push(`lag unknown (null) with a max lag of ${max} s`);
        else if (lag !== null && lag > max) why.push(`lag ${lag} s over the limit ${max} s`);
    }
    return {
        member,
        role: "replica",
        endpoint: s.endpoint,
        io: s.ioRunning,
        sql: s.sqlRunning,
        lag,
        heartbeatLagMs: s.heartbeatLagMs,
        errantGtids: s.errantGtids,
        lastError: s.lastIoError || s.lastSqlError,
        healthy: why.length === 0 && replicaHealthy(s),
        reasons: why.map((reason) => `${member}: ${reason}`),
    };
}

/** Why the heartbeat lag cannot be told, or "" when it can (or there is none). */
function heartbeatUntold(s: ReplicaStatus): string {
    if (s.heartbeatError) return s.heartbeatError;
    if (s.heartbeatLagMs !== null && s.heartbeatLagMs < 0) return `the heartbeat lag reads ${s.heartbeatLagMs} ms: a beat from the future (the members' clocks disagree)`;
    return "";
}

/** Longest error text shown in a table cell; the reasons carry the full text. */
const TABLE_ERROR_WIDTH = 60;

/** The verdict as a plain-text table (source first, then replicas), followed by the outcome and its reasons. */
export function renderTable(verdict: Verdict): string {
    const header = ["MEMBER", "ROLE", "ENDPOINT", "IO", "SQL", "LAG", "LAST ERROR"];
    const rows = [
        [verdict.source.member, "source", verdict.source.endpoint, "-", "-", "-", sourceWritable(verdict.source) ? "" : "read-only"],
        ...verdict.replicas.map((r) => [
            r.member,
            r.role,
            r.endpoint,
            r.io ? "yes" : "NO",
            r.sql ? "yes" : "NO",
            r.lag === null ? "unknown" : `${r.lag} s`,
            truncate(r.lastError, TABLE_ERROR_WIDTH),
        ]),
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
    const limit = verdict.maxLagSeconds === null ? "" : ` (max lag ${verdict.maxLagSeconds} s)`;
    const unhealthy = [...(sourceWritable(verdict.source) ? [] : [verdict.source.member]), ...verdict.replicas.filter((r) => !r.healthy).map((r) => r.member)];
    const outcome = verdict.healthy
        ? `HEALTHY: ${verdict.replicas.length} of ${verdict.replicas.length} replicas${limit}`
        : `UNHEALTHY${unhealthy.length > 0 ? `: ${unhealthy.join(", ")}` : ""}${limit}\n` +
          verdict.reasons.map((r) => `  - ${r}`).join("\n");
    return [line(header), ...rows.map(line), "", outcome].join("\n");
}

function truncate(text: string, width: number): string {
    const oneLine = text.replace(/\s+/g, " ");
    return oneLine.length <= width ? oneLine : `${oneLine.slice(0, width - 1)}…`;
}

/** `replicas.db002`, or `replicas["odd.name"]` when the key is not a plain identifier. */
function pathKey(key: string): string {
    return /^[A-Za-z_][\w-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** Checks every field of a table on an object; returns a copy holding only those fields, or undefined. */
function readFields(value: unknown, path: string, fields: Record<string, FieldKind>, problems: string[]): Record<string, unknown> | undefined {
    const obj = expectObject(value, path, problems);
    if (!obj) return undefined;
    const before = problems.length;
    const out: Record<string, unknown> = {};
    for (const [name, kind] of Object.entries(fields)) {
        if (kind.endsWith("?") && obj[name] === undefined) {
            if (kind in ABSENT) out[name] = ABSENT[kind];
            continue;
        }
        out[name] = readField(obj, name, path, kind, problems);
    }
    return problems.length === before ? out : undefined;
}

function readField(obj: Record<string, unknown>, name: string, parent: string, kind: FieldKind, problems: string[]): unknown {
    const path = parent === "" ? name : `${parent}.${name}`;
    const value = obj[name];
    const fits = kind.startsWith("number|null") ? value === null || (typeof value === "number" && Number.isFinite(value)) : typeof value === kind.replace("?", "");
    if (!fits) problems.push(value === undefined ? `${path}: missing (expected ${describeKind(kind)})` : `${path}: expected ${describeKind(kind)}, got ${describeValue(value)}`);
    return value;
}

/** A JSON object (not an array, not null), or undefined after recording why not. */
function expectObject(value: unknown, path: string, problems: string[]): Record<string, unknown> | undefined {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    if (value === undefined) problems.push(`${path}: missing (expected object)`);
    else if (value === SECRET_PLACEHOLDER) problems.push(`${path}: expected object, got a secret ("[secret]"); it must be a plain output`);
    // The value itself is not echoed: a mistaken input (a password output, say) must not reach the log.
    else problems.push(`${path}: expected object, got ${Array.isArray(value) ? "array" : value === null ? "null" : typeof value}`);
    return undefined;
}

function describeKind(kind: FieldKind): string {
    return kind.startsWith("number|null") ? "number or null" : kind.replace("?", "");
}

/** A short rendering of a wrong-typed scalar, e.g. `"Yes"`, `3`, `null`, `object`. */
function describeValue(value: unknown): string {
    if (value === null) return "null";
    if (Array.isArray(value)) return "array";
    if (typeof value === "object") return "object";
    if (typeof value === "string") return JSON.stringify(truncate(value, 40));
    return String(value);
}
