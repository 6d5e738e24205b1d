/**
 * The stack's own CA and certificates (`replicationTls: verify`), declared with @pulumi/tls, and the files each
 * member's container gets through the Docker provider's `uploads` (no host files). What they name and where they
 * go is rendered by components/tls.ts. Private keys are Pulumi secrets end to end: the tls provider marks them
 * secret, and they are wrapped again here so that nothing downstream (uploads, outputs) ever holds them plain.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type * as docker from "@pulumi/docker";
import type { MemberSettings } from "../config/types";
import type { TlsCertificates } from "./replication/types";
import { EARLY_RENEWAL_HOURS, tlsFilePaths, tlsSubjectAltNames, tlsSubject, type TlsFilePaths } from "./tls";

export interface CertificateArgs {
    /** The stack (component) name: the CA's organisation, so two stacks' certificates differ. */
    stackName: string;
    members: MemberSettings[];
    /** Addresses the provider and clients dial a member at (today the published address, 127.0.0.1). */
    addressesOf: (member: MemberSettings) => string[];
    /** The replication account: the client certificate's common name. */
    replicationUser: string;
    validityHours: number;
    /** uid:gid of the server in the image: owner of the private keys, readable by no one else. */
    dataOwner: string;
}

export interface StackCertificates {
    /** The CA certificate (PEM, public). */
    caCertificate: pulumi.Output<string>;
    /** The files one member's container gets. */
    uploads(memberName: string): docker.types.input.ContainerUpload[];
    /** What the replication provider needs: the CA, the paths, and a revision that changes with any re-issue. */
    forProvider: pulumi.Output<TlsCertificates>;
    paths: TlsFilePaths;
}

// RSA rather than ECDSA: every server of every supported version (MySQL 5.7 builds included) takes it.
const KEY = { algorithm: "RSA", rsaBits: 2048 } as const;

export function declareCertificates(name: string, args: CertificateArgs, parent: pulumi.Resource): StackCertificates {
    const opts = { parent };
    const paths = tlsFilePaths();
    const validity = { validityPeriodHours: args.validityHours, earlyRenewalHours: Math.min(EARLY_RENEWAL_HOURS, Math.floor(args.validityHours / 4)) };

    const caKey = new tls.PrivateKey(`${name}-ca-key`, KEY, opts);
    const ca = new tls.SelfSignedCert(
        `${name}-ca`,
        {
            privateKeyPem: pulumi.secret(caKey.privateKeyPem),
            isCaCertificate: true,
            subject: tlsSubject(args.stackName, `${args.stackName} CA`),
            allowedUses: ["cert_signing", "crl_signing"],
            setSubjectKeyId: true,
            ...validity,
        },
        opts,
    );
    const sign = (resourceName: string, commonName: string, sans: { dnsNames: string[]; ipAddresses: string[] } | undefined, uses: string[]) => {
        const key = new tls.PrivateKey(`${resourceName}-key`, KEY, opts);
        const request = new tls.CertRequest(
            `${resourceName}-csr`,
            { privateKeyPem: pulumi.secret(key.privateKeyPem), subject: tlsSubject(args.stackName, commonName), ...(sans ?? {}) },
            opts,
        );
        const cert = new tls.LocallySignedCert(
            `${resourceName}-cert`,
            {
                certRequestPem: request.certRequestPem,
                caPrivateKeyPem: pulumi.secret(caKey.privateKeyPem),
                caCertPem: ca.certPem,
                allowedUses: ["digital_signature", "key_encipherment", ...uses],
                ...validity,
            },
            opts,
        );
        return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
    };

    const servers = new Map(
        args.members.map((m) => [m.name, sign(`${m.name}-tls`, m.name, tlsSubjectAltNames(m.name, args.addressesOf(m)), ["server_auth", "client_auth"])]),
    );
    // One client certificate for the replication account, presented by every replica.
    const client = sign(`${name}-replication-client`, args.replicationUser, undefined, ["client_auth"]);

    const [owner, group] = args.dataOwner.split(":");
    const publicFile = (file: string, content: pulumi.Input<string>): docker.types.input.ContainerUpload => ({ file, content, permissions: "0644" });
    const keyFile = (file: string, content: pulumi.Input<string>): docker.types.input.ContainerUpload => ({ file, content: pulumi.secret(content), owner, group, permissions: "0600" });

    // What every replica's channel uses: the CA and the replication client's certificate. A member's own
    // certificate is not part of it: a new member (or a re-keyed one) arrives in a new container with its files,
    // and must not make every other replica re-point and every member reload.
    const revision = pulumi
        .all([ca.certPem, client.certPem])
        .apply((pems) => createHash("sha256").update(pems.join("\n")).digest("hex").slice(0, 16));

    return {
        caCertificate: ca.certPem,
        paths,
        uploads(memberName: string) {
            const server = servers.get(memberName);
            if (!server) throw new Error(`no certificate declared for member ${memberName}`);
            return [
                publicFile(paths.ca, ca.certPem),
                publicFile(paths.serverCert, server.certPem),
                keyFile(paths.serverKey, server.keyPem),
                publicFile(paths.clientCert, client.certPem),
                keyFile(paths.clientKey, client.keyPem),
            ];
        },
        forProvider: pulumi.all([ca.certPem, revision]).apply(([caPem, rev]) => ({
            ca: caPem,
            files: { ca: paths.ca, clientCert: paths.clientCert, clientKey: paths.clientKey },
            revision: rev,
        })),
    };
}
