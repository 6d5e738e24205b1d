/** Step of update and delete: replicas that leave the set stop replicating and forget their channel. Data stays. */
import { closeAll, connectMember, isGone, readThreads, type Member } from "./members";
import { cleanUp, describe, query } from "./session";
import type { MemberEndpoint, ReplicationInputs } from "./types";

/** A member that left is given at most this long to answer: it may be gone for good. */
const DETACH_CONNECT_CAP_MS = 15000;

/**
 * Delete: every replica stops replicating and forgets its channel, each on its own (one that is gone, which
 * takes the connect cap to tell, holds up no other); one that is gone has nothing left to detach.
 */
export async function detachAll(endpoints: MemberEndpoint[], inputs: ReplicationInputs, deadline: number): Promise<void> {
    const results = await Promise.allSettled(endpoints.map((e) => detachReplica(e, inputs, deadline)));
    const failures = results.flatMap((r) => (r.status === "rejected" ? [describe(r.reason)] : []));
    if (failures.length > 0) throw new Error(failures.join("\n"));
}

async function detachReplica(endpoint: MemberEndpoint, inputs: ReplicationInputs, deadline: number): Promise<void> {
    const members = await connectLeaving([endpoint], inputs, deadline);
    try {
        await detachMembers(members);
    } finally {
        await closeAll(members);
    }
}

/**
 * Connects to the replicas leaving the set, in parallel. One that is gone is left out (nothing to detach); one
 * that answers but refuses us (a changed root password) fails the run, closing the others. An update connects
 * them before its checks and detaches them after (provider.ts), so a refused update has detached nobody.
 */
export async function connectLeaving(endpoints: MemberEndpoint[], inputs: ReplicationInputs, deadline: number, alsoTrusted?: string): Promise<Member[]> {
    const settled = await Promise.allSettled(
        endpoints.map(async (endpoint) => {
            // alsoTrusted: in a certificate rotation a leaving member is not reloaded, so it still presents the old CA's.
            const member = await connectMember(endpoint, inputs, Math.min(deadline, Date.now() + DETACH_CONNECT_CAP_MS), alsoTrusted);
            member.session.deadline = deadline;
            return member;
        }),
    );
    const members = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const failures = settled.flatMap((s) => (s.status === "rejected" && !isGone(s.reason) ? [describe(s.reason)] : []));
    if (failures.length > 0) {
        await closeAll(members);
        throw new Error(failures.join("\n"));
    }
    return members;
}

/** Detaches each member (connected by connectLeaving) in parallel; every failure is reported, naming its member. */
export async function detachMembers(members: Member[]): Promise<void> {
    const failed = await tryDetaching(members);
    if (failed.length > 0) throw new Error(failed.map((f) => f.why).join("\n"));
}

/** Detaches each member in parallel; returns the ones that failed, with why (a lost session included). */
export async function tryDetaching(members: Member[]): Promise<Array<{ member: Member; why: string }>> {
    const results = await Promise.allSettled(members.map(detachChannel));
    return results.flatMap((r, i) => (r.status === "rejected" ? [{ member: members[i], why: describe(r.reason) }] : []));
}

/** Stops and forgets a member's replication channel, if it has one. */
export async function detachChannel(member: Member): Promise<void> {
    const threads = await readThreads(member);
    if (!threads.configured) return;
    // Whatever happens below (the deadline, a lost session), a lowered super_read_only is raised again: a failed
    // run must not leave a server that root (or an event defined by root) can write to.
    let lowered = false;
    let failure: unknown;
    try {
        if (member.dialect.superReadOnly) {
            await query(member.session, "SET GLOBAL super_read_only = OFF");
            lowered = true;
        }
        await query(member.session, member.dialect.stop);
        await query(member.session, member.dialect.resetReplicaAll);
    } catch (error) {
        failure = error;
    }
    // Still read-only for everyone: a promoted candidate is made writable by the run that promotes it. Raised
    // past the deadline too (cleanUp): a detach that is done must not fail on it.
    const notRaised = lowered ? await cleanUp(member.session, "SET GLOBAL super_read_only = ON") : undefined;
    if (notRaised !== undefined) {
        const before = failure === undefined ? "" : `${describe(failure)}; `;
        throw new Error(`${before}${member.endpoint.name} is left with super_read_only OFF (read_only is still ON): raising it failed: ${notRaised}`);
    }
    if (failure !== undefined) throw failure;
}
