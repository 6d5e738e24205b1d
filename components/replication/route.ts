/**
 * Pure: how members reach each other when they run on several Docker hosts. Imported by the provider's steps
 * (attach, switchover) and by the component (the router's backends), so all compute an address the same way.
 */
import type { MemberEndpoint, ReplicationInputs } from "./types";

/** Where a replica's channel points: host and port as `CHANGE ... TO` takes them. */
export interface ChannelTarget {
    host: string;
    port: number;
}

/**
 * The address a replica uses to reach its source: the source's network alias when both run on one Docker
 * host (they share its bridge network), otherwise the source host's address and the source's published port.
 * Endpoints without placement (one local engine, or state written before hosts existed) use the alias.
 */
export function channelTarget(source: MemberEndpoint, replica: MemberEndpoint): ChannelTarget {
    return reachFrom(source, replica.dockerHost);
}

/**
 * How anything running in a container on Docker host `from` (a replica, the router) reaches `target`: by its
 * network alias and internal port on the same host, at its host's address and published port from another.
 * Targets without placement (one local engine, state from before hosts) are always reached by alias.
 */
export function reachFrom(target: MemberEndpoint, from: string | undefined): ChannelTarget {
    if (target.peerHost === undefined || target.dockerHost === from) {
        return { host: target.internalHost, port: target.internalPort };
    }
    return { host: target.peerHost, port: target.peerPort ?? target.port };
}

/** The same target as SHOW REPLICA STATUS shows it ("host:port"). */
export function channelAddress(source: MemberEndpoint, replica: MemberEndpoint): string {
    const target = channelTarget(source, replica);
    return `${target.host}:${target.port}`;
}

/** Every host pattern of the replication account: `replicationUserHost` first, then the others, without repeats. */
export function replicationAccountHosts(inputs: Pick<ReplicationInputs, "replicationUserHost" | "otherReplicationUserHosts">): string[] {
    return [...new Set([inputs.replicationUserHost, ...(inputs.otherReplicationUserHosts ?? [])])];
}

/** The check account's host patterns: routerCheckHosts when given (router on one of several hosts), else replicationUserHost. */
export function routerCheckHosts(inputs: Pick<ReplicationInputs, "replicationUserHost" | "routerCheckHosts">): string[] {
    return [...new Set(inputs.routerCheckHosts ?? [inputs.replicationUserHost])];
}

/**
 * The check account's rows an update no longer declares (the router moved to another host, replicationUserHost
 * changed, the router was removed): patterns of the old inputs missing from the new ones. A left row would keep a
 * passwordless login open from where the router no longer runs.
 */
export function routerCheckHostsToDrop(
    olds: Pick<ReplicationInputs, "replicationUserHost" | "routerCheckHosts" | "routerCheckUser">,
    news: Pick<ReplicationInputs, "replicationUserHost" | "routerCheckHosts" | "routerCheckUser">,
): Array<{ user: string; host: string }> {
    if (!olds.routerCheckUser) return [];
    const kept = news.routerCheckUser === olds.routerCheckUser ? new Set(routerCheckHosts(news)) : new Set<string>();
    return routerCheckHosts(olds).filter((host) => !kept.has(host)).map((host) => ({ user: olds.routerCheckUser!, host }));
}
