/**
 * Pure: where each member runs and at which addresses it is reached, from the validated settings. Without
 * `hosts` every member is on the one local engine, published on `bindAddress`, reached by the provider there
 * and by the other members at its network alias — exactly as before hosts existed.
 */
import { isIP } from "node:net";
import type { HostSettings, MemberSettings, ReplicaSetSettings } from "../config/types";
import { dialAddress } from "./network";
import { reachFrom, type ChannelTarget } from "./replication/route";
import type { MemberEndpoint } from "./replication/types";
import { SERVER_PORT } from "./serverFlags";

/** The host a member is placed on; undefined without `hosts`. */
export function hostOfMember(s: ReplicaSetSettings, member: MemberSettings): HostSettings | undefined {
    if (!s.hosts) return undefined;
    const host = s.hosts.find((h) => h.name === member.host);
    // validateConfig refuses an unknown host; settings built by hand get the same answer.
    if (!host) throw new Error(`members.${member.name}.host = ${JSON.stringify(member.host)}: name one of hosts (${s.hosts.map((h) => h.name).join(", ")})`);
    return host;
}

/** The host address the member's port is published on. */
export function publishAddress(s: ReplicaSetSettings, member: MemberSettings): string {
    return hostOfMember(s, member)?.bindAddress ?? s.bindAddress;
}

/** The address the provider (on the machine running `pulumi`) dials to reach the member's published port. */
export function providerAddress(s: ReplicaSetSettings, member: MemberSettings): string {
    const host = hostOfMember(s, member);
    return host ? host.address : dialAddress(s.bindAddress);
}

/** The member as the replication provider sees it: where it dials it, and where other members reach it. */
export function memberEndpoint(s: ReplicaSetSettings, member: MemberSettings): MemberEndpoint {
    const host = hostOfMember(s, member);
    const endpoint: MemberEndpoint = {
        name: member.name,
        host: providerAddress(s, member),
        port: member.hostPort,
        internalHost: member.name,
        internalPort: SERVER_PORT,
    };
    // Only with hosts: the dev stack's inputs stay exactly as they were (no diff on upgrade).
    return host ? { ...endpoint, dockerHost: host.name, peerHost: host.address, peerPort: member.hostPort } : endpoint;
}

/**
 * Every name and address the member is reached at, for certificate subject alternative names: its alias (and
 * container name), the address the provider dials, and its host's address.
 */
export function memberAddresses(s: ReplicaSetSettings, member: MemberSettings): { dns: string[]; ips: string[] } {
    const host = hostOfMember(s, member);
    const all = [member.name, providerAddress(s, member), ...(host ? [host.address, host.bindAddress] : [])];
    const unique = [...new Set(all.filter((a) => a !== "" && a !== "0.0.0.0" && a !== "::"))];
    return { dns: unique.filter((a) => !isIP(a)), ips: unique.filter((a) => isIP(a) !== 0) };
}

/** The hosts that carry at least one member, in `hosts` order. */
export function usedHosts(s: ReplicaSetSettings): HostSettings[] {
    return (s.hosts ?? []).filter((h) => s.members.some((m) => m.host === h.name));
}

/**
 * Host patterns of the replication account for members on several hosts, beside each host's bridge subnet:
 * a replica on another host connects from its host's address (the engine masquerades container traffic).
 */
export function hostAccountPatterns(s: ReplicaSetSettings): string[] {
    return [...new Set(usedHosts(s).map((h) => h.address).filter((a) => isIP(a) !== 0))];
}

/** The host the router runs on: with `hosts` and `router: haproxy`, `routerHost` (validated; default the first host). */
export function routerHostOf(s: ReplicaSetSettings): HostSettings | undefined {
    if (!s.hosts || s.router !== "haproxy") return undefined;
    const name = s.routerHost ?? s.hosts[0]?.name;
    const host = s.hosts.find((h) => h.name === name);
    if (!host) throw new Error(`routerHost = ${JSON.stringify(name)}: name one of hosts (${s.hosts.map((h) => h.name).join(", ")})`);
    return host;
}

/**
 * Where the router dials a member: by alias inside the network on the router's own host, at the member host's
 * address and published port from another (route.ts decides, as for a replica's channel).
 */
export function routerTarget(s: ReplicaSetSettings, member: MemberSettings): ChannelTarget {
    return reachFrom(memberEndpoint(s, member), routerHostOf(s)?.name);
}

/** The hosts that need an engine: those carrying members, and the router's host, in `hosts` order. */
export function engineHosts(s: ReplicaSetSettings): HostSettings[] {
    const router = routerHostOf(s);
    return (s.hosts ?? []).filter((h) => h === router || s.members.some((m) => m.host === h.name));
}
