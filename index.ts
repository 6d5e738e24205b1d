/**
 * mysql-replicaset: one source and N replicas of MySQL, Percona Server or MariaDB on a Docker bridge network,
 * replicating by GTID, verified, with each replica's status as stack outputs (see components/outputs.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config/load";
import { ReplicaSet } from "./components/replicaSet";
import type { StackOutputs } from "./components/outputs";

// Validates every key first: bad input throws here, naming the key, before any resource is declared.
const config = loadConfig();

const replicaSet = new ReplicaSet(pulumi.getProject(), {
    settings: config.settings,
    rootPassword: config.rootPassword,
    replicationPassword: config.replicationPassword,
});

/** The contract CI reads with `pulumi stack output --json` (type: StackOutputs). */
const outputs: { [K in keyof StackOutputs]: pulumi.Output<StackOutputs[K]> } = {
    source: replicaSet.source,
    replicas: replicaSet.replicas,
    healthy: replicaSet.healthy,
    topology: replicaSet.topology,
};

export const source = outputs.source;
export const replicas = outputs.replicas;
export const healthy = outputs.healthy;
export const topology = outputs.topology;
/** Secrets: shown only with `pulumi stack output --show-secrets`. */
export const rootPassword = replicaSet.rootPassword;
export const replicationPassword = replicaSet.replicationPassword;
