/** Pure: keeps secrets out of error messages (a server's syntax error quotes the statement, password included). */
import * as SqlString from "sqlstring";

export function redact(text: string, secrets: Array<string | undefined>): string {
    let result = text;
    for (const secret of secrets) {
        if (!secret) continue;
        // The server quotes statements as it received them, escaped the way dialect.ts escapes (sqlstring:
        // quotes, backslashes, NUL, \b, \t, \n, \r, ^Z), so the escaped form may appear instead. Longest first.
        const escaped = SqlString.escape(secret).slice(1, -1);
        if (escaped !== secret) result = result.split(escaped).join("[secret]");
        result = result.split(secret).join("[secret]");
    }
    return result;
}
