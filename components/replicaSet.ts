/**
 * ReplicaSet: the runbook's topology as one component. Declares the bridge network, per-member storage,
 * the image, one container per member, and the replication resource after the containers.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as command from "@pulumi/command";
import * as random from "@pulumi/random";
import type { MemberSettings, ReplicaSetSettings } from "../config/types";
import { cidrToAccountHost, dialAddress } from "./network";
import { replicaHealthy, topologySummary, type ReplicaStatus, type SourceStatus } from "./outputs";
import { Replication } from "./replication/resource";
import type { MemberEndpoint } from "./replication/types";
import {
    configIncludeDir,
    DATA_DIR,
    healthcheckTest,
    LOG_DIR,
    rootPasswordVariable,
    SERVER_PORT,
    serverFlags,
} from "./serverFlags";
import { createMemberDirectoriesCommand, deleteMemberDirectoriesCommand, memberDirectories } from "./shell";

export interface ReplicaSetArgs {
    /** Validated settings (config/validate.ts): image, flavor, version, members, storage, options. */
    settings: ReplicaSetSettings;
    /** Root password of every member. Default: generated once and kept in state as a secret. */
    rootPassword?: pulumi.Input<string>;
    /** Password of the replication account. Default: generated once and kept in state as a secret. */
    replicationPassword?: pulumi.Input<string>;
}

export class ReplicaSet extends pulumi.ComponentResource {
    /** The bridge network's name. */
    declare readonly networkName: pulumi.Output<string>;
    /** The source's detected server. */
    declare readonly source: pulumi.Output<SourceStatus>;
    /** Replication status keyed by replica name. */
    declare readonly replicas: pulumi.Output<Record<string, ReplicaStatus>>;
    /** True when every replica's threads run and none reports an error. */
    declare readonly healthy: pulumi.Output<boolean>;
    /** One-line summary of the topology. */
    declare readonly topology: pulumi.Output<string>;
    /** Root password (secret). */
    declare readonly rootPassword: pulumi.Output<string>;
    /** Replication password (secret). */
    declare readonly replicationPassword: pulumi.Output<string>;
    /** The containers, keyed by member name. */
    declare readonly containers: Record<string, docker.Container>;
    /** The replication resource. */
    declare readonly replication: Replication;

    constructor(name: string, args: ReplicaSetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mysql-replicaset:index:ReplicaSet", name, {}, opts);
        const s = args.settings;
        const source = s.members.find((m) => m.role === "source")!;
        const replicaMembers = s.members.filter((m) => m.role === "replica");

        if ((!args.rootPassword || !args.replicationPassword) && !s.deleteDataOnDestroy) {
            // The data outlives `pulumi destroy`, but a generated password lives only in the stack's state.
            pulumi.log.warn(
                "Passwords are generated and kept in state, while data volumes survive `pulumi destroy`: before destroying, " +
                    'save them as config (pulumi config set --secret rootPassword "$(pulumi stack output rootPassword --show-secrets)", ' +
                    "and replicationPassword likewise) or the kept data will refuse the next stack's new root password.",
                this,
            );
        }
        const rootPassword = pulumi.secret(args.rootPassword ?? generatedPassword(`${name}-root-password`, this));
        const replicationPassword = pulumi.secret(
            args.replicationPassword ?? generatedPassword(`${name}-replication-password`, this),
        );

        const network = new docker.Network(
            s.networkName,
            { name: s.networkName, driver: "bridge" },
            { parent: this },
        );
        const image = new docker.RemoteImage(
            `${name}-image`,
            { name: s.image, keepLocally: true },
            { parent: this },
        );

        const containers: Record<string, docker.Container> = {};
        for (const member of s.members) {
            const storage = declareStorage(member, s, this);
            containers[member.name] = new docker.Container(
                member.name,
                {
                    name: member.name,
                    image: image.imageId,
                    hostname: member.name,
                    networksAdvanced: [{ name: network.name, aliases: [member.name] }],
                    ports: [{ internal: SERVER_PORT, external: member.hostPort, ip: s.bindAddress, protocol: "tcp" }],
                    volumes: storage.volumes,
                    envs: [pulumi.interpolate`${rootPasswordVariable(s.flavor)}=${rootPassword}`],
                    command: [
                        ...serverFlags(s.flavor, s.version, member),
                        // The conf mount hides the image's docker.cnf in that directory; keep its skip-name-resolve.
                        ...(s.storage.mode === "hostPath" ? ["--skip-name-resolve"] : []),
                    ],
                    restart: s.restartPolicy,
                    healthcheck: {
                        tests: healthcheckTest(s.flavor),
                        interval: "2s",
                        timeout: "5s",
                        retries: 3,
                        // Failures while the entrypoint initialises do not count; the first success counts at once.
                        startPeriod: `${s.readinessTimeoutSeconds}s`,
                    },
                    // Dependents (the replication resource) start only once the server really serves over TCP.
                    wait: true,
                    waitTimeout: s.readinessTimeoutSeconds,
                },
                { parent: this, dependsOn: storage.dependsOn, deleteBeforeReplace: true },
            );
        }

        const accountHost = s.replicationUserHost
            ? pulumi.output(s.replicationUserHost)
            : network.ipamConfigs.apply((configs) => {
                  const host = (configs ?? []).map((c) => cidrToAccountHost(c.subnet)).find((h) => h !== undefined);
                  if (host) return host;
                  pulumi.log.warn(`network ${s.networkName} has no IPv4 subnet; the replication account accepts any host ('%')`, this);
                  return "%";
              });

        const endpoint = (m: MemberSettings): MemberEndpoint => ({
            name: m.name,
            host: dialAddress(s.bindAddress),
            port: m.hostPort,
            internalHost: m.name,
            internalPort: SERVER_PORT,
        });
        const replication = new Replication(
            `${name}-replication`,
            {
                source: endpoint(source),
                replicas: replicaMembers.map(endpoint),
                rootPassword,
                replicationUser: s.replicationUser,
                replicationPassword,
                replicationUserHost: accountHost,
                tls: s.replicationTls,
                connectRetrySeconds: s.connectRetrySeconds,
                deadlineSeconds: s.readinessTimeoutSeconds,
                verify: s.verifyReplication,
                heartbeatIntervalMs: s.heartbeatIntervalMs,
                failover: s.failover,
                seedMethod: s.seedMethod,
                reseed: s.members.filter((m) => m.reseed === true).map((m) => m.name),
                containerIds: s.members.map((m) => containers[m.name].id),
            },
            { parent: this, dependsOn: Object.values(containers) },
        );

        this.networkName = network.name;
        this.containers = containers;
        this.replication = replication;
        this.source = replication.sourceStatus;
        this.replicas = replication.replicaStatus;
        // Every declared replica must report a status, and a healthy one: a missing status is not health.
        this.healthy = replication.replicaStatus.apply((r) =>
            replicaMembers.every((m) => r?.[m.name] !== undefined && replicaHealthy(r[m.name])),
        );
        this.topology = pulumi.output(topologySummary(source.name, replicaMembers.map((m) => m.name), s.networkName));
        this.rootPassword = rootPassword;
        this.replicationPassword = replicationPassword;
        this.registerOutputs({
            networkName: this.networkName,
            source: this.source,
            replicas: this.replicas,
            healthy: this.healthy,
            topology: this.topology,
            rootPassword: this.rootPassword,
            replicationPassword: this.replicationPassword,
        });
    }
}

function generatedPassword(name: string, parent: pulumi.Resource): pulumi.Output<string> {
    // No quotes or backslashes: the password also travels through the entrypoints' shell scripts.
    return new random.RandomPassword(name, { length: 24, special: true, overrideSpecial: "-_.+=^~" }, { parent }).result;
}

interface MemberStorage {
    volumes: docker.types.input.ContainerVolume[];
    dependsOn: pulumi.Resource[];
}

/**
 * Named volumes (default) or the runbook's host directories. Data survives `pulumi destroy` unless
 * deleteDataOnDestroy is set: volumes are declared with retainOnDelete, host directories are removed only
 * with deleteDataOnDestroy, and then only the member's data/ and log/ (conf/ and the member directory when empty).
 */
function declareStorage(member: MemberSettings, s: ReplicaSetSettings, parent: pulumi.Resource): MemberStorage {
    if (s.storage.mode === "volume") {
        const keep = { parent, retainOnDelete: !s.deleteDataOnDestroy };
        const data = new docker.Volume(`${member.name}-data`, { name: `${member.name}-data` }, keep);
        const log = new docker.Volume(`${member.name}-log`, { name: `${member.name}-log` }, keep);
        return {
            volumes: [
                { volumeName: data.name, containerPath: DATA_DIR },
                { volumeName: log.name, containerPath: LOG_DIR },
            ],
            dependsOn: [data, log],
        };
    }
    const dir = memberDirectories(s.storage.root, member.name);
    // mysqld runs as a non-root user inside the image: the directories must be its own (not chmod 777).
    // Every path and the owner are shell-quoted (components/shell.ts); delete removes only the member's data/
    // and log/, and conf/ and the member directory only when empty (why: see deleteMemberDirectoriesCommand).
    const dirs = new command.local.Command(
        `${member.name}-dirs`,
        {
            create: createMemberDirectoriesCommand(s.storage.root, member.name, s.dataOwner),
            delete: s.deleteDataOnDestroy ? deleteMemberDirectoriesCommand(s.storage.root, member.name) : undefined,
        },
        // No `triggers`: a changed trigger REPLACES the command, and a replacement runs the old delete after
        // the new create — with deleteDataOnDestroy, `rm` of the live data of a member whose owner or root
        // changed. A changed create is re-run in place instead (mkdir -p and chown are idempotent). Stacks
        // made before this change hold triggers in state: ignoring them keeps that value, so no replacement.
        { parent, ignoreChanges: ["triggers"] },
    );
    return {
        volumes: [
            { hostPath: dir.data, containerPath: DATA_DIR },
            { hostPath: dir.log, containerPath: LOG_DIR },
            { hostPath: dir.conf, containerPath: configIncludeDir(s.flavor), readOnly: true },
        ],
        dependsOn: [dirs],
    };
}
