/**
 * config/keys.ts is the one table of config keys: the loader reads its keys, DEFAULTS comes from it, and Pulumi.yaml's
 * declarations and README's config table must say the same, so a key cannot be added in one place only.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, DEFAULTS, choices, range } from "../../config/keys";
import { loadConfig, PLAIN_KEYS } from "../../config/load";
import { ConfigError, validateConfig } from "../../config/validate";
import type { ProjectConfigType } from "../support/engineConfig";

const REPO = join(__dirname, "..", "..");

/**
 * The rows of the markdown table `| key | default | description |` under the heading `## Configuration` (keys in
 * backticks), as { key, default } with the default cell's text.
 */
function readmeConfigTable(markdown: string): Array<{ key: string; default: string }> {
    const lines = markdown.split("\n");
    const start = lines.findIndex((l) => l.trim() === "## Configuration");
    assert.ok(start >= 0, "README has no `## Configuration` heading");
    const end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    const section = lines.slice(start + 1, end < 0 ? undefined : end);
    const cells = (line: string) => line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
    const header = section.findIndex((l) => l.trim().startsWith("|") && cells(l).map((c) => c.toLowerCase()).join("|") === "key|default|description");
    assert.ok(header >= 0, "no `| key | default | description |` table under ## Configuration");
    const rows: Array<{ key: string; default: string }> = [];
    for (const line of section.slice(header + 2)) {
        if (!line.trim().startsWith("|")) break;
        const [key, value] = cells(line);
        const name = /^`([^`]+)`$/.exec(key);
        assert.ok(name, `README config table: the key cell ${JSON.stringify(key)} is not a key in backticks`);
        rows.push({ key: name[1], default: value });
    }
    return rows;
}

describe("config/keys.ts: the one table of config keys", () => {
    test("names are unique; every validator fits its type", () => {
        const names = CONFIG_KEYS.map((k) => k.name);
        assert.equal(new Set(names).size, names.length);
        for (const k of CONFIG_KEYS) {
            const validator = "validator" in k ? k.validator : undefined;
            if (validator && "oneOf" in validator) {
                assert.equal(k.type, "string", k.name);
                if ("default" in k) assert.ok((validator.oneOf as readonly string[]).includes(k.default as string), `${k.name}: the default is one of its values`);
            }
            if (validator && "range" in validator) {
                assert.equal(k.type, "integer", k.name);
                if ("default" in k) assert.ok((k.default as number) >= validator.range[0] && (k.default as number) <= validator.range[1], k.name);
            }
            assert.ok(!k.description.includes("\n") && k.description.length > 10, `${k.name}: a one-line description`);
        }
        assert.deepEqual(choices("replicationTls"), ["verify", "auto", "on", "off"]);
        assert.deepEqual(range("writerPort"), [1, 65535]);
    });

    test("each key's validator is what validates it: a value outside its list or range is refused by name, its bounds pass", () => {
        const refusedKeys = (raw: Record<string, unknown>) => {
            try {
                validateConfig(raw);
                return [];
            } catch (error) {
                return (error as ConfigError).problems.map((p) => p.key);
            }
        };
        for (const k of CONFIG_KEYS) {
            const validator = "validator" in k ? k.validator : undefined;
            if (!validator) continue;
            // Router keys count only with a router; auto TLS so that any image passes.
            // heartbeatIntervalMs alone: a lag limit needs a heartbeat more frequent than it (readerMaxLagSeconds).
            const base = {
                router: "haproxy",
                replicationTls: "auto",
                ...(k.name === "flavor" ? { version: "10.11.6" } : {}),
                ...(k.name === "heartbeatIntervalMs" ? { readerMaxLagSeconds: 0 } : {}),
            };
            if ("oneOf" in validator) {
                assert.deepEqual(refusedKeys({ ...base, [k.name]: "not-one-of-them" }), [k.name], k.name);
                for (const value of validator.oneOf) {
                    const fitting = k.name === "seedMethod" && value === "clone" ? { image: "mysql:8.0.36" } : {};
                    assert.deepEqual(refusedKeys({ ...base, ...fitting, [k.name]: value }), [], `${k.name}: ${value}`);
                }
            } else {
                const [min, max] = validator.range;
                assert.deepEqual(refusedKeys({ ...base, [k.name]: min - 1 }), [k.name], `${k.name} below its range`);
                assert.deepEqual(refusedKeys({ ...base, [k.name]: max + 1 }), [k.name], `${k.name} above its range`);
                for (const value of [min, max]) assert.deepEqual(refusedKeys({ ...base, [k.name]: value }), [], `${k.name}: ${value}`);
            }
        }
    });

    test("DEFAULTS is the table's defaults, and the validator applies them: an empty config is every default", () => {
        for (const k of CONFIG_KEYS) {
            if ("default" in k) assert.equal((DEFAULTS as Record<string, unknown>)[k.name], k.default, k.name);
            else assert.ok(!(k.name in DEFAULTS), k.name);
        }
        const settings = validateConfig({}) as unknown as Record<string, unknown>;
        for (const [key, value] of Object.entries(DEFAULTS)) {
            if (key === "storage" || key === "storageRoot" || key === "routerHost") continue; // storage is an object; the other two are unset
            assert.deepEqual(settings[key], value, key);
        }
    });

    test("the loader reads every plain key of the table and nothing else", () => {
        assert.deepEqual([...PLAIN_KEYS].sort(), CONFIG_KEYS.filter((k) => !("secret" in k)).map((k) => k.name).sort());
        // The engine writes every declared default into the stack's config (config.go mergeConfig): the program
        // takes them all as known keys, and gives the same settings as with none of them.
        const defaults: Record<string, string> = {};
        for (const k of CONFIG_KEYS) if ("default" in k) defaults[`mysql-replicaset:${k.name}`] = String(k.default);
        pulumi.runtime.setAllConfig(defaults, []);
        try {
            assert.deepEqual(loadConfig(new pulumi.Config("mysql-replicaset")).settings, validateConfig({}));
        } finally {
            pulumi.runtime.setAllConfig({}, []);
        }
    });

    test("Pulumi.yaml declares exactly the keys with a default, each with the table's type, default and description", () => {
        const project = yaml.load(readFileSync(join(REPO, "Pulumi.yaml"), "utf8")) as { config: Record<string, ProjectConfigType> };
        const expected: Record<string, ProjectConfigType> = {};
        for (const k of CONFIG_KEYS) if ("default" in k) expected[k.name] = { type: k.type, default: k.default, description: k.description };
        assert.deepEqual(project.config, expected, `Pulumi.yaml's config: should be\n${yaml.dump({ config: expected }, { lineWidth: -1 })}`);
    });

    test("README's config table (## Configuration, | key | default | description |) lists every key, once, with the table's default", () => {
        const rows = readmeConfigTable(readFileSync(join(REPO, "README.md"), "utf8"));
        const keys = rows.map((r) => r.key);
        assert.equal(new Set(keys).size, keys.length, "a key listed twice");
        assert.deepEqual([...keys].sort(), CONFIG_KEYS.map((k) => k.name).sort());
        for (const k of CONFIG_KEYS) {
            const row = rows.find((r) => r.key === k.name)!;
            // A literal default is shown as it is; "" (unset) and derived defaults are described in words.
            if ("default" in k && k.default !== "") assert.equal(row.default, `\`${k.default}\``, k.name);
            else assert.ok(row.default !== "" && !row.default.startsWith("`"), `${k.name}: a default in words, got ${JSON.stringify(row.default)}`);
        }
    });

    test("the README parser finds the table the README rewrite will have", () => {
        const rows = readmeConfigTable(["# x", "## Configuration", "", "| key | default | description |", "|---|---|---|", "| `image` | `percona:5.7.30` | Image. |", "", "## Next"].join("\n"));
        assert.deepEqual(rows, [{ key: "image", default: "`percona:5.7.30`" }]);
    });
});
