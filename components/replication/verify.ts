/**
 * Converge step: prove replication end to end. A probe row written on the source must be applied by every
 * replica; the servers do the waiting (WAIT_FOR_EXECUTED_GTID_SET / MASTER_GTID_WAIT), with the deadline.
 */
import { stoppedForGood } from "./attach";
import { probeRead, probeSetup, probeWrite } from "./dialect";
import { readThreads, type Member } from "./members";
import { query, scalar } from "./session";

/** Writes a probe row on the source and waits until every replica has applied it; returns lag per replica. */
export async function verifyReplication(source: Member, replicas: Member[], deadline: number): Promise<Record<string, number>> {
    for (const statement of probeSetup()) await query(source.session, statement);
    const token = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    await query(source.session, probeWrite(token, source.endpoint.name));
    const written = Date.now();
    const gtids = String(await scalar(source.session, source.dialect.executedGtids));
    const lags = await Promise.all(
        replicas.map(async (replica) => {
            const started = Date.now();
            // The server does the waiting (it returns the moment the GTIDs are applied), in slices of at most 5 s:
            // between slices, an applier stopped by an error or a fatal IO error fails at once, not at the deadline.
            for (;;) {
                const slice = Math.max(1, Math.min(5, (deadline - Date.now()) / 1000));
                const result = await scalar(replica.session, replica.dialect.waitForGtids(gtids, slice));
                if (Number(result) === 0) break;
                const threads = await readThreads(replica);
                if (stoppedForGood(threads) || Date.now() >= deadline) {
                    throw new Error(
                        `${replica.endpoint.name} did not apply the probe row (source GTIDs ${gtids}) within ` +
                            `${((Date.now() - started) / 1000).toFixed(0)}s; ` +
                            `IO=${threads.ioState} SQL=${threads.sqlRunning ? "Yes" : "No"} ${threads.lastIoError} ${threads.lastSqlError}`.trim(),
                    );
                }
            }
            // From the write on the source until the replica's server reported the row applied.
            const lag = Date.now() - written;
            const rows = await query(replica.session, probeRead(token));
            if (rows.length !== 1) throw new Error(`${replica.endpoint.name} applied the source's GTIDs but the probe row ${token} is missing`);
            return [replica.endpoint.name, lag] as const;
        }),
    );
    return Object.fromEntries(lags);
}
