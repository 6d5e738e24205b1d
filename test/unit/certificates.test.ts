/**
 * The stack's TLS (issue #13): the pure module (components/tls.ts: paths, flags, subject alternative names) and the
 * resource graph components/certificates.ts declares under Pulumi mocks (CA, member and client certificates, the
 * uploads into each container, private keys secret everywhere, the provider's inputs free of keys).
 */
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import { validateConfig } from "../../config/validate";
import type { ReplicaSetSettings } from "../../config/types";
import { ReplicaSet } from "../../components/replicaSet";
import { tlsFilePaths, tlsServerFlags, tlsSubjectAltNames, TLS_DIR } from "../../components/tls";
import { find, isSecretMarked, ofType, plainStrings, readStackConfig, reveal, runProgram, TYPES, valueOf, type ProgramRun } from "../support/pulumiMocks";

const NAME = "mysql-replicaset";
const MEMBERS = ["db001", "db002", "db003"];
const settings = (overrides: Record<string, unknown> = {}): ReplicaSetSettings => validateConfig({ ...readStackConfig("dev").raw, ...overrides });

async function declare(s: ReplicaSetSettings): Promise<ProgramRun<ReplicaSet>> {
    const run = await runProgram(() => new ReplicaSet(NAME, { settings: s }));
    assert.equal(run.error, undefined, String(run.error));
    return run;
}

describe("components/tls.ts (pure)", () => {
    test("a member's certificate names its network alias and every address dialled", () => {
        assert.deepEqual(tlsSubjectAltNames("db001", ["127.0.0.1"]), { dnsNames: ["db001"], ipAddresses: ["127.0.0.1"] });
        // Another host's address and a DNS name (multi-host members) extend the list; duplicates are dropped.
        assert.deepEqual(tlsSubjectAltNames("db002", ["10.0.0.5", "db-host-2.example", "10.0.0.5", "db002", "fd00::5"]), {
            dnsNames: ["db002", "db-host-2.example"],
            ipAddresses: ["10.0.0.5", "fd00::5"],
        });
    });
    test("a wildcard bind address is not a name anyone dials: loopback is named instead", () => {
        assert.deepEqual(tlsSubjectAltNames("db001", ["0.0.0.0"]).ipAddresses, ["127.0.0.1"]);
        assert.deepEqual(tlsSubjectAltNames("db001", ["::"]).ipAddresses, ["::1"]);
    });
    test("server flags load the CA, the certificate and the key from the dedicated directory, on every flavor", () => {
        const want = [`--ssl-ca=${TLS_DIR}/ca.pem`, `--ssl-cert=${TLS_DIR}/server-cert.pem`, `--ssl-key=${TLS_DIR}/server-key.pem`];
        for (const [flavor, version] of [["mysql", { major: 9, minor: 7, patch: 4 }], ["percona", { major: 5, minor: 7, patch: 30 }], ["mariadb", { major: 10, minor: 11, patch: 19 }]] as const) {
            assert.deepEqual(tlsServerFlags(flavor, version), want);
        }
        assert.ok(!Object.values(tlsFilePaths()).some((p) => p.startsWith("/etc/mysql/")), "not the config include directory (read-only with hostPath)");
    });
});

describe("the stack's certificates under mocks (replicationTls verify, the default)", () => {
    let run: ProgramRun<ReplicaSet>;
    before(async () => (run = await declare(settings())));

    test("one CA: its own key, a CA certificate that signs certificates only", () => {
        const ca = reveal(find(run.resources, TYPES.selfSignedCert, `${NAME}-ca`).inputs);
        assert.equal(ca.isCaCertificate, true);
        assert.deepEqual(ca.allowedUses, ["cert_signing", "crl_signing"]);
        assert.deepEqual(ca.subject, { organization: `mysql-replicaset ${NAME}`, commonName: `${NAME} CA` });
        assert.equal(ca.validityPeriodHours, 365 * 24);
        assert.deepEqual(reveal(find(run.resources, TYPES.privateKey, `${NAME}-ca-key`).inputs), { algorithm: "RSA", rsaBits: 2048 });
    });

    test("each member's certificate names its alias and the published address, for server and client use", () => {
        for (const m of MEMBERS) {
            const csr = reveal(find(run.resources, TYPES.certRequest, `${m}-tls-csr`).inputs);
            assert.deepEqual(csr.dnsNames, [m]);
            assert.deepEqual(csr.ipAddresses, ["127.0.0.1"]);
            assert.equal(csr.subject.commonName, m);
            const cert = reveal(find(run.resources, TYPES.locallySignedCert, `${m}-tls-cert`).inputs);
            assert.deepEqual(cert.allowedUses, ["digital_signature", "key_encipherment", "server_auth", "client_auth"]);
            assert.match(cert.caCertPem, /MOCKCERTIFICATEmysqlreplicasetca/);
        }
    });

    test("the replication client certificate is the replication account's, client use only", () => {
        const csr = reveal(find(run.resources, TYPES.certRequest, `${NAME}-replication-client-csr`).inputs);
        assert.equal(csr.subject.commonName, "repl");
        assert.equal(csr.dnsNames, undefined);
        const cert = reveal(find(run.resources, TYPES.locallySignedCert, `${NAME}-replication-client-cert`).inputs);
        assert.deepEqual(cert.allowedUses, ["digital_signature", "key_encipherment", "client_auth"]);
    });

    test("private keys are secret in every input that carries one, and appear nowhere in plain text", () => {
        for (const r of ofType(run.resources, TYPES.certRequest)) assert.ok(isSecretMarked(r.inputs.privateKeyPem), `${r.name}.privateKeyPem`);
        for (const r of [...ofType(run.resources, TYPES.locallySignedCert)]) assert.ok(isSecretMarked(r.inputs.caPrivateKeyPem), `${r.name}.caPrivateKeyPem`);
        assert.ok(isSecretMarked(find(run.resources, TYPES.selfSignedCert, `${NAME}-ca`).inputs.privateKeyPem));
        for (const m of MEMBERS) assert.ok(isSecretMarked(find(run.resources, TYPES.container, m).inputs.uploads), `${m}'s uploads hold keys: secret`);
        const plain = run.resources.flatMap((r) => plainStrings(r.inputs).map((s) => ({ where: `${r.type} ${r.name} ${s.path}`, text: s.text })));
        for (const { where, text } of plain) assert.ok(!/PRIVATE KEY|MOCKPRIVATEKEY/.test(text), `a private key in plain text at ${where}`);
        // Not vacuous: the keys are there, inside secret markers.
        assert.match(JSON.stringify(reveal(find(run.resources, TYPES.container, "db001").inputs.uploads)), /MOCKPRIVATEKEYdb001tlskey/);
    });

    test("each container gets the CA, its own pair and the client pair; keys owned by the server's user, mode 0600", () => {
        for (const m of MEMBERS) {
            const uploads = reveal(find(run.resources, TYPES.container, m).inputs.uploads) as Array<Record<string, string>>;
            assert.deepEqual(uploads.map((u) => u.file), Object.values(tlsFilePaths()));
            assert.match(uploads[1].content, new RegExp(`MOCKCERTIFICATE${m}tlscert`));
            assert.match(uploads[2].content, new RegExp(`MOCKPRIVATEKEY${m}tlskey`));
            for (const key of [uploads[2], uploads[4]]) assert.deepEqual([key.owner, key.group, key.permissions], ["999", "999", "0600"]);
        }
    });

    test("the replication provider gets the CA (public), the paths and a revision, never a private key", async () => {
        const r = find(run.resources, TYPES.replication, `${NAME}-replication`);
        const inputs = reveal(r.inputs);
        assert.equal(inputs.tls, "verify");
        assert.match(inputs.tlsCertificates.ca, /^-----BEGIN CERTIFICATE-----/);
        assert.match(inputs.tlsCertificates.revision, /^[0-9a-f]{16}$/);
        assert.ok(!/PRIVATE KEY/.test(JSON.stringify(inputs)), "the dynamic provider's inputs (its state) carry a private key");
        assert.ok(!isSecretMarked(r.inputs.tlsCertificates), "the CA and paths are public");
    });

    test("adding a member keeps the revision: the other replicas are not re-pointed, no member reloads", async () => {
        const revisionOf = (r: ProgramRun<ReplicaSet>) => reveal(find(r.resources, TYPES.replication, `${NAME}-replication`).inputs).tlsCertificates.revision;
        const dev = settings();
        const grown = await declare({ ...dev, members: [...dev.members, { name: "db004", role: "replica", serverId: 400, hostPort: 3309 }] });
        assert.ok(find(grown.resources, TYPES.locallySignedCert, "db004-tls-cert"), "the new member has its own certificate");
        assert.equal(revisionOf(grown), revisionOf(run));
    });

    test("caCertificate is a public output, the CA's PEM", async () => {
        const rs = run.result!;
        assert.match(String(await valueOf(rs.caCertificate)), /MOCKCERTIFICATEmysqlreplicasetca/);
    });
});

describe("TLS variants", () => {
    test("tlsValidityDays sets every certificate's validity (a change re-issues them)", async () => {
        const run = await declare(settings({ tlsValidityDays: 30 }));
        for (const r of [...ofType(run.resources, TYPES.locallySignedCert), ...ofType(run.resources, TYPES.selfSignedCert)]) {
            assert.equal(reveal(r.inputs).validityPeriodHours, 30 * 24, r.name);
            assert.equal(reveal(r.inputs).earlyRenewalHours, Math.floor((30 * 24) / 4), r.name);
        }
    });
    test("bindAddress 0.0.0.0: certificates name loopback, the address the provider dials", async () => {
        const run = await declare(settings({ bindAddress: "0.0.0.0" }));
        assert.deepEqual(reveal(find(run.resources, TYPES.certRequest, "db001-tls-csr").inputs).ipAddresses, ["127.0.0.1"]);
    });
    for (const mode of ["auto", "on", "off"]) {
        test(`replicationTls ${mode}: no stack CA, no uploads, no TLS flags; the provider gets the mode as before`, async () => {
            const run = await declare(settings({ replicationTls: mode }));
            assert.equal(run.resources.filter((r) => r.type.startsWith("tls:")).length, 0);
            for (const m of MEMBERS) {
                const c = find(run.resources, TYPES.container, m);
                assert.equal(c.inputs.uploads, undefined);
                assert.ok(!(c.inputs.command as string[]).some((f) => f.startsWith("--ssl")));
            }
            const inputs = reveal(find(run.resources, TYPES.replication, `${NAME}-replication`).inputs);
            assert.equal(inputs.tls, mode);
            assert.equal(inputs.tlsCertificates, undefined);
            assert.equal(await valueOf(run.result!.caCertificate), "");
        });
    }
});
