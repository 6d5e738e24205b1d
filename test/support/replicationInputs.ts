/** Builds the replication provider's inputs for servers started by test/support/mariadb.ts. */
import type { ReplicationInputs, MemberEndpoint, ReplicationState } from "../../components/replication/types";
import { replicationProvider } from "../../components/replication/provider";
import type { MariaCluster, MariaServer } from "./mariadb";

/** On loopback the provider and the replicas both reach a server at 127.0.0.1:<its port>. */
export function endpointOf(server: MariaServer): MemberEndpoint {
    return { name: server.name, host: server.host, port: server.port, internalHost: server.host, internalPort: server.port };
}

export function inputsFor(cluster: MariaCluster, overrides: Partial<ReplicationInputs> = {}): ReplicationInputs {
    return {
        source: endpointOf(cluster.source),
        replicas: cluster.replicas.map(endpointOf),
        rootUser: "root",
        rootPassword: cluster.source.rootPassword,
        replicationUser: "repl",
        // Quotes, a backslash and non-ASCII, within MySQL's 32-character limit for a channel's password.
        replicationPassword: "rëpl 'q' \"dq\" \\b pw",
        // --skip-name-resolve: accounts match the client's IP.
        replicationUserHost: "127.0.0.1",
        tls: "auto",
        connectRetrySeconds: 1,
        // A ceiling for the whole run, as a user's would be: a run that passes ends long before it. Tests that
        // assert on the deadline itself set a short one.
        deadlineSeconds: 120,
        verify: true,
        heartbeatIntervalMs: 1000,
        ...overrides,
    };
}

/**
 * How long a test waits for what happens in the background: a row reaching a replica, a thread reconnecting, a
 * router's health check. A ceiling, not a pause (a passing wait returns at once); sized for a loaded 2-core CI
 * machine, where a MySQL server has been seen to stall 25 s in InnoDB's start.
 */
export const SETTLE_SECONDS = 120;

/** Polls `probe` every few ms until it returns true, or fails after `seconds` naming `what`. */
export async function eventually(what: string, seconds: number, probe: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    let last: unknown;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
        try {
            if (await probe()) return;
        } catch (error) {
            last = error;
        }
        await new Promise((r) => setTimeout(r, Math.min(250, 10 * 2 ** attempt)));
    }
    throw new Error(`timed out after ${seconds}s waiting for ${what}${last ? `; last error: ${(last as Error).message}` : ""}`);
}

/** The provider's read (what `pulumi refresh` runs), typed. */
export async function refresh(state: ReplicationState): Promise<ReplicationState> {
    const result = await replicationProvider.read!(`${state.source.name}-replicaset`, state);
    return result.props as ReplicationState;
}
