/**
 * Pure: the heartbeat lag across clocks. A beat holds the source's clock when it was written; a replica's lag is
 * read as its own clock minus that beat, so a replica whose clock is behind the source's reads less lag, or a
 * negative one. The provider reads each member's clock against its own in one round trip (NTP's offset: sent at
 * t0, the server's time s, answered at t1 → offset s − (t0 + t1) / 2, right within ± (t1 − t0) / 2) and corrects
 * the lag by the difference of the two offsets. A corrected lag below zero by more than the readings' uncertainty
 * is no lag at all: a clock moved between the beat and the read (an NTP step), and the lag is reported unknown
 * with the reason, never as a figure that passes `check --max-lag`.
 */

/** A member's clock against the provider's. */
export interface ClockReading {
    /** The server's clock minus the provider's, in ms. */
    offsetMs: number;
    /** The offset is right within ± this many ms (half the round trip). */
    uncertaintyMs: number;
}

/** The reading of one round trip: sent at `sentAt`, the server said `serverMs`, answered at `receivedAt` (all epoch ms). */
export function clockReading(sentAt: number, serverMs: number, receivedAt: number): ClockReading {
    return { offsetMs: serverMs - (sentAt + receivedAt) / 2, uncertaintyMs: Math.max(0, receivedAt - sentAt) / 2 };
}

/** What a replica's status says about its lag. */
export interface HeartbeatLag {
    /** The corrected lag in ms (>= 0); null before the first beat, with the heartbeat off, or when it cannot be told. */
    heartbeatLagMs: number | null;
    /** The replica's clock minus the source's, in ms; null when either could not be read. */
    clockSkewMs: number | null;
    /** Why heartbeatLagMs is null although a beat was read; "" otherwise. */
    heartbeatError: string;
}

/**
 * The lag of a replica from `rawMs` (its clock at the read minus the beat it holds; null: no beat), corrected by
 * the two clocks' offsets. Without the source's reading the correction cannot be made: the lag is unknown.
 */
export function correctHeartbeatLag(
    rawMs: number | null,
    replica: ClockReading | undefined,
    source: ClockReading | undefined,
    names: { replica: string; source: string },
): HeartbeatLag {
    const clockSkewMs = replica && source ? Math.round(replica.offsetMs - source.offsetMs) : null;
    if (rawMs === null) return { heartbeatLagMs: null, clockSkewMs, heartbeatError: "" };
    if (!replica || !source) {
        const missing = replica ? names.source : names.replica;
        return { heartbeatLagMs: null, clockSkewMs, heartbeatError: `${missing}'s clock could not be read, so the heartbeat lag (${Math.round(rawMs)} ms as read) cannot be corrected for it` };
    }
    const corrected = rawMs - (replica.offsetMs - source.offsetMs);
    const uncertainty = replica.uncertaintyMs + source.uncertaintyMs;
    if (corrected >= 0) return { heartbeatLagMs: Math.round(corrected), clockSkewMs, heartbeatError: "" };
    if (corrected >= -uncertainty) return { heartbeatLagMs: 0, clockSkewMs, heartbeatError: "" };
    return {
        heartbeatLagMs: null,
        clockSkewMs,
        heartbeatError:
            `the heartbeat lag reads ${Math.round(corrected)} ms after correcting for the clocks (${names.replica}'s is ${describeSkew(replica.offsetMs - source.offsetMs)} ` +
            `${names.source}'s, ±${roundUp(uncertainty)} ms): a beat from the future, so a clock was stepped since the beat was written and the lag ` +
            "cannot be told; keep the hosts' clocks in sync (NTP)",
    };
}

function describeSkew(skewMs: number): string {
    const ms = Math.round(Math.abs(skewMs));
    return skewMs >= 0 ? `${ms} ms ahead of` : `${ms} ms behind`;
}

function roundUp(ms: number): number {
    return Math.max(1, Math.ceil(ms));
}
