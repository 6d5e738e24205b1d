/**
 * Heartbeat step: the source keeps an event of its own scheduler that writes its NOW(6) every interval; a
 * replica's true lag is its NOW(6) minus the last beat it applied. Only the source's copy of the event runs.
 */
import { clockReading, correctHeartbeatLag, type ClockReading, type HeartbeatLag } from "./clock";
import {
    CLOCK_NOW,
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

/**
 * Test seam, empty in production: ms added to everything a member's clock says (its NOW(6) in the lag, its clock),
 * as if that member's clock ran so far ahead (or behind, negative). One machine has one clock: a test gives a
 * replica a clock of its own this way (test/integration/health.test.ts). Serialized with the provider, empty.
 */
export const clockHooks: { shiftMs?: (member: string) => number } = {};

/** Epoch ms on a clock that no step of the system's moves between two readings (both members are read against it). */
function localNow(): number {
    return performance.timeOrigin + performance.now();
}

/** This member's clock against the provider's, in one round trip (clock.ts). Read-only. */
export async function readClock(member: Member): Promise<ClockReading> {
    const sentAt = localNow();
    const [row] = await query<{ now_us: string | number }>(member.session, CLOCK_NOW);
    return clockReading(sentAt, Number(row.now_us) / 1000 + (clockHooks.shiftMs?.(member.endpoint.name) ?? 0), localNow());
}

/**
 * A replica's heartbeat lag: its clock minus the last beat it applied, corrected by its clock's offset and the
 * source's (`source`, read by readClock; undefined when the source could not be read). Read-only.
 */
export async function heartbeatLag(replica: Member, source: ClockReading | undefined, sourceName: string): Promise<HeartbeatLag> {
    const names = { replica: replica.endpoint.name, source: sourceName };
    const shift = clockHooks.shiftMs?.(replica.endpoint.name) ?? 0;
    if ((await query(replica.session, HEARTBEAT_TABLE_EXISTS)).length > 0) {
        const sentAt = localNow();
        const [row] = await query<{ us: string | number | null; now_us: string | number }>(replica.session, HEARTBEAT_LAG);
        if (row && row.us !== null && row.us !== undefined) {
            const clock = clockReading(sentAt, Number(row.now_us) / 1000 + shift, localNow());
            return correctHeartbeatLag(Number(row.us) / 1000 + shift, clock, source, names);
        }
    }
    return correctHeartbeatLag(null, await readClock(replica), source, names);
}
