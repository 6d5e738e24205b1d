/**
 * Certificates for the integration tests, made with openssl in the shape the component's @pulumi/tls
 * resources make them (components/tls.ts): a CA, a server certificate per member whose SANs are
 * tlsSubjectAltNames(member, addresses), and the replication client certificate. Written where a test server
 * can read them: inside its root filesystem when it runs under chroot.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { tlsSubjectAltNames } from "../../components/tls";
import { flavorRuntime, type ServerFlavor } from "./servers";

const run = promisify(execFile);

export interface IssuedFiles {
    /** Paths as this process sees them. */
    local: { cert: string; key: string };
    /** Paths as the test servers see them. */
    seen: { cert: string; key: string };
    certPem: string;
    keyPem: string;
}

export interface TestCa {
    name: string;
    local: { cert: string; key: string };
    seen: { cert: string; key: string };
    certPem: string;
    keyPem: string;
}

/** A directory of certificates for one flavor's servers. */
export class CertificateDir {
    private constructor(
        readonly dir: string,
        private readonly root: string,
    ) {}

    static async create(flavor: ServerFlavor): Promise<CertificateDir> {
        const root = flavorRuntime(flavor).root;
        const dir = await mkdtemp(join(root === "/" ? tmpdir() : join(root, "tmp"), "replicaset-tls-"));
        return new CertificateDir(dir, root);
    }

    /** A path of this process as the servers see it. */
    seen(path: string): string {
        return this.root === "/" ? path : `/${relative(this.root, path)}`;
    }

    async ca(name: string, days = 2): Promise<TestCa> {
        const key = join(this.dir, `${name}-ca-key.pem`);
        const cert = join(this.dir, `${name}-ca.pem`);
        await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", String(days), "-subj", `/CN=${name} CA`, "-keyout", key, "-out", cert,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        return { name, local: { cert, key }, seen: { cert: this.seen(cert), key: this.seen(key) }, certPem: await readFile(cert, "utf8"), keyPem: await readFile(key, "utf8") };
    }

    /** A certificate signed by `ca`: a server's (SANs from tlsSubjectAltNames) or the replication client's. */
    async issue(ca: TestCa, file: string, commonName: string, sans?: { dnsNames: string[]; ipAddresses: string[] }, days = 2): Promise<IssuedFiles> {
        const key = join(this.dir, `${file}-key.pem`);
        const csr = join(this.dir, `${file}.csr`);
        const cert = join(this.dir, `${file}-cert.pem`);
        const ext = join(this.dir, `${file}.ext`);
        await run("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${commonName}`, "-keyout", key, "-out", csr]);
        const san = sans ? [...sans.dnsNames.map((d) => `DNS:${d}`), ...sans.ipAddresses.map((ip) => `IP:${ip}`)].join(",") : "";
        await writeFile(ext, [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            `extendedKeyUsage=${sans ? "serverAuth,clientAuth" : "clientAuth"}`,
            ...(san ? [`subjectAltName=${san}`] : []),
        ].join("\n"));
        await run("openssl", ["x509", "-req", "-in", csr, "-CA", ca.local.cert, "-CAkey", ca.local.key, "-CAcreateserial", "-days", String(days), "-extfile", ext, "-out", cert]);
        return { local: { cert, key }, seen: { cert: this.seen(cert), key: this.seen(key) }, certPem: await readFile(cert, "utf8"), keyPem: await readFile(key, "utf8") };
    }

    /** A member's server certificate as the component would issue it: SANs of (name, the addresses dialled). */
    serverCert(ca: TestCa, file: string, memberName: string, addresses: string[]): Promise<IssuedFiles> {
        return this.issue(ca, file, memberName, tlsSubjectAltNames(memberName, addresses));
    }

    async remove(): Promise<void> {
        await rm(this.dir, { recursive: true, force: true });
    }
}
