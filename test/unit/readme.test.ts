/**
 * README.md stays a ten-minute read that is true of the code: at most 350 lines, a heading for each recipe, no
 * tracker references, every relative link (README, docs/, CHANGELOG) resolving to a file and heading, a code map
 * naming files that exist, a configuration table with every key the loader reads, and an outputs example that
 * the check command accepts (exit 0), run as CI runs it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PLAIN_KEYS } from "../../config/load";
import { DEFAULTS } from "../../config/types";
import { judge, parseStackOutputs } from "../../components/outputs";
import * as yaml from "js-yaml";
import { decryptsWith, stackSalt } from "../support/passphrase";

const ROOT = resolve(__dirname, "../..");
const README = "README.md";
const MAX_README_LINES = 350;
/** A recipe is short: at most this many non-blank lines under its heading. */
const MAX_RECIPE_LINES = 15;
const RECIPES = [
    "Check health, locally and in CI",
    "Switch over",
    "When the source dies",
    "Add a replica",
    "Remove a replica",
    "Upgrade the servers",
    "Turn on the router",
    "Save before `destroy`",
];
/** Secret keys config/load.ts reads besides PLAIN_KEYS. */
const SECRET_KEYS = ["rootPassword", "replicationPassword", "hostTls"];

function read(file: string): string {
    return readFileSync(join(ROOT, file), "utf8");
}

/** The markdown files whose links must resolve: README, CHANGELOG and every file under docs/. */
function markdownFiles(): string[] {
    const docs = readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
    return [README, "CHANGELOG.md", ...docs];
}

/** The text outside fenced code blocks and HTML comments, line for line (code lines blanked). */
function prose(text: string): string {
    let fenced = false;
    return text
        .replace(/<!--[\s\S]*?-->/g, (comment) => comment.replace(/[^\n]/g, " "))
        .split("\n")
        .map((line) => {
            if (/^\s*```/.test(line)) {
                fenced = !fenced;
                return "";
            }
            return fenced ? "" : line;
        })
        .join("\n");
}

/** Lines of a section: from its heading to the next heading of the same or a higher level. */
function section(text: string, heading: string): string[] {
    const lines = text.split("\n");
    const level = heading.match(/^#+/)![0].length;
    const start = lines.indexOf(heading);
    assert.ok(start >= 0, `missing heading ${JSON.stringify(heading)}`);
    let end = start + 1;
    let fenced = false;
    for (; end < lines.length; end++) {
        if (/^\s*```/.test(lines[end])) fenced = !fenced;
        const match = !fenced && lines[end].match(/^(#+) /);
        if (match && match[1].length <= level) break;
    }
    return lines.slice(start + 1, end);
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-', numbered when repeated. */
function anchors(text: string): Set<string> {
    const seen = new Map<string, number>();
    const result = new Set<string>();
    for (const line of prose(text).split("\n")) {
        const match = line.match(/^#{1,6} +(.*?)\s*#*\s*$/);
        if (!match) continue;
        const base = match[1]
            .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
            .toLowerCase()
            .replace(/[^\p{L}\p{N}\s_-]/gu, "")
            .replace(/ /g, "-");
        const count = seen.get(base) ?? 0;
        seen.set(base, count + 1);
        result.add(count === 0 ? base : `${base}-${count}`);
    }
    return result;
}

/** Inline links and reference definitions outside code: [text](target). */
function links(text: string): string[] {
    const withoutCode = prose(text).replace(/`[^`\n]*`/g, "");
    return [...withoutCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

/** Our own tracker's references ("issue 17", "#20"); `owner/repo#123` (an upstream project's) is a source, not ours. */
function trackerReferences(text: string): string[] {
    const withoutCodeOrLinks = prose(text)
        .replace(/`[^`\n]*`/g, "")
        .replace(/\]\([^)]*\)/g, "]");
    return [...withoutCodeOrLinks.matchAll(/\bissues? #?\d+\b|(?<![\w/.-])#\d+\b/gi)].map((m) => m[0]);
}

function runCheck(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((done) => {
        execFile(process.execPath, ["--import", "tsx", "bin/check.ts", "--file", file], { cwd: ROOT }, (error, stdout, stderr) => {
            done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
        });
    });
}

describe("README.md", () => {
    const readme = read(README);

    it(`has at most ${MAX_README_LINES} lines`, () => {
        const lines = readme.replace(/\n$/, "").split("\n").length;
        assert.ok(lines <= MAX_README_LINES, `README.md has ${lines} lines`);
    });

    it("has a short recipe under its own ### heading for each task", () => {
        const recipes = section(readme, "## Recipes");
        for (const recipe of RECIPES) {
            const body = section(recipes.join("\n"), `### ${recipe}`).filter((line) => line.trim() !== "");
            assert.ok(body.length > 0, `recipe ${recipe} is empty`);
            assert.ok(body.length <= MAX_RECIPE_LINES, `recipe ${recipe} has ${body.length} lines (at most ${MAX_RECIPE_LINES})`);
        }
    });

    it("has quickstarts with the wrapper's CLI and with one's own, with the environment lines", () => {
        const quickstart = section(readme, "## Quickstart").join("\n");
        for (const needed of ["npm run up", "PULUMI_CONFIG_PASSPHRASE=", "PULUMI_BACKEND_URL=", "pulumi stack select dev --create", ".pulumi-cli/"]) {
            assert.ok(quickstart.includes(needed), `the quickstart lacks ${needed}`);
        }
    });

    it("every passphrase the quickstarts and the example workflow set for the dev stack opens Pulumi.dev.yaml's salt", () => {
        // Pulumi checks any passphrase against a stack file's encryptionsalt ("incorrect passphrase" otherwise).
        const salt = stackSalt(ROOT, "dev");
        assert.ok(salt, "Pulumi.dev.yaml has no encryptionsalt");
        const quickstart = section(readme, "## Quickstart").join("\n");
        const set = [...quickstart.matchAll(/^\s*(?:export\s+)?PULUMI_CONFIG_PASSPHRASE=('[^']*'|"[^"]*"|\S+)/gm)].map((m) => m[1].replace(/^['"]|['"]$/g, ""));
        assert.ok(set.length >= 2, `both quickstarts set PULUMI_CONFIG_PASSPHRASE (found ${set.length})`);
        assert.match(quickstart, /pulumi stack select dev --create/);
        for (const passphrase of set) assert.equal(decryptsWith(passphrase, salt), true, `the quickstart's PULUMI_CONFIG_PASSPHRASE=${passphrase} does not open the dev stack`);
        const workflow = yaml.load(read(".github/workflows/replicaset.yml")) as { jobs: Record<string, { env?: Record<string, string> }> };
        for (const [name, job] of Object.entries(workflow.jobs)) {
            if (job.env?.STACK !== "dev") continue;
            const passphrase = String(job.env.PULUMI_CONFIG_PASSPHRASE);
            assert.equal(decryptsWith(passphrase, salt), true, `workflow job ${name}: PULUMI_CONFIG_PASSPHRASE ${passphrase} does not open the dev stack`);
        }
    });

    it("has a glossary of the words it uses: runbook, fenced, sidelined, given up, the note, half copy, probe row, …", () => {
        const glossary = section(readme, "## Glossary").join("\n");
        for (const term of ["runbook", "fenced", "sidelined", "given up", "the note", "half copy", "probe row", "errant GTIDs", "notDetached", "seed"]) {
            assert.match(glossary, new RegExp(`\\*\\*[^*]*\\b${term}\\b[^*]*\\*\\*`), `the glossary does not define ${term}`);
        }
    });

    it("names no tracker reference and tells no load average", () => {
        assert.deepEqual(trackerReferences(readme), []);
        assert.doesNotMatch(prose(readme), /load average/i);
    });

    it("has a configuration table with every key the loader reads, its default and one line each", () => {
        const rows = section(readme, "## Configuration").filter((line) => line.startsWith("|"));
        assert.equal(rows[0], "| key | default | description |");
        const cells = rows.slice(2).map((row) => row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim()));
        const keys = cells.map(([key]) => {
            const match = key.match(/^`(\w+)`$/);
            assert.ok(match, `a key cell in backticks: ${key}`);
            return match[1];
        });
        assert.deepEqual([...keys].sort(), [...PLAIN_KEYS, ...SECRET_KEYS].sort());
        for (const [key, fallback, description] of cells) {
            const name = key.replace(/`/g, "");
            const value = (DEFAULTS as Record<string, unknown>)[name];
            if (value !== undefined && value !== "") assert.ok(fallback.includes(`\`${value}\``), `${name}: the default cell says ${fallback}, the code ${value}`);
            assert.ok(description.length > 0 && description.length <= 120, `${name}: a description of one short line (${description.length} characters)`);
        }
    });

    it("names only files that exist in its code map", () => {
        const block = section(readme, "## Code map");
        const open = block.findIndex((line) => line.startsWith("```"));
        const close = block.findIndex((line, i) => i > open && line.startsWith("```"));
        assert.ok(open >= 0 && close > open, "the code map is a fenced block");
        // A bare file name is in the folder of its line's first path (an indented line: of the last unindented one).
        let context = "";
        const named: string[] = [];
        for (const line of block.slice(open + 1, close)) {
            const tokens = line.trim().split(/\s+/).map((t) => t.replace(/^[(`]+|[),;:`]+$/g, ""));
            if (!/^\s/.test(line)) context = tokens[0].endsWith("/") ? tokens[0] : tokens[0].includes("/") ? `${dirname(tokens[0])}/` : "";
            for (const token of tokens) {
                const isPath = /^[\w.-]+(\/[\w.-]+)*\/?$/.test(token) && (/\.(ts|md|sh|mjs|json|ya?ml)$/.test(token) || token.endsWith("/"));
                if (isPath) named.push(token.includes("/") ? token : `${context}${token}`);
            }
        }
        assert.ok(named.length > 30, `the code map names ${named.length} files`);
        const missing = named.filter((p) => !existsSync(join(ROOT, p)));
        assert.deepEqual(missing, []);
    });

    it("shows one complete `pulumi stack output --json` example under Outputs that npm run check accepts (exit 0)", async () => {
        const outputs = section(readme, "## Outputs");
        const starts = outputs.flatMap((line, i) => (line === "```json" ? [i] : []));
        assert.equal(starts.length, 1, "one json example under ## Outputs");
        const end = outputs.findIndex((line, i) => i > starts[0] && line === "```");
        const example = outputs.slice(starts[0] + 1, end).join("\n");
        const parsed = parseStackOutputs(JSON.parse(example));
        assert.ok(parsed.ok, `the example does not match the contract: ${parsed.ok ? "" : parsed.problems.join("; ")}`);
        assert.equal(judge(parsed.outputs).healthy, true);
        const file = join(mkdtempSync(join(tmpdir(), "readme-outputs-")), "outputs.json");
        writeFileSync(file, example);
        const run = await runCheck(file);
        assert.equal(run.code, 0, `npm run check -- --file exits ${run.code}: ${run.stderr}${run.stdout}`);
        assert.match(run.stdout, /HEALTHY: 2 of 2 replicas/);
    });
});

describe("docs/ and CHANGELOG.md", () => {
    it("exist for each topic README points to", () => {
        for (const doc of ["how-up-works", "roles", "seeding", "security", "hosts-and-router", "testing", "performance", "dialects", "outputs"]) {
            assert.ok(existsSync(join(ROOT, "docs", `${doc}.md`)), `docs/${doc}.md`);
        }
        assert.ok(existsSync(join(ROOT, "CHANGELOG.md")));
    });

    it("every relative link in README.md, CHANGELOG.md and docs/*.md resolves to a file, and its anchor to a heading", () => {
        const broken: string[] = [];
        for (const file of markdownFiles()) {
            for (const target of links(read(file))) {
                if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
                const [path, anchor] = target.split("#", 2);
                const resolved = path === "" ? file : join(dirname(file), path);
                if (!existsSync(join(ROOT, resolved))) {
                    broken.push(`${file}: ${target} (no file ${resolved})`);
                    continue;
                }
                if (anchor !== undefined && resolved.endsWith(".md") && !statSync(join(ROOT, resolved)).isDirectory()) {
                    if (!anchors(read(resolved)).has(anchor)) broken.push(`${file}: ${target} (no heading #${anchor} in ${resolved})`);
                }
            }
        }
        assert.deepEqual(broken, []);
    });

    it("tell the wrapper as it is (it logs in nowhere) and say how stacks made before its passphrase rules move on", () => {
        const howUpWorks = prose(read("docs/how-up-works.md"));
        assert.doesNotMatch(howUpWorks, /`pulumi logout` undoes the login/);
        const changelog = read("CHANGELOG.md");
        const newest = changelog.slice(changelog.indexOf("\n### "), changelog.indexOf("\n### ", changelog.indexOf("\n### ") + 1));
        for (const needed of [
            "PULUMI_CONFIG_PASSPHRASE=mysql-replicaset-dev pulumi stack change-secrets-provider passphrase",
            "encryptionsalt",
            "pulumi config rm",
            "replicationUser",
            "rootPassword",
            "router: none",
        ]) {
            assert.ok(newest.includes(needed), `the newest CHANGELOG day lacks ${needed}`);
        }
        assert.doesNotMatch(changelog.replace(/\s+/g, " "), /logs in to `\.pulumi-state\/` when you are not logged in, and uses the dev passphrase when none is set\./);
    });

    it("name no reference to our own tracker (history goes to CHANGELOG.md and commits)", () => {
        const found = markdownFiles().flatMap((file) => trackerReferences(read(file)).map((r) => `${file}: ${r}`));
        assert.deepEqual(found, []);
    });

    it("docs/DESIGN.md names only modules that exist under components/replication/", () => {
        const design = read("docs/DESIGN.md");
        const named = [...design.matchAll(/^\s+([a-zA-Z]+\.ts)\s/gm)].map((m) => m[1]);
        const missing = named.filter((f) => !["components/replication", "components", "components/router", "config"].some((d) => existsSync(join(ROOT, d, f))));
        assert.deepEqual(missing, []);
    });
});
