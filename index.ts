/**
 * mysql-replicaset: one source and N replicas of MySQL, Percona Server or MariaDB on a Docker bridge network,
 * replicating by GTID, verified, with each replica's status as stack outputs (see components/outputs.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config/load";
import { assertHostPortsFree } from "./config/preflight";
import { ReplicaSet } from "./components/replicaSet";
import { routerContainerName } from "./components/router/declare";
import type { StackOutputs } from "./components/outputs";

/** The contract CI reads with `pulumi stack output --json` (StackOutputs), plus the two secrets. */
type ProgramOutputs = { [K in keyof StackOutputs]-?: pulumi.Output<NonNullable<StackOutputs[K]>> } & {
    /** Secret: shown only with `pulumi stack output --show-secrets`. */
    rootPassword: pulumi.Output<string>;
    /** Secret, as rootPassword. */
    replicationPassword: pulumi.Output<string>;
};

/** The program: Pulumi runs the exported function and exports the properties of what it returns. */
export = async (): Promise<ProgramOutputs> => {
    // Every key is validated first, and the host ports checked: bad input throws here, naming the key,
    // before any resource is declared.
    const config = loadConfig();
    // The ports of members on `hosts` are published on other engines, which this machine cannot check.
    if (config.settings.checkHostPorts && !config.settings.hosts) await assertHostPortsFree(config.settings, routerContainerName(pulumi.getProject()));

    const replicaSet = new ReplicaSet(pulumi.getProject(), {
        settings: config.settings,
        rootPassword: config.rootPassword,
        replicationPassword: config.replicationPassword,
        hostTls: config.hostTls,
    });

    return {
        source: replicaSet.source,
        replicas: replicaSet.replicas,
        healthy: replicaSet.healthy,
        topology: replicaSet.topology,
        endpoints: replicaSet.endpoints,
        caCertificate: replicaSet.caCertificate,
        rootPassword: replicaSet.rootPassword,
        replicationPassword: replicaSet.replicationPassword,
    };
};
