/**
 * The replication resource's inputs and outputs: plain data shared by the resource class, the provider and
 * the outputs contract. Passwords are inputs and are kept in state only as Pulumi secrets.
 */
import type { ReplicaStatus, SourceStatus } from "../outputs";
import type { SeedMethod, SeedRecord } from "./seedPlan";

/**
 * verify: mutual TLS under the stack's CA, the source's and every member's identity checked (needs tlsCertificates);
 * auto: TLS when the source has a certificate, unverified; on: TLS required, unverified; off: in the clear.
 */
export type TlsMode = "verify" | "auto" | "on" | "off";

/** The stack's certificates as the provider uses them (`tls: verify`). */
export interface TlsCertificates {
    /** The CA certificate (PEM, public): the provider's own connections trust it alone. */
    ca: string;
    /** Paths on every member's filesystem, for the replicas' channels. */
    files: { ca: string; clientCert: string; clientKey: string };
    /**
     * Changes when the CA or the replication client's certificate is re-issued (a digest of both): every member
     * reloads its files and every replica is re-pointed. The files themselves arrive with the containers, which a
     * re-issue replaces (the Docker provider's uploads), so the reload mostly confirms what a new container
     * already loaded. A member's own certificate is not part of it: it comes and goes with its container.
     */
    revision: string;
}

/** One member as the provider sees it. */
export interface MemberEndpoint {
    /** Member name (db001). */
    name: string;
    /** Address the provider connects to: the published host address. */
    host: string;
    /** Published host port. */
    port: number;
    /** Address other members use inside the Docker network: the member's network alias. */
    internalHost: string;
    /** Port inside the network. */
    internalPort: number;
    /** The Docker host it runs on (config `hosts[].name`); absent: the one local engine. route.ts channelTarget. */
    dockerHost?: string;
    /** Address at which members on other Docker hosts reach it: its host's address. Absent without hosts. */
    peerHost?: string;
    /** Port at which members on other Docker hosts reach it: its published port. */
    peerPort?: number;
}

/** What a router check reads (see ReplicationInputs.routerCheckReads). */
export type RouterCheckRead = "threads" | "heartbeat";
export const ROUTER_CHECK_READS: readonly RouterCheckRead[] = ["threads", "heartbeat"];

export interface ReplicationInputs {
    source: MemberEndpoint;
    replicas: MemberEndpoint[];
    /** Administrative account the provider uses on every member. */
    rootUser: string;
    rootPassword: string;
    /** Replication account created on the source. */
    replicationUser: string;
    replicationPassword: string;
    /** Host part of the replication account: the network's subnet in netmask notation, or '%'. */
    replicationUserHost: string;
    /**
     * Further host patterns of the same account (members on several Docker hosts: each host's bridge subnet and
     * each host's address); one account per pattern, same password. Absent: only replicationUserHost.
     */
    otherReplicationUserHosts?: string[];
    tls: TlsMode;
    /** Required when tls is verify. */
    tlsCertificates?: TlsCertificates;
    connectRetrySeconds: number;
    /** Every wait of one operation ends by this many seconds. */
    deadlineSeconds: number;
    /** Write a probe row on the source and wait for it on every replica. */
    verify: boolean;
    /** How often the source writes its heartbeat, in ms (whole seconds); 0 turns the heartbeat off. Default 1000. */
    heartbeatIntervalMs?: number;
    /**
     * A failover to a candidate behind another reachable replica: "safe" refuses it; "force" promotes the
     * candidate anyway and sidelines (fences, never deletes) each replica that holds the transactions given up.
     * Default "safe".
     */
    failover?: "safe" | "force";
    /**
     * Ids of the members' containers. Not used to connect: a replaced container (new image, new flags) changes
     * them, so the next `pulumi up` converges the set again (read-only state, statuses, versions).
     */
    containerIds?: string[];
    /**
     * The router's health-check account (no password, host `replicationUserHost`, SELECT on what routerCheckReads
     * names), created on the source when missing and replicated to every member. Absent: no router.
     */
    routerCheckUser?: string;
    /**
     * Host patterns of the router's check account, one account each (the router on one of several Docker hosts:
     * its host's bridge subnet and its host's address). Absent: replicationUserHost only.
     */
    routerCheckHosts?: string[];
    /**
     * What the router's checks read, granted SELECT to the check account on the live flavor's tables
     * (components/router/check.ts): `threads`, the replication status; `heartbeat`, the heartbeat table (a lag
     * limit). Absent: nothing is granted (a stack made before the checks read anything).
     */
    routerCheckReads?: RouterCheckRead[];
    /** How a replica the source's binlogs cannot bring up to date is seeded: auto (default), dump or none. */
    seedMethod?: SeedMethod;
    /** Members whose own schemas a seed may replace (members[].reseed). */
    reseed?: string[];
}

/** What the provider stores in state: its inputs (passwords as secrets) plus the observed status. */
export interface ReplicationState extends ReplicationInputs {
    sourceStatus: SourceStatus;
    replicaStatus: Record<string, ReplicaStatus>;
    healthy: boolean;
    /**
     * Members fenced by a failover (their source died and another was promoted): read-only, not replicating,
     * reported unhealthy until a run rejoins them.
     */
    fenced?: string[];
    /**
     * Former sources a failover left behind that are no longer declared members (dropped in the same update) and
     * that no run has made read-only yet: each run tries (they are in `fenced` too), and the set is unhealthy until then.
     */
    fencePending?: MemberEndpoint[];
    /** Whether replication ran over TLS, as resolved from `tls` and the source's capabilities. */
    tlsInUse: boolean;
    /** Replicas seeded from a copy of the source: how and when (kept across refreshes). */
    seeded?: Record<string, SeedRecord>;
    /**
     * Replicas that left the set but whose detach failed at the last run (it comes last, once the set has
     * converged): the next `pulumi up` tries again (diffInputs), and a delete detaches them too.
     */
    notDetached?: MemberEndpoint[];
    /** ISO time of the last observation. */
    observedAt: string;
}
