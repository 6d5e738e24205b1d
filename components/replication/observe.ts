/**
 * read (`pulumi refresh`): the live status of every member, read-only (it writes nothing anywhere): threads,
 * heartbeat lag, errant transactions. An unreachable server is reported in its status, not thrown.
 */
import type { ReplicaStatus } from "../outputs";
import type { HeartbeatLag } from "./clock";
import { heartbeatLag, readClock } from "./heartbeat";
import { closeAll, connectMember, errantGtids, isReadOnly, readThreads, type Member } from "./members";
import { inputsOf, NOTHING_MEASURED, replicaStatusOf, sourceStatusOf, stateOf } from "./report";
import { withSeedRecords } from "./seedPlan";
import { describe } from "./session";
import { parseReplicaStatus, type ReplicaThreads } from "./status";
import type { MemberEndpoint, ReplicationState } from "./types";

/** A refresh gives each server at most this long to answer, whatever the operation's deadline. */
const OBSERVE_CAP_SECONDS = 10;

interface Look {
    member: Member;
    threads: ReplicaThreads;
    lag: HeartbeatLag;
    /** undefined when the source could not be reached to compare with. */
    errantGtids?: string;
}

export async function observe(state: ReplicationState): Promise<ReplicationState> {
    const deadline = Date.now() + Math.min(state.deadlineSeconds, OBSERVE_CAP_SECONDS) * 1000;
    const opened: Member[] = [];
    const open = async (endpoint: MemberEndpoint): Promise<Member> => {
        const member = await connectMember(endpoint, state, deadline);
        opened.push(member);
        return member;
    };
    // Each member is connected and read on its own, and compared with the source as soon as both are there:
    // a member that takes the whole cap to time out leaves nobody else's reads past the deadline.
    const sourcePromise = open(state.source);
    // The source's clock, once: every replica's heartbeat lag is corrected by it (clock.ts).
    const sourceClock = sourcePromise.then(readClock).catch(() => undefined);
    const look = async (endpoint: MemberEndpoint): Promise<Look> => {
        const member = await open(endpoint);
        const threads = await readThreads(member);
        const lag = await heartbeatLag(member, await sourceClock, state.source.name);
        const source = await sourcePromise.catch(() => undefined);
        return { member, threads, lag, errantGtids: source ? await errantGtids(member, source) : undefined };
    };
    try {
        // The source's read_only: a source that restarted since the last run comes back read-only (every member
        // starts so) and stays so until the next `pulumi up`; the status says so and the set reads unhealthy.
        const sourceLook = sourcePromise.then(async (member) => ({ member, readOnly: await isReadOnly(member) }));
        const [sourceResult, ...replicaResults] = await Promise.allSettled([sourceLook, ...state.replicas.map(look)]);
        const sourceStatus =
            sourceResult.status === "fulfilled"
                ? sourceStatusOf(sourceResult.value.member, sourceResult.value.readOnly)
                : { ...state.sourceStatus, serverVersion: state.sourceStatus?.serverVersion ?? "" };
        const statuses = state.replicas.map((endpoint, i): [string, ReplicaStatus] => {
            const result = replicaResults[i];
            const previous = state.replicaStatus?.[endpoint.name];
            const probeLagMs = previous?.probeLagMs ?? null;
            if (result.status === "rejected") {
                return [endpoint.name, {
                    ...replicaStatusOf(endpoint, parseReplicaStatus(undefined), undefined, { ...NOTHING_MEASURED, probeLagMs, errantGtids: previous?.errantGtids ?? "" }),
                    serverVersion: previous?.serverVersion ?? "",
                    dialect: previous?.dialect ?? "",
                    lastIoError: `provider cannot reach ${endpoint.name}: ${describe(result.reason)}`,
                }];
            }
            const { member, threads, lag, errantGtids: errant } = result.value as Look;
            // Without the source, what the replica holds cannot be compared: the last known answer stands.
            return [endpoint.name, replicaStatusOf(endpoint, threads, member, { probeLagMs, ...lag, errantGtids: errant ?? previous?.errantGtids ?? "" })];
        });
        const seeded = state.seeded ?? {};
        return {
            ...stateOf(inputsOf(state), sourceStatus, withSeedRecords(Object.fromEntries(statuses), seeded), state.tlsInUse, state.fenced ?? []),
            seeded,
            ...(state.notDetached?.length ? { notDetached: state.notDetached } : {}),
        };
    } finally {
        await sourcePromise.catch(() => undefined);
        await sourceClock;
        await closeAll(opened);
    }
}
