/**
 * Converge step (issue #15): the router's health-check account on the source, once. Created binlogged, so
 * every replica (and any later source) gets it through replication; see createRouterCheckAccount.
 */
import { accountExists, createRouterCheckAccount } from "./dialect";
import type { Member } from "./members";
import { query } from "./session";

/** Creates the account on the source when it is missing there; nothing when no router is declared. */
export async function keepRouterCheckAccount(source: Member, user: string | undefined, host: string): Promise<void> {
    if (!user) return;
    if ((await query(source.session, accountExists(user, host))).length > 0) return;
    await query(source.session, createRouterCheckAccount(source.dialect, user, host));
}
