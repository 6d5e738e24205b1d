/** Pure helpers about addresses. */
import { isIPv4 } from "node:net";

/**
 * An IPv4 CIDR as MySQL's account-host netmask notation (`172.18.0.0/255.255.0.0`), which MySQL 5.7, 8.x and
 * MariaDB all accept (CIDR suffixes only from MySQL 8.0.23). Undefined for anything else.
 */
export function cidrToAccountHost(cidr: string | undefined): string | undefined {
    const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(cidr ?? "");
    if (!match || !isIPv4(match[1])) return undefined;
    const bits = Number(match[2]);
    if (bits < 0 || bits > 32) return undefined;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const address = match[1].split(".").reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
    // MySQL requires the address part to have no bits outside the mask.
    const network = (address & mask) >>> 0;
    return `${toDotted(network)}/${toDotted(mask)}`;
}

function toDotted(value: number): string {
    return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join(".");
}

/** The address the provider dials for a port published on `bindAddress` (a wildcard is reached on loopback). */
export function dialAddress(bindAddress: string): string {
    if (bindAddress === "0.0.0.0") return "127.0.0.1";
    if (bindAddress === "::") return "::1";
    return bindAddress;
}
