/**
 * Pure: POSIX shell words and the hostPath directory commands built from them.
 *
 * The commands run through `/bin/sh -c` on the machine that runs `pulumi` (command.local.Command). Every path
 * and the owner are single-quoted, so no character of a value can end a word, start a command, expand or
 * glob — whatever validateConfig let through (it accepts only safe characters, so quoting is the second wall).
 */

/**
 * One POSIX shell word with exactly the text `value`: inside single quotes nothing is special except the
 * quote itself, which is written as `'\''` (close, escaped quote, reopen). Safe for any string without NUL
 * (a NUL cannot be passed in an argument at all; it is refused).
 */
export function shellQuote(value: string): string {
    if (value.includes("\0")) throw new Error(`a shell word cannot hold a NUL character: ${JSON.stringify(value)}`);
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The directories of one member under a hostPath root: `<root>/<member>/{data,log,conf}`. */
export function memberDirectories(root: string, member: string): { member: string; data: string; log: string; conf: string } {
    const dir = `${root.replace(/\/+$/, "")}/${member}`;
    return { member: dir, data: `${dir}/data`, log: `${dir}/log`, conf: `${dir}/conf` };
}

/**
 * Makes the member's directories and gives data/ and log/ to the uid:gid mysqld runs as. conf/ stays the
 * invoking user's: it is mounted read-only and only read by mysqld.
 */
export function createMemberDirectoriesCommand(root: string, member: string, owner: string): string {
    const d = memberDirectories(root, member);
    const q = shellQuote;
    return `mkdir -p -- ${q(d.data)} ${q(d.log)} ${q(d.conf)} && chown -- ${q(owner)} ${q(d.data)} ${q(d.log)}`;
}

/**
 * Removes what the server wrote for this member, and nothing else:
 * - data/ and log/ are removed with everything in them: they hold only what mysqld wrote (the opt-in
 *   deleteDataOnDestroy asks for exactly that);
 * - conf/ and then `<root>/<member>` are removed only when empty (rmdir): conf/ holds files the user put
 *   there (option files, certificates), and the member directory may hold anything else the user keeps next
 *   to the data (a backup, notes). Deleting them would lose data nobody asked to lose; an empty directory
 *   left behind costs nothing. A non-empty one is not an error: destroy still completes.
 * - The root is never touched, nor any path outside `<root>/<member>`; `rm` does not follow a symlink given
 *   as an operand (data/ as a link to elsewhere removes the link only).
 */
export function deleteMemberDirectoriesCommand(root: string, member: string): string {
    const d = memberDirectories(root, member);
    const q = shellQuote;
    return `rm -rf -- ${q(d.data)} ${q(d.log)} && { rmdir -- ${q(d.conf)} ${q(d.member)} 2>/dev/null || true; }`;
}
