/**
 * Seed method `clone`: MySQL's clone plugin (8.0.17+) copies the source's data files into one replica, which
 * then restarts on them. Physical, so its time grows with the data's size on disk, not with its rows.
 *
 * 1. The replica is prepared: channel forgotten. The clone itself drops the replica's user data (judged
 *    beforehand: own schemas are refused without members[].reseed). No note is written, unlike the copy: a clone cut
 *    short leaves either the replica as it was or no user data at all (see the end), and a note could not be written
 *    again after a killed clone anyway: its rollback leaves the schema directories behind (ER_SCHEMA_DIR_EXISTS on
 *    CREATE DATABASE replicaset_probe, seen on 9.7.4).
 * 2. The plugin on both ends (INSTALL PLUGIN, binlog off: on a replica it would be an errant GTID), a donor
 *    account on the source with BACKUP_ADMIN only, for the replication account's host patterns, binlog off.
 * 3. On the replica: clone_valid_donor_list (the source as its channel dials it), with verified TLS the stack's CA
 *    and the replication client's certificate (clone_ssl_*); super_read_only persisted for the restart.
 * 4. CLONE INSTANCE FROM … on the replica. Under a supervisor mysqld then exits with status 16 and is started again;
 *    in a container it has none and the CLONE ends with error 3707, the copy in place but not yet served: the provider
 *    then runs SHUTDOWN, and the container's restart policy (unless-stopped or always, config refuses others) starts
 *    it on the copy. No change to the containers' declaration is needed for that, so existing stacks keep theirs.
 * 5. The restart is awaited with the stage's deadline (performance_schema.clone_status Completed). The clone
 *    brought the source's gtid_executed, accounts and events: events are disabled on the replica, the donor
 *    account dropped on both ends, and attach.ts then points the replica at the source with auto-position.
 * A clone cut short before it replaced anything leaves the replica as it was (empty, or holding what reseed let
 * go): the next run clones again. One cut short while copying leaves it without user data (the clone's own
 * rollback), which the next run, finding the purged transactions still missing, clones again too.
 */
import { CLONE_DONOR_USER } from "../../config/accounts";
import {
    CLONE_NOT_RESTARTED,
    CLONE_PLUGIN_STATUS,
    CLONE_STATUS,
    cloneInstance,
    cloneRecipientSettings,
    dropCloneDonorAccount,
    disableEventOnReplica,
    ENABLED_EVENTS,
    ensureCloneDonorAccount,
    INSTALL_CLONE_PLUGIN,
    makeReadOnly,
    withoutBinlog,
} from "./dialect";
import { connectMember, readThreads, type Member } from "./members";
import { channelTarget, replicationAccountHosts } from "./route";
import { cleanUp, closeQuietly, describe, pause, pollUntil, query } from "./session";
import type { ReplicationInputs } from "./types";

export interface CloneContext {
    inputs: ReplicationInputs;
    /** Seconds each stage (prepare, clone, restart) may take. */
    stageSeconds: number;
    /** The set replicates over TLS; `verify`: with the stack's certificates (paths on every member). */
    tls: boolean;
    verify?: { ca: string; cert: string; key: string };
    log: (line: string) => void;
}

export interface CloneResult {
    /** The source's gtid_executed the clone carried. */
    position: string;
    bytes: number;
}

/** Progress lines at most this often. */
const PROGRESS_EVERY_MS = 2000;

/**
 * Clones the source into the replica and waits for the replica to come back on the copy. On return,
 * `replica.session` is a new connection to the restarted server.
 */
export async function seedByClone(replica: Member, source: Member, ctx: CloneContext): Promise<CloneResult> {
    const name = replica.endpoint.name;
    const { inputs } = ctx;
    const stage = (what: string) => {
        const deadline = Date.now() + ctx.stageSeconds * 1000;
        replica.session.deadline = deadline;
        source.session.deadline = deadline;
        ctx.log(`seed ${name} from ${source.endpoint.name}: ${what}`);
    };
    const hosts = replicationAccountHosts(inputs);
    try {
        stage("preparing the replica and the source for a clone");
        const threads = await readThreads(replica);
        if (threads.configured) {
            await query(replica.session, replica.dialect.stop);
            await query(replica.session, replica.dialect.resetReplicaAll);
        }
        for (const member of [source, replica]) await ensureClonePlugin(member);
        for (const host of hosts) {
            for (const statement of ensureCloneDonorAccount(host, inputs.replicationPassword, ctx.verify ? "x509" : ctx.tls ? "ssl" : "none")) {
                await query(source.session, statement);
            }
        }
        const donor = channelTarget(inputs.source, replica.endpoint);
        for (const statement of cloneRecipientSettings(`${donor.host}:${donor.port}`, ctx.verify && { ca: ctx.verify.ca, clientCert: ctx.verify.cert, clientKey: ctx.verify.key })) {
            await query(replica.session, statement);
        }
        // mysqld-auto.cnf is the recipient's own (a clone keeps it): the restarted server comes up super_read_only,
        // so no event the clone brought (enabled on the source) writes there before the provider disables it.
        await query(replica.session, "SET PERSIST_ONLY super_read_only = ON");

        stage(`cloning ${source.endpoint.name} (${donor.host}:${donor.port}) into ${name}`);
        const started = Date.now();
        const watcher = watchProgress(replica, ctx, started);
        let restartedBy = "its supervisor";
        try {
            await query(replica.session, cloneInstance(donor.host, donor.port, inputs.replicationPassword, ctx.tls));
        } catch (error) {
            const errno = (error as { errno?: number }).errno;
            if (errno === CLONE_NOT_RESTARTED) {
                // The copy is in place and takes effect at the next start, but mysqld restarts itself only under a
                // supervisor (MYSQLD_PARENT_PID naming its parent); a container's mysqld has none. A clean SHUTDOWN
                // lets the container's restart policy (unless-stopped or always, required by config) start it again.
                ctx.log(`seed ${name}: the copy is in place; stopping ${name}'s server so that its container's restart policy starts it on the copy`);
                restartedBy = "the container's restart policy";
                try {
                    await query(replica.session, "SHUTDOWN");
                } catch (shutdownError) {
                    if (!isConnectionLost(shutdownError)) throw shutdownError;
                }
            } else if (!isConnectionLost(error)) {
                // The server closing the connection for its own restart (under a supervisor) is the success path too.
                throw error;
            }
        } finally {
            watcher.stop();
        }

        stage(`waiting for ${name} to restart on the copy`);
        await closeQuietly(replica.session);
        const status = await waitForRestart(replica, inputs, replica.session.deadline).catch((error: Error) => {
            if (error instanceof CloneFailed) throw error;
            throw new Error(
                // A connection lost during CLONE is also what a crash looks like: say what is known, not more.
                `${name}: the server did not come back after the clone (${error.message}); it was to be started again by ${restartedBy}. ` +
                    `Look at ${name}'s container log, start the container if it is stopped, and run again: a finished clone is attached, ` +
                    "an unfinished one is cloned again.",
            );
        });
        ctx.log(`seed ${name}: restarted on the copy after ${((Date.now() - started) / 1000).toFixed(1)} s`);

        // The copy's events are enabled as on the source: off on the replica, as a replicated event arrives.
        await query(replica.session, "SET GLOBAL super_read_only = OFF");
        const events = await query<{ db: string; name: string }>(replica.session, ENABLED_EVENTS);
        for (const statement of withoutBinlog(events.map((e) => disableEventOnReplica(replica.dialect, String(e.db), String(e.name))))) {
            await query(replica.session, statement);
        }
        for (const host of hosts) for (const statement of dropCloneDonorAccount(host)) await query(replica.session, statement);
        const [copied] = await query<{ bytes: string }>(replica.session, "SELECT SUM(DATA) AS bytes FROM performance_schema.clone_progress");
        return { position: String(status.gtids ?? "").replace(/\s+/g, ""), bytes: Number(copied?.bytes ?? 0) };
    } finally {
        for (const host of hosts) for (const statement of dropCloneDonorAccount(host)) await cleanUp(source.session, statement);
    }
}

/**
 * A clone whose run ended after the copy but before its last steps (the restart outlived the deadline, the provider
 * stopped) leaves on the replica what the clone brought: the donor account (BACKUP_ADMIN, the replication password)
 * and the source's events enabled. The next run finds the replica up to date and only attaches it, so those steps
 * are done here, for any replica that holds the donor account (it is never binlogged: only a clone puts it there).
 */
export async function finishInterruptedClone(replica: Member, inputs: ReplicationInputs): Promise<boolean> {
    if (!replica.dialect.clone) return false;
    if ((await query(replica.session, `SELECT 1 FROM mysql.user WHERE User = '${CLONE_DONOR_USER}'`)).length === 0) return false;
    await query(replica.session, "SET GLOBAL super_read_only = OFF");
    try {
        const events = await query<{ db: string; name: string }>(replica.session, ENABLED_EVENTS);
        for (const statement of withoutBinlog(events.map((e) => disableEventOnReplica(replica.dialect, String(e.db), String(e.name))))) {
            await query(replica.session, statement);
        }
        const hosts = (await query<{ host: string }>(replica.session, `SELECT Host AS host FROM mysql.user WHERE User = '${CLONE_DONOR_USER}'`)).map((h) => String(h.host));
        for (const host of new Set([...hosts, ...replicationAccountHosts(inputs)])) {
            for (const statement of dropCloneDonorAccount(host)) await query(replica.session, statement);
        }
    } finally {
        for (const statement of makeReadOnly(replica.dialect)) await cleanUp(replica.session, statement);
    }
    return true;
}

async function ensureClonePlugin(member: Member): Promise<void> {
    const [row] = await query<{ status: string }>(member.session, CLONE_PLUGIN_STATUS);
    if (!row) for (const statement of INSTALL_CLONE_PLUGIN) await query(member.session, statement);
    const [now] = await query<{ status: string }>(member.session, CLONE_PLUGIN_STATUS);
    if (String(now?.status) !== "ACTIVE") throw new Error(`${member.endpoint.name}: the clone plugin is ${now ? String(now.status) : "not installed"} after INSTALL PLUGIN`);
}

function isConnectionLost(error: unknown): boolean {
    const code = String((error as { code?: string }).code ?? "");
    return ["PROTOCOL_CONNECTION_LOST", "ECONNRESET", "EPIPE", "ER_SERVER_SHUTDOWN", "ER_CONNECTION_KILLED"].includes(code) ||
        /Connection lost|server closed the connection|shutdown in progress/i.test(describe(error));
}

/** Reconnects until the replica serves again with the clone Completed; a failed clone throws with its error. */
async function waitForRestart(replica: Member, inputs: ReplicationInputs, deadline: number): Promise<{ gtids: string }> {
    let last = "not reachable yet";
    return pollUntil(`${replica.endpoint.name} to restart on the clone`, deadline, async () => {
        let fresh: Member | undefined;
        try {
            fresh = await connectMember(replica.endpoint, inputs, Math.min(deadline, Date.now() + 5000));
            fresh.session.deadline = deadline;
            const [row] = await query<{ state: string; errno: number; message: string; gtids: string }>(fresh.session, CLONE_STATUS);
            last = row ? `clone ${row.state}${row.errno ? ` (error ${row.errno}: ${row.message})` : ""}` : "no clone status";
            if (row && String(row.state) === "Failed") throw new CloneFailed(`${replica.endpoint.name}: the clone failed: error ${row.errno}: ${row.message}`);
            if (!row || String(row.state) !== "Completed") {
                await closeQuietly(fresh.session);
                await pause(200);
                return undefined;
            }
            replica.session = fresh.session;
            return { gtids: String(row.gtids ?? "") };
        } catch (error) {
            if (fresh && replica.session !== fresh.session) await closeQuietly(fresh.session);
            if (error instanceof CloneFailed) throw error;
            last = describe(error);
            return undefined;
        }
    }, () => last);
}

class CloneFailed extends Error {}

/** Logs the clone's progress (performance_schema.clone_progress) from a second session while CLONE runs. */
function watchProgress(replica: Member, ctx: CloneContext, started: number): { stop(): void } {
    let stopped = false;
    void (async () => {
        let monitor: Member | undefined;
        try {
            monitor = await connectMember(replica.endpoint, ctx.inputs, Date.now() + 5000);
            monitor.session.deadline = replica.session.deadline;
            while (!stopped) {
                await pause(PROGRESS_EVERY_MS);
                if (stopped) break;
                const rows = await query<{ stage: string; state: string; data: string; estimate: string }>(
                    monitor.session,
                    "SELECT STAGE AS stage, STATE AS state, DATA AS data, ESTIMATE AS estimate FROM performance_schema.clone_progress",
                );
                const current = rows.find((r) => String(r.state) === "In Progress") ?? rows[rows.length - 1];
                const copied = rows.reduce((n, r) => n + Number(r.data ?? 0), 0);
                const estimate = rows.reduce((n, r) => n + Number(r.estimate ?? 0), 0);
                if (current) {
                    ctx.log(
                        `seed ${replica.endpoint.name}: clone ${String(current.stage)}, ${(copied / 1048576).toFixed(1)} of ~${(estimate / 1048576).toFixed(1)} MiB ` +
                            `in ${((Date.now() - started) / 1000).toFixed(1)} s`,
                    );
                }
            }
        } catch {
            // Progress is best effort: the server goes away for its restart.
        } finally {
            if (monitor) await closeQuietly(monitor.session);
        }
    })();
    return { stop: () => void (stopped = true) };
}
