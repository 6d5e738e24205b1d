/**
 * ReplicaSet: the runbook's topology as one component. Declares the bridge network, per-member storage,
 * the image, one container per member, and the replication resource after the containers.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as command from "@pulumi/command";
import * as random from "@pulumi/random";
import type { MemberSettings, ReplicaSetSettings } from "../config/types";
import { CLONE_RESTART_POLICIES } from "../config/validate";
import { declareEngines, type HostTls } from "./hosts";
import { cidrToAccountHost } from "./network";
import { memberAddresses, memberEndpoint, publishAddress } from "./placement";
import { replicaHealthy, sourceWritable, topologySummary, type Endpoints, type ReplicaStatus, type SourceStatus } from "./outputs";
import { declareRouter, routerCheckReads, routerEndpoints } from "./router/declare";
import { ROUTER_CHECK_USER } from "../config/accounts";
import { Replication } from "./replication/resource";
import type { MemberEndpoint } from "./replication/types";
import {
    configIncludeDir,
    DATA_DIR,
    healthcheckTest,
    LOG_DIR,
    rootPasswordVariable,
    SERVER_PORT,
    SERVER_STOP_GRACE_SECONDS,
    serverFlags,
} from "./serverFlags";
import { createMemberDirectoriesCommand, deleteMemberDirectoriesCommand, memberDirectories } from "./shell";
import { declareCertificates, type StackCertificates } from "./certificates";
import { tlsServerFlags } from "./tls";

export interface ReplicaSetArgs {
    /** Validated settings (config/validate.ts): image, flavor, version, members, storage, options. */
    settings: ReplicaSetSettings;
    /** Root password of every member. Default: generated once and kept in state as a secret. */
    rootPassword?: pulumi.Input<string>;
    /** Password of the replication account. Default: generated once and kept in state as a secret. */
    replicationPassword?: pulumi.Input<string>;
    /** TLS material of tcp:// engines by host name (secret config `hostTls`). */
    hostTls?: pulumi.Input<HostTls>;
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
    /** The stack's CA certificate (PEM, public) with `replicationTls: verify`; "" otherwise. */
    declare readonly caCertificate: pulumi.Output<string>;
    /** The containers, keyed by member name. */
    declare readonly containers: Record<string, docker.Container>;
    /** The replication resource. */
    declare readonly replication: Replication;
    /** Where applications connect: the router's writer and reader, host:port ("" without a router). */
    declare readonly endpoints: pulumi.Output<Endpoints>;
    /** The router container, when `router: haproxy`. */
    declare readonly router: docker.Container | undefined;

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

        // One engine without hosts (no explicit provider: the program's default), else one per host; members on
        // one host share its bridge network and image (components/placement.ts, components/hosts.ts).
        const engines = declareEngines(name, s, args.hostTls, this);
        const network = engines.local.network;

        // replicationTls verify: the stack's own CA and certificates, delivered into each container (no host files).
        const certificates: StackCertificates | undefined =
            s.replicationTls === "verify"
                ? declareCertificates(name, {
                      stackName: name,
                      members: s.members,
                      addressesOf: (member) => {
                          // Its alias, and every address it is dialled at: the provider's, and its host's with several hosts.
                          const { dns, ips } = memberAddresses(s, member);
                          return [...dns, ...ips];
                      },
                      replicationUser: s.replicationUser,
                      validityHours: s.tlsValidityDays * 24,
                      dataOwner: s.dataOwner,
                  }, this)
                : undefined;
        if (s.replicationTls === "off") {
            pulumi.log.warn(
                "replicationTls is off: replication traffic (rows and the replication password) crosses the network in the clear, " +
                    "no member proves its identity to replicas or to the provider, and the replication account takes no client certificate. " +
                    "Remove the key (default: verify) to have the stack's own CA make and check certificates on every link.",
                this,
            );
        }

        const containers: Record<string, docker.Container> = {};
        for (const member of s.members) {
            const { network, image, provider } = engines.of(member);
            const storage = declareStorage(member, s, this, provider);
            containers[member.name] = new docker.Container(
                member.name,
                {
                    name: member.name,
                    image: image.imageId,
                    hostname: member.name,
                    networksAdvanced: [{ name: network.name, aliases: [member.name] }],
                    ports: [{ internal: SERVER_PORT, external: member.hostPort, ip: publishAddress(s, member), protocol: "tcp" }],
                    volumes: storage.volumes,
                    envs: [pulumi.interpolate`${rootPasswordVariable(s.flavor)}=${rootPassword}`],
                    command: [
                        ...serverFlags(s.flavor, s.version, member),
                        ...(certificates ? tlsServerFlags(s.flavor, s.version, certificates.paths) : []),
                        // The conf mount hides the image's docker.cnf in that directory; keep its skip-name-resolve.
                        ...(s.storage.mode === "hostPath" ? ["--skip-name-resolve"] : []),
                    ],
                    // A re-issued certificate changes the uploads, and Docker replaces the container to deliver them.
                    ...(certificates ? { uploads: certificates.uploads(member.name) } : {}),
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
                    // Without it the Docker provider's delete (a destroy, or a replacement such as an image upgrade)
                    // kills the server, and its next start recovers from a crash. Changing it updates a container in
                    // place; it never replaces one.
                    destroyGraceSeconds: SERVER_STOP_GRACE_SECONDS,
                },
                { parent: this, dependsOn: storage.dependsOn, deleteBeforeReplace: true, ...(provider ? { provider } : {}) },
            );
        }

        const accountHost = s.replicationUserHost
            ? pulumi.output(s.replicationUserHost)
            : network
            ? network.ipamConfigs.apply((configs) => {
                  const host = (configs ?? []).map((c) => cidrToAccountHost(c.subnet)).find((h) => h !== undefined);
                  if (host) return host;
                  pulumi.log.warn(`network ${s.networkName} has no IPv4 subnet; the replication account accepts any host ('%')`, this);
                  return "%";
              })
            : engines.accountHosts.apply((hosts) => hosts[0]);
        const otherAccountHosts = s.hosts && !s.replicationUserHost ? engines.accountHosts.apply((hosts) => hosts.slice(1)) : undefined;

        const endpoint = (m: MemberSettings): MemberEndpoint => memberEndpoint(s, m);
        const replication = new Replication(
            `${name}-replication`,
            {
                source: endpoint(source),
                replicas: replicaMembers.map(endpoint),
                rootPassword,
                replicationUser: s.replicationUser,
                replicationPassword,
                replicationUserHost: accountHost,
                ...(otherAccountHosts ? { otherReplicationUserHosts: otherAccountHosts } : {}),
                tls: s.replicationTls,
                ...(certificates ? { tlsCertificates: certificates.forProvider } : {}),
                connectRetrySeconds: s.connectRetrySeconds,
                deadlineSeconds: s.readinessTimeoutSeconds,
                verify: s.verifyReplication,
                heartbeatIntervalMs: s.heartbeatIntervalMs,
                failover: s.failover,
                // A clone ends with the replica's server stopping for its restart: under a policy that would not start
                // the container again after a clean exit (no, on-failure), auto copies instead.
                seedMethod: s.seedMethod === "auto" && !CLONE_RESTART_POLICIES.includes(s.restartPolicy) ? "dump" : s.seedMethod,
                reseed: s.members.filter((m) => m.reseed === true).map((m) => m.name),
                containerIds: s.members.map((m) => containers[m.name].id),
                routerCheckUser: s.router === "haproxy" ? ROUTER_CHECK_USER : undefined,
                routerCheckReads: s.router === "haproxy" ? routerCheckReads(s) : undefined,
                // With hosts: where the router's checks come from (its host's subnet and address), unless the user
                // gave the one pattern every account takes. Absent: replicationUserHost, as on one engine.
                ...(engines.routerCheckHosts && !s.replicationUserHost ? { routerCheckHosts: engines.routerCheckHosts } : {}),
            },
            { parent: this, dependsOn: Object.values(containers) },
        );

        // On the local engine's network, or with hosts on the router host's (components/hosts.ts).
        const routerEngine = engines.router ?? (network ? { network, provider: undefined } : undefined);
        this.router = s.router === "haproxy" && routerEngine
            ? declareRouter(name, s, routerEngine.network, [replication], this, routerEngine.provider).container
            : undefined;
        this.endpoints = pulumi.output(routerEndpoints(s));
        this.networkName = network ? network.name : pulumi.output(s.networkName);
        this.containers = containers;
        this.replication = replication;
        this.source = replication.sourceStatus;
        this.replicas = replication.replicaStatus;
        // Every declared replica must report a status, and a healthy one: a missing status is not health. The
        // source must take writes (a refresh reports one that restarted read-only). And the provider's own verdict
        // must not be false: it also counts a former source a failover left behind, no longer declared, that is not
        // fenced yet (fencePending).
        this.healthy = pulumi.all([replication.replicaStatus, replication.sourceStatus, replication.healthy]).apply(([r, source, provider]) =>
            replicaMembers.every((m) => r?.[m.name] !== undefined && replicaHealthy(r[m.name])) && sourceWritable(source) && provider !== false,
        );
        this.topology = pulumi.output(topologySummary(source.name, replicaMembers.map((m) => m.name), s.networkName));
        this.rootPassword = rootPassword;
        this.replicationPassword = replicationPassword;
        this.caCertificate = certificates ? certificates.caCertificate : pulumi.output("");
        this.registerOutputs({
            caCertificate: this.caCertificate,
            networkName: this.networkName,
            source: this.source,
            replicas: this.replicas,
            healthy: this.healthy,
            topology: this.topology,
            endpoints: this.endpoints,
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
function declareStorage(member: MemberSettings, s: ReplicaSetSettings, parent: pulumi.Resource, provider?: docker.Provider): MemberStorage {
    if (s.storage.mode === "volume") {
        const keep = { parent, retainOnDelete: !s.deleteDataOnDestroy, ...(provider ? { provider } : {}) };
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
