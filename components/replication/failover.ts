/**
 * Failover step: the declared source changed and the previous source is down: it never answered the provider (one
 * that answers with an error is running, and is refused: provider.ts), and no replica's IO thread is connected to it
 * (refuseIfStillReached). Every reachable replica first applies all it has received; the candidate must then hold every transaction any of them holds
 * (a replica holding an unfinished copy aside: its GTIDs claim rows it may lack), or the failover is refused naming
 * the replica that is further ahead (nothing written anywhere). Only then is the candidate detached from the dead
 * source, ready to be made writable.
 *
 * The dead member is fenced, whether or not it is still declared: it is reported unhealthy until it returns, and
 * when it does, it is made read-only before anything else and (if still declared) rejoined as a replica, unless it committed transactions that never reached the
 * others (lost writes), which keeps it fenced with those transactions listed. Nothing is discarded.
 */
import { stoppedForGood } from "./attach";
import { detachChannel } from "./detach";
import { silenceHeartbeat } from "./heartbeat";
import { MARIA_REPLICA_POSITIONS, makeReadOnly } from "./dialect";
import { mergeMariaStates } from "./gtid";
import { executedSet, holdsUnfinishedCopy, readThreads, type Member } from "./members";
import { missingOn } from "./switchover";
import { backoff, pause, query, scalar } from "./session";
import { channelAddress } from "./route";
import type { MemberEndpoint } from "./types";

/** Waits until the member has applied everything its IO thread received (retrieved ⊆ executed). */
async function applyEverythingReceived(member: Member, deadline: number): Promise<void> {
    const threads = await readThreads(member);
    if (!threads.configured || threads.retrievedGtidSet === "") return;
    // An applier stopped by hand is started: what it received is part of what the set holds.
    if (!threads.sqlRunning && threads.lastSqlError === "") await query(member.session, member.dialect.startApplier);
    const started = Date.now();
    for (;;) {
        const slice = Math.max(1, Math.min(5, (deadline - Date.now()) / 1000));
        if (Number(await scalar(member.session, member.dialect.waitForGtids(threads.retrievedGtidSet, slice))) === 0) return;
        const now = await readThreads(member);
        if (stoppedForGood(now) || Date.now() >= deadline) {
            throw new Error(
                `${member.endpoint.name} did not apply what it had received (${threads.retrievedGtidSet}) within ` +
                    `${((Date.now() - started) / 1000).toFixed(0)}s: ${now.lastSqlError || "applier still busy"}; nothing was promoted`,
            );
        }
    }
}

/**
 * Checks, writing nothing but starting stopped appliers: after every reachable replica has applied what it
 * received, the candidate must hold all any of them holds.
 */
export async function preflightFailover(
    candidate: Member,
    others: Member[],
    deadName: string,
    deadline: number,
    mode: "safe" | "force",
    log: (line: string) => void = () => undefined,
): Promise<Map<string, string>> {
    // A replica holding an unfinished copy has declared the copy's whole position while only part of its rows may
    // have come in: its GTIDs are a claim, not data. It is neither waited for nor compared (a half copy would stop
    // the failover on every run), and it is copied again from the new source after the failover (seed.ts).
    const holdsNote = await Promise.all(others.map((m) => holdsUnfinishedCopy(m)));
    const halfCopies = others.filter((_, i) => holdsNote[i]);
    const compared = others.filter((_, i) => !holdsNote[i]);
    await Promise.all([candidate, ...compared].map((m) => applyEverythingReceived(m, deadline)));
    for (const half of halfCopies) {
        const claimed = await missingOn(candidate, await claimedSet(half));
        log(
            `failover: ${half.endpoint.name} holds an unfinished copy (the note in replicaset_probe.seed_in_progress); not counted` +
                (claimed === "" ? "" : `, though its copy's position claims ${claimed}, which ${candidate.endpoint.name} lacks`) +
                `; the seed step copies it again from ${candidate.endpoint.name} (seedMethod permitting)`,
        );
    }
    const givenUp = new Map<string, string>();
    for (const other of compared) {
        const missing = await missingOn(candidate, await executedSet(other));
        if (missing !== "") givenUp.set(other.endpoint.name, missing);
    }
    if (givenUp.size > 0 && mode !== "force") {
        const ahead = [...givenUp].map(([name, gtids]) => `${name} holds ${gtids}`).join("; ");
        throw new Error(
            `refusing to fail over from ${deadName} (unreachable) to ${candidate.endpoint.name}: another replica is further ahead ` +
                `(${ahead}), and promoting ${candidate.endpoint.name} would lose those transactions. Declare that replica ` +
                "the source instead, or set the config key failover to force to accept the loss (the replicas holding them are " +
                "then kept read-only, not deleted); nothing was changed on any member.",
        );
    }
    return givenUp;
}

/**
 * What a member's history claims: MySQL gtid_executed; MariaDB the binlog state merged with gtid_slave_pos, where a copy
 * declares its position (its binlog was reset: the binlog state alone is empty).
 */
async function claimedSet(member: Member): Promise<string> {
    if (member.dialect.name !== "mariadb") return executedSet(member);
    const [positions] = await query<{ applied: string; state: string }>(member.session, MARIA_REPLICA_POSITIONS);
    return mergeMariaStates([String(positions?.state ?? ""), String(positions?.applied ?? "")]);
}

/**
 * Before a failover: the previous source did not answer the provider, but the provider's view is not the set's
 * (a network path of its own, a firewall). A replica whose IO thread is still connected to it (Replica_IO_Running /
 * Slave_IO_Running: Yes) proves it runs, and a failover would leave it writable beside the new source. Waits, with
 * the run's deadline, until no replica is connected to it any more (a source that just died: the replicas notice at
 * once when its process is gone, within replica_net_timeout when its host is), or refuses, naming who still reaches it.
 */
export async function refuseIfStillReached(previous: MemberEndpoint, candidate: Member, replicas: Member[], unreachable: string, deadline: number): Promise<void> {
    const started = Date.now();
    // A second before the deadline: the last look must still be allowed to run its statements.
    const waitUntil = deadline - 1000;
    for (let attempt = 0; ; attempt++) {
        const reaching: string[] = [];
        for (const member of [candidate, ...replicas]) {
            const threads = await readThreads(member);
            if (threads.configured && threads.ioState === "Yes" && threads.source === channelAddress(previous, member.endpoint)) reaching.push(member.endpoint.name);
        }
        if (reaching.length === 0) return;
        if (Date.now() >= waitUntil) {
            throw new Error(
                `refusing to fail over from ${previous.name} to ${candidate.endpoint.name}: the provider cannot reach ${previous.name} (${unreachable}), ` +
                    `but ${reaching.join(", ")} still replicate${reaching.length === 1 ? "s" : ""} from it (IO thread connected, for ` +
                    `${((Date.now() - started) / 1000).toFixed(0)}s of waiting): it is running, and would stay writable beside ${candidate.endpoint.name}. ` +
                    `Nothing was changed on any member. Let the provider reach ${previous.name} for a switchover (it is fenced first), or stop it to fail over.`,
            );
        }
        await pause(Math.min(backoff(attempt, 100, 1000), Math.max(0, waitUntil - Date.now())));
    }
}

/** Detaches the candidate from the dead source. */
export async function promoteAfterFailover(candidate: Member): Promise<void> {
    await detachChannel(candidate);
}

/** A fenced member that is back: no heartbeat, read-only, before anything else happens to it. */
export async function fence(member: Member): Promise<void> {
    await silenceHeartbeat(member);
    for (const statement of makeReadOnly(member.dialect)) await query(member.session, statement);
}

/** The status text of a member fenced by a failover. */
export function fencedReason(name: string, source: string, why: string): string {
    return `${name} is fenced (read-only, not replicating) since the failover to ${source}: ${why}`;
}
