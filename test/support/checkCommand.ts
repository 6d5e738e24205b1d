/** The check command (bin/check.ts) run as CI runs it, on the stack outputs the program would export. */
import { execFile } from "node:child_process";
import { topologySummary, type StackOutputs } from "../../components/outputs";
import type { ReplicationState } from "../../components/replication/types";

/** Runs `npm run check -- --file - [args]` with the outputs on stdin; returns its exit code and output. */
export function check(outputs: unknown, args: string[] = []): Promise<{ code: number; stdout: string }> {
    return new Promise((resolve) => {
        const child = execFile(process.execPath, ["--import", "tsx", "bin/check.ts", "--file", "-", ...args], (error, stdout) => {
            resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout });
        });
        child.stdin!.end(JSON.stringify(outputs));
    });
}

/** The stack outputs index.ts exports, from the provider's state. */
export function stackOutputsOf(state: ReplicationState): StackOutputs {
    return {
        source: state.sourceStatus,
        replicas: state.replicaStatus,
        healthy: state.healthy,
        topology: topologySummary(state.source.name, state.replicas.map((r) => r.name), "test"),
    };
}
