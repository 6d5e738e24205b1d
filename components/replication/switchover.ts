/**
 * Switchover step: the declared source changed while the previous source still runs. Nothing is written
 * anywhere until every member has been checked against the candidate; then the previous source is fenced
 * (read-only), the candidate applies everything the previous source committed, and only then is it detached
 * from it, ready to be made writable. A run cut short at any point leaves a set the next run (with either the
 * new or the previous config) converges from: the candidate is never written to before it has caught up.
 */
import { stoppedForGood } from "./attach";
import { detachChannel } from "./detach";
import { makeReadOnly, makeWritable, missingGtids } from "./dialect";
import { judgeHistory, mariaErrantGtids, formatMariaGtids } from "./gtid";
import { silenceHeartbeat } from "./heartbeat";
import { executedSet, readHistory, readThreads, type Member } from "./members";
import { channelAddress } from "./route";
import { cleanUp, describe, query, scalar } from "./session";

export interface SwitchoverMembers {
    /** The declared new source. */
    candidate: Member;
    /** The member that was the source until now. */
    previous: Member;
    /** Every other member that stays in the set. */
    others: Member[];
}

/** Of `gtids` (the member's own notation), what `member` has not executed yet; "" when it holds them all. */
export async function missingOn(member: Member, gtids: string): Promise<string> {
    if (gtids === "") return "";
    if (member.dialect.name === "mariadb") {
        return formatMariaGtids(mariaErrantGtids(gtids, await executedSet(member)));
    }
    const missing = await scalar(member.session, missingGtids(gtids));
    return String(missing ?? "").replace(/\s+/g, "");
}

/** Checks everything and writes nothing; throws naming every member that blocks the switchover. */
export async function preflightSwitchover({ candidate, previous, others }: SwitchoverMembers): Promise<void> {
    const problems: string[] = [];
    const previousSet = await executedSet(previous);
    const missing = await missingOn(candidate, previousSet);
    if (missing !== "") {
        const threads = await readThreads(candidate);
        const previousAddress = channelAddress(previous.endpoint, candidate.endpoint);
        if (!threads.configured || threads.source !== previousAddress) {
            problems.push(
                `${candidate.endpoint.name} lacks transactions of ${previous.endpoint.name} (${missing}) and does not replicate ` +
                    `from it (its channel points at ${threads.source || "nothing"}), so it cannot catch up before taking writes`,
            );
        } else if (stoppedForGood(threads)) {
            problems.push(
                `${candidate.endpoint.name} lacks transactions of ${previous.endpoint.name} (${missing}) and its replication ` +
                    `is stopped by an error: ${threads.lastIoError || threads.lastSqlError}`,
            );
        }
    }
    // Every other member is judged against the candidate as it will be once caught up: its own history plus
    // the previous source's, read after the member's (the previous source may still take writes, which reach
    // the member in between). The previous source's own history is by definition what the candidate catches up to.
    const verdicts = await Promise.all(
        others.map(async (member) => [member, judgeHistory(await readHistory(member, candidate, async () => [await executedSet(previous)]))] as const),
    );
    for (const [member, verdict] of verdicts) {
        if (verdict.action === "refuse") {
            problems.push(`${member.endpoint.name} holds transactions that neither ${candidate.endpoint.name} nor ${previous.endpoint.name} has: ${verdict.reason} (errant GTIDs: ${verdict.errant})`);
        }
    }
    if (problems.length > 0) {
        throw new Error(
            `refusing to switch the source from ${previous.endpoint.name} to ${candidate.endpoint.name}; nothing was changed on any member:\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
    }
}

/**
 * Fences the previous source and waits (on the servers, with the deadline) until the candidate has applied
 * everything it committed; then detaches the candidate from it. The candidate is made writable by the
 * converge run that follows.
 */
export async function switchSource({ candidate, previous }: SwitchoverMembers, deadline: number): Promise<void> {
    // read_only waits for transactions in flight to commit; after it, the previous source's history is final
    // for every client without the privilege to bypass it (SUPER / READ ONLY ADMIN; super_read_only on MySQL
    // binds those too).
    // Its heartbeat event first: on MariaDB the event's definer (root) writes past read_only.
    await silenceHeartbeat(previous);
    for (const statement of makeReadOnly(previous.dialect)) await query(previous.session, statement);
    const fenced = String(await scalar(previous.session, previous.dialect.executedGtids)).replace(/\s+/g, "");
    const missing = await missingOn(candidate, await executedSet(previous));
    if (missing !== "") {
        try {
            // The previous source may have committed after the preflight: the channel is checked again.
            const threads = await readThreads(candidate);
            const previousAddress = channelAddress(previous.endpoint, candidate.endpoint);
            if (!threads.configured || threads.source !== previousAddress || stoppedForGood(threads)) {
                throw new Error(
                    `${candidate.endpoint.name} lacks transactions of ${previous.endpoint.name} (${missing}) committed after the ` +
                        `checks, and cannot fetch them (channel: ${threads.source || "none"} ${threads.lastIoError || threads.lastSqlError})`.trim(),
                );
            }
            // An applier stopped by hand (STOP SLAVE SQL_THREAD) is started: the candidate must catch up.
            if (!threads.ioRunning || !threads.sqlRunning) await query(candidate.session, candidate.dialect.start);
            await waitUntilApplied(candidate, fenced, previous.endpoint.name, deadline);
        } catch (error) {
            // Nothing was promoted: the previous source takes writes again rather than leave the set without one.
            const problems: string[] = [];
            for (const statement of makeWritable(previous.dialect)) {
                const problem = await cleanUp(previous.session, statement);
                if (problem) problems.push(problem);
            }
            throw new Error(
                `${describe(error)}; ${previous.endpoint.name} was made writable again` + (problems.length > 0 ? ` (failed: ${problems.join("; ")})` : ""),
            );
        }
    }
    await detachChannel(candidate);
}

async function waitUntilApplied(member: Member, gtids: string, from: string, deadline: number): Promise<void> {
    const started = Date.now();
    for (;;) {
        const slice = Math.max(1, Math.min(5, (deadline - Date.now()) / 1000));
        if (Number(await scalar(member.session, member.dialect.waitForGtids(gtids, slice))) === 0) return;
        const threads = await readThreads(member);
        if (stoppedForGood(threads) || Date.now() >= deadline) {
            throw new Error(
                `${member.endpoint.name} did not catch up with ${from} (its GTIDs ${gtids}) within ${((Date.now() - started) / 1000).toFixed(0)}s; ` +
                    `${member.endpoint.name} was not promoted. ` +
                    `IO=${threads.ioState} SQL=${threads.sqlRunning ? "Yes" : "No"} ${threads.lastIoError} ${threads.lastSqlError}`.trim(),
            );
        }
    }
}
