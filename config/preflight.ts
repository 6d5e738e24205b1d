/**
 * Checks against the Docker host that no pure validation can make: a member's host port must be free, or
 * already published by that member's own container (a second `pulumi up` finds its own containers there).
 * Runs before any resource is declared; its errors are ConfigErrors naming the key.
 */
import { createServer } from "node:net";
import { request } from "node:http";
import { ConfigError, type ConfigProblem } from "./validate";
import type { ReplicaSetSettings } from "./types";

/** A container as the engine lists it: names and published ports. */
export interface PublishedContainer {
    names: string[];
    publicPorts: number[];
}

/** Whether something listens on address:port (binding fails with EADDRINUSE). */
export function portInUse(address: string, port: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once("error", (error: NodeJS.ErrnoException) => {
            if (error.code === "EADDRINUSE" || error.code === "EACCES") resolve(true);
            else if (error.code === "EADDRNOTAVAIL") resolve(false); // not an address of this host: the engine's concern
            else reject(error);
        });
        server.listen({ port, host: address, exclusive: true }, () => server.close(() => resolve(false)));
    });
}

/** Running containers of the local engine, or undefined when it cannot be asked (remote engine, no socket). */
export function localContainers(socketPath = "/var/run/docker.sock"): Promise<PublishedContainer[] | undefined> {
    if (process.env.DOCKER_HOST && !process.env.DOCKER_HOST.startsWith("unix://")) return Promise.resolve(undefined);
    const path = process.env.DOCKER_HOST?.replace(/^unix:\/\//, "") || socketPath;
    return new Promise((resolve) => {
        const req = request({ socketPath: path, path: "/containers/json", method: "GET", timeout: 5000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk) => (body += chunk));
            res.on("end", () => {
                try {
                    const list = JSON.parse(body) as Array<{ Names?: string[]; Ports?: Array<{ PublicPort?: number }> }>;
                    resolve(
                        list.map((c) => ({
                            names: (c.Names ?? []).map((n) => n.replace(/^\//, "")),
                            publicPorts: (c.Ports ?? []).map((p) => p.PublicPort ?? 0).filter((p) => p > 0),
                        })),
                    );
                } catch {
                    resolve(undefined);
                }
            });
        });
        req.on("error", () => resolve(undefined));
        req.on("timeout", () => req.destroy());
        req.end();
    });
}

/**
 * Every host port the set publishes: the members' and, with a router, its writer and reader ports (held by the
 * router container `routerName` after an earlier run).
 */
function publishedPorts(settings: ReplicaSetSettings, routerName: string): Array<{ key: string; port: number; owner: string }> {
    const ports = settings.members.map((m, index) => ({ key: `members[${index}].hostPort`, port: m.hostPort, owner: m.name }));
    if (settings.router === "haproxy") {
        ports.push({ key: "writerPort", port: settings.writerPort, owner: routerName }, { key: "readerPort", port: settings.readerPort, owner: routerName });
    }
    return ports;
}

/** Pure: the problems, given which ports are taken and who publishes what. */
export function portProblems(
    settings: ReplicaSetSettings,
    taken: ReadonlySet<number>,
    containers: PublishedContainer[] | undefined,
    routerName = "",
): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    for (const { key, port, owner } of publishedPorts(settings, routerName)) {
        if (!taken.has(port)) continue;
        const holder = containers?.find((c) => c.publicPorts.includes(port));
        if (holder?.names.includes(owner)) continue; // its own container, from an earlier run
        const who = holder ? `container ${holder.names.join("/")}` : "another process";
        problems.push({
            key,
            value: port,
            fix: `port ${port} on ${settings.bindAddress} is already in use by ${who}; choose a free port or stop it`,
        });
    }
    return problems;
}

/**
 * Throws a ConfigError naming each host port (a member's, or the router's) that is taken by something else.
 * `routerName`: the router container's name (index.ts: `<project>-router`).
 */
export async function assertHostPortsFree(settings: ReplicaSetSettings, routerName = ""): Promise<void> {
    const taken = new Set<number>();
    for (const { port } of publishedPorts(settings, routerName)) {
        if (await portInUse(settings.bindAddress, port)) taken.add(port);
    }
    if (taken.size === 0) return;
    const problems = portProblems(settings, taken, await localContainers(), routerName);
    if (problems.length > 0) throw new ConfigError(problems);
}
