/**
 * Declares the Docker engines the members run on: without `hosts`, the one local engine (the program's default
 * provider, the resources exactly as before); with `hosts`, one explicit docker.Provider per host carrying
 * members, and on each of them the bridge network and the image its members share.
 */
import { isIP } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import type { MemberSettings, ReplicaSetSettings } from "../config/types";
import { cidrToAccountHost } from "./network";
import { engineHosts, hostAccountPatterns, routerHostOf, usedHosts } from "./placement";

/** TLS material of tcp:// engines by host name (secret config `hostTls`), as the Docker provider takes it. */
export type HostTls = Record<string, { ca?: string; cert?: string; key?: string }>;

/** What the members of one engine share. `provider` is undefined for the local engine (default provider). */
export interface Engine {
    provider?: docker.Provider;
    network: docker.Network;
    image: docker.RemoteImage;
}

export interface Engines {
    /** The local engine's network; undefined with hosts (then there is one network per host). */
    local: { network?: docker.Network };
    /** The engine a member runs on. */
    of(member: MemberSettings): Engine;
    /**
     * With hosts: the replication account's host patterns, each host's bridge subnet (replicas on the source's
     * host connect from it) then each host's IP address (replicas on other hosts connect from their host's
     * address). Empty without hosts.
     */
    accountHosts: pulumi.Output<string[]>;
    /** With hosts and a router: the router's host's provider and network (members there share it). */
    router?: { provider: docker.Provider; network: docker.Network };
    /**
     * With hosts and a router: the host patterns of the router's check account, the router host's bridge subnet
     * (members on its host, dialled by alias) then its address (members on other hosts see the router's
     * connections come from there: the engine masquerades container traffic leaving the host).
     */
    routerCheckHosts?: pulumi.Output<string[]>;
}

export function declareEngines(name: string, s: ReplicaSetSettings, hostTls: pulumi.Input<HostTls> | undefined, parent: pulumi.Resource): Engines {
    if (!s.hosts) {
        const network = new docker.Network(s.networkName, { name: s.networkName, driver: "bridge" }, { parent });
        const image = new docker.RemoteImage(`${name}-image`, { name: s.image, keepLocally: true }, { parent });
        return { local: { network }, of: () => ({ network, image }), accountHosts: pulumi.output([]) };
    }
    const engines = new Map<string, Engine>();
    const networksByHost = new Map<string, { provider: docker.Provider; network: docker.Network }>();
    const carriesMembers = new Set(usedHosts(s).map((h) => h.name));
    for (const host of engineHosts(s)) {
        const material = (pick: "ca" | "cert" | "key") =>
            pulumi.secret(pulumi.output(hostTls!).apply((all) => all?.[host.name]?.[pick]));
        const provider = new docker.Provider(
            `${name}-host-${host.name}`,
            {
                host: host.docker,
                ...(hostTls ? { caMaterial: material("ca"), certMaterial: material("cert"), keyMaterial: material("key") } : {}),
            },
            { parent },
        );
        // Docker names are per engine: every host's network has the configured name.
        const network = new docker.Network(`${s.networkName}-${host.name}`, { name: s.networkName, driver: "bridge" }, { parent, provider });
        networksByHost.set(host.name, { provider, network });
        // A host carrying only the router needs no server image.
        if (!carriesMembers.has(host.name)) continue;
        engines.set(host.name, {
            provider,
            network,
            image: new docker.RemoteImage(`${name}-image-${host.name}`, { name: s.image, keepLocally: true }, { parent, provider }),
        });
    }
    const networks = [...engines.entries()];
    const accountHosts = pulumi.all(networks.map(([, e]) => e.network.ipamConfigs)).apply((perNetwork) => {
        const subnets = perNetwork.map((configs, i) => {
            const subnet = (configs ?? []).map((c) => cidrToAccountHost(c.subnet)).find((h) => h !== undefined);
            if (!subnet) {
                pulumi.log.warn(`network ${s.networkName} on host ${networks[i][0]} has no IPv4 subnet; the replication account accepts any host ('%')`, parent);
            }
            return subnet ?? "%";
        });
        return [...new Set([...subnets, ...hostAccountPatterns(s)])];
    });
    const routerHost = routerHostOf(s);
    const router = routerHost ? networksByHost.get(routerHost.name) : undefined;
    const routerCheckHosts = routerHost && router
        ? router.network.ipamConfigs.apply((configs) => {
              const address = isIP(routerHost.address) !== 0 ? [routerHost.address] : [];
              // A router on a host without members dials every member across hosts: its subnet is never a check's
              // origin, and as a pattern it would admit, on every member, local containers of an equal subnet.
              if (!carriesMembers.has(routerHost.name)) return address;
              const subnet = (configs ?? []).map((c) => cidrToAccountHost(c.subnet)).find((h) => h !== undefined);
              // No IPv4 subnet: members on the router's host are checked from an address no pattern but '%' names.
              return [...new Set([subnet ?? "%", ...address])];
          })
        : undefined;
    return {
        local: {},
        ...(router ? { router } : {}),
        ...(routerCheckHosts ? { routerCheckHosts } : {}),
        of: (member) => {
            const engine = engines.get(member.host ?? "");
            if (!engine) throw new Error(`member ${member.name}: host ${JSON.stringify(member.host)} is not one of hosts`);
            return engine;
        },
        accountHosts,
    };
}
