/**
 * Pure: the stack's TLS files as the servers see them, the server flags that load them, and what each member's
 * certificate must name. components/certificates.ts declares the @pulumi/tls resources from these; the
 * replication provider gets the same paths for the replicas' channels (CHANGE ... TO takes paths on the
 * replica's own filesystem).
 */
import { isIP } from "node:net";
import type { Flavor, ServerVersion } from "../config/types";

/**
 * A dedicated directory, not the image's config include directory: the hostPath layout mounts that one
 * read-only, and percona:5.7's /etc/mysql is a symlink. The Docker provider's uploads create missing parents.
 */
export const TLS_DIR = "/etc/mysql-replicaset-tls";

/** Where every member finds the stack's files: the CA, its own server pair, the replication client pair. */
export interface TlsFilePaths {
    ca: string;
    serverCert: string;
    serverKey: string;
    clientCert: string;
    clientKey: string;
}

export function tlsFilePaths(dir = TLS_DIR): TlsFilePaths {
    return {
        ca: `${dir}/ca.pem`,
        serverCert: `${dir}/server-cert.pem`,
        serverKey: `${dir}/server-key.pem`,
        clientCert: `${dir}/client-cert.pem`,
        clientKey: `${dir}/client-key.pem`,
    };
}

/**
 * The flags that make a server present its certificate and verify client certificates against the stack's CA.
 * The three names are the same on MySQL 5.7–9.x, Percona Server and MariaDB 10.5–11.x. require_secure_transport
 * is left off: the health checks (mysqladmin ping, healthcheck.sh --connect) connect without TLS options, and
 * the replication account requires its certificate by itself (REQUIRE X509).
 */
export function tlsServerFlags(_flavor: Flavor, _version: ServerVersion, paths: TlsFilePaths = tlsFilePaths()): string[] {
    return [`--ssl-ca=${paths.ca}`, `--ssl-cert=${paths.serverCert}`, `--ssl-key=${paths.serverKey}`];
}

export interface SubjectAltNames {
    dnsNames: string[];
    ipAddresses: string[];
}

/**
 * What a member's server certificate names: its network alias (what replicas dial) and every address the
 * provider or a client dials (the published address, e.g. 127.0.0.1; later, other hosts' addresses). A wildcard
 * bind address (0.0.0.0, ::) is not a name anyone dials: it is replaced by loopback, as dialAddress does.
 */
export function tlsSubjectAltNames(memberName: string, addresses: string[]): SubjectAltNames {
    const dnsNames = new Set<string>([memberName]);
    const ipAddresses = new Set<string>();
    for (const raw of addresses) {
        const address = raw === "0.0.0.0" ? "127.0.0.1" : raw === "::" ? "::1" : raw;
        if (address === "") continue;
        if (isIP(address)) ipAddresses.add(address);
        else dnsNames.add(address.toLowerCase());
    }
    return { dnsNames: [...dnsNames], ipAddresses: [...ipAddresses] };
}

/** The CA's and every certificate's subject: one organisation per stack, so two stacks' certificates differ. */
export function tlsSubject(stackName: string, commonName: string): { organization: string; commonName: string } {
    return { organization: `mysql-replicaset ${stackName}`, commonName };
}

/** Default validity of the stack's certificates, and how early before the end they are re-issued. */
export const DEFAULT_CERT_VALIDITY_HOURS = 24 * 365;
export const EARLY_RENEWAL_HOURS = 24 * 30;
