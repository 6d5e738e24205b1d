/**
 * Declares the router (issue #15): one HAProxy container on the set's network, its configuration rendered by
 * render.ts from the declared topology and delivered with the container's `uploads` (no host files). A changed
 * configuration (a switchover or failover by config, a replica added) changes the upload, and the Docker
 * provider replaces the container: the new one starts with the new configuration.
 */
import { isIP } from "node:net";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import type { MemberSettings, ReplicaSetSettings } from "../../config/types";
import type { Endpoints } from "../outputs";
import type { RouterCheckRead } from "../replication/types";
import { dialAddress } from "../network";
import { routerHostOf, routerTarget } from "../placement";
import { ROUTER_CHECK_USER } from "../../config/accounts";
import { checkFlavorFor, READER_PORT, renderHaproxyConfig, ROUTER_CONFIG_PATH, WRITER_PORT } from "./render";

/** The router container's name for a component named `name` (index.ts: the project). */
export function routerContainerName(name: string): string {
    return `${name}-router`;
}

/** The endpoints output when no router is declared. */
export const NO_ENDPOINTS: Endpoints = Object.freeze({ writer: "", reader: "" });

/**
 * The configuration of a set's router: pure, from the settings. Each member is dialled as placement.ts says:
 * by alias inside the network on the router's own host (always, without hosts), at its host's address and
 * published port from another host.
 */
export function routerConfig(s: ReplicaSetSettings): string {
    const server = (m: MemberSettings) => ({ name: m.name, ...routerTarget(s, m) });
    return renderHaproxyConfig({
        source: server(s.members.find((m) => m.role === "source")!),
        replicas: s.members.filter((m) => m.role === "replica").map(server),
        checkUser: ROUTER_CHECK_USER,
        checkFlavor: checkFlavorFor(s.flavor, s.version),
        readerMaxLagSeconds: s.readerMaxLagSeconds,
    });
}

/** What the rendered checks read, for the check account's grants: the threads always, the heartbeat with a lag limit. */
export function routerCheckReads(s: ReplicaSetSettings): RouterCheckRead[] {
    return s.readerMaxLagSeconds > 0 ? ["threads", "heartbeat"] : ["threads"];
}

/** The published endpoints, host:port (the host as a client dials it: 127.0.0.1 for 0.0.0.0). */
export function routerEndpoints(s: ReplicaSetSettings): Endpoints {
    if (s.router === "none") return NO_ENDPOINTS;
    // With hosts: the router's host, at the address clients and the other hosts reach it by.
    const host = routerHostOf(s)?.address ?? dialAddress(s.bindAddress);
    // An IPv6 address in brackets: clients read the port after the last colon.
    const at = (port: number) => (isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);
    return { writer: at(s.writerPort), reader: at(s.readerPort) };
}

export interface RouterDeclaration {
    container: docker.Container;
}

/**
 * The router container, named `<name>-router`. Declared after the replication resource (dependsOn), which
 * creates the check account: a router started before would mark every member down until then. With hosts,
 * `provider` is the router host's engine and `network` that host's network; its ports are published on that
 * host's bindAddress, like its members' ports.
 */
export function declareRouter(
    name: string,
    s: ReplicaSetSettings,
    network: docker.Network,
    dependsOn: pulumi.Resource[],
    parent: pulumi.Resource,
    provider?: docker.Provider,
): RouterDeclaration {
    const onEngine = provider ? { provider } : {};
    const bindAddress = routerHostOf(s)?.bindAddress ?? s.bindAddress;
    const image = new docker.RemoteImage(`${name}-router-image`, { name: s.routerImage, keepLocally: true }, { parent, ...onEngine });
    const container = new docker.Container(
        routerContainerName(name),
        {
            name: routerContainerName(name),
            image: image.imageId,
            hostname: routerContainerName(name),
            networksAdvanced: [{ name: network.name }],
            ports: [
                { internal: WRITER_PORT, external: s.writerPort, ip: bindAddress, protocol: "tcp" },
                { internal: READER_PORT, external: s.readerPort, ip: bindAddress, protocol: "tcp" },
            ],
            uploads: [{ file: ROUTER_CONFIG_PATH, content: routerConfig(s) }],
            restart: s.restartPolicy,
        },
        // The name and host ports are fixed: the old container must go before the new one starts.
        { parent, dependsOn, deleteBeforeReplace: true, ...onEngine },
    );
    return { container };
}
