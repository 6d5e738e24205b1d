/**
 * Apply hooks for `pulumi.runtime.setMocks`: every resource the program declares is applied to a real Docker
 * engine (through its API, with dockerode) instead of being faked, so the end-to-end test runs the containers
 * exactly as declared. Each hook honours the args below and THROWS on any other declared arg, so the test
 * cannot silently drift from what the program declares: teach the hook first, then declare.
 *
 * Honoured args (defaults as the Docker provider documents them):
 * - docker:index/network:Network         name, driver (bridge). State reads ipamConfigs {subnet, gateway, ipRange,
 *                                        auxAddress} back from the engine.
 * - docker:index/volume:Volume           name, and the resource option retainOnDelete. An existing volume is
 *                                        reused (retained data); destroy() deletes a volume only when it was NOT
 *                                        declared retainOnDelete, as `pulumi destroy` does.
 * - docker:index/remoteImage:RemoteImage name, keepLocally. Never pulls: the image must exist locally. State has
 *                                        imageId (the engine's image id) and repoDigest.
 * - docker:index/container:Container     name, image, hostname, networksAdvanced {name, aliases}, ports {internal,
 *                                        external, ip (0.0.0.0), protocol (tcp)}, volumes {volumeName | hostPath,
 *                                        containerPath, readOnly}, envs, command, restart (no), init (false), healthcheck {tests,
 *                                        interval, timeout, retries, startPeriod}, wait (false), waitTimeout (60),
 *                                        mustRun (true), uploads {file, content, owner, group, permissions (0644)}:
 *                                        as the provider does, one tar entry per file at its full path, copied to
 *                                        "/" after create and before start (missing parents are created);
 *                                        destroyGraceSeconds: a delete or replacement stops the container with that
 *                                        timeout and then removes it; unset, with none (the provider's delete stops
 *                                        with a timeout of 0 or force-removes: the server is killed).
 * - tls:index/privateKey:PrivateKey      algorithm (RSA), rsaBits. tls:index/selfSignedCert:SelfSignedCert,
 *   tls:index/certRequest:CertRequest, tls:index/locallySignedCert:LocallySignedCert: their inputs as
 *                                        components/certificates.ts declares them, made by openssl.
 * - random:index/randomPassword:RandomPassword  length, special (true), overrideSpecial.
 * - command:local:Command                create (run with /bin/sh -c), delete (run on destroy), triggers (they only
 *                                        matter to updates, which these hooks never do).
 * - pulumi-nodejs:dynamic/*              everything: run as the engine does, by the serialized provider text in
 *                                        inputs.__provider, in a separate plain `node` process (no tsx, no program
 *                                        modules loaded), as `require-from-string(text).handler()`; check then
 *                                        create. read/diff/update/delete go through the same process.
 * - pulumi:providers:docker              host: an explicit provider per Docker host (issue 17). Resources declared with
 *                                        it are applied to `engines[host]` (DockerHooksOptions), the others to `docker`.
 * An update (`previous`: the hooks of the run before, as `pulumi up` on an existing stack): a resource applied
 * by the previous run with the same inputs is kept, without a call to its engine; a container whose inputs changed
 * is replaced (removed, then created: the program declares deleteBeforeReplace); a dynamic resource is always
 * diffed by its provider, changed inputs or not (as the engine does), and updated when the diff says so; any other
 * changed resource throws (the hooks do not update it).
 * Component resources pass through. Function calls (invokes) are not honoured. Resource options reach no
 * mock hook, so observeResourceOptions() (called right after setMocks) reads them from each registration.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { promisify } from "node:util";
import Docker from "dockerode";
import type * as pulumi from "@pulumi/pulumi";

type Inputs = Record<string, unknown>;
type MockArgs = pulumi.runtime.MockResourceArgs;
type MockResult = pulumi.runtime.MockResourceResult;

/** Label on everything the hooks create, so a test can remove it all by run, whatever failed. */
export const RUN_LABEL = "mysql-replicaset-e2e.run";

/** One applied resource, in creation order. */
export interface Applied {
    type: string;
    name: string;
    id: string;
    inputs: Inputs;
    state: Inputs;
    /** The resource option as the program declared it (false when not declared). */
    retainOnDelete: boolean;
    /** The `host` of the explicit docker provider it was declared with; undefined: the default engine. */
    engine?: string;
}

/** The register request of the mock monitor (the generated gRPC class), as far as the hooks read it. */
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getRetainondelete?(): boolean;
}

const HONOURED: Record<string, readonly string[]> = {
    // `version` is added by the SDK to every provider registration.
    "pulumi:providers:docker": ["host", "version"],
    "docker:index/network:Network": ["name", "driver"],
    "docker:index/volume:Volume": ["name"],
    "docker:index/remoteImage:RemoteImage": ["name", "keepLocally"],
    "docker:index/container:Container": [
        "name", "image", "hostname", "networksAdvanced", "ports", "volumes", "envs", "command", "restart", "init",
        "healthcheck", "wait", "waitTimeout", "mustRun", "uploads", "destroyGraceSeconds",
    ],
    "tls:index/privateKey:PrivateKey": ["algorithm", "rsaBits"],
    "tls:index/selfSignedCert:SelfSignedCert": ["privateKeyPem", "isCaCertificate", "subject", "allowedUses", "validityPeriodHours", "earlyRenewalHours", "setSubjectKeyId"],
    "tls:index/certRequest:CertRequest": ["privateKeyPem", "subject", "dnsNames", "ipAddresses"],
    "tls:index/locallySignedCert:LocallySignedCert": ["certRequestPem", "caPrivateKeyPem", "caCertPem", "allowedUses", "validityPeriodHours", "earlyRenewalHours"],
    uploads: ["file", "content", "owner", "group", "permissions"],
    "random:index/randomPassword:RandomPassword": ["length", "special", "overrideSpecial"],
    "command:local:Command": ["create", "delete", "triggers"],
    networksAdvanced: ["name", "aliases"],
    ports: ["internal", "external", "ip", "protocol"],
    volumes: ["volumeName", "hostPath", "containerPath", "readOnly"],
    healthcheck: ["tests", "interval", "timeout", "retries", "startPeriod"],
};

/**
 * A container's delete as the Docker provider does it: stopped with destroyGraceSeconds as the timeout (the server
 * gets SIGTERM and that long to shut down), then force-removed. Without destroyGraceSeconds the timeout is 0 (older
 * provider releases skip the stop and force-remove): the server is killed.
 */
async function removeContainer(docker: Docker, id: string, inputs: Inputs): Promise<void> {
    const container = docker.getContainer(id);
    await container.stop({ t: Number(inputs.destroyGraceSeconds ?? 0) }).catch(ignoreStatus(304, 404));
    await container.remove({ v: true, force: true }).catch(ignoreStatus(404));
}

/** Throws when `inputs` declares anything the hook for `kind` does not apply. */
function honour(kind: string, where: string, inputs: Inputs): void {
    const allowed = HONOURED[kind];
    const extra = Object.keys(inputs).filter((k) => inputs[k] !== undefined && !allowed.includes(k));
    if (extra.length > 0) {
        throw new Error(
            `${where} declares ${extra.map((k) => `${k}=${JSON.stringify(inputs[k])}`).join(", ")}, which the e2e hooks do not ` +
                "apply; teach test/e2e/dockerHooks.ts to apply it (and list it there) before declaring it",
        );
    }
}

/** Mocks deliver secret inputs wrapped ({4dabf18193072939515e22adb298388d: <sig>, value}); the engine hands providers plain values. */
function plain(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(plain);
    if (value && typeof value === "object") {
        const o = value as Inputs;
        if (o["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270") return plain(o.value);
        return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => [k, plain(v)]));
    }
    return value;
}

/** Go duration ("2s", "1m30s", "500ms") → nanoseconds, as the Docker provider parses healthcheck times. */
export function durationNs(text: string): number {
    const units: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
    const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) throw new Error(`not a duration: ${JSON.stringify(text)}`);
    return Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0));
}

function pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Docker's multiplexed log stream (no TTY): 8-byte frame headers before each chunk. */
function demux(buffer: Buffer): string {
    let out = "";
    for (let i = 0; i + 8 <= buffer.length; ) {
        const size = buffer.readUInt32BE(i + 4);
        out += buffer.subarray(i + 8, i + 8 + size).toString("utf8");
        i += 8 + size;
    }
    return out;
}

/** A container's whole log (stdout and stderr); throws when the engine cannot give it. */
export async function containerLog(container: Docker.Container): Promise<string> {
    return demux(await container.logs({ stdout: true, stderr: true }));
}

export async function containerLogTail(container: Docker.Container, lines = 25): Promise<string> {
    try {
        return demux(await container.logs({ stdout: true, stderr: true, tail: lines })).trimEnd();
    } catch (error) {
        return `(no log: ${(error as Error).message})`;
    }
}

// ---------------------------------------------------------------------------------------------------------
// The dynamic provider host: a plain node process, like the engine's, that knows only the serialized text.

const HOST_SCRIPT = `
const requireFromString = require("require-from-string");
const providers = new Map();
process.on("message", async ({ id, text, method, args }) => {
    try {
        let provider = providers.get(text);
        if (!provider) {
            provider = requireFromString(text).handler();
            if (provider.configure) throw new Error("the e2e provider host does not honour configure()");
            providers.set(text, provider);
        }
        if (typeof provider[method] !== "function") throw new Error("the provider has no " + method + "()");
        const result = await provider[method](...args);
        process.send({ id, ok: true, result: result === undefined ? null : result });
    } catch (error) {
        process.send({ id, ok: false, error: (error && error.stack) || String(error) });
    }
});
process.on("disconnect", () => process.exit(0));
`;

export class ProviderHost {
    private child?: ChildProcess;
    private next = 0;
    private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

    /** `cwd` is where the engine runs the host: the project directory, whose node_modules it requires from. */
    constructor(private readonly cwd: string) {}

    call<T>(text: string, method: string, ...args: unknown[]): Promise<T> {
        const child = this.start();
        const id = this.next++;
        return new Promise<T>((resolve, reject) => {
            this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
            // JSON over IPC, as the engine's gRPC Structs: no undefined, no functions, no class instances.
            child.send({ id, text, method, args: JSON.parse(JSON.stringify(args)) });
        });
    }

    stop(): void {
        this.child?.disconnect();
        this.child = undefined;
    }

    private start(): ChildProcess {
        if (this.child) return this.child;
        const env = { ...process.env };
        delete env.NODE_OPTIONS; // the real host runs without the test's TypeScript loader
        const child = spawn(process.execPath, ["-e", HOST_SCRIPT], { cwd: this.cwd, env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
        child.on("message", (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
            const p = this.pending.get(m.id);
            this.pending.delete(m.id);
            if (m.ok) p?.resolve(m.result);
            else p?.reject(new Error(`dynamic provider: ${m.error}`));
        });
        child.on("exit", (code) => {
            for (const p of this.pending.values()) p.reject(new Error(`the dynamic provider host exited (code ${code})`));
            this.pending.clear();
            if (this.child === child) this.child = undefined;
        });
        this.child = child;
        return child;
    }
}

// ---------------------------------------------------------------------------------------------------------

export interface DockerHooksOptions {
    docker: Docker;
    /** Labels every engine object; the test's cleanup removes by it. */
    runId: string;
    /** The project directory (Pulumi.yaml): the dynamic provider host runs there. */
    projectDir: string;
    /** The previous run's hooks: this run updates what they applied (see the header). */
    previous?: DockerHooks;
    /** Engines by the `host` an explicit docker provider names (several Docker hosts); a provider naming another fails. */
    engines?: Record<string, Docker>;
}

export class DockerHooks implements pulumi.runtime.Mocks {
    readonly applied: Applied[] = [];
    readonly host: ProviderHost;
    private readonly docker: Docker;

    constructor(private readonly options: DockerHooksOptions) {
        this.docker = options.docker;
        this.host = new ProviderHost(options.projectDir);
    }

    /**
     * Reads the resource options the mocks API does not hand to newResource (retainOnDelete) from each
     * registration: wraps the mock monitor that pulumi.runtime.setMocks(this, ...) installed. Call right after it.
     */
    observeResourceOptions(): void {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const settings = require("@pulumi/pulumi/runtime/settings") as { getMonitor(): unknown };
        const monitor = settings.getMonitor() as { registerResource(req: RegisterRequest, callback: unknown): unknown };
        if (typeof monitor?.registerResource !== "function") throw new Error("no mock monitor: call observeResourceOptions() right after pulumi.runtime.setMocks");
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: RegisterRequest, callback: unknown) => {
            this.declared.set(`${req.getType()}::${req.getName()}`, { retainOnDelete: req.getRetainondelete?.() === true });
            return register(req, callback);
        };
        this.observing = true;
    }

    private readonly declared = new Map<string, { retainOnDelete: boolean }>();
    private observing = false;

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        throw new Error(`the e2e hooks honour no function calls; the program invoked ${args.token}`);
    }

    async newResource(args: MockArgs): Promise<MockResult> {
        if (!args.custom) return { id: undefined, state: {} }; // component resources
        const inputs = plain(args.inputs) as Inputs;
        const where = `${args.type} ${args.name}`;
        if (!this.observing) throw new Error(`${where}: the hooks cannot see resource options; call observeResourceOptions() right after setMocks`);
        let result: { id: string; state: Inputs };
        const engine = this.engineOf(args, where);
        const before = this.options.previous?.applied.find((a) => a.type === args.type && a.name === args.name);
        if (args.type === "pulumi:providers:docker") {
            honour(args.type, where, inputs);
            if (!this.options.engines?.[String(inputs.host)]) throw new Error(`${where}: no engine for host ${String(inputs.host)} in the hooks' engines`);
            result = { id: `provider-${args.name}`, state: { ...inputs } };
            this.providerHosts.set(result.id, String(inputs.host));
        } else if (before) {
            result = await this.update(where, args.type, before, inputs);
        } else if (args.type.startsWith("pulumi-nodejs:dynamic")) {
            result = await this.dynamic(where, inputs);
        } else {
            if (!(args.type in HONOURED)) throw new Error(`${where}: the e2e hooks do not apply this resource type`);
            honour(args.type, where, inputs);
            result = await this.apply(args.type, where, inputs, this.client(engine));
        }
        const retainOnDelete = this.declared.get(`${args.type}::${args.name}`)?.retainOnDelete === true;
        this.applied.push({ type: args.type, name: args.name, id: result.id, inputs, state: result.state, retainOnDelete, engine });
        return { id: result.id, state: result.state };
    }

    /** Docker host of each applied explicit provider, by the id the hooks gave it. */
    private readonly providerHosts = new Map<string, string>();

    /** The `host` of the explicit provider a resource names ("<urn>::<id>"), undefined for the default one. */
    private engineOf(args: MockArgs, where: string): string | undefined {
        if (!args.provider) return undefined;
        const id = args.provider.split("::").pop() ?? "";
        const host = this.providerHosts.get(id);
        if (host === undefined) throw new Error(`${where}: declared with provider ${args.provider}, which the hooks did not apply`);
        return host;
    }

    /** The engine client of a Docker host (undefined: the default engine). */
    client(engine: string | undefined): Docker {
        if (engine === undefined) return this.docker;
        const client = this.options.engines?.[engine];
        if (!client) throw new Error(`no engine for Docker host ${engine}`);
        return client;
    }

    /** The applied dynamic resource of this name. */
    dynamicResource(name: string): Applied {
        const found = this.applied.find((a) => a.type.startsWith("pulumi-nodejs:dynamic") && a.name === name);
        if (!found) throw new Error(`no dynamic resource ${name} was applied`);
        return found;
    }

    /** Calls a method of a dynamic resource's serialized provider, in the provider host. */
    provider<T>(resource: Applied, method: "read" | "diff" | "update" | "delete", ...args: unknown[]): Promise<T> {
        return this.host.call<T>(String(resource.inputs.__provider), method, ...args);
    }

    /**
     * Deletes what was applied in reverse order, as `pulumi destroy` does: dynamic resources through their
     * provider's delete, containers (stopped as the provider stops them: removeContainer), networks, volumes unless
     * declared retainOnDelete, images unless keepLocally, local commands' delete.
     */
    async destroy(): Promise<void> {
        for (const a of [...this.applied].reverse()) {
            const docker = this.client(a.engine);
            if (a.type.startsWith("pulumi-nodejs:dynamic")) await this.provider(a, "delete", a.id, a.state);
            else if (a.type === "docker:index/container:Container") {
                await removeContainer(docker, a.id, a.inputs);
            } else if (a.type === "docker:index/network:Network") await docker.getNetwork(a.id).remove().catch(ignoreStatus(404));
            else if (a.type === "docker:index/volume:Volume" && !a.retainOnDelete) await docker.getVolume(a.id).remove().catch(ignoreStatus(404));
            else if (a.type === "docker:index/remoteImage:RemoteImage" && a.inputs.keepLocally !== true) {
                await docker.getImage(String(a.state.imageId)).remove().catch(ignoreStatus(404));
            } else if (a.type === "command:local:Command" && typeof a.inputs.delete === "string") await shell(a.inputs.delete);
        }
        this.applied.length = 0;
        this.host.stop();
    }

    /** An update of what the previous run applied (see the header). */
    private async update(where: string, type: string, before: Applied, inputs: Inputs): Promise<{ id: string; state: Inputs }> {
        // A dynamic resource is diffed by its provider even when its inputs did not change, as the engine does: the
        // replication provider reports a change for a set last observed unhealthy (a fenced member to rejoin).
        const dynamic = type.startsWith("pulumi-nodejs:dynamic");
        if (!dynamic && canonical(before.inputs) === canonical(inputs)) return { id: before.id, state: before.state };
        if (type === "docker:index/container:Container") {
            honour(type, where, inputs);
            const docker = this.client(before.engine);
            await removeContainer(docker, before.id, before.inputs);
            return this.apply(type, where, inputs, docker);
        }
        if (dynamic) {
            const text = String(inputs.__provider);
            const checked = await this.host.call<{ inputs?: Inputs; failures?: Array<{ property: string; reason: string }> } | null>(text, "check", before.inputs, inputs);
            if (checked?.failures?.length) throw new Error(`${where}: check failed: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
            const news = { ...(checked?.inputs ?? inputs), __provider: text };
            const diff = await this.host.call<{ changes?: boolean }>(text, "diff", before.id, before.state, news);
            Object.assign(inputs, news);
            if (diff?.changes === false) return { id: before.id, state: before.state };
            const updated = await this.host.call<{ outs?: Inputs }>(text, "update", before.id, before.state, news);
            return { id: before.id, state: { ...(updated.outs ?? {}), __provider: text } };
        }
        throw new Error(`${where}: its inputs changed, and the e2e hooks update only containers (by replacement) and dynamic resources`);
    }

    /** As the engine's dynamic provider host: check (failures stop here), then create; outs keep __provider. */
    private async dynamic(where: string, inputs: Inputs): Promise<{ id: string; state: Inputs }> {
        const text = inputs.__provider;
        if (typeof text !== "string" || text === "") throw new Error(`${where}: no serialized provider in __provider`);
        const checked = await this.host.call<{ inputs?: Inputs; failures?: Array<{ property: string; reason: string }> } | null>(text, "check", {}, inputs);
        if (checked?.failures?.length) {
            throw new Error(`${where}: check failed: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
        }
        const news = { ...(checked?.inputs ?? inputs), __provider: text };
        const created = await this.host.call<{ id: string; outs?: Inputs }>(text, "create", news);
        // Stored as both inputs and state: later diff/update/delete get them as the engine would.
        Object.assign(inputs, news);
        return { id: created.id, state: { ...(created.outs ?? {}), __provider: text } };
    }

    private async apply(type: string, where: string, a: Inputs, docker: Docker): Promise<{ id: string; state: Inputs }> {
        const labels = { [RUN_LABEL]: this.options.runId };
        switch (type) {
            case "docker:index/network:Network": {
                const network = await docker.createNetwork({ Name: String(a.name), Driver: String(a.driver ?? "bridge"), CheckDuplicate: true, Labels: labels });
                const info = await network.inspect();
                const ipamConfigs = (info.IPAM?.Config ?? []).map((c: Record<string, unknown>) =>
                    plain({ subnet: c.Subnet, gateway: c.Gateway, ipRange: c.IPRange, auxAddress: c.AuxiliaryAddresses }),
                );
                return { id: info.Id, state: { ...a, driver: info.Driver, ipamConfigs } };
            }
            case "docker:index/volume:Volume": {
                const volume = await docker.createVolume({ Name: String(a.name), Labels: labels });
                const info = await volume.inspect();
                return { id: info.Name, state: { ...a, driver: info.Driver, mountpoint: info.Mountpoint } };
            }
            case "docker:index/remoteImage:RemoteImage": {
                const name = String(a.name);
                const info = await docker.getImage(name).inspect().catch((error: Error) => {
                    throw new Error(`${where}: image ${name} is not on the engine and the e2e hooks never pull (${error.message}); build it with test/support/image/build-image.sh`);
                });
                const repoDigest = info.RepoDigests?.[0] ?? `${name.replace(/:[^:/]*$/, "")}@${info.Id}`;
                return { id: `${info.Id}${name}`, state: { ...a, imageId: info.Id, repoDigest } };
            }
            case "docker:index/container:Container":
                return this.container(where, a, labels, docker);
            case "random:index/randomPassword:RandomPassword": {
                const result = randomPassword(Number(a.length), a.special !== false, a.overrideSpecial as string | undefined);
                return { id: "none", state: { ...a, result } };
            }
            case "command:local:Command": {
                const { stdout, stderr } = typeof a.create === "string" ? await shell(a.create) : { stdout: "", stderr: "" };
                return { id: where, state: { ...a, stdout, stderr } };
            }
            case "tls:index/privateKey:PrivateKey":
            case "tls:index/selfSignedCert:SelfSignedCert":
            case "tls:index/certRequest:CertRequest":
            case "tls:index/locallySignedCert:LocallySignedCert":
                return { id: where, state: { ...a, ...(await tlsResource(type, a)) } };
        }
        throw new Error(`${where}: no hook`);
    }

    private async container(where: string, a: Inputs, labels: Record<string, string>, docker: Docker): Promise<{ id: string; state: Inputs }> {
        const networks = (a.networksAdvanced ?? []) as Inputs[];
        const ports = (a.ports ?? []) as Inputs[];
        const volumes = (a.volumes ?? []) as Inputs[];
        const health = a.healthcheck as Inputs | undefined;
        networks.forEach((n, i) => honour("networksAdvanced", `${where} networksAdvanced[${i}]`, n));
        ports.forEach((p, i) => honour("ports", `${where} ports[${i}]`, p));
        volumes.forEach((v, i) => honour("volumes", `${where} volumes[${i}]`, v));
        if (health) honour("healthcheck", `${where} healthcheck`, health);

        const exposed: Record<string, object> = {};
        const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
        for (const p of ports) {
            const key = `${p.internal}/${p.protocol ?? "tcp"}`;
            exposed[key] = {};
            (bindings[key] ??= []).push({ HostIp: String(p.ip ?? "0.0.0.0"), HostPort: p.external === undefined ? "" : String(p.external) });
        }
        const binds = volumes.map((v, i) => {
            if ((v.volumeName === undefined) === (v.hostPath === undefined)) throw new Error(`${where} volumes[${i}]: give exactly one of volumeName and hostPath`);
            return `${v.volumeName ?? v.hostPath}:${v.containerPath}${v.readOnly ? ":ro" : ""}`;
        });
        const [first, ...more] = networks;
        const created = await docker.createContainer({
            name: String(a.name),
            Image: String(a.image),
            Hostname: a.hostname as string | undefined,
            Env: a.envs as string[] | undefined,
            Cmd: a.command as string[] | undefined,
            Labels: labels,
            ExposedPorts: exposed,
            Healthcheck: health && {
                Test: health.tests as string[],
                Interval: health.interval === undefined ? undefined : durationNs(String(health.interval)),
                Timeout: health.timeout === undefined ? undefined : durationNs(String(health.timeout)),
                StartPeriod: health.startPeriod === undefined ? undefined : durationNs(String(health.startPeriod)),
                Retries: health.retries as number | undefined,
            },
            HostConfig: {
                Binds: binds,
                PortBindings: bindings,
                RestartPolicy: { Name: String(a.restart ?? "no") },
                // Docker's init (tini) as PID 1, as `docker run --init`.
                Init: a.init === true ? true : undefined,
                NetworkMode: first ? String(first.name) : "bridge",
            },
            NetworkingConfig: first ? { EndpointsConfig: { [String(first.name)]: { Aliases: first.aliases as string[] | undefined } } } : undefined,
        });
        // API 1.41 attaches one network at create; the others are connected before the start.
        for (const n of more) await docker.getNetwork(String(n.name)).connect({ Container: created.id, EndpointConfig: { Aliases: n.aliases as string[] | undefined } });
        const uploads = (a.uploads ?? []) as Inputs[];
        uploads.forEach((u, i) => honour("uploads", `${where} uploads[${i}]`, u));
        for (const u of uploads) await created.putArchive(tarOf(u), { path: "/" });
        await created.start();

        if (a.wait === true) {
            const info = await created.inspect();
            if (!info.Config.Healthcheck?.Test?.length) throw new Error(`${where}: wait is set but the container has no healthcheck`);
            await waitHealthy(created, where, Number(a.waitTimeout ?? 60));
        }
        const info = await created.inspect();
        if (a.mustRun !== false && !info.State.Running) {
            throw new Error(`${where} is not running after its start (status ${info.State.Status}); its log:\n${await containerLogTail(created)}`);
        }
        const networkData = Object.entries(info.NetworkSettings.Networks).map(([name, n]) => ({ networkName: name, ipAddress: n.IPAddress, gateway: n.Gateway }));
        return { id: info.Id, state: { ...a, networkData } };
    }
}

/** Polls the container's health until "healthy"; fails on "unhealthy", on exit, and at the deadline. */
async function waitHealthy(container: Docker.Container, where: string, timeoutSeconds: number): Promise<void> {
    const started = Date.now();
    const deadline = started + timeoutSeconds * 1000;
    let last = "not inspected yet";
    for (let attempt = 0; ; attempt++) {
        const info = await container.inspect();
        const health = info.State.Health?.Status ?? "none";
        last = `status ${info.State.Status}, health ${health}, restarts ${info.RestartCount}`;
        if (health === "healthy") return;
        const gaveUp = health === "unhealthy" || (!info.State.Running && !info.State.Restarting) || Date.now() >= deadline;
        if (gaveUp) {
            const probe = info.State.Health?.Log?.at(-1);
            throw new Error(
                `${where}: waited ${((Date.now() - started) / 1000).toFixed(1)}s (waitTimeout ${timeoutSeconds}s) for the container to be healthy; ` +
                    `last seen: ${last}${probe ? `, last check exit ${probe.ExitCode}: ${probe.Output.trim()}` : ""}. Its log:\n${await containerLogTail(container)}`,
            );
        }
        await pause(Math.min(50 * 1.5 ** attempt, 500, Math.max(0, deadline - Date.now())));
    }
}

/** JSON with object keys sorted: inputs compared across runs. */
function canonical(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) =>
        v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Inputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
    );
}

/** One file as a ustar archive, named by its full path (as the Docker provider writes an upload). */
export function tarOf(upload: Inputs): Buffer {
    const content = Buffer.from(String(upload.content ?? ""), "utf8");
    const header = Buffer.alloc(512, 0);
    const field = (offset: number, length: number, value: string) => header.write(value, offset, length, "utf8");
    const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
    field(0, 100, String(upload.file).replace(/^\/+/, ""));
    octal(100, 8, parseInt(String(upload.permissions ?? "0644"), 8));
    octal(108, 8, Number(upload.owner ?? 0));
    octal(116, 8, Number(upload.group ?? 0));
    octal(124, 12, content.length);
    octal(136, 12, Math.floor(Date.now() / 1000));
    field(148, 8, "        ");
    field(156, 1, "0");
    field(257, 6, "ustar\0");
    field(263, 2, "00");
    let sum = 0;
    for (const byte of header) sum += byte;
    field(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
    const padding = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
    return Buffer.concat([header, content, padding, Buffer.alloc(1024, 0)]);
}

/** @pulumi/tls's resources, made by openssl in a scratch directory. */
async function tlsResource(type: string, a: Inputs): Promise<Inputs> {
    const { mkdtemp, readFile, rm, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = await mkdtemp(join(tmpdir(), "e2e-tls-"));
    const openssl = (...args: string[]) => promisify(execFile)("openssl", args, { cwd: dir });
    const subject = (s: unknown) => {
        const o = (s ?? {}) as Inputs;
        return `${o.organization ? `/O=${o.organization}` : ""}/CN=${o.commonName ?? "none"}`;
    };
    const days = (hours: unknown) => String(Math.max(1, Math.ceil(Number(hours) / 24)));
    const usage = (uses: string[]) => {
        const key = uses.map((u) => ({ cert_signing: "keyCertSign", crl_signing: "cRLSign", digital_signature: "digitalSignature", key_encipherment: "keyEncipherment" } as Record<string, string>)[u]).filter(Boolean);
        const extended = uses.map((u) => ({ server_auth: "serverAuth", client_auth: "clientAuth" } as Record<string, string>)[u]).filter(Boolean);
        return [`keyUsage=critical,${key.join(",")}`, ...(extended.length ? [`extendedKeyUsage=${extended.join(",")}`] : [])];
    };
    try {
        switch (type) {
            case "tls:index/privateKey:PrivateKey": {
                if (a.algorithm !== "RSA") throw new Error(`e2e hooks make RSA keys only, not ${String(a.algorithm)}`);
                await openssl("genrsa", "-out", "key.pem", String(a.rsaBits ?? 2048));
                return { privateKeyPem: await readFile(join(dir, "key.pem"), "utf8") };
            }
            case "tls:index/selfSignedCert:SelfSignedCert": {
                await writeFile(join(dir, "key.pem"), String(a.privateKeyPem));
                const ext = [...(a.isCaCertificate ? ["basicConstraints=critical,CA:TRUE"] : []), ...usage(a.allowedUses as string[])];
                await openssl("req", "-x509", "-new", "-key", "key.pem", "-subj", subject(a.subject), "-days", days(a.validityPeriodHours), ...ext.flatMap((e) => ["-addext", e]), "-out", "cert.pem");
                return { certPem: await readFile(join(dir, "cert.pem"), "utf8") };
            }
            case "tls:index/certRequest:CertRequest": {
                await writeFile(join(dir, "key.pem"), String(a.privateKeyPem));
                const sans = [...((a.dnsNames ?? []) as string[]).map((d) => `DNS:${d}`), ...((a.ipAddresses ?? []) as string[]).map((ip) => `IP:${ip}`)];
                await openssl("req", "-new", "-key", "key.pem", "-subj", subject(a.subject), ...(sans.length ? ["-addext", `subjectAltName=${sans.join(",")}`] : []), "-out", "csr.pem");
                return { certRequestPem: await readFile(join(dir, "csr.pem"), "utf8") };
            }
            case "tls:index/locallySignedCert:LocallySignedCert": {
                await writeFile(join(dir, "csr.pem"), String(a.certRequestPem));
                await writeFile(join(dir, "ca.pem"), String(a.caCertPem));
                await writeFile(join(dir, "ca-key.pem"), String(a.caPrivateKeyPem));
                await writeFile(join(dir, "ext"), ["basicConstraints=CA:FALSE", ...usage(a.allowedUses as string[])].join("\n"));
                await openssl("x509", "-req", "-in", "csr.pem", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", days(a.validityPeriodHours), "-copy_extensions", "copy", "-extfile", "ext", "-out", "cert.pem");
                return { certPem: await readFile(join(dir, "cert.pem"), "utf8"), readyForRenewal: false };
            }
        }
        throw new Error(`no tls hook for ${type}`);
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}

function randomPassword(length: number, special: boolean, overrideSpecial?: string): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + (special ? (overrideSpecial ?? "!@#$%&*()-_=+[]{}<>:?") : "");
    return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join("");
}

async function shell(script: string): Promise<{ stdout: string; stderr: string }> {
    return promisify(execFile)("/bin/sh", ["-c", script]);
}

function ignoreStatus(...codes: number[]) {
    return (error: { statusCode?: number }) => {
        if (!codes.includes(error.statusCode ?? 0)) throw error;
    };
}
