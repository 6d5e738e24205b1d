/** Step of update and delete: replicas that leave the set stop replicating and forget their channel. Data stays. */
import { closeAll, connectMember, isGone, readThreads, type Member } from "./members";
import { query } from "./session";
import type { MemberEndpoint, ReplicationInputs } from "./types";

/** A member that left is given at most this long to answer: it may be gone for good. */
const DETACH_CONNECT_CAP_MS = 15000;

export async function detachAll(endpoints: MemberEndpoint[], inputs: ReplicationInputs, deadline: number): Promise<void> {
    const results = await Promise.allSettled(endpoints.map((e) => detachReplica(e, inputs, deadline)));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failures.length > 0) throw new Error(failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join("\n"));
}

export async function detachReplica(endpoint: MemberEndpoint, inputs: ReplicationInputs, deadline: number): Promise<void> {
    let member: Member | undefined;
    try {
        member = await connectMember(endpoint, inputs, Math.min(deadline, Date.now() + DETACH_CONNECT_CAP_MS));
        member.session.deadline = deadline;
    } catch (error) {
        if (isGone(error)) return; // the server is already gone: nothing left to detach
        throw error;
    }
    try {
        await detachChannel(member);
    } finally {
        await closeAll([member]);
    }
}

/** Stops and forgets a member's replication channel, if it has one. */
export async function detachChannel(member: Member): Promise<void> {
    const threads = await readThreads(member);
    if (!threads.configured) return;
    if (member.dialect.superReadOnly) await query(member.session, "SET GLOBAL super_read_only = OFF");
    await query(member.session, member.dialect.stop);
    await query(member.session, member.dialect.resetReplicaAll);
    // Still read-only for everyone: a promoted candidate is made writable by the run that promotes it.
    if (member.dialect.superReadOnly) await query(member.session, "SET GLOBAL super_read_only = ON");
}
