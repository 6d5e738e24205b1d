/**
 * What the engine does after the program has run, and what README tells a user to do about it (issue 35, 1c):
 * - `pulumi destroy` does not run the program: a DeleteStep skips a resource whose state says `RetainOnDelete`
 *   (pulumi/pulumi `pkg/resource/deploy/step.go`, DeleteStep.Apply: `} else if s.old.RetainOnDelete {`), and a
 *   `command` resource's delete is its state's `delete`. So `deleteDataOnDestroy` acts through the last `up`: README
 *   says to `up` after setting it, and the wrapper passes `destroy` to pulumi as it is.
 * - the dynamic provider host runs `read` and `delete` with the provider text saved in the state (`getProvider(props)`),
 *   `update` with the new one and stores it (`getProvider(news)`, `resultIncludingProvider(result.outs, news)`)
 *   (`sdk/nodejs/cmd/dynamic-provider/index.ts`). Our diff does not count a new provider text as a change, so a fix
 *   reaches `refresh`/`destroy` after an `up` that changes an input: README gives one that re-points nothing.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { validateConfig } from "../../config/validate";
import { ReplicaSet } from "../../components/replicaSet";
import { diffInputs, planUpdate } from "../../components/replication/plan";
import type { ReplicationInputs } from "../../components/replication/types";
import { find, ofType, readStackConfig, reveal, runProgram, TYPES } from "../support/pulumiMocks";

const REPO = join(__dirname, "..", "..");
const NAME = "mysql-replicaset";
/** README.md and docs/*.md together: the statements may sit in either (README points to docs/ for depth). */
const DOCS = ["README.md", ...(existsSync(join(REPO, "docs")) ? readdirSync(join(REPO, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f)) : [])]
    .map((file) => readFileSync(join(REPO, file), "utf8"))
    .join("\n");

async function declared(raw: Record<string, unknown>) {
    const run = await runProgram(() => new ReplicaSet(NAME, { settings: validateConfig({ ...readStackConfig("dev").raw, ...raw }) }));
    assert.equal(run.error, undefined, String(run.error));
    return run;
}

describe("deleteDataOnDestroy with the real engine's destroy", () => {
    test("the setting lives in the state as each volume's retainOnDelete (what destroy reads), so it takes effect at an up", async () => {
        const kept = ofType((await declared({})).resources, TYPES.volume);
        const deleted = ofType((await declared({ deleteDataOnDestroy: true })).resources, TYPES.volume);
        assert.ok(kept.length > 0 && kept.every((v) => v.retainOnDelete === true));
        assert.ok(deleted.length === kept.length && deleted.every((v) => v.retainOnDelete === false));
    });

    test("the documentation says: it takes effect at the next up, so set it, npm run up, then npm run destroy", () => {
        assert.match(DOCS, /`deleteDataOnDestroy`[^\n]*takes effect at the next `pulumi up`: `pulumi destroy` does not run the program/);
        assert.match(DOCS, /set it, `npm run up`, then `npm run destroy`/);
    });
});

describe("the provider code in the state", () => {
    let inputs: ReplicationInputs & { __provider: string };

    test("a new provider text alone is no change: an up keeps the saved code (nothing is redone on the servers)", async () => {
        const run = await declared({});
        inputs = reveal(find(run.resources, TYPES.replication, `${NAME}-replication`).inputs);
        assert.equal(diffInputs(inputs, { ...inputs, __provider: `${inputs.__provider}\n// fixed` } as ReplicationInputs).changes, false);
    });

    test("README's way to take a fix (readinessTimeoutSeconds changed) is an update that re-points, detaches and drops nothing", async () => {
        const changedRun = await declared({ readinessTimeoutSeconds: 301 });
        const changed: ReplicationInputs = reveal(find(changedRun.resources, TYPES.replication, `${NAME}-replication`).inputs);
        const { rootPassword: _a, replicationPassword: _b, ...plain } = changed;
        // Passwords are generated per run under mocks: take the old ones so only the timeout differs.
        const news = { ...plain, rootPassword: inputs.rootPassword, replicationPassword: inputs.replicationPassword } as ReplicationInputs;
        assert.equal(diffInputs(inputs, news).changes, true);
        const plan = planUpdate(inputs, news);
        assert.deepEqual([...plan.reconfigure], []);
        assert.deepEqual(plan.detach, []);
        assert.deepEqual(plan.dropAccounts, []);
        assert.equal(plan.previousSource, undefined);
        assert.equal(plan.rotateTls, undefined);
        assert.match(DOCS, /To take a fix now,\s+change an input that re-points nothing, e\.g\. `pulumi config set readinessTimeoutSeconds 301`/);
    });
});
