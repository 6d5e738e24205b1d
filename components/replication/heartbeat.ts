/**
 * Heartbeat step: the source keeps an event of its own scheduler that writes its NOW(6) every interval; a
 * replica's true lag is its NOW(6) minus the last beat it applied. Only the source's copy of the event runs.
 */
import {
    EVENT_SCHEDULER_ON,
    HEARTBEAT_DROP,
    HEARTBEAT_EVENT_STATE,
    HEARTBEAT_LAG,
    HEARTBEAT_TABLE_EXISTS,
    heartbeatDisable,
    heartbeatEnable,
    heartbeatSetup,
} from "./dialect";
import type { Member } from "./members";
import { query } from "./session";

interface EventState {
    status: string;
    every: string;
    scheduler: string;
}

/** The event runs on the source every `intervalMs` (rounded to whole seconds: events count in seconds); 0 drops it. */
export async function keepHeartbeat(source: Member, intervalMs: number): Promise<void> {
    if (intervalMs === 0) {
        await query(source.session, HEARTBEAT_DROP);
        return;
    }
    const seconds = Math.max(1, Math.round(intervalMs / 1000));
    const [before] = await query<EventState>(source.session, HEARTBEAT_EVENT_STATE);
    if (!before) for (const statement of heartbeatSetup(seconds)) await query(source.session, statement);
    const [now] = before ? [before] : await query<EventState>(source.session, HEARTBEAT_EVENT_STATE);
    if (String(now.status) !== "ENABLED" || Number(now.every) !== seconds) {
        for (const statement of heartbeatEnable(seconds)) await query(source.session, statement);
    }
    // MariaDB and MySQL 5.7 start with the scheduler off; the server flag turns it on, this covers servers
    // started without it.
    if (String(now.scheduler).toUpperCase() !== "ON") await query(source.session, EVENT_SCHEDULER_ON);
}

/**
 * Makes sure this member's copy of the event does not run (it is, or is about to be, a replica). On MySQL it
 * may lower super_read_only to do so (read_only stays on): the caller makes the member read-only again.
 * Returns whether it wrote anything.
 */
export async function silenceHeartbeat(member: Member): Promise<boolean> {
    const [state] = await query<EventState>(member.session, HEARTBEAT_EVENT_STATE);
    if (!state || String(state.status) !== "ENABLED") return false;
    if (member.dialect.superReadOnly) await query(member.session, "SET GLOBAL super_read_only = OFF");
    for (const statement of heartbeatDisable()) await query(member.session, statement);
    return true;
}

/** The member's clock minus the last beat it applied, in ms; null before the first beat. Read-only. */
export async function heartbeatLagMs(member: Member): Promise<number | null> {
    if ((await query(member.session, HEARTBEAT_TABLE_EXISTS)).length === 0) return null;
    const [row] = await query<{ us: string | number | null }>(member.session, HEARTBEAT_LAG);
    if (!row || row.us === null || row.us === undefined) return null;
    return Math.round(Number(row.us) / 1000);
}
