/** Step of update and delete: replicas that leave the set stop replicating and forget their channel. Data stays. */
import { closeAll, connectMember, isGone, readThreads, type Member } from "./members";
import { otherOwner, readClaims } from "./owner";
import { cleanUp, describe, query, scalar } from "./session";
import type { MemberEndpoint, ReplicationInputs } from "./types";

/** A member that left is given at most this long to answer: it may be gone for good. */
const DETACH_CONNECT_CAP_MS = 15000;

/** Where a step reports what it does not stop the run for (the engine's log). */
export type Warn = (line: string) => void;

/**
 * Delete: every replica stops replicating and forgets its channel, each on its own (one that is gone, which
 * takes the connect cap to tell, holds up no other); one that is gone has nothing left to detach. `pending`
 * (replicas that left at an earlier run and whose detach failed then) are tried too, but never fail the delete:
 * a former member that refuses us now must not block `pulumi destroy`.
 */
export async function detachAll(
    endpoints: MemberEndpoint[],
    inputs: ReplicationInputs,
    deadline: number,
    pending: MemberEndpoint[] = [],
    warn: Warn = () => undefined,
    owner?: string,
): Promise<void> {
    // The claims as the deleted resource's source holds them (owner.ts); a source that is gone or refuses has none to tell.
    const sourceClaims = owner ? await claimsAt(inputs.source, inputs, deadline) : new Map<string, string>();
    const results = await Promise.allSettled([
        ...endpoints.map((e) => detachReplica(e, inputs, deadline, warn, owner === undefined ? undefined : { owner, sourceClaims })),
        detachPending(pending, inputs, deadline, warn),
    ]);
    const failures = results.flatMap((r) => (r.status === "rejected" ? [describe(r.reason)] : []));
    if (failures.length > 0) throw new Error(failures.join("\n"));
}

async function detachReplica(
    endpoint: MemberEndpoint,
    inputs: ReplicationInputs,
    deadline: number,
    warn: Warn,
    ownership?: { owner: string; sourceClaims: Map<string, string> },
): Promise<void> {
    const { members } = await connectLeaving([endpoint], inputs, deadline, { warn });
    try {
        if (ownership && members.length > 0) {
            const claimant = otherOwner(endpoint.name, ownership.owner, [await readClaims(members[0]), ownership.sourceClaims]);
            if (claimant !== undefined) {
                warn(`${endpoint.name} is left replicating: it belongs to ${claimant} now (this resource, ${ownership.owner}, was replaced)`);
                return;
            }
        }
        const failed = await tryDetaching(members);
        if (failed.length > 0) throw new Error(failed.map((f) => f.why).join("\n"));
    } finally {
        await closeAll(members);
    }
}

async function detachPending(pending: MemberEndpoint[], inputs: ReplicationInputs, deadline: number, warn: Warn): Promise<void> {
    if (pending.length === 0) return;
    const { members, refused } = await connectLeaving(pending, inputs, deadline, { pending: pending.map((e) => e.name), warn });
    try {
        for (const { member, why } of await tryDetaching(members)) warn(`warning: ${member.endpoint.name} left the set earlier and still replicates: ${why}`);
        for (const endpoint of refused) warn(`warning: ${endpoint.name} left the set earlier and could not be detached; detach it by hand (STOP REPLICA; RESET REPLICA ALL)`);
    } finally {
        await closeAll(members);
    }
}

/** The claims a member holds (owner.ts), or none when it cannot be reached in a few seconds. */
async function claimsAt(endpoint: MemberEndpoint, inputs: ReplicationInputs, deadline: number): Promise<Map<string, string>> {
    const member = await connectMember(endpoint, inputs, Math.min(deadline, Date.now() + DETACH_CONNECT_CAP_MS), undefined, { goneAfterMs: 3000 }).catch(() => undefined);
    if (!member) return new Map();
    try {
        member.session.deadline = deadline;
        return await readClaims(member).catch(() => new Map<string, string>());
    } finally {
        await closeAll([member]);
    }
}

export interface LeavingOptions {
    /** In a certificate rotation a leaving member is not reloaded, so it still presents the previous CA's certificate. */
    alsoTrusted?: string;
    /** Names that left at an earlier run (their detach failed then): never fail the run, see connectLeaving. */
    pending?: string[];
    warn?: Warn;
}

/**
 * Connects to the replicas leaving the set, in parallel, and checks each is still that member (its report_host,
 * which every member's server is started with: the address may have passed to another server since). One that is
 * gone is left out (nothing to detach), with a warning if it left at an earlier run. One that answers but refuses
 * us (a changed root password) fails the run, closing the others, unless it left at an earlier run: then it is
 * returned in `refused`, kept for the next run, and this one goes on. An update connects them before its checks and
 * detaches them last (provider.ts), so a refused update has detached nobody.
 */
export async function connectLeaving(
    endpoints: MemberEndpoint[],
    inputs: ReplicationInputs,
    deadline: number,
    options: LeavingOptions = {},
): Promise<{ members: Member[]; refused: MemberEndpoint[] }> {
    const pending = new Set(options.pending ?? []);
    const warn = options.warn ?? (() => undefined);
    const settled = await Promise.allSettled(
        endpoints.map(async (endpoint) => {
            const member = await connectMember(endpoint, inputs, Math.min(deadline, Date.now() + DETACH_CONNECT_CAP_MS), options.alsoTrusted);
            member.session.deadline = deadline;
            try {
                // Empty on a server started without it (not by this program): nothing to compare for a member leaving
                // now; for one that left at an earlier run (its container may be gone), not proof enough to detach it.
                const reported = String((await scalar(member.session, "SELECT @@GLOBAL.report_host")) ?? "");
                if (reported === endpoint.name || (reported === "" && !pending.has(endpoint.name))) return member;
                warn(`warning: ${endpoint.name} was not detached: the server at ${endpoint.host}:${endpoint.port} is ${reported || "a server without report_host"} now`);
            } catch (error) {
                await closeAll([member]);
                throw error;
            }
            await closeAll([member]);
            return undefined;
        }),
    );
    const members = settled.flatMap((s) => (s.status === "fulfilled" && s.value ? [s.value] : []));
    const refused: MemberEndpoint[] = [];
    const fatal: string[] = [];
    settled.forEach((s, i) => {
        if (s.status === "fulfilled") return;
        const endpoint = endpoints[i];
        if (isGone(s.reason)) {
            if (pending.has(endpoint.name)) {
                warn(`warning: ${endpoint.name} left the set earlier and is not reachable now (${describe(s.reason)}); it is no longer tried. ` +
                    "If it comes back, it still replicates: detach it by hand (STOP REPLICA; RESET REPLICA ALL)");
            }
        } else if (pending.has(endpoint.name)) {
            refused.push(endpoint);
            warn(`warning: ${endpoint.name} left the set earlier and refuses the provider now; tried again at the next run: ${describe(s.reason)}`);
        } else {
            fatal.push(describe(s.reason));
        }
    });
    if (fatal.length > 0) {
        await closeAll(members);
        throw new Error(fatal.join("\n"));
    }
    return { members, refused };
}

/**
 * Detaches each member in parallel; returns the ones that failed, with why. A member without a channel is not
 * touched: its read-only state is left as found (someone may have detached it by hand to use it elsewhere).
 */
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
    // Counted as lowered before the statement: one that timed out may still have been applied (raising is harmless).
    const lowered = member.dialect.superReadOnly;
    let failure: unknown;
    try {
        if (lowered) await query(member.session, "SET GLOBAL super_read_only = OFF");
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
