/**
 * Converge step (issue #15): the router's health-check account on the source, once per host pattern. Created
 * binlogged, so every replica (and any later source) gets it through replication; see createRouterCheckAccount.
 */
import { accountExists, createRouterCheckAccount } from "./dialect";
import type { Member } from "./members";
import { query } from "./session";
import type { ReplicationInputs } from "./types";

/** The check account's host patterns: routerCheckHosts when given (router on one of several hosts), else replicationUserHost. */
export function routerCheckHosts(inputs: Pick<ReplicationInputs, "replicationUserHost" | "routerCheckHosts">): string[] {
    return [...new Set(inputs.routerCheckHosts ?? [inputs.replicationUserHost])];
}

/** Creates the account on `member` for each pattern it lacks; nothing when no router is declared. */
export async function keepRouterCheckAccount(member: Member, user: string | undefined, hosts: string[]): Promise<void> {
    if (!user) return;
    for (const host of hosts) {
        if ((await query(member.session, accountExists(user, host))).length > 0) continue;
        await query(member.session, createRouterCheckAccount(member.dialect, user, host));
    }
}
