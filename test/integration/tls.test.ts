/**
 * Mutual, verified TLS under the stack's CA (issue #13, `tls: verify`) on every server of the matrix: replicas
 * verify the source and present their client certificate, the replication account requires one, the provider
 * verifies every member, a foreign certificate is refused by the replica and by the provider in plain words, and
 * a rotation keeps replicating. One cluster per flavor (source + one replica); the certificates are made with
 * openssl in the shape components/certificates.ts declares them (test/support/certificates.ts).
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import * as mysql from "mysql2/promise";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { command, flavorRuntime, MATRIX, serverTitle, startCluster, runbookSpecs, type MariaCluster, type MariaServer } from "../support/servers";
import { CertificateDir, type IssuedFiles, type TestCa } from "../support/certificates";
import { accountTlsRequirement, column, dialectOf, replicaStatusRow } from "../support/sql";
import { inputsFor, eventually, refresh, SETTLE_SECONDS } from "../support/replicationInputs";
import { replicationProvider as provider } from "../../components/replication/provider";
import type { ReplicationInputs, ReplicationState } from "../../components/replication/types";

for (const flavor of MATRIX) {
const T = serverTitle(flavor);

describe(`mutual TLS under the stack's CA (tls verify) ${T}`, () => {
    let cluster: MariaCluster;
    let certs: CertificateDir;
    let ca: TestCa;
    let foreignCa: TestCa;
    let client: IssuedFiles;
    let state: ReplicationState;
    /** The files every server and replica reads (one directory: the servers share a root filesystem here). */
    let live: { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string };
    let revision = 1;
    /** The stack's server pair the cluster started with. */
    let good: IssuedFiles;

    /**
     * Makes servers present `server` (chained to `caOf`) to new connections. MariaDB: the pair is copied over the
     * live files and FLUSH SSL re-reads them. MySQL's ALTER INSTANCE RELOAD TLS refuses a certificate that its own
     * ssl_ca does not verify ("Invalid certificates", seen on 9.7.4), so there the paths are switched (SET GLOBAL
     * ssl_ca / ssl_cert / ssl_key, dynamic since 8.0.16) before the reload; `undefined` goes back to the live files.
     */
    async function present(server: IssuedFiles | undefined, servers: MariaServer[] = cluster.servers, caOf: TestCa = ca): Promise<void> {
        const pair = server ?? good;
        if (cluster.kind === "mariadb") {
            await copyFile(pair.local.cert, join(certs.dir, "server-cert.pem"));
            await copyFile(pair.local.key, join(certs.dir, "server-key.pem"));
            for (const s of servers) await s.query(dialectOf(s).reloadTls!);
            return;
        }
        const paths = server ? { ca: caOf.seen.cert, cert: server.seen.cert, key: server.seen.key } : { ca: live.ca, cert: live.serverCert, key: live.serverKey };
        for (const s of servers) {
            await s.query(`SET GLOBAL ssl_ca = '${paths.ca}'`, `SET GLOBAL ssl_cert = '${paths.cert}'`, `SET GLOBAL ssl_key = '${paths.key}'`, dialectOf(s).reloadTls!);
        }
    }

    function verifyInputs(trusted: TestCa | string, overrides: Partial<ReplicationInputs> = {}): ReplicationInputs {
        return inputsFor(cluster, {
            tls: "verify",
            tlsCertificates: {
                ca: typeof trusted === "string" ? trusted : trusted.certPem,
                files: { ca: live.ca, clientCert: live.clientCert, clientKey: live.clientKey },
                revision: String(revision),
            },
            ...overrides,
        });
    }

    before(async () => {
        certs = await CertificateDir.create(flavor);
        ca = await certs.ca("stack");
        foreignCa = await certs.ca("foreign");
        // Every server names its alias and the address dialled (replicas and the provider both dial 127.0.0.1 here).
        const server = await certs.serverCert(ca, "db", "db001", ["127.0.0.1"]);
        good = server;
        client = await certs.issue(ca, "client", "repl");
        const at = (name: string) => join(certs.dir, name);
        await copyFile(ca.local.cert, at("ca.pem"));
        await copyFile(server.local.cert, at("server-cert.pem"));
        await copyFile(server.local.key, at("server-key.pem"));
        await copyFile(client.local.cert, at("client-cert.pem"));
        await copyFile(client.local.key, at("client-key.pem"));
        live = {
            ca: certs.seen(at("ca.pem")),
            serverCert: certs.seen(at("server-cert.pem")),
            serverKey: certs.seen(at("server-key.pem")),
            clientCert: certs.seen(at("client-cert.pem")),
            clientKey: certs.seen(at("client-key.pem")),
        };
        cluster = await startCluster(flavor, runbookSpecs(1), {
            extraFlags: [`--ssl-ca=${live.ca}`, `--ssl-cert=${live.serverCert}`, `--ssl-key=${live.serverKey}`],
        });
    });
    after(async () => {
        await cluster?.destroy();
        await certs?.remove();
    });

    it(`a set replicating on auto moves to verify at its next run, without losing a row: replicas verify the source and present their certificate; the account requires one ${T}`, async () => {
        // The set as a stack made before verify was the default left it (tls auto, the server's TLS unverified).
        const before = await provider.create!(inputsFor(cluster, { tls: "auto" }));
        assert.equal(before.outs.healthy, true, JSON.stringify(before.outs.replicaStatus));
        await cluster.source.query("CREATE DATABASE tlsapp", "CREATE TABLE tlsapp.t (id INT PRIMARY KEY) ENGINE=InnoDB", "INSERT INTO tlsapp.t VALUES (0)");
        const { outs } = (await provider.update!("id", before.outs, verifyInputs(ca))) as { outs: ReplicationState };
        state = outs;
        assert.equal(outs.healthy, true, JSON.stringify(outs.replicaStatus));
        assert.equal(outs.tlsInUse, true);
        const row = await replicaStatusRow(cluster.byName("db002"));
        assert.equal(column(row, "Source_SSL_Allowed", "Master_SSL_Allowed"), "Yes");
        assert.equal(column(row, "Source_SSL_Verify_Server_Cert", "Master_SSL_Verify_Server_Cert"), "Yes");
        assert.equal(column(row, "Source_SSL_CA_File", "Master_SSL_CA_File"), live.ca);
        assert.equal(column(row, "Source_SSL_Cert", "Master_SSL_Cert"), live.clientCert);
        assert.equal(await accountTlsRequirement(cluster.source, "repl", "127.0.0.1"), "X509");
        await cluster.source.query("INSERT INTO tlsapp.t VALUES (1)");
        await eventually("rows 0 and 1 on db002", SETTLE_SECONDS, async () => (await cluster.byName("db002").query("SELECT id FROM tlsapp.t")).length === 2);
    });

    it(`a client without a certificate is refused by the replication account, one with the stack's is let in ${T}`, async () => {
        const base = { host: "127.0.0.1", port: cluster.source.port, user: "repl", password: state.replicationPassword };
        await assert.rejects(
            mysql.createConnection({ ...base, ssl: { ca: ca.certPem, rejectUnauthorized: true } }),
            (error: { errno?: number; message: string }) => error.errno === 1045 || /Access denied/.test(error.message),
        );
        const withCert = await mysql.createConnection({ ...base, ssl: { ca: ca.certPem, cert: client.certPem, key: client.keyPem, rejectUnauthorized: true } });
        await withCert.end();
    });

    it(`the client command of docs/security.md verifies a member with caCertificate, and refuses another CA ${T}`, async () => {
        // The client of the flavor's own packages (the chroot's, or the host's for 10.11), as docs/security.md shows it.
        const runtime = flavorRuntime(flavor);
        const client = (caPath: string) => {
            const common = ["--host=127.0.0.1", `--port=${cluster.source.port}`, "--user=root", `--password=${cluster.source.rootPassword}`, "--batch", "--skip-column-names"];
            const [file, args] = cluster.kind === "mysql"
                ? command(runtime.root, "/usr/bin/mysql", [...common, "--ssl-mode=VERIFY_IDENTITY", `--ssl-ca=${caPath}`, "-e", "SHOW SESSION STATUS LIKE 'Ssl_version'"])
                : command(runtime.root, "/usr/bin/mariadb", [...common, `--ssl-ca=${caPath}`, "--ssl-verify-server-cert", "-e", "SHOW SESSION STATUS LIKE 'Ssl_version'"]);
            return promisify(execFile)(file, args, { timeout: SETTLE_SECONDS * 1000 });
        };
        const { stdout } = await client(live.ca);
        assert.match(stdout, /Ssl_version\s+TLSv1\.[23]/);
        await assert.rejects(client(foreignCa.seen.cert), (error: { stderr?: string }) => /certificate|SSL|TLS/i.test(error.stderr ?? ""));
    });

    it(`the provider refuses a server whose certificate is not the stack's or does not name the address dialled ${T}`, async () => {
        const started = Date.now();
        await assert.rejects(
            provider.update!("id", state, verifyInputs(foreignCa)),
            /db001 \(127\.0\.0\.1:\d+\) presented a TLS certificate the provider does not trust: .*Nothing was changed/,
        );
        assert.ok(Date.now() - started < 10_000, "a certificate refusal is not retried until the deadline");
        // The stack's CA, but a certificate that names only the alias: 127.0.0.1 is not it.
        const aliasOnly = await certs.issue(ca, "alias-only", "db001", { dnsNames: ["db001"], ipAddresses: [] });
        await present(aliasOnly, [cluster.source]);
        try {
            await assert.rejects(provider.update!("id", state, verifyInputs(ca)), /db001 \(127\.0\.0\.1:\d+\) presented a TLS certificate the provider does not trust: .*(IP: 127\.0\.0\.1 is not in the cert's list|altnames)/);
        } finally {
            await present(undefined, [cluster.source]);
        }
        assert.equal((await refresh(state)).healthy, true);
    });

    it(`a source presenting another CA's certificate is refused by the replica, reported in plain words ${T}`, async () => {
        const foreign = await certs.serverCert(foreignCa, "foreign-db", "db001", ["127.0.0.1"]);
        await present(foreign, [cluster.source], foreignCa);
        try {
            // The provider is told to trust both CAs, so only the replica (which trusts the stack's CA file) judges.
            revision++;
            await assert.rejects(
                provider.update!("id", state, verifyInputs(`${ca.certPem}\n${foreignCa.certPem}`, { deadlineSeconds: 20 })),
                /db002 refuses the source's TLS certificate: 2026: .*certificate/i,
            );
            // A refresh reports it in the same words, and the set as unhealthy.
            // (trusting both CAs: on MariaDB the servers here share their files, so the run's reload moved db002 too)
            const seen = await refresh({ ...state, tlsCertificates: { ...state.tlsCertificates!, ca: `${ca.certPem}\n${foreignCa.certPem}` } });
            assert.match(seen.replicaStatus.db002.lastIoError, /^db002 refuses the source's TLS certificate: 2026: /);
            assert.equal(seen.healthy, false);
        } finally {
            // The run reloaded every member (a rotation), and the servers here share their files.
            await present(undefined);
        }
        revision++;
        const { outs } = await provider.update!("id", state, verifyInputs(ca));
        state = outs!;
        assert.equal(state.healthy, true, JSON.stringify(state.replicaStatus));
    });

    it(`a rotation to a new CA and re-keyed certificates keeps replicating ${T}`, async () => {
        const rotatedCa = await certs.ca("rotated");
        const server = await certs.serverCert(rotatedCa, "rotated-db", "db001", ["127.0.0.1"]);
        const rotatedClient = await certs.issue(rotatedCa, "rotated-client", "repl");
        // What replacing the files does (the containers' uploads): the servers keep running on the old ones until they reload.
        await copyFile(rotatedCa.local.cert, join(certs.dir, "ca.pem"));
        await copyFile(server.local.cert, join(certs.dir, "server-cert.pem"));
        await copyFile(server.local.key, join(certs.dir, "server-key.pem"));
        await copyFile(rotatedClient.local.cert, join(certs.dir, "client-cert.pem"));
        await copyFile(rotatedClient.local.key, join(certs.dir, "client-key.pem"));
        revision++;
        const { outs } = await provider.update!("id", state, verifyInputs(rotatedCa));
        state = outs!;
        assert.equal(state.healthy, true, JSON.stringify(state.replicaStatus));
        assert.equal(state.replicaStatus.db002.errantGtids, "", "the reload wrote a transaction of the replica's own");
        // Every member now presents the new certificate: a client trusting only the new CA gets in.
        for (const s of cluster.servers) {
            const c = await mysql.createConnection({ host: "127.0.0.1", port: s.port, user: "root", password: s.rootPassword, ssl: { ca: rotatedCa.certPem, rejectUnauthorized: true } });
            await c.end();
        }
        await cluster.source.query("INSERT INTO tlsapp.t VALUES (2)");
        await eventually("row 2 on db002 after the rotation", SETTLE_SECONDS, async () => (await cluster.byName("db002").query("SELECT id FROM tlsapp.t")).length === 3);
        const row = await replicaStatusRow(cluster.byName("db002"));
        assert.equal(column(row, "Source_SSL_Verify_Server_Cert", "Master_SSL_Verify_Server_Cert"), "Yes");
        assert.equal((await refresh(state)).healthy, true);
    });

    it(`no private key in the provider's state, outputs or the servers' error logs ${T}`, async () => {
        const keys = [client.keyPem, ca.keyPem].map((k) => k.split("\n")[1]);
        const text = JSON.stringify(state);
        assert.ok(!/PRIVATE KEY/.test(text), "the state holds a private key");
        for (const line of keys) assert.ok(!text.includes(line));
        for (const s of cluster.servers) {
            const log = await readFile(s.errorLog, "utf8");
            assert.ok(!/PRIVATE KEY/.test(log));
        }
    });
});
}
