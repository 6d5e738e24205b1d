/**
 * The house's direction: config (pure) → component → provider → dialect table. config/ never imports component or
 * provider code (facts both need, such as the project's reserved account names, live in config/ and the components
 * import them from there).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const CONFIG = join(__dirname, "../../config");

describe("config/ depends on nothing of the components or the provider", () => {
    it("every relative import of config/*.ts stays in config/", () => {
        const outside: string[] = [];
        for (const file of readdirSync(CONFIG).filter((f) => f.endsWith(".ts"))) {
            const text = readFileSync(join(CONFIG, file), "utf8");
            for (const match of text.matchAll(/(?:from|import|require\()\s*["']([^"']+)["']/g)) {
                if (match[1].startsWith(".") && !match[1].startsWith("./")) outside.push(`config/${file}: ${match[1]}`);
            }
        }
        assert.deepEqual(outside, []);
    });
});
