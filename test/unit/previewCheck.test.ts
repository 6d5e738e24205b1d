/**
 * A preview reaches the replication provider's `check` with every value not known yet replaced by the engine's
 * sentinel, and any check failure stops the run. How the engine does it (pulumi/pulumi v3.259):
 * - `pkg/resource/deploy/step_generator.go`: `allowUnknowns := sg.deployment.opts.DryRun`, then
 *   `checkInputs(..., plugin.CheckRequest{News: inputs, AllowUnknowns: allowUnknowns})`; a failure makes
 *   `issueCheckErrors` print it as an error and mark the resource invalid, which stops the deployment.
 * - the unknowns go to the provider as `UnknownStringValue` "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
 *   (`sdk/go/common/resource/plugin/rpc.go`); a whole object or array computed by an `apply` is that one string.
 * - the dynamic provider host passes them on as they are: `const news = req.getNews().toJavaScript();` …
 *   `provider.check(olds, news)` (`sdk/nodejs/cmd/dynamic-provider/index.ts`), and it accepts no secrets (inputs
 *   arrive decrypted).
 * So these tests run the program as a preview (`setMocks(..., preview = true)`; resources the preview creates
 * report their inputs back and nothing computed), take the replication resource's inputs as the program sent them
 * to the engine (`RegisterResourceRequest.object`, where an unknown is the same sentinel), unwrap the secrets, and
 * hand them to the provider loaded from its serialized `__provider` text, as the host loads it.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { validateConfig, type RawConfig } from "../../config/validate";
import { ReplicaSet } from "../../components/replicaSet";
import { find, readStackConfig, reveal, runProgram, TYPES, UNKNOWN, type RunOptions } from "../support/pulumiMocks";
import type * as pulumi from "@pulumi/pulumi";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const requireFromString = require("require-from-string") as (code: string, filename?: string) => { handler(): pulumi.dynamic.ResourceProvider };

const NAME = "mysql-replicaset";

const HOSTS = [
    { name: "node1", docker: "ssh://deploy@10.0.0.11", address: "10.0.0.11" },
    { name: "node2", docker: "ssh://deploy@10.0.0.12", address: "10.0.0.12" },
];
const PLACED = [
    { name: "db001", role: "source", serverId: 100, hostPort: 3306, host: "node1" },
    { name: "db002", role: "replica", serverId: 200, hostPort: 3306, host: "node2" },
];

/** The replication resource's inputs as a preview sends them to the provider's check (secrets unwrapped). */
async function previewInputs(raw: RawConfig, options: RunOptions): Promise<Record<string, any>> {
    const settings = validateConfig({ ...readStackConfig("dev").raw, ...raw });
    const run = await runProgram(() => new ReplicaSet(NAME, { settings }), { preview: true, ...options });
    assert.equal(run.error, undefined, String(run.error));
    return reveal(find(run.resources, TYPES.replication, `${NAME}-replication`).wireInputs);
}

/** Where in `value` the sentinel sits (paths), to show that the case under test has unknowns at all. */
function unknownPaths(value: unknown, path = ""): string[] {
    if (value === UNKNOWN) return [path];
    if (Array.isArray(value)) return value.flatMap((v, i) => unknownPaths(v, `${path}[${i}]`));
    if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([k, v]) => unknownPaths(v, path ? `${path}.${k}` : k));
    return [];
}

async function serializedCheck(news: Record<string, any>): Promise<pulumi.dynamic.CheckResult> {
    const provider = requireFromString(news.__provider).handler();
    return provider.check!({}, news);
}

const isTls = (args: pulumi.runtime.MockResourceArgs) => args.type.startsWith("tls:");

describe("preview: the serialized provider's check takes the engine's unknowns", () => {
    test("a fresh stack (the dev stack's first `pulumi up`): every resource is created, the certificates and container ids are unknown", async () => {
        const news = await previewInputs({}, {});
        const unknown = unknownPaths(news);
        assert.ok(unknown.some((p) => p.startsWith("tlsCertificates")), `no unknown certificate in ${unknown.join(", ")}`);
        assert.ok(unknown.some((p) => p.startsWith("containerIds")), `no unknown container id in ${unknown.join(", ")}`);
        const result = await serializedCheck(news);
        assert.deepEqual(result.failures ?? [], []);
        assert.deepEqual(result.inputs, news, "check hands the inputs back as they came, unknowns included");
    });

    test("a certificate re-issue (tlsValidityDays changed, or @pulumi/tls's early renewal): the certificates are unknown, the rest known", async () => {
        const news = await previewInputs({ tlsValidityDays: 30 }, { created: isTls });
        const unknown = unknownPaths(news);
        assert.ok(unknown.length > 0 && unknown.every((p) => p.startsWith("tlsCertificates") || p.startsWith("containerIds")), unknown.join(", "));
        assert.deepEqual((await serializedCheck(news)).failures ?? [], []);
    });

    test("a new host (its network and containers created): with replicationTls off, the account and router hosts are unknown", async () => {
        const raw = { hosts: HOSTS, members: PLACED, replicationTls: "off", router: "haproxy" };
        // node1 is new: the router's host, so the router's check hosts are unknown too.
        const news = await previewInputs(raw, { created: (args) => args.name.includes("node1") || args.name === "db001" || isTls(args) });
        const unknown = unknownPaths(news);
        assert.ok(unknown.some((p) => p.startsWith("otherReplicationUserHosts")), unknown.join(", "));
        assert.ok(unknown.some((p) => p.startsWith("routerCheckHosts")), unknown.join(", "));
        assert.deepEqual((await serializedCheck(news)).failures ?? [], []);
    });

    test("a new host with the defaults (verify): unknown certificates and hosts together", async () => {
        const news = await previewInputs({ hosts: HOSTS, members: PLACED, router: "haproxy" }, { created: (args) => args.name.includes("node2") || args.name === "db002" || isTls(args) });
        assert.deepEqual((await serializedCheck(news)).failures ?? [], []);
    });

    test("what is known is still checked: a bad known value next to unknowns is refused, by name", async () => {
        const news = await previewInputs({}, {});
        const result = await serializedCheck({ ...news, tls: "sometimes", connectRetrySeconds: 0, replicas: [{ ...news.replicas[0], port: "3307" }] });
        assert.deepEqual((result.failures ?? []).map((f) => f.property).sort(), ["connectRetrySeconds", "replicas[0].port", "tls"]);
    });

    test("the sentinel is accepted at any depth: a whole input, an element, a field of an endpoint", async () => {
        const news = await previewInputs({ replicationTls: "off" }, { created: () => false });
        assert.deepEqual(unknownPaths(news), [], "an update with nothing created has no unknowns");
        for (const patch of [
            { source: UNKNOWN },
            { replicas: UNKNOWN },
            { replicas: [UNKNOWN, news.replicas[1]] },
            { source: { ...news.source, host: UNKNOWN, port: UNKNOWN } },
            { tls: UNKNOWN, tlsCertificates: UNKNOWN },
            { tls: "verify", tlsCertificates: UNKNOWN },
            { tls: "verify", tlsCertificates: { ca: UNKNOWN, files: UNKNOWN, revision: UNKNOWN } },
            { tls: "verify", tlsCertificates: { ca: UNKNOWN, files: { ca: UNKNOWN, clientCert: "/etc/mysql/tls/client.pem", clientKey: UNKNOWN }, revision: UNKNOWN } },
            { otherReplicationUserHosts: UNKNOWN },
            { otherReplicationUserHosts: ["10.0.0.11", UNKNOWN] },
            { routerCheckUser: UNKNOWN, routerCheckHosts: UNKNOWN },
            { routerCheckHosts: [UNKNOWN] },
            { containerIds: UNKNOWN },
            { containerIds: [UNKNOWN, UNKNOWN, UNKNOWN] },
            { replicationUserHost: UNKNOWN, rootPassword: UNKNOWN, replicationPassword: UNKNOWN },
            { connectRetrySeconds: UNKNOWN, deadlineSeconds: UNKNOWN, verify: UNKNOWN, heartbeatIntervalMs: UNKNOWN, failover: UNKNOWN, seedMethod: UNKNOWN, reseed: UNKNOWN },
            { reseed: [UNKNOWN] },
        ]) {
            const result = await serializedCheck({ ...news, ...patch });
            assert.deepEqual(result.failures ?? [], [], JSON.stringify(patch));
        }
    });
});
