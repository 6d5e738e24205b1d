/**
 * Runs a Pulumi program against `pulumi.runtime.setMocks` and records every resource it registers: type,
 * name, URN, inputs (with secret-marked values kept visibly marked), parent, dependencies and the resource
 * options the engine would receive (retainOnDelete, deleteBeforeReplace, additionalSecretOutputs).
 *
 * How the recording works, and why it looks at two places:
 * - `Mocks.newResource` (the public mock API) sees type, name and inputs. Inputs arrive as the engine would
 *   get them: an Output that was secret stays wrapped as `{ [SECRET_SIG_KEY]: SECRET_SIG, value }` (an array
 *   holding a secret element is wrapped as a whole). `isSecretMarked` / `reveal` read that.
 * - The mock API does not show options or `dependsOn`. They travel in the RegisterResourceRequest the SDK
 *   sends to the monitor, so after `setMocks` the monitor instance's `registerResource` is wrapped to read
 *   `getParent()`, `getDependenciesList()` (explicit dependsOn plus the resources the inputs came from),
 *   `getPropertydependenciesMap()` (per input), `getRetainondelete()`, `getIgnorechangesList()` and the others.
 *
 * Order matters: the SDK fetches the monitor when a resource is constructed, so `runProgram` installs the
 * mocks first and only then calls the program (for index.ts: `require` it inside the program function).
 * `node --test` runs each test file in its own process; within one file `runProgram` may run many programs
 * one after the other (each gets a fresh monitor and config). Do not run two at once.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { load as loadYaml } from "js-yaml";

// Internal SDK helpers (stable since 3.x): the RPC queue drain, and the current monitor. Typed here narrowly.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as {
    waitForRPCs(): Promise<void>;
    getMonitor(): unknown;
};

/** The wire markers of a secret value (runtime/rpc.ts: specialSigKey / specialSecretSig). */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export interface RecordedResource {
    type: string;
    name: string;
    urn: string;
    /** true for custom (provider-managed) resources, false for components. */
    custom: boolean;
    /** Inputs as the engine would receive them; secrets stay wrapped (see isSecretMarked / reveal). */
    inputs: Record<string, unknown>;
    /**
     * The inputs exactly as they went over the wire to the engine (`RegisterResourceRequest.object`): a value not
     * known yet (a preview) is the sentinel string UNKNOWN, secrets are wrapped as in `inputs`.
     */
    wireInputs: Record<string, unknown>;
    /** URN of the parent resource, "" when none. */
    parent: string;
    /** Every resource this one waits for: explicit dependsOn plus the resources its inputs came from. */
    dependencies: string[];
    /** Per input property, the resources its value came from. */
    propertyDependencies: Record<string, string[]>;
    retainOnDelete: boolean | undefined;
    deleteBeforeReplace: boolean;
    additionalSecretOutputs: string[];
    protect: boolean | undefined;
    /** Input properties whose changes the engine ignores (the `ignoreChanges` option). */
    ignoreChanges: string[];
    /** The explicit provider reference ("<provider urn>::<id>"), "" for the default provider. */
    provider: string;
}

/** State a mocked resource reports back, beyond echoing its inputs. */
export type StateOverride = (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown> | undefined;

/** Mocked subnet of every docker.Network, and the fixed values other resources report. */
export const MOCK_SUBNET = "172.18.0.0/16";
export const MOCK_IMAGE_ID = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/** A RandomPassword named N reports this result: distinctive, so a leak is found by plain text search. */
export function mockPassword(resourceName: string): string {
    return `MOCKPW-${resourceName}-Zq7x`;
}

/** A PEM block whose body names the resource: "-----BEGIN CERTIFICATE-----\nMOCK-db001-tls-cert\n-----END ...". */
export function mockPem(label: string, resourceName: string): string {
    return `-----BEGIN ${label}-----\nMOCK${label.replace(/ /g, "")}${resourceName.replace(/[^A-Za-z0-9]/g, "")}\n-----END ${label}-----\n`;
}

/**
 * Sensible state per type: the inputs echoed back, plus what the real provider computes. RandomPassword's
 * result is reported NOT secret on purpose: the real engine marks it secret via additionalSecretOutputs, which
 * mocks do not apply; reporting it plain makes the tests prove that the component marks it secret itself.
 */
export function defaultState(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    const inputs = (args.inputs ?? {}) as Record<string, unknown>;
    switch (args.type) {
        case "docker:index/remoteImage:RemoteImage":
            return { ...inputs, imageId: MOCK_IMAGE_ID, repoDigest: `${String(inputs.name)}@sha256:feed` };
        case "docker:index/network:Network":
            return {
                ...inputs,
                name: inputs.name ?? args.name,
                ipamConfigs: [{ subnet: MOCK_SUBNET, gateway: "172.18.0.1" }],
            };
        case "docker:index/volume:Volume":
            return { ...inputs, name: inputs.name ?? args.name, mountpoint: `/var/lib/docker/volumes/${args.name}/_data` };
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: mockPassword(args.name) };
        // @pulumi/tls: PEM-shaped values named after the resource, so a leak is found by plain text search. Like
        // RandomPassword's result, the private keys come back NOT secret: the component must mark them itself.
        case "tls:index/privateKey:PrivateKey":
            return { ...inputs, privateKeyPem: mockPem("PRIVATE KEY", args.name), publicKeyPem: mockPem("PUBLIC KEY", args.name) };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { ...inputs, certPem: mockPem("CERTIFICATE", args.name), readyForRenewal: false };
        case "tls:index/certRequest:CertRequest":
            return { ...inputs, certRequestPem: mockPem("CERTIFICATE REQUEST", args.name) };
        default:
            return { ...inputs };
    }
}

export interface ProgramRun<T> {
    /** Every registration, in the order the monitor received them. */
    resources: RecordedResource[];
    /** Every `Mocks.newResource` call as "type name", failed ones included (a second witness for "nothing"). */
    requested: string[];
    /** What the program returned (after awaiting it), when it did not throw. */
    result?: T;
    /** What the program threw, when it did. */
    error?: unknown;
}

export interface RunOptions {
    /** Stack config, keys like "mysql-replicaset:members", values as text (structured values as JSON text). */
    config?: Record<string, string>;
    /** Config keys that hold secrets (config.getSecret marks them secret either way). */
    secretKeys?: string[];
    project?: string;
    stack?: string;
    /** Per-resource extra state; its keys override the defaults. */
    state?: StateOverride;
    /**
     * Run the program as a preview (`setMocks(..., preview = true)`, as `pulumi preview` and the preview `pulumi up`
     * runs first). `created` says which resources the preview creates (or replaces): they report their inputs back
     * and nothing the provider would compute (no id, no computed output), so what depends on them is unknown, as
     * the engine reports a resource it has yet to create. Default: every resource is created (a fresh stack).
     */
    preview?: boolean;
    created?: (args: pulumi.runtime.MockResourceArgs) => boolean;
}

/** The engine's value for "not known yet" on the wire (sdk/go/common/resource/plugin/rpc.go UnknownStringValue). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * Installs fresh mocks and config, runs the program, waits until every registration has reached the mock
 * monitor, and returns what was recorded. A program that throws is reported in `error`, with whatever it
 * managed to register before (so a test can assert that nothing was).
 */
export async function runProgram<T>(program: () => T | Promise<T>, options: RunOptions = {}): Promise<ProgramRun<Awaited<T>>> {
    const project = options.project ?? "mysql-replicaset";
    const stack = options.stack ?? "dev";
    const resources: RecordedResource[] = [];
    const requested: string[] = [];
    const inputsByKey = new Map<string, Record<string, unknown>>();

    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
                requested.push(`${args.type} ${args.name}`);
                inputsByKey.set(`${args.type}::${args.name}`, args.inputs ?? {});
                if (options.preview && args.custom !== false && (options.created ?? (() => true))(args)) {
                    return { id: undefined, state: { ...(args.inputs ?? {}) } };
                }
                const state = { ...defaultState(args), ...(options.state?.(args) ?? {}) };
                return { id: args.custom === false ? undefined : `${args.name}-id`, state };
            },
            call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
                return args.inputs ?? {};
            },
        },
        project,
        stack,
        options.preview ?? false,
    );
    wrapMonitor(resources, inputsByKey);
    pulumi.runtime.setAllConfig(options.config ?? {}, options.secretKeys ?? []);

    const run: ProgramRun<Awaited<T>> = { resources, requested };
    try {
        run.result = await program();
    } catch (error) {
        run.error = error;
    }
    await settings.waitForRPCs();
    return run;
}

interface RegisterRequest {
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getDependenciesList(): string[];
    getPropertydependenciesMap(): { forEach(cb: (value: { getUrnsList(): string[] }, key: string) => void): void };
    getRetainondelete(): boolean | undefined;
    getDeletebeforereplace(): boolean;
    getAdditionalsecretoutputsList(): string[];
    getProtect(): boolean | undefined;
    getIgnorechangesList(): string[];
    getProvider(): string;
}

interface MonitorLike {
    registerResource(req: RegisterRequest, callback: (err: unknown, response: { getUrn(): string } | undefined) => void): Promise<void>;
}

function wrapMonitor(resources: RecordedResource[], inputsByKey: Map<string, Record<string, unknown>>): void {
    const monitor = settings.getMonitor() as MonitorLike;
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) =>
        original(req, (err, response) => {
            if (!err && response) {
                const propertyDependencies: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((value, key) => {
                    propertyDependencies[key] = value.getUrnsList();
                });
                resources.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: response.getUrn(),
                    custom: req.getCustom(),
                    inputs: inputsByKey.get(`${req.getType()}::${req.getName()}`) ?? {},
                    wireInputs: req.getObject()?.toJavaScript() ?? {},
                    parent: req.getParent(),
                    dependencies: req.getDependenciesList(),
                    propertyDependencies,
                    retainOnDelete: req.getRetainondelete(),
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    protect: req.getProtect(),
                    ignoreChanges: req.getIgnorechangesList(),
                    provider: req.getProvider(),
                });
            }
            callback(err, response);
        });
}

// ------------------------------------------------------------------------------------------------------
// Reading recorded inputs

/** True when the value is a secret-marked value as the engine receives it. */
export function isSecretMarked(value: unknown): boolean {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

/** The value with every secret marker removed (deeply). */
export function reveal(value: unknown): any {
    if (isSecretMarked(value)) return reveal((value as { value: unknown }).value);
    if (Array.isArray(value)) return value.map(reveal);
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
    }
    return value;
}

/** Every string in the value that is NOT inside a secret marker, with its path. */
export function plainStrings(value: unknown, path = ""): Array<{ path: string; text: string }> {
    if (isSecretMarked(value)) return [];
    if (typeof value === "string") return [{ path, text: value }];
    if (Array.isArray(value)) return value.flatMap((v, i) => plainStrings(v, `${path}[${i}]`));
    if (typeof value === "object" && value !== null) {
        return Object.entries(value).flatMap(([k, v]) => plainStrings(v, path ? `${path}.${k}` : k));
    }
    return [];
}

/** The one recorded resource of that type and name; fails loudly when missing or repeated. */
export function find(resources: RecordedResource[], type: string, name: string): RecordedResource {
    const hits = resources.filter((r) => r.type === type && r.name === name);
    if (hits.length !== 1) {
        const seen = resources.map((r) => `${r.type} ${r.name}`).join("\n  ");
        throw new Error(`expected exactly one ${type} named ${name}, found ${hits.length}; recorded:\n  ${seen}`);
    }
    return hits[0];
}

export function ofType(resources: RecordedResource[], type: string): RecordedResource[] {
    return resources.filter((r) => r.type === type);
}

/** The value of an Output (mocks run as an update, so every value is known). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Resource type tokens the project uses. */
export const TYPES = {
    replicaSet: "mysql-replicaset:index:ReplicaSet",
    network: "docker:index/network:Network",
    image: "docker:index/remoteImage:RemoteImage",
    volume: "docker:index/volume:Volume",
    container: "docker:index/container:Container",
    command: "command:local:Command",
    password: "random:index/randomPassword:RandomPassword",
    replication: "pulumi-nodejs:dynamic/replicaset:Replication",
    privateKey: "tls:index/privateKey:PrivateKey",
    selfSignedCert: "tls:index/selfSignedCert:SelfSignedCert",
    certRequest: "tls:index/certRequest:CertRequest",
    locallySignedCert: "tls:index/locallySignedCert:LocallySignedCert",
    dockerProvider: "pulumi:providers:docker",
} as const;

/** The @pulumi/tls resources of `replicationTls: verify` (the default): the stack's CA, one pair per member, the replication client's. */
export function tlsResourceNames(component: string, members: readonly string[]): string[] {
    return [
        `${TYPES.privateKey} ${component}-ca-key`,
        `${TYPES.selfSignedCert} ${component}-ca`,
        ...[...members.map((m) => `${m}-tls`), `${component}-replication-client`].flatMap((n) => [
            `${TYPES.privateKey} ${n}-key`,
            `${TYPES.certRequest} ${n}-csr`,
            `${TYPES.locallySignedCert} ${n}-cert`,
        ]),
    ];
}

// ------------------------------------------------------------------------------------------------------
// Stack config files

/** The repository root (this file is test/support/pulumiMocks.ts). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

export interface StackConfig {
    /** As the CLI hands it to the program: namespaced keys, structured values as JSON text, scalars as text. */
    cli: Record<string, string>;
    /** As the YAML says it, namespace stripped: what validateConfig takes. */
    raw: Record<string, unknown>;
}

/** Reads `Pulumi.<stack>.yaml` (plain keys only; a `secure:` value would need the passphrase). */
export function readStackConfig(stack: string, project = "mysql-replicaset"): StackConfig {
    const file = path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
    const doc = (loadYaml(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const cli: Record<string, string> = {};
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        const [namespace, name] = key.includes(":") ? key.split(":", 2) : [project, key];
        if (namespace !== project) continue;
        if (typeof value === "object" && value !== null && "secure" in value) continue;
        cli[`${project}:${name}`] = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
        raw[name] = value;
    }
    return { cli, raw };
}

/**
 * The defaults Pulumi.yaml declares (`config: {key: {default}}`), as the CLI passes them to the program for
 * keys the stack leaves unset: namespaced, as text.
 */
export function readProjectDefaults(project = "mysql-replicaset"): Record<string, string> {
    const doc = (loadYaml(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const defaults: Record<string, string> = {};
    for (const [key, spec] of Object.entries(doc.config ?? {})) {
        if (typeof spec !== "object" || spec === null || !("default" in spec)) continue;
        const value = (spec as { default: unknown }).default;
        const name = key.includes(":") ? key : `${project}:${key}`;
        defaults[name] = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
    }
    return defaults;
}
