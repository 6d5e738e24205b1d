/** Pure: keeps secrets out of error messages (a server's syntax error quotes the statement, password included). */
export function redact(text: string, secrets: Array<string | undefined>): string {
    let result = text;
    for (const secret of secrets) {
        if (!secret) continue;
        result = result.split(secret).join("[secret]");
        // The server quotes statements with escaping applied, so the escaped form may appear instead.
        const escaped = secret.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
        if (escaped !== secret) result = result.split(escaped).join("[secret]");
    }
    return result;
}
