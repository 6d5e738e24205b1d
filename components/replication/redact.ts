/**
 * Pure: keeps secrets out of error messages (a server's syntax error quotes the statement, password included).
 *
 * The rule — whole tokens, and never a fragment of a secret:
 * - Every occurrence of a secret is found, as written and in the escaped form the server quotes back
 *   (dialect.ts escapes with sqlstring: quotes, backslashes, NUL, \b, \t, \n, \r, ^Z).
 * - The replaced span is then widened to whole tokens: where the secret's first (last) character is a word
 *   character [A-Za-z0-9_] and so is the character before (after) it, the span takes in the rest of that run
 *   of word characters. `xS3cretPw9y` with the secret `S3cretPw9` becomes `[secret]`, not `x[secret]y`: a
 *   replacement never starts or ends inside a word, so no part of a word is left that could be read as a
 *   piece of the secret, and no word is cut in two.
 * - Spans of several secrets (or overlapping occurrences) are merged and replaced once, on the original text.
 * A secret is therefore never left in a message, in any form it was sent in. What keeps messages readable is
 * the length rule: config (validate.ts) and the provider's check refuse passwords shorter than 8 characters,
 * so a password cannot be a user name such as `repl` that every "user 'repl'@…" message holds.
 * Short secrets are still redacted here (the function does not trust its callers to have checked).
 *
 * Passwords the provider was never given are redacted too: whatever a server quotes as a password literal in an
 * account statement — an application's `ALTER USER app IDENTIFIED BY '…'` that a replica failed to apply, quoted
 * in its Last_SQL_Error as the source binlogged it (MariaDB: as typed; MySQL: the hash, `AS '…'`) — is replaced by
 * `[secret]`, whoever's it is (redactPasswordLiterals).
 */
import * as SqlString from "sqlstring";

export const REDACTED = "[secret]";

const WORD = /[A-Za-z0-9_]/;

export function redact(text: string, secrets: Array<string | undefined>): string {
    return redactPasswordLiterals(redactSecrets(text, secrets));
}

function redactSecrets(text: string, secrets: Array<string | undefined>): string {
    const spans: Array<[number, number]> = [];
    for (const secret of secrets) {
        if (!secret) continue;
        const forms = new Set([secret, SqlString.escape(secret).slice(1, -1)]);
        for (const form of forms) {
            for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) {
                spans.push(widen(text, at, at + form.length));
            }
        }
    }
    if (spans.length === 0) return text;
    spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
    let result = "";
    let done = 0;
    let current: [number, number] | undefined;
    for (const span of spans) {
        if (current && span[0] <= current[1]) {
            current[1] = Math.max(current[1], span[1]);
            continue;
        }
        if (current) {
            result += text.slice(done, current[0]) + REDACTED;
            done = current[1];
        }
        current = [span[0], span[1]];
    }
    result += text.slice(done, current![0]) + REDACTED + text.slice(current![1]);
    return result;
}

/** Widens [start, end) to whole tokens: over word characters that continue the match's own edge characters. */
function widen(text: string, start: number, end: number): [number, number] {
    if (WORD.test(text[start])) while (start > 0 && WORD.test(text[start - 1])) start--;
    if (WORD.test(text[end - 1])) while (end < text.length && WORD.test(text[end])) end++;
    return [start, end];
}

/**
 * What may stand between two words of SQL: whitespace and comments (`/* … *\/`, `-- …`, `# …` to the end of the
 * line). MariaDB binlogs an account statement as typed, so `IDENTIFIED /* x *\/ BY '…'` reaches a replica's error
 * text with its comment.
 */
// A /* */ comment ends at its first */ (the unrolled form: a lazy [\s\S]*? could run past it, and adjacent comments
// would then split 2^n ways whenever the rest of a pattern fails).
const GAP = String.raw`(?:\s|/\*[^*]*\*+(?:[^*/][^*]*\*+)*/|--[^\n]*(?:\n|$)|#[^\n]*(?:\n|$))`;
const SOME_GAP = `${GAP}+`;
const ANY_GAP = `${GAP}*`;

/**
 * What introduces a password literal in SQL as servers quote it back: `IDENTIFIED BY`, `IDENTIFIED BY PASSWORD`,
 * `IDENTIFIED WITH|VIA plugin BY|AS|USING` (optionally `PASSWORD(`), `PASSWORD(`, `SET PASSWORD [FOR u] =`,
 * `MASTER_PASSWORD =` / `SOURCE_PASSWORD =`, and ALTER USER's `REPLACE` (the current password); any GAP between
 * the words. Case-insensitive.
 */
const PASSWORD_INTRODUCER = new RegExp(
    [
        String.raw`\bIDENTIFIED${SOME_GAP}(?:(?:WITH|VIA)${SOME_GAP}(?:'[^']*'|"[^"]*"|\`[^\`]*\`|\w+)${SOME_GAP})?(?:BY|AS|USING)(?:${SOME_GAP}PASSWORD)?(?:${ANY_GAP}\()?`,
        String.raw`\bPASSWORD${ANY_GAP}\(`,
        String.raw`\bSET${SOME_GAP}PASSWORD(?:${SOME_GAP}FOR${SOME_GAP}\S+?)?${ANY_GAP}=`,
        String.raw`\b(?:MASTER|SOURCE)_PASSWORD${ANY_GAP}=`,
        String.raw`\bREPLACE(?=${SOME_GAP}['"])`,
    ].join("|"),
    "gi",
);

/** A GAP at the start of the text (the stretch between an introducer and its literal). */
const LEADING_GAP = new RegExp(`^${ANY_GAP}`);

/**
 * Replaces the content of every password literal (see PASSWORD_INTRODUCER) with [secret], the quotes kept: a
 * quoted string ('…' or "…", with backslash escapes and doubled quotes as SQL reads them), a hex literal (0x…,
 * X'…'). A literal that does not end (a message that cut the statement short, or a doubled quote that closes both
 * the literal and the message's own quoting) is redacted to the end of the text: never less than the password.
 */
export function redactPasswordLiterals(text: string): string {
    let result = "";
    let done = 0;
    PASSWORD_INTRODUCER.lastIndex = 0;
    for (let match = PASSWORD_INTRODUCER.exec(text); match !== null; match = PASSWORD_INTRODUCER.exec(text)) {
        let at = match.index + match[0].length;
        at += LEADING_GAP.exec(text.slice(at))![0].length;
        const literal = literalAt(text, at);
        if (!literal) continue;
        result += text.slice(done, literal.start) + REDACTED;
        done = literal.end;
        PASSWORD_INTRODUCER.lastIndex = Math.max(literal.end, PASSWORD_INTRODUCER.lastIndex);
    }
    return result + text.slice(done);
}

/** The content span [start, end) of the literal starting at `at`, or undefined when none starts there. */
function literalAt(text: string, at: number): { start: number; end: number } | undefined {
    const hex = /^(?:0x[0-9A-Fa-f]+|[Xx]'[0-9A-Fa-f]*'?)/.exec(text.slice(at));
    if (hex) return { start: at, end: at + hex[0].length };
    const quote = text[at];
    if (quote !== "'" && quote !== '"') return undefined;
    for (let i = at + 1; i < text.length; i++) {
        if (text[i] === "\\") {
            i++;
            continue;
        }
        if (text[i] !== quote) continue;
        if (text[i + 1] === quote) {
            i++;
            continue;
        }
        return { start: at + 1, end: i };
    }
    return { start: at + 1, end: text.length };
}
