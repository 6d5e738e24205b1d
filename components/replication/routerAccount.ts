/**
 * Converge step (issues #15, #31): the router's health-check account on the source, once per host pattern, with
 * SELECT on the tables its checks read and nothing more. Created binlogged, so every replica (and any later
 * source) gets it through replication; see createRouterCheckAccount.
 */
import { accountExists, createRouterCheckAccount, dropRouterCheckAccount, grantTableSelect, HEARTBEAT_TABLE_EXISTS, routerCheckTables, tableGrantExists } from "./dialect";
import type { Member } from "./members";
import { query } from "./session";
import type { RouterCheckRead } from "./types";
export { routerCheckHosts } from "./route";

/**
 * Creates the account on `member` for each pattern it lacks, and grants SELECT on what the checks read (`reads`)
 * where it lacks it; nothing when no router is declared. Runs after the heartbeat step, which creates the heartbeat
 * table the reader's check reads (a table grant needs its table). A grant no longer needed is left: it reads one
 * row of no secret.
 */
export async function keepRouterCheckAccount(member: Member, user: string | undefined, hosts: string[], reads: RouterCheckRead[] = []): Promise<void> {
    if (!user) return;
    const heartbeat = reads.includes("heartbeat") && (await query(member.session, HEARTBEAT_TABLE_EXISTS)).length > 0;
    const tables = routerCheckTables(member.dialect, { threads: reads.includes("threads"), heartbeat });
    for (const host of hosts) {
        if ((await query(member.session, accountExists(user, host))).length === 0) await query(member.session, createRouterCheckAccount(member.dialect, user, host));
        for (const table of tables) {
            if ((await query(member.session, tableGrantExists(user, host, table))).length === 0) await query(member.session, grantTableSelect(user, host, table));
        }
    }
}

/** Drops those rows on the source, binlogged (see dropRouterCheckAccount). */
export async function dropRouterCheckAccounts(source: Member, accounts: Array<{ user: string; host: string }>): Promise<void> {
    for (const { user, host } of accounts) await query(source.session, dropRouterCheckAccount(user, host));
}
