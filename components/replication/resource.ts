/**
 * The replication dynamic resource: declared by ReplicaSet after the containers, converged by provider.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ReplicaStatus, SourceStatus } from "../outputs";
import { replicationProvider } from "./provider";
import type { MemberEndpoint, TlsCertificates, TlsMode } from "./types";

export interface ReplicationArgs {
    /** The source as the provider and the replicas reach it. */
    source: pulumi.Input<MemberEndpoint>;
    /** Every replica, in member order. */
    replicas: pulumi.Input<pulumi.Input<MemberEndpoint>[]>;
    /** Administrative account on every member. Default: root. */
    rootUser?: pulumi.Input<string>;
    /** Its password: pass a Pulumi secret. */
    rootPassword: pulumi.Input<string>;
    /** Replication account created on the source. Default: repl. */
    replicationUser?: pulumi.Input<string>;
    /** Its password: pass a Pulumi secret. */
    replicationPassword: pulumi.Input<string>;
    /** Host part of the replication account (netmask notation or '%'). */
    replicationUserHost: pulumi.Input<string>;
    /** Further host patterns of the account (members on several Docker hosts). */
    otherReplicationUserHosts?: pulumi.Input<pulumi.Input<string>[]>;
    /** Replication over TLS. Default: auto (on when the source has TLS); the component passes verify by default. */
    tls?: pulumi.Input<TlsMode>;
    /** tls verify: the stack's CA (public), the files' paths on the members, and the certificates' revision. */
    tlsCertificates?: pulumi.Input<TlsCertificates>;
    /** MASTER_CONNECT_RETRY / SOURCE_CONNECT_RETRY in seconds. Default: 10. */
    connectRetrySeconds?: pulumi.Input<number>;
    /** Deadline of one operation's waits, in seconds. Default: 300. */
    deadlineSeconds?: pulumi.Input<number>;
    /** Verify with a probe row after (re)configuring. Default: true. */
    verify?: pulumi.Input<boolean>;
    /** Heartbeat period in ms (whole seconds); 0 turns it off. Default: 1000. */
    heartbeatIntervalMs?: pulumi.Input<number>;
    /** A failover to a replica behind another one: "safe" refuses, "force" accepts the loss. Default: safe. */
    failover?: pulumi.Input<"safe" | "force">;
    /** Ids of the members' containers: a replaced container makes the next `pulumi up` converge again. */
    containerIds?: pulumi.Input<pulumi.Input<string>[]>;
    /** The router's health-check account (no password; SELECT on what its checks read), when a router is declared. */
    routerCheckUser?: pulumi.Input<string>;
    /** The check account's host patterns (the router on one of several Docker hosts); absent: replicationUserHost. */
    routerCheckHosts?: pulumi.Input<pulumi.Input<string>[]>;
    /** What the router's checks read: the check account is granted SELECT on those tables. */
    routerCheckReads?: pulumi.Input<pulumi.Input<"threads" | "heartbeat">[]>;
    /** How a replica the source's binlogs cannot bring up to date is seeded: auto (default), dump, none. */
    seedMethod?: pulumi.Input<"auto" | "clone" | "dump" | "none">;
    /** Members whose own schemas a seed may replace. */
    reseed?: pulumi.Input<pulumi.Input<string>[]>;
}

/** Output properties that carry passwords: stored in state as secrets, never in plain text. */
export const SECRET_OUTPUTS = ["rootPassword", "replicationPassword"];

export class Replication extends pulumi.dynamic.Resource {
    /** The source's detected server and dialect. */
    declare readonly sourceStatus: pulumi.Output<SourceStatus>;
    /** Replication status keyed by replica name. */
    declare readonly replicaStatus: pulumi.Output<Record<string, ReplicaStatus>>;
    /** True when every replica's threads run and none reports an error. */
    declare readonly healthy: pulumi.Output<boolean>;
    /** Whether replication runs over TLS. */
    declare readonly tlsInUse: pulumi.Output<boolean>;
    declare readonly observedAt: pulumi.Output<string>;

    constructor(name: string, args: ReplicationArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            replicationProvider,
            name,
            {
                rootUser: "root",
                replicationUser: "repl",
                tls: "auto",
                connectRetrySeconds: 10,
                deadlineSeconds: 300,
                verify: true,
                heartbeatIntervalMs: 1000,
                failover: "safe",
                seedMethod: "auto",
                reseed: [],
                ...args,
                rootPassword: pulumi.secret(args.rootPassword),
                replicationPassword: pulumi.secret(args.replicationPassword),
                sourceStatus: undefined,
                replicaStatus: undefined,
                healthy: undefined,
                tlsInUse: undefined,
                observedAt: undefined,
            },
            {
                ...opts,
                additionalSecretOutputs: [...SECRET_OUTPUTS, ...(opts?.additionalSecretOutputs ?? [])],
            },
            "replicaset",
            "Replication",
        );
    }
}
