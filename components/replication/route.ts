/**
 * Pure: how members reach each other when they run on several Docker hosts. Imported by the provider's steps
 * (attach, switchover) and by the component, so both compute a channel's address the same way.
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
    if (source.dockerHost === replica.dockerHost || source.peerHost === undefined) {
        return { host: source.internalHost, port: source.internalPort };
    }
    return { host: source.peerHost, port: source.peerPort ?? source.port };
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
