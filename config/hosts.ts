/**
 * Pure validation of the `hosts` key (members placed on several Docker hosts) and of each member's `host`.
 * Called by validate.ts; every problem names the key, the bad value and the fix.
 */
import { isIP, isIPv4, isIPv6 } from "node:net";
import type { HostSettings, MemberSettings } from "./types";

type Report = (key: string, value: unknown, fix: string) => void;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A host name as DNS allows it (labels of letters, digits and '-'), or an IP address. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const HOST_KEYS = ["name", "docker", "address", "bindAddress"];

/** Digits and dots only: meant as an IPv4 address, and judged as one (never taken for a host name). */
export function looksLikeIPv4(address: string): boolean {
    return /^[\d.]+$/.test(address) && address.includes(".");
}

/** The schemes the Docker provider speaks. */
const ENGINE = /^(unix:\/\/\/\S+|ssh:\/\/\S+|tcp:\/\/\S+)$/;

/**
 * `hosts` as written → HostSettings[] (undefined when the key is absent). `hostTlsNames` are the host names
 * the secret `hostTls` has material for (its values are never seen here).
 */
export function hostsKey(raw: unknown, hostTlsNames: string[] | undefined, problem: Report): HostSettings[] | undefined {
    if (raw === undefined) {
        if (hostTlsNames && hostTlsNames.length > 0) problem("hostTls", hostTlsNames, "remove it, or set hosts: it holds TLS material for hosts[].docker engines");
        return undefined;
    }
    if (!Array.isArray(raw) || raw.length === 0) {
        problem("hosts", raw, "write a list of {name, docker, address} (one per Docker host), or remove the key to run every member on the local engine");
        return [];
    }
    const hosts: HostSettings[] = [];
    raw.forEach((entry: unknown, index: number) => {
        const key = `hosts[${index}]`;
        if (typeof entry !== "object" || entry === null) {
            problem(key, entry, "write {name, docker, address}");
            return;
        }
        const h = entry as Record<string, unknown>;
        const name = typeof h.name === "string" ? h.name : "";
        if (!DNS_LABEL.test(name)) problem(`${key}.name`, h.name, "use a DNS label: lowercase letters, digits and '-', e.g. node1");
        const docker = typeof h.docker === "string" ? h.docker : "";
        if (!ENGINE.test(docker)) {
            problem(`${key}.docker`, h.docker, "write the engine as the Docker provider takes it: ssh://user@host, tcp://host:2376 or unix:///var/run/docker.sock");
        } else if (docker.startsWith("tcp://") && !(hostTlsNames ?? []).includes(name)) {
            problem(
                `${key}.docker`,
                docker,
                `a tcp:// engine needs its TLS material (an engine without TLS gives root on the host to anyone who reaches it): ` +
                    `pulumi config set --secret --path 'hostTls.${name || "<name>"}.ca' < ca.pem (and .cert, .key), or use ssh://`,
            );
        }
        const address = typeof h.address === "string" ? h.address : "";
        if (h.address === undefined || address === "") {
            problem(`${key}.address`, h.address, "set the name or IP at which the other hosts and the machine running pulumi reach this host's published ports");
        } else if (looksLikeIPv4(address) && !isIPv4(address)) {
            problem(`${key}.address`, address, "not an IPv4 address: write four numbers from 0 to 255 separated by dots, e.g. 10.0.0.11");
        } else if (!isIP(address) && !HOST_NAME.test(address)) {
            problem(`${key}.address`, address, "use an IP address or a host name (letters, digits, '-' and '.')");
        }
        let bindAddress = isIP(address) ? address : "";
        if (h.bindAddress !== undefined) {
            bindAddress = typeof h.bindAddress === "string" ? h.bindAddress : "";
            if (!isIP(bindAddress)) problem(`${key}.bindAddress`, h.bindAddress, "use an IP address of this host (0.0.0.0 publishes on every interface)");
        } else if (address !== "" && !isIP(address) && !looksLikeIPv4(address)) {
            problem(`${key}.bindAddress`, undefined, `the address ${address} is a name: set bindAddress to this host's IP the others reach (ports are never published on every interface by default)`);
        }
        for (const extra of Object.keys(h)) {
            if (!HOST_KEYS.includes(extra)) problem(`${key}.${extra}`, h[extra], `remove it: a host takes ${HOST_KEYS.join(", ")}`);
        }
        hosts.push({ name, docker, address, bindAddress });
    });
    const firstIndex = new Map<string, number>();
    hosts.forEach((h, index) => {
        if (h.name === "") return;
        const first = firstIndex.get(h.name);
        if (first !== undefined) problem(`hosts[${index}].name`, h.name, `give every host its own name: hosts[${first}] has it already`);
        else firstIndex.set(h.name, index);
    });
    // Two entries for one engine would declare the same network name twice there (the second fails mid-way).
    const firstEngine = new Map<string, number>();
    hosts.forEach((h, index) => {
        if (h.docker === "") return;
        const first = firstEngine.get(h.docker);
        if (first !== undefined) problem(`hosts[${index}].docker`, h.docker, `give every host its own engine: hosts[${first}] uses it already (members of one engine share one host entry)`);
        else firstEngine.set(h.docker, index);
    });
    // Members on other hosts dial a host at its address: a loopback address would send them to themselves.
    if (hosts.length > 1) {
        hosts.forEach((h, index) => {
            if (/^127\./.test(h.address) || h.address === "::1" || h.address.toLowerCase() === "localhost") {
                problem(`hosts[${index}].address`, h.address, "use an address the other hosts reach (loopback reaches only the host itself)");
            } else if (isIPv6(h.address)) {
                // Replicas and the router dial it from containers on the set's bridge networks, which are IPv4 only:
                // a connect to an IPv6 address fails there ("Cannot assign requested address").
                problem(`hosts[${index}].address`, h.address, "the set's Docker networks are IPv4 only, so containers on the other hosts cannot dial an IPv6 address: use the host's IPv4 address");
            }
        });
    }
    for (const name of hostTlsNames ?? []) {
        if (!firstIndex.has(name)) problem("hostTls", name, `name a host of hosts (${hosts.map((h) => h.name).join(", ")}), or remove its entry`);
    }
    return hosts;
}

/**
 * Each member's `host` against `hosts`: required and known when hosts are set, absent otherwise; no two
 * members publish the same port on the same address.
 */
export function checkPlacement(members: MemberSettings[], hosts: HostSettings[] | undefined, problem: Report): void {
    if (hosts === undefined) {
        members.forEach((m, index) => {
            if (m.host !== undefined) problem(`members[${index}].host`, m.host, "remove it, or list the Docker hosts under hosts ({name, docker, address})");
        });
        return;
    }
    const names = [...new Set(hosts.map((h) => h.name).filter((n) => n !== ""))];
    // A host entry that repeats an earlier one's name (reported on hosts[i].name) is most likely the one meant.
    const repeated = hosts.findIndex((h, i) => h.name !== "" && hosts.findIndex((o) => o.name === h.name) < i);
    const seen = new Map<string, number>();
    members.forEach((m, index) => {
        const host = hosts.find((h) => h.name === m.host);
        if (!host) {
            const hint = repeated >= 0 && m.host !== undefined ? `; hosts[${repeated}] repeats the name ${hosts[repeated].name}: was it meant to be ${m.host}?` : "";
            problem(`members[${index}].host`, m.host, `name one of hosts: ${names.join(", ")}${hint}`);
            return;
        }
        if (!Number.isInteger(m.hostPort)) return;
        const pair = `${host.address}:${m.hostPort}`;
        const first = seen.get(pair);
        if (first !== undefined) {
            problem(`members[${index}].hostPort`, m.hostPort, `members[${first}] publishes ${pair} already: give it another hostPort or place it on another host`);
        } else seen.set(pair, index);
    });
}

/** The host a member is placed on; undefined without `hosts` (the one local engine). */
export function hostOf(hosts: HostSettings[] | undefined, member: MemberSettings): HostSettings | undefined {
    return hosts?.find((h) => h.name === member.host);
}
