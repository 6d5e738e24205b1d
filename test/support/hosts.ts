/**
 * Several Docker engines on this machine (test/support/hosts.sh): one dockerd per network namespace, the
 * namespaces on a Linux bridge, each engine reached by the tests on its unix socket and its containers'
 * published ports on the namespace's address. Everything it starts is stopped by stop(), also after a failure.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";

const SCRIPT = resolve(__dirname, "hosts.sh");
const run = promisify(execFile);

export interface HarnessHost {
    /** Host name in the stack config (node1, node2, …). */
    name: string;
    /** Network namespace the engine runs in. */
    namespace: string;
    /** The engine as the Docker provider takes it: unix://<state>/<i>/docker.sock. */
    docker: string;
    /** The namespace's address: where its published ports are reached, from here and from the other hosts. */
    address: string;
    client: Docker;
}

export interface Harness {
    id: string;
    hosts: HarnessHost[];
    /** Stops one host's engine (its containers stop with it), as a machine going down. */
    stopEngine(host: HarnessHost): Promise<void>;
    /** Starts it again, as before; containers with a restart policy come back. */
    startEngine(host: HarnessHost): Promise<void>;
    /** Stops every engine and removes namespaces, bridge, iptables rule and state. Safe to repeat. */
    stop(): Promise<void>;
}

/** Why the harness cannot run here, or undefined when it can (root, ip, nsenter, iptables, dockerd). */
export function harnessProblem(): string | undefined {
    if (process.getuid?.() !== 0) return "the multi-host harness needs root (network namespaces, a bridge, dockerd)";
    for (const tool of ["ip", "nsenter", "iptables", "dockerd", "docker"]) {
        try {
            execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
        } catch {
            return `the multi-host harness needs ${tool} (apt-get install -y iproute2 util-linux iptables docker.io)`;
        }
    }
    return undefined;
}

/** hosts.sh's exit status when the chosen subnet is already in use on this machine. */
const SUBNET_IN_USE = 3;

/**
 * Starts `count` engines with `images` copied from the local engine, on the private subnet 10.231.<octet>.0/24:
 * `octet` when given, else a random one, another when the first is in use here (another harness running).
 */
export async function startHarness(count: number, images: string[], octet?: number): Promise<Harness> {
    const id = `h${Math.random().toString(36).slice(2, 7)}`;
    let dir: string | undefined;
    let chosen = octet ?? 20 + Math.floor(Math.random() * 230);
    for (let attempt = 1; dir === undefined; attempt++) {
        try {
            const { stdout } = await run("bash", [SCRIPT, "up", id, String(count), String(chosen), ...images], { timeout: 10 * 60_000, maxBuffer: 1 << 20 });
            dir = stdout.trim().split("\n").pop()!;
        } catch (error) {
            // up undoes its own work on failure; down again in case it was killed part-way.
            await run("bash", [SCRIPT, "down", id]).catch(() => undefined);
            const e = error as { code?: number; stderr?: string; message: string };
            if (e.code === SUBNET_IN_USE && octet === undefined && attempt < 5) {
                chosen = 20 + Math.floor(Math.random() * 230);
                continue;
            }
            throw new Error(`starting the multi-host harness failed: ${e.stderr?.trim() || e.message}`);
        }
    }
    const hosts: HarnessHost[] = [];
    for (let i = 1; i <= count; i++) {
        const socket = join(dir, String(i), "docker.sock");
        if (!existsSync(socket)) throw new Error(`engine ${i} has no socket at ${socket}`);
        hosts.push({
            name: `node${i}`,
            namespace: `mrs-${id}-${i}`,
            docker: `unix://${socket}`,
            address: `10.231.${chosen}.${10 + i}`,
            client: new Docker({ socketPath: socket }),
        });
    }
    let stopped = false;
    const index = (host: HarnessHost) => String(hosts.indexOf(host) + 1);
    return {
        id,
        hosts,
        async stopEngine(host) {
            await run("bash", [SCRIPT, "stop-engine", id, index(host)], { timeout: 120_000 });
        },
        async startEngine(host) {
            await run("bash", [SCRIPT, "start-engine", id, index(host)], { timeout: 120_000 });
        },
        async stop() {
            if (stopped) return;
            stopped = true;
            await run("bash", [SCRIPT, "down", id], { timeout: 5 * 60_000 });
        },
    };
}
