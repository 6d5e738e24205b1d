/**
 * Converge step (issue #15): the router's health-check account on the source, once per host pattern. Created
 * binlogged, so every replica (and any later source) gets it through replication; see createRouterCheckAccount.
 */
import { accountExists, createRouterCheckAccount, dropRouterCheckAccount } from "./dialect";
import type { Member } from "./members";
import { query } from "./session";
export { routerCheckHosts } from "./route";

/** Creates the account on `member` for each pattern it lacks; nothing when no router is declared. */
export async function keepRouterCheckAccount(member: Member, user: string | undefined, hosts: string[]): Promise<void> {
    if (!user) return;
    for (const host of hosts) {
        if ((await query(member.session, accountExists(user, host))).length > 0) continue;
        await query(member.session, createRouterCheckAccount(member.dialect, user, host));
    }
}

/** Drops those rows on the source, binlogged (see dropRouterCheckAccount). */
export async function dropRouterCheckAccounts(source: Member, accounts: Array<{ user: string; host: string }>): Promise<void> {
    for (const { user, host } of accounts) await query(source.session, dropRouterCheckAccount(user, host));
}
