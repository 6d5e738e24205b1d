#!/usr/bin/env node
// House rules that the type checker does not enforce (`npm run lint` runs tsc first). Each rule says why.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const productDirs = ["components", "config", "bin"];
const files = (dir) =>
    readdirSync(join(root, dir)).flatMap((name) => {
        const path = join(dir, name);
        return statSync(join(root, path)).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
    });
const product = [...productDirs.flatMap(files), "index.ts"];

const rules = [
    {
        why: "waits are readiness checks with a deadline and backoff (session.ts pause/pollUntil), never fixed sleeps",
        test: (path, line) => /setTimeout\(/.test(line) && !path.endsWith("replication/session.ts"),
    },
    {
        why: "a password must never reach the console",
        test: (_path, line) => /console\.\w+\(.*password/i.test(line),
    },
    {
        why: "`x!: Output<T>` fields are reset after super() under esbuild/tsx class-field semantics: use `declare`",
        test: (_path, line) => /readonly \w+!: *pulumi\.Output/.test(line),
    },
    {
        why: "the dynamic provider's module state is serialized into state; a captured Set or Map arrives empty",
        test: (path, line) => path.includes("replication/") && /^(export )?const \w+.*= new (Set|Map)\b/.test(line),
    },
    {
        why: "mysql2 is loaded inside the provider's functions (session.ts), not captured at module level",
        test: (path, line) => path.includes("replication/") && /^import (?!type).*from "mysql2/.test(line.trim()),
    },
];

let problems = 0;
for (const path of product) {
    readFileSync(join(root, path), "utf8")
        .split("\n")
        .forEach((line, index) => {
            for (const rule of rules) {
                if (rule.test(path, line)) {
                    problems++;
                    console.error(`${path}:${index + 1}: ${rule.why}\n    ${line.trim()}`);
                }
            }
        });
}
if (problems > 0) {
    console.error(`lint: ${problems} problem(s)`);
    process.exit(1);
}
console.log(`lint: ${product.length} files, no problems`);
