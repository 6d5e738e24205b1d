/**
 * What the end-to-end files share: reading a mocked program's outputs, free loopback ports, polling with a
 * deadline, draining the SDK's RPC queue, and removing one run's Docker objects by its label.
 */
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import type { TestContext } from "node:test";
import type Docker from "dockerode";
import type * as pulumi from "@pulumi/pulumi";
import { RUN_LABEL } from "./dockerHooks";

/** How long a test waits for what happens in the background (see its definition). */
export { SETTLE_SECONDS } from "../support/replicationInputs";

/** The SDK's RPC queue drain (internal, stable since 3.x): awaited after a mocked program declared everything. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const runtimeSettings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };

/** The value of an output of a program run under mocks. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return (output as unknown as { promise(): Promise<T> }).promise();
}

/** A port free on 127.0.0.1 right now (the kernel's choice). */
export async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((ok, fail) => server.once("error", fail).listen(0, "127.0.0.1", ok));
    const port = (server.address() as { port: number }).port;
    await new Promise((ok) => server.close(ok));
    return port;
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
    const ports = new Set<number>();
    while (ports.size < n) ports.add(await freePort());
    return [...ports];
}

/** Polls `probe` with short backoff until it returns a value; on the deadline, says what it waited for and saw last. */
export async function eventually<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + seconds * 1000;
    let last = "no attempt finished";
    for (let attempt = 0; ; attempt++) {
        try {
            const value = await probe();
            if (value !== undefined) return value;
            last = "not yet";
        } catch (error) {
            last = (error as Error).message;
        }
        if (Date.now() >= deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}; last seen: ${last}`);
        await new Promise((ok) => setTimeout(ok, Math.min(50 * 1.5 ** attempt, 1000)));
    }
}

/** Removes the containers (with their anonymous volumes), networks and volumes labelled with this run. */
export async function removeRun(docker: Docker, run: string): Promise<void> {
    const byRun = { filters: JSON.stringify({ label: [`${RUN_LABEL}=${run}`] }) };
    for (const c of await docker.listContainers({ all: true, ...byRun })) await docker.getContainer(c.Id).remove({ force: true, v: true });
    for (const n of await docker.listNetworks(byRun)) await docker.getNetwork(n.Id).remove();
    for (const v of (await docker.listVolumes(byRun)).Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
}

/** A test image (test/support/image) and what its server binary says of its version. */
export interface TestImage {
    image: string;
    kind: "mysql" | "mariadb";
    /** The server binary in the image. */
    binary: string;
    /** "[MySQL 9.7.4]" from the binary's --version; "[<image>]" when unread. */
    title: string;
    /** "9.7.4". */
    version?: string;
}

/** Every server test image, MySQL first. Each file takes a fresh copy (its titles and versions are its own). */
export function testImages(): TestImage[] {
    return [
        { image: "mysql-replicaset-test/mysql:9", kind: "mysql", binary: "mysqld", title: "" },
        { image: "mysql-replicaset-test/mariadb:11", kind: "mariadb", binary: "mariadbd", title: "" },
        { image: "mysql-replicaset-test/mariadb:10.11", kind: "mariadb", binary: "mariadbd", title: "" },
    ];
}

/** Sets each image's version and title from its server binary's --version (synchronously: titles come first). */
export function readVersions(images: TestImage[]): void {
    for (const i of images) {
        const text = execFileSync("docker", ["run", "--rm", "--entrypoint", i.binary, i.image, "--version"], { encoding: "utf8", timeout: 60_000 });
        const m = /Ver (\d+\.\d+\.\d+)/.exec(text);
        i.version = m?.[1];
        i.title = m ? `[${i.kind === "mysql" ? "MySQL" : "MariaDB"} ${m[1]}]` : `[${i.image}: no version in ${JSON.stringify(text)}]`;
    }
}

/**
 * Sub-tests of `t` that share state: once one fails, the rest are skipped (they would only fail for the same
 * reason). Each is titled with `title` (the server's).
 */
export function stepsOf(t: TestContext, title: string): (name: string, fn: () => Promise<void>) => Promise<void> {
    let broken = false;
    return (name, fn) =>
        t.test(`${name} ${title}`, async (s) => {
            if (broken) return s.skip("an earlier step failed");
            try {
                await fn();
            } catch (error) {
                broken = true;
                throw error;
            }
        });
}
