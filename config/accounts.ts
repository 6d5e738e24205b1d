/**
 * The accounts this project creates on the servers for itself. Config refuses them as the replication user
 * (validate.ts reservedAccount); the components and the provider create and drop them.
 */

/** The router's health-check account: no password, no privilege, host limited to the network (the provider makes it). */
export const ROUTER_CHECK_USER = "replicaset_check";

/** The donor account a clone's recipient clones with: BACKUP_ADMIN only, hosts as the replication account's. */
export const CLONE_DONOR_USER = "replicaset_clone";
