/**
 * read (`pulumi refresh`): the live status of every member, read-only (it writes nothing anywhere). An
 * unreachable server is reported in its status, not thrown.
 */
import { closeAll, connectMember, readThreads, type Member } from "./members";
import { inputsOf, replicaStatusOf, sourceStatusOf, stateOf } from "./report";
import { describe } from "./session";
import { parseReplicaStatus, type ReplicaThreads } from "./status";
import type { MemberEndpoint, ReplicationState } from "./types";
import type { ReplicaStatus } from "../outputs";

/** A refresh gives each server at most this long to answer, whatever the operation's deadline. */
const OBSERVE_CAP_SECONDS = 10;

export async function observe(state: ReplicationState): Promise<ReplicationState> {
    const deadline = Date.now() + Math.min(state.deadlineSeconds, OBSERVE_CAP_SECONDS) * 1000;
    const opened: Member[] = [];
    // Each member is connected and read on its own: a source that takes the whole cap to time out does not
    // leave the replicas' reads past the deadline.
    const look = async (endpoint: MemberEndpoint): Promise<{ member: Member; threads: ReplicaThreads }> => {
        const member = await connectMember(endpoint, state, deadline);
        opened.push(member);
        return { member, threads: await readThreads(member) };
    };
    try {
        const [sourceResult, ...replicaResults] = await Promise.allSettled([state.source, ...state.replicas].map(look));
        const sourceStatus =
            sourceResult.status === "fulfilled" ? sourceStatusOf(sourceResult.value.member) : { ...state.sourceStatus, serverVersion: state.sourceStatus?.serverVersion ?? "" };
        const statuses = state.replicas.map((endpoint, i): [string, ReplicaStatus] => {
            const result = replicaResults[i];
            const previousLag = state.replicaStatus?.[endpoint.name]?.probeLagMs ?? null;
            if (result.status === "rejected") {
                return [endpoint.name, {
                    ...replicaStatusOf(endpoint, parseReplicaStatus(undefined), undefined, previousLag),
                    serverVersion: state.replicaStatus?.[endpoint.name]?.serverVersion ?? "",
                    dialect: state.replicaStatus?.[endpoint.name]?.dialect ?? "",
                    lastIoError: `provider cannot reach ${endpoint.name}: ${describe(result.reason)}`,
                }];
            }
            return [endpoint.name, replicaStatusOf(endpoint, result.value.threads, result.value.member, previousLag)];
        });
        return stateOf(inputsOf(state), sourceStatus, Object.fromEntries(statuses), state.tlsInUse);
    } finally {
        await closeAll(opened);
    }
}
