/**
 * Which replication resource owns the set. The engine replaces a resource by creating the new one first and deleting
 * the old one after (pulumi/pulumi pkg/resource/deploy/step_generator.go: a replacement without deleteBeforeReplace
 * is CreateReplacement, then the old state's DeleteReplacement once all creates and updates are done; our diff never
 * asks for delete-before-replace). The new one's create finds the set running and keeps it; the old one's delete must
 * then leave alone the members the new one owns.
 *
 * So each run (create, update) claims every declared member for its resource's id: one row per member in a table on
 * the source, which replicates to every member. A delete detaches only members no other resource claims, as read on
 * the member itself and on the source of the deleted resource's state. Members without any claim (a set last run by
 * a provider that did not claim) are detached as before.
 */
import * as SqlString from "sqlstring";
import type { Member } from "./members";
import { query } from "./session";

const OWNER_TABLE = "`replicaset_probe`.`owner`";

const OWNER_TABLE_EXISTS =
    "SELECT 1 AS present FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'replicaset_probe' AND TABLE_NAME = 'owner'";

/** Statements that make `owner` the owner of exactly `members` (binlogged: every replica gets the claim). */
export function claimStatements(owner: string, members: string[]): string[] {
    return [
        "CREATE DATABASE IF NOT EXISTS `replicaset_probe`",
        `CREATE TABLE IF NOT EXISTS ${OWNER_TABLE} (member VARCHAR(64) NOT NULL PRIMARY KEY, owner VARCHAR(255) NOT NULL) ENGINE=InnoDB`,
        `DELETE FROM ${OWNER_TABLE} WHERE member NOT IN (${members.map((m) => SqlString.escape(m)).join(", ")})`,
        `REPLACE INTO ${OWNER_TABLE} (member, owner) VALUES ${members.map((m) => `(${SqlString.escape(m)}, ${SqlString.escape(owner)})`).join(", ")}`,
    ];
}

/** The claims as this member holds them (member → owner); empty when it holds none. */
export async function readClaims(member: Member): Promise<Map<string, string>> {
    if ((await query(member.session, OWNER_TABLE_EXISTS)).length === 0) return new Map();
    const rows = await query<{ member: string; owner: string }>(member.session, `SELECT member, owner FROM ${OWNER_TABLE}`);
    return new Map(rows.map((r) => [String(r.member), String(r.owner)]));
}

/** Claims `members` for `owner` on the source, unless they are claimed so already (no transaction for nothing). */
export async function claimSet(source: Member, owner: string, members: string[]): Promise<void> {
    const claims = await readClaims(source);
    if (claims.size === members.length && members.every((m) => claims.get(m) === owner)) return;
    for (const statement of claimStatements(owner, members)) await query(source.session, statement);
}

/** Another resource that claims `name` in any of `claims` (the deleted resource `owner` then leaves it alone). */
export function otherOwner(name: string, owner: string, claims: Array<Map<string, string>>): string | undefined {
    for (const held of claims) {
        const claimed = held.get(name);
        if (claimed !== undefined && claimed !== owner) return claimed;
    }
    return undefined;
}
