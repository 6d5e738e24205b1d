/**
 * The replication dynamic provider: wires the steps that turn running servers into a replicating, verified set
 * and report each replica's status. It holds no step itself:
 *   plan.ts        pure: check, diff, planUpdate
 *   members.ts     connect and read members
 *   switchover.ts  preflight → fence the previous source → catch up → detach the candidate
 *   attach.ts      point one replica at the source, checked first
 *   verify.ts      probe row applied by every replica
 *   observe.ts     read (refresh), read-only
 *   detach.ts      replicas leaving the set, delete
 *
 * The engine serializes this object's code into the stack state and runs it from there, so it captures
 * nothing but code: mysql2 is required inside the functions, and passwords only ever arrive as inputs.
 */
import type * as pulumi from "@pulumi/pulumi";
import { attachReplica } from "./attach";
import { detachAll } from "./detach";
import { dropReplicationAccount, ensureReplicationAccount, makeWritable } from "./dialect";
import { heartbeatLagMs, keepHeartbeat } from "./heartbeat";
import { closeAll, connectAll, connectMember, errantGtids, isReadOnly, readThreads, tlsAvailable, type Member } from "./members";
import { observe } from "./observe";
import { checkInputs, diffInputs, plainRun, planUpdate, sameEndpoint, type ConvergeOptions } from "./plan";
import { replicaStatusOf, sourceStatusOf, stateOf } from "./report";
import { describe, query } from "./session";
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

/** create and update share this: every step is idempotent, so a run interrupted anywhere converges next time. */
export async function converge(inputs: ReplicationInputs, options: ConvergeOptions): Promise<ReplicationState> {
    const deadline = deadlineOf(inputs);
    if (options.detach.length > 0) await detachAll(options.detach, inputs, deadline);
    const members = await connectAll([inputs.source, ...inputs.replicas], inputs, deadline);
    const [source, ...replicas] = members;
    let previousOutsideSet: Member | undefined;
    try {
        refuseUnusableInputs(inputs, members);
        const tls = inputs.tls === "on" ? true : inputs.tls === "off" ? false : await tlsAvailable(source);
        if (inputs.tls === "on" && !(await tlsAvailable(source))) {
            throw new Error(
                `${source.endpoint.name} has no TLS certificate loaded, but tls is "on"; give the server certificates or set tls to auto. ` +
                    "Nothing was changed.",
            );
        }
        // 1. A source change: check every member, fence the previous source, let the candidate catch up.
        const previous = (await actingSource(replicas)) ?? (await previousSourceMember(options.previousSource, inputs, replicas, deadline));
        if (previous) {
            if (!replicas.includes(previous)) previousOutsideSet = previous;
            const switchover = { candidate: source, previous, others: replicas.filter((r) => r !== previous) };
            await preflightSwitchover(switchover);
            await switchSource(switchover, deadline);
        }

        // 2. The source: writable, the replication account as declared (binlog off).
        if (await isReadOnly(source)) {
            // A replica promoted to source is still read-only until told otherwise.
            for (const statement of makeWritable(source.dialect)) await query(source.session, statement);
        }
        for (const statement of ensureReplicationAccount({
            user: inputs.replicationUser,
            host: inputs.replicationUserHost,
            password: inputs.replicationPassword,
            requireTls: tls,
        })) {
            await query(source.session, statement);
        }
        const dropAccounts = options.dropAccounts.filter((a) => a.user !== inputs.replicationUser || a.host !== inputs.replicationUserHost);
        for (const { user, host } of dropAccounts) {
            for (const statement of dropReplicationAccount(user, host)) await query(source.session, statement);
        }

        await keepHeartbeat(source, inputs.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS);

        // 3. Every replica at once: the set is ready when the slowest replica is, not the sum of them.
        const reconfigure = new Set(options.reconfigure);
        if (previous) replicas.forEach((r) => reconfigure.add(r.endpoint.name));
        const attached = await Promise.allSettled(
            replicas.map((r) =>
                attachReplica(r, source, inputs, { tls, force: reconfigure.has(r.endpoint.name), dropAccounts, deadline }),
            ),
        );
        const failures = attached.filter((a): a is PromiseRejectedResult => a.status === "rejected");
        if (failures.length > 0) throw new Error(failures.map((f) => describe(f.reason)).join("\n"));

        // 4. Proof: a probe row applied everywhere.
        const lags = inputs.verify ? await verifyReplication(source, replicas, deadline) : {};
        const statuses = await Promise.all(
            replicas.map(async (r) => {
                const measures = { probeLagMs: lags[r.endpoint.name] ?? null, heartbeatLagMs: await heartbeatLagMs(r), errantGtids: await errantGtids(r, source) };
                return [r.endpoint.name, replicaStatusOf(r.endpoint, await readThreads(r), r, measures)] as const;
            }),
        );
        return stateOf(inputs, sourceStatusOf(source), Object.fromEntries(statuses), tls);
    } finally {
        await closeAll([...members, previousOutsideSet]);
    }
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

/** The previous source named by the plan, connected: among the replicas, or on its own when it left the set. */
async function previousSourceMember(
    previous: MemberEndpoint | undefined,
    inputs: ReplicationInputs,
    replicas: Member[],
    deadline: number,
): Promise<Member | undefined> {
    if (!previous || sameEndpoint(previous, inputs.source)) return undefined;
    const inSet = replicas.find((r) => sameEndpoint(r.endpoint, previous));
    if (inSet) return inSet;
    try {
        return await connectMember(previous, inputs, Math.min(deadline, Date.now() + 15000));
    } catch (error) {
        throw new Error(
            `the previous source ${previous.name} cannot be reached, so its last transactions cannot be checked: ${describe(error)}. ` +
                "Start it again and re-run; nothing was changed on any member.",
        );
    }
}

/** Stops and forgets every replica's channel. Data, the probe schema and the account stay. */
export async function detachEverything(state: ReplicationInputs): Promise<void> {
    await detachAll(state.replicas, state, deadlineOf(state));
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
        const outs = await converge(inputs, plainRun());
        return { id: `${inputs.source.name}-replicaset`, outs };
    },
    async read(id: string, props: ReplicationState) {
        return { id, props: await observe(props) };
    },
    async update(_id: string, olds: ReplicationState, news: ReplicationInputs) {
        return { outs: await converge(news, planUpdate(olds, news)) };
    },
    async delete(_id: string, props: ReplicationState) {
        await detachEverything(props);
    },
};
