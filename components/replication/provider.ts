/**
 * The replication dynamic provider: wires the steps that turn running servers into a replicating, verified set
 * and report each replica's status. It holds no step itself:
 *   plan.ts        pure: check, diff, planUpdate
 *   members.ts     connect and read members
 *   switchover.ts  preflight → fence the previous source → catch up → detach the candidate
 *   seed.ts        replicas the source's binlogs cannot bring up to date: judged, then cloned (seedClone.ts) or
 *                  copied (seedDump.ts)
 *   attach.ts      point one replica at the source, checked first
 *   verify.ts      probe row applied by every replica
 *   observe.ts     read (refresh), read-only
 *   detach.ts      replicas leaving the set, delete
 *   owner.ts       which resource owns the set: each run claims it, a replaced resource's delete leaves it alone
 *
 * The engine serializes this object's code into the stack state and runs it from there, so it captures
 * nothing but code: mysql2 is required inside the functions, and passwords only ever arrive as inputs.
 */
import type * as pulumi from "@pulumi/pulumi";
import { attachReplica, preflightReplicas } from "./attach";
import { connectLeaving, detachAll, tryDetaching } from "./detach";
import { dropReplicationAccount, ensureReplicationAccount, makeWritable, type ChannelTlsFiles } from "./dialect";
import { heartbeatLag, keepHeartbeat, readClock } from "./heartbeat";
import { fence, fencedReason, preflightFailover, promoteAfterFailover, refuseIfStillReached } from "./failover";
import { closeAll, connectMember, errantGtids, isGone, isReadOnly, readThreads, tlsAvailable, type Member } from "./members";
import { observe } from "./observe";
import { claimSet } from "./owner";
import { redact } from "./redact";
import { checkInputs, diffInputs, plainRun, planUpdate, sameEndpoint, type ConvergeOptions } from "./plan";
import { channelAddress, replicationAccountHosts } from "./route";
import { replicaStatusOf, sidelinedStatus, sourceStatusOf, stateOf } from "./report";
import { dropRouterCheckAccounts, keepRouterCheckAccount, routerCheckHosts } from "./routerAccount";
import { planSeeds, refuseUnfinishedCopyAsSource, seedLog, seedReplicas } from "./seed";
import { finishInterruptedClone } from "./seedClone";
import { withSeedRecords } from "./seedPlan";
import type { ReplicaStatus } from "../outputs";
import { describe, query, scalar } from "./session";
import { preflightSwitchover, switchSource } from "./switchover";
import type { MemberEndpoint, ReplicationInputs, ReplicationState } from "./types";
import { verifyReplication } from "./verify";

export { checkInputs, diffInputs, planUpdate } from "./plan";
export { observe } from "./observe";

/** The heartbeat period when the inputs predate it. */
const DEFAULT_HEARTBEAT_MS = 1000;

function deadlineOf(inputs: ReplicationInputs): number {
    return Date.now() + inputs.deadlineSeconds * 1000;
}

/**
 * The member that acts as source right now although another one is declared: writable and replicating from
 * nobody. Found live, so a run after a failed or reverted switchover still fences the right server.
 */
async function actingSource(replicas: Member[]): Promise<Member | undefined> {
    const acting: Member[] = [];
    for (const member of replicas) {
        if (!(await isReadOnly(member)) && !(await readThreads(member)).configured) acting.push(member);
    }
    if (acting.length > 1) {
        throw new Error(
            `several members take writes and replicate from nobody (${acting.map((m) => m.endpoint.name).join(", ")}); ` +
                "nothing was changed. Decide which one holds the data to keep, make the others read-only by hand, then run again.",
        );
    }
    return acting[0];
}

/**
 * A member that may be down (the previous source, fenced members) that has not answered at all within this long
 * (connection refused, unreachable, no handshake) is taken for down, as far as the provider can tell. A previous
 * source is then still asked about of the replicas before any failover (refuseIfStillReached).
 */
const DOWN_CAP_MS = 3000;

/**
 * A member that may be down but answers, with an error (1040 Too many connections, 1129 host blocked): it is
 * running. It is tried this long for a connection (a fenced member: it is tried again at the next run) before the
 * run goes on (fenced) or refuses (the previous source).
 */
const BUSY_CAP_MS = 30000;

/** The time a leaving replica's detach (three statements) gets at the end of a run, past the run's deadline. */
const DETACH_STEP_MS = 15000;

interface ConnectedSet {
    /** Connected members, in the order given (the declared source first). */
    members: Member[];
    /** Members allowed to be down that never answered, with why. */
    down: Map<string, string>;
    /** Members allowed to be down that answered with an error until the cap: running, refusing the provider. */
    refusing: Map<string, string>;
}

/**
 * Opens every connection in parallel. A member in `mayBeDown` (the previous source, fenced members) that does
 * not answer within DOWN_CAP_MS is reported down, one that answers with errors until BUSY_CAP_MS refusing; any
 * other failure ends the run (closing what opened).
 */
async function connectSet(endpoints: MemberEndpoint[], inputs: ReplicationInputs, deadline: number, mayBeDown: Set<string>, alsoTrusted?: string): Promise<ConnectedSet> {
    const settled = await Promise.allSettled(
        endpoints.map((e) => mayBeDown.has(e.name)
            ? connectMember(e, inputs, Math.min(deadline, Date.now() + BUSY_CAP_MS), alsoTrusted, { goneAfterMs: DOWN_CAP_MS })
            : connectMember(e, inputs, deadline, alsoTrusted)),
    );
    const down = new Map<string, string>();
    const refusing = new Map<string, string>();
    const fatal: string[] = [];
    settled.forEach((s, i) => {
        if (s.status === "fulfilled") return;
        if (!mayBeDown.has(endpoints[i].name)) fatal.push(describe(s.reason));
        else (isGone(s.reason) ? down : refusing).set(endpoints[i].name, describe(s.reason));
    });
    const members = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    // The short cap was for answering; once connected, a member's statements have the run's deadline.
    for (const member of members) member.session.deadline = deadline;
    if (fatal.length > 0) {
        await closeAll(members);
        throw new Error(fatal.join("\n"));
    }
    return { members, down, refusing };
}

/** The refusal of a source change whose previous source is running but does not let the provider in. */
function aliveButRefusing(previous: string, candidate: string, why: string): Error {
    return new Error(
        `refusing to change the source from ${previous} to ${candidate}: ${previous} is running (it answers, but refuses ` +
            `the provider's connection: ${why}), so it cannot be failed over from (it would stay writable: two sources), ` +
            `nor fenced for a switchover. Nothing was changed on any member. Let the provider in (a free connection under ` +
            `max_connections, FLUSH HOSTS for a blocked host) and run again for a switchover; a failover is for a source that is down.`,
    );
}

/**
 * The refusal of a run whose declared source replicates from a server this run does not handle as the previous
 * source. Promoting it would leave that server writable beside it (two sources), and what it commits meanwhile lost.
 * That server is not switched over from either: the provider knows it only by the address the channel uses (an
 * alias inside the set's network, which the provider may not reach, or reach another server at) and not as a
 * declared member, so it can neither be fenced with certainty nor told dead from unreachable. Refused before
 * anything is written; a switchover by an update (the previous source known from the state) is the safe way.
 */
function followsUndeclared(candidate: string, followed: string, ioState: string): Error {
    return new Error(
        `refusing to make ${candidate} the source: it replicates from ${followed} (IO thread: ${ioState || "stopped"}), a server ` +
            `these inputs do not declare and this run does not know as the previous source (a create learns none: pulumi up --replace, ` +
            `or a new resource on a running set). Promoting ${candidate} would leave ${followed} writable beside it: two sources, and ` +
            `what ${followed} commits meanwhile lost. Nothing was changed on any member. Declare the current source as source (a ` +
            `replacement then keeps the set as it is), then change the source in an update of its own: a switchover fences the ` +
            `previous source first. If ${followed} is gone for good, forget ${candidate}'s channel by hand (STOP REPLICA; RESET REPLICA ALL) and run again.`,
    );
}

/** The declared source follows a declared member that itself replicates: the chain's top is not known to be fenced. */
function followsAChain(candidate: string, followed: string, itsSource: string): Error {
    return new Error(
        `refusing to make ${candidate} the source: it replicates from ${followed}, which replicates from ${itsSource || "a channel of its own"} ` +
            `itself. Switching over from ${followed} would fence it but leave ${itsSource || "that server"} writable beside ${candidate}. ` +
            `Nothing was changed on any member. Declare the top of that chain as the source first (or forget ${followed}'s channel by hand ` +
            `if its source is gone for good), then move the source in an update of its own.`,
    );
}

/** create and update share this: every step is idempotent, so a run interrupted anywhere converges next time. */
export async function converge(inputs: ReplicationInputs, options: ConvergeOptions): Promise<ReplicationState> {
    let deadline = deadlineOf(inputs);
    const previousEndpoint = options.previousSource && !sameEndpoint(options.previousSource, inputs.source) ? options.previousSource : undefined;
    const mayBeDown = new Set([...options.fenced, ...(previousEndpoint ? [previousEndpoint.name] : [])]);
    mayBeDown.delete(inputs.source.name); // the declared source must answer
    const alsoTrusted = options.rotateTls?.previousCa;
    // Replicas leaving the set are connected with the others (one that is gone takes the detach's connect cap to
    // tell), so one that refuses us fails the run before anything is written (unless it left at an earlier run:
    // connectLeaving); they are detached last (step 7), so a refused update has detached nobody, and a detach that
    // fails costs the set nothing.
    const warn = (line: string) => seedLog.write(line);
    const [leftSet, declaredSet] = await Promise.allSettled([
        connectLeaving(options.detach, inputs, deadline, { alsoTrusted, pending: options.pendingDetach, warn }),
        connectSet([inputs.source, ...inputs.replicas], inputs, deadline, mayBeDown, alsoTrusted),
    ]);
    if (leftSet.status === "rejected" || declaredSet.status === "rejected") {
        await closeAll([...(leftSet.status === "fulfilled" ? leftSet.value.members : []), ...(declaredSet.status === "fulfilled" ? declaredSet.value.members : [])]);
        const reasons = [leftSet, declaredSet].flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
        throw reasons.length === 1 ? reasons[0] : new Error(reasons.map(describe).join("\n"));
    }
    const { members: leaving, refused: leftRefusing } = leftSet.value;
    const { members, down, refusing } = declaredSet.value;
    const [source, ...replicas] = members;
    if (source?.endpoint.name !== inputs.source.name) {
        await closeAll([...members, ...leaving]);
        throw new Error(`the declared source ${inputs.source.name} did not answer`);
    }
    let previousOutsideSet: Member | undefined;
    try {
        // A previous source that answers but refuses us is running: neither failed over from nor fenced.
        if (previousEndpoint && refusing.has(previousEndpoint.name)) throw aliveButRefusing(previousEndpoint.name, source.endpoint.name, refusing.get(previousEndpoint.name)!);
        refuseUnusableInputs(inputs, members);
        await refuseUnfinishedCopyAsSource(source);
        // verify: every connection above already proved that the member presents the stack's certificate.
        const tls = inputs.tls === "on" || inputs.tls === "verify" ? true : inputs.tls === "off" ? false : await tlsAvailable(source);
        const verify = channelFiles(inputs);
        // A rotation: members re-read their files (their certificates were re-issued), replicas reconnect below.
        if (options.rotateTls) await reloadTls(members);
        if (inputs.tls === "on" && !(await tlsAvailable(source))) {
            throw new Error(
                `${source.endpoint.name} has no TLS certificate loaded, but tls is "on"; give the server certificates or set tls to auto. ` +
                    "Nothing was changed.",
            );
        }
        // The source the declared source follows now, if any, read before anything is written (below: whom it is).
        const sourceChannel = await readThreads(source);
        const followed = sourceChannel.configured ? sourceChannel.source : "";
        const knownSources = [...(previousEndpoint ? [previousEndpoint] : []), ...inputs.replicas].map((e) => channelAddress(e, source.endpoint));
        if (followed !== "" && !knownSources.includes(followed)) throw followsUndeclared(source.endpoint.name, followed, sourceChannel.ioState);

        // 0. Members fenced by a failover that are back: read-only (and no heartbeat) before anything else; former
        //    sources a failover left behind that are no longer declared too (then they are done with).
        const fencedBack = replicas.filter((r) => options.fenced.includes(r.endpoint.name));
        for (const member of fencedBack) await fence(member);
        const stillUnfenced = await fenceFormerSources(
            (options.fencePending ?? []).filter((e) => e.name !== inputs.source.name && !inputs.replicas.some((r) => r.name === e.name)),
            inputs,
            deadline,
            alsoTrusted,
        );

        // 1. A source change: with the previous source up, a switchover (check every member, fence the previous
        //    source, let the candidate catch up); with it down, a failover (every replica applies what it has, the
        //    candidate must hold the most).
        const unfenced = replicas.filter((r) => !fencedBack.includes(r));
        let previous = await actingSource(unfenced);
        let failedOver: string | undefined;
        // failover: force — replicas holding transactions the promoted source lacks; sidelined, never reset.
        let givenUp = new Map<string, string>();
        if (!previous && previousEndpoint) {
            previous = replicas.find((r) => sameEndpoint(r.endpoint, previousEndpoint));
            if (!previous && !down.has(previousEndpoint.name) && !inputs.replicas.some((r) => r.name === previousEndpoint.name)) {
                // It left the set in the same update: reach it on its own.
                const cap = Math.min(deadline, Date.now() + BUSY_CAP_MS);
                previousOutsideSet = await connectMember(previousEndpoint, inputs, cap, alsoTrusted, { goneAfterMs: DOWN_CAP_MS }).catch((error) => {
                    if (!isGone(error)) throw aliveButRefusing(previousEndpoint.name, source.endpoint.name, describe(error));
                    down.set(previousEndpoint.name, describe(error));
                    return undefined;
                });
                if (previousOutsideSet) previousOutsideSet.session.deadline = deadline;
                previous = previousOutsideSet;
            }
            if (!previous && down.has(previousEndpoint.name)) {
                // The provider cannot reach it; the replicas may: one whose IO thread is still connected to it says it runs.
                await refuseIfStillReached(previousEndpoint, source, unfenced, down.get(previousEndpoint.name)!, deadline);
                failedOver = previousEndpoint.name;
            }
        }
        // The declared source still replicating from a declared member this run does not handle as the previous source
        // (a create learns none: a replacement, a new resource on a running set; a run after a cut switchover): that
        // member is the previous source, switched over from (fenced first, the candidate catching up with it).
        if (followed !== "") {
            const handled = previous ? channelAddress(previous.endpoint, source.endpoint) : failedOver ? channelAddress(previousEndpoint!, source.endpoint) : undefined;
            if (followed !== handled) {
                const followedMember = handled === undefined ? replicas.find((r) => channelAddress(r.endpoint, source.endpoint) === followed) : undefined;
                if (!followedMember) throw followsUndeclared(source.endpoint.name, followed, sourceChannel.ioState);
                // One hop further: a followed member that replicates itself is not the top of the chain. Switching over
                // from it would fence it and leave whatever it follows writable beside the new source.
                const itsChannel = await readThreads(followedMember);
                if (itsChannel.configured) throw followsAChain(source.endpoint.name, followedMember.endpoint.name, itsChannel.source);
                previous = followedMember;
            }
        }
        if (previous) {
            const switchover = { candidate: source, previous, others: unfenced.filter((r) => r !== previous) };
            await preflightSwitchover(switchover);
            await switchSource(switchover, deadline);
        } else if (failedOver) {
            givenUp = await preflightFailover(source, unfenced, failedOver, deadline, inputs.failover ?? "safe", (line) => seedLog.write(line));
            await promoteAfterFailover(source);
        }

        // 2. Every replica's history checked against the source, read-only, before the source takes writes: a
        //    run that is going to refuse a replica refuses before it has written anything to the source.
        //    (Members a failover fenced are judged by their attach: a refusal keeps them fenced.)
        //    Replicas the source's binary logs can no longer bring up to date (purged) are judged here too: seeded
        //    below from a consistent copy, or refused (own schemas without reseed, seedMethod none).
        const judged = unfenced.filter((r) => !givenUp.has(r.endpoint.name));
        const seeds = await planSeeds(judged, source, inputs);
        const toSeed = seeds.map((s) => s.replica);
        await preflightReplicas(judged.filter((r) => !toSeed.includes(r)), source);

        // 3. The source: writable, the replication account as declared (binlog off).
        const accountHosts = replicationAccountHosts(inputs);
        const dropAccounts = options.dropAccounts.filter((a) => a.user !== inputs.replicationUser || !accountHosts.includes(a.host));
        const prepareSource = async () => {
            if (await isReadOnly(source)) {
                // Every member starts read-only (serverFlags.ts): a new set's source, one that restarted since the
                // last run, and a replica promoted to source are made writable here, for as long as the server runs.
                for (const statement of makeWritable(source.dialect)) await query(source.session, statement);
            }
            // One account per host pattern (members on several Docker hosts connect from several networks).
            for (const host of accountHosts) {
                for (const statement of ensureReplicationAccount({
                    user: inputs.replicationUser,
                    host,
                    password: inputs.replicationPassword,
                    requireTls: tls,
                    requireCertificate: verify !== undefined,
                })) {
                    await query(source.session, statement);
                }
            }
            for (const { user, host } of dropAccounts) {
                for (const statement of dropReplicationAccount(user, host)) await query(source.session, statement);
            }
        };

        // 3b. The seeds, in parallel, each stage with its own deadline; what follows gets a fresh one. A replica whose
        //     clone ended before its last steps (seedClone.ts) gets them now. A copy (dump) only reads the source, on
        //     sessions of its own: it runs while step 3 writes there. A clone writes its donor account on the source,
        //     which must be writable first.
        await Promise.all(judged.filter((r) => !toSeed.includes(r)).map((r) => finishInterruptedClone(r, inputs)));
        let seededNow: Awaited<ReturnType<typeof seedReplicas>>;
        if (seeds.some((s) => s.method === "clone")) {
            await prepareSource();
            seededNow = await seedReplicas(seeds, source, inputs, { tls, verify });
        } else {
            // Both run to their end before either's failure is reported: nothing is left running on closed sessions.
            const [prepared, copied] = await Promise.allSettled([prepareSource(), seedReplicas(seeds, source, inputs, { tls, verify })]);
            if (prepared.status === "rejected") throw prepared.reason;
            if (copied.status === "rejected") throw copied.reason;
            seededNow = copied.value;
        }
        const seeded = { ...(options.seeded ?? {}), ...seededNow };
        if (toSeed.length > 0) {
            deadline = Math.max(deadline, deadlineOf(inputs));
            for (const member of [...members, ...leaving]) member.session.deadline = deadline;
        }

        // 4. Every replica at once: the set is ready when the slowest replica is, not the sum of them. A fenced
        //    member that committed what no one else has stays fenced, its transactions listed; nothing is discarded.
        const reconfigure = new Set(options.reconfigure);
        toSeed.forEach((r) => reconfigure.add(r.endpoint.name));
        if (previous || failedOver || options.rotateTls) replicas.forEach((r) => reconfigure.add(r.endpoint.name));
        const attached = await Promise.allSettled(
            replicas.map((r) =>
                // A replica this run copied (dump) has its channel set already, for these very inputs (seed.ts).
                attachReplica(r, source, inputs, { tls, verify, force: reconfigure.has(r.endpoint.name), dropAccounts, deadline, channelSet: seededNow[r.endpoint.name]?.by === "dump" }),
            ),
        );
        const keptFenced = new Map<string, string>();
        const failures: string[] = [];
        attached.forEach((a, i) => {
            if (a.status === "fulfilled") return;
            const name = replicas[i].endpoint.name;
            if ((fencedBack.includes(replicas[i]) || givenUp.has(name)) && /refusing to attach/.test(describe(a.reason))) keptFenced.set(name, describe(a.reason));
            else failures.push(describe(a.reason));
        });
        if (failures.length > 0) throw new Error(failures.join("\n"));
        const working = replicas.filter((r) => !keptFenced.has(r.endpoint.name));

        // 5. Only now the source writes transactions of its own (heartbeat, probe): every replica follows it, so a
        //    run cut short from here on leaves a set that either config converges from.
        await keepHeartbeat(source, inputs.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS);
        await keepRouterCheckAccount(source, inputs.routerCheckUser, routerCheckHosts(inputs), inputs.routerCheckReads);
        await dropRouterCheckAccounts(source, options.dropRouterCheck ?? []);

        // 6. Proof: a probe row applied everywhere it can be.
        const lags = inputs.verify ? await verifyReplication(source, working, deadline) : {};

        // 7. Replicas leaving the set stop replicating, last, each with a short deadline of its own (verify may have
        //    used the run's). One whose detach fails (a privilege, a lost session) does not fail a run that converged
        //    the set: it is kept in the state (notDetached), the next `pulumi up` tries again, and a delete detaches
        //    it too. Until then it may follow the set, or fail on an account step 3 dropped: it is no longer a member.
        for (const member of leaving) member.session.deadline = Math.max(deadline, Date.now() + DETACH_STEP_MS);
        const failedDetaches = await tryDetaching(leaving);
        for (const { why } of failedDetaches) warn(`warning: a replica that left the set was not detached; the next pulumi up tries again: ${why}`);
        const notDetached = [...failedDetaches.map((f) => f.member.endpoint), ...leftRefusing];
        const statuses = new Map<string, ReplicaStatus>();
        const sourceClock = await readClock(source);
        await Promise.all(
            replicas.map(async (r) => {
                const errant = await errantGtids(r, source);
                if (keptFenced.has(r.endpoint.name)) {
                    const given = givenUp.get(r.endpoint.name);
                    const why = given !== undefined
                        ? `it holds transactions the forced failover gave up (${given}), kept read-only for you to inspect or move to the source by hand; ` +
                          "then reset or rebuild this member"
                        : `it holds transactions no other member has (${errant}), kept read-only for you to inspect (e.g. mysqlbinlog/mariadb-binlog of its binary logs, or SHOW BINLOG EVENTS); ` +
                        "move what you need to the source by hand, then reset or rebuild this member";
                    statuses.set(r.endpoint.name, sidelinedStatus(r.endpoint, fencedReason(r.endpoint.name, source.endpoint.name, why), r, errant));
                    return;
                }
                const measures = { probeLagMs: lags[r.endpoint.name] ?? null, ...(await heartbeatLag(r, sourceClock, source.endpoint.name)), errantGtids: errant };
                statuses.set(r.endpoint.name, replicaStatusOf(r.endpoint, await readThreads(r), r, measures));
            }),
        );
        for (const endpoint of inputs.replicas) {
            const why = down.get(endpoint.name);
            if (why !== undefined) {
                statuses.set(endpoint.name, sidelinedStatus(endpoint, fencedReason(endpoint.name, source.endpoint.name, `unreachable (${why}); it is made read-only and rejoins as a replica at the first run after it is back`)));
            }
        }
        for (const endpoint of inputs.replicas) {
            const why = refusing.get(endpoint.name);
            if (why !== undefined) {
                statuses.set(endpoint.name, sidelinedStatus(endpoint, fencedReason(endpoint.name, source.endpoint.name, `running but refusing the provider (${why}), so not made read-only yet: it is tried again at the next run`)));
            }
        }
        const ordered = Object.fromEntries(inputs.replicas.filter((e) => statuses.has(e.name)).map((e) => [e.name, statuses.get(e.name)!]));
        // A previous source left behind by this failover that is no longer declared is fenced all the same, at the first run that reaches it.
        const leftBehind = failedOver && !inputs.replicas.some((r) => r.name === failedOver) && previousEndpoint ? [previousEndpoint] : [];
        const fencePending = [...stillUnfenced, ...leftBehind.filter((e) => !stillUnfenced.some((p) => p.name === e.name))];
        for (const former of fencePending) {
            warn(`warning: ${former.name}, the source before a failover to ${source.endpoint.name}, is no longer a member and has not been made read-only yet ` +
                "(unreachable, or refusing the provider): every pulumi up tries again, and the set reads unhealthy until it is done");
        }
        const fenced = [
            ...inputs.replicas.map((e) => e.name).filter((name) => down.has(name) || refusing.has(name) || keptFenced.has(name)),
            ...fencePending.map((e) => e.name),
        ];
        const kept = Object.fromEntries(Object.entries(seeded).filter(([name]) => inputs.replicas.some((e) => e.name === name)));
        const sourceStatus = sourceStatusOf(source, await isReadOnly(source));
        // This resource owns the set now: a replaced resource's delete, which the engine runs after, leaves it alone.
        // Claimed last: a run that fails never reaches the engine's state, so a claim of its would outlive it and keep
        // the resource that does exist from ever detaching the set.
        if (options.owner) await claimSet(source, options.owner, [inputs.source.name, ...inputs.replicas.map((r) => r.name)]);
        return {
            ...stateOf(inputs, sourceStatus, withSeedRecords(ordered, kept), tls, fenced, fencePending),
            seeded: kept,
            ...(notDetached.length > 0 ? { notDetached } : {}),
        };
    } finally {
        await closeAll([...members, previousOutsideSet, ...leaving]);
    }
}

/**
 * Former sources a failover left behind that are no longer declared: each one that answers is fenced (no heartbeat,
 * read-only); returns those still to do (down, or refusing the provider), kept in the state until done.
 */
async function fenceFormerSources(pending: MemberEndpoint[], inputs: ReplicationInputs, deadline: number, alsoTrusted?: string): Promise<MemberEndpoint[]> {
    const left: MemberEndpoint[] = [];
    await Promise.all(pending.map(async (endpoint) => {
        const member = await connectMember(endpoint, inputs, Math.min(deadline, Date.now() + BUSY_CAP_MS), alsoTrusted, { goneAfterMs: DOWN_CAP_MS }).catch((error) => {
            seedLog.write(`warning: ${endpoint.name} (a former source to fence) cannot be reached: ${describe(error)}`);
            return undefined;
        });
        if (!member) {
            left.push(endpoint);
            return;
        }
        member.session.deadline = deadline;
        try {
            // The server at that address must still be that member (report_host), as for a detach.
            const reported = String((await scalar(member.session, "SELECT @@GLOBAL.report_host")) ?? "");
            if (reported === "" || reported === endpoint.name) await fence(member);
            else seedLog.write(`warning: ${endpoint.name} was not fenced: the server at ${endpoint.host}:${endpoint.port} is ${reported} now`);
        } finally {
            await closeAll([member]);
        }
    }));
    return left;
}

/** tls verify: the files each replica's channel uses (paths on the replica). */
function channelFiles(inputs: ReplicationInputs): ChannelTlsFiles | undefined {
    if (inputs.tls !== "verify" || !inputs.tlsCertificates) return undefined;
    const files = inputs.tlsCertificates.files;
    return { ca: files.ca, cert: files.clientCert, key: files.clientKey };
}

/** Every member re-reads its certificate, key and CA (a member whose server cannot is restarted by its container's replacement). */
async function reloadTls(members: Member[]): Promise<void> {
    await Promise.all(members.map(async (m) => {
        if (m.dialect.reloadTls) await query(m.session, m.dialect.reloadTls);
    }));
}

/** What only the live servers can judge about the inputs, before anything is written. */
function refuseUnusableInputs(inputs: ReplicationInputs, members: Member[]): void {
    const bytes = Buffer.byteLength(inputs.replicationPassword, "utf8");
    const limited = members.find((m) => m.dialect.maxSourcePasswordLength !== undefined && bytes > m.dialect.maxSourcePasswordLength);
    if (limited) {
        throw new Error(
            `replicationPassword has ${bytes} bytes in UTF-8, but ${limited.endpoint.name} ` +
                `(${limited.identity.versionText}) accepts at most ${limited.dialect.maxSourcePasswordLength} for a replication channel; ` +
                "set a shorter one (pulumi config set --secret replicationPassword ...) or remove it to have one generated. Nothing was changed.",
        );
    }
}

/**
 * Stops and forgets every replica's channel, except on replicas another resource claims (owner.ts: `owner` is the
 * deleted resource's id). Data, the probe schema and the account stay.
 */
export async function detachEverything(state: ReplicationInputs & Pick<ReplicationState, "notDetached">, owner?: string): Promise<void> {
    const pending = (state.notDetached ?? []).filter((left) => !state.replicas.some((r) => r.name === left.name));
    await detachAll(state.replicas, state, deadlineOf(state), pending, (line) => seedLog.write(line), owner);
}

/** A resource id of its own, so that a replacement's delete can tell the new resource's claims from its own. */
function newResourceId(inputs: ReplicationInputs): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const crypto = require("node:crypto") as typeof import("node:crypto");
    return `${inputs.source.name}-replicaset-${crypto.randomBytes(4).toString("hex")}`;
}

/**
 * The last guard before the engine: an error it reports holds neither an input password nor any password literal a
 * server quoted (redact.ts); every step redacts already, this covers what a step may have missed.
 */
async function guarded<T>(secrets: Array<string | undefined>, run: () => Promise<T>): Promise<T> {
    try {
        return await run();
    } catch (error) {
        throw new Error(redact(describe(error), secrets));
    }
}

/** The same guard for the statuses a run reports (plain outputs). */
function scrubbed(state: ReplicationState): ReplicationState {
    const secrets = [state.rootPassword, state.replicationPassword];
    const replicaStatus = Object.fromEntries(
        Object.entries(state.replicaStatus ?? {}).map(([name, s]) => [name, { ...s, lastIoError: redact(s.lastIoError ?? "", secrets), lastSqlError: redact(s.lastSqlError ?? "", secrets) }]),
    );
    return { ...state, replicaStatus };
}

// ---------------------------------------------------------------------------------------------------------
// The provider object the engine serializes.

export const replicationProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: Record<string, unknown>, news: Record<string, unknown>) {
        return { inputs: news, failures: checkInputs(news) };
    },
    async diff(_id: string, olds: ReplicationState, news: ReplicationInputs) {
        return diffInputs(olds, news);
    },
    async create(inputs: ReplicationInputs) {
        const id = newResourceId(inputs);
        const outs = await guarded([inputs.rootPassword, inputs.replicationPassword], () => converge(inputs, { ...plainRun(), owner: id }));
        return { id, outs: scrubbed(outs) };
    },
    async read(id: string, props: ReplicationState) {
        return { id, props: scrubbed(await guarded([props.rootPassword, props.replicationPassword], () => observe(props))) };
    },
    async update(id: string, olds: ReplicationState, news: ReplicationInputs) {
        const outs = await guarded([news.rootPassword, news.replicationPassword, olds.rootPassword, olds.replicationPassword], () => converge(news, { ...planUpdate(olds, news), owner: id }));
        return { outs: scrubbed(outs) };
    },
    async delete(id: string, props: ReplicationState) {
        await guarded([props.rootPassword, props.replicationPassword], () => detachEverything(props, id));
    },
};
