/**
 * Pulumi.yaml against the engine's project-config rules (test/support/engineConfig.ts mirrors them from pulumi/pulumi
 * `pkg/workspace/config.go` ValidateStackConfigAndApplyProjectConfig and `sdk/go/common/workspace/project.go`
 * Project.Validate / ValidateConfigValue): the engine checks them before it runs any program, so a declared key with
 * no default that a stack does not set stops every `pulumi up`, `preview` and `destroy` of that stack.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as yaml from "js-yaml";
import { applyProjectConfig, validateProject, type ProjectConfigType } from "../support/engineConfig";

const REPO = join(__dirname, "..", "..");
const project = yaml.load(readFileSync(join(REPO, "Pulumi.yaml"), "utf8")) as { name: string; config?: Record<string, ProjectConfigType> };
const declared = project.config ?? {};

/** Every shipped stack file, plus an empty stack (a `pulumi stack init` with no config yet). */
function stacks(): Array<{ name: string; config: Record<string, unknown> }> {
    const files = readdirSync(REPO).filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f));
    assert.ok(files.length > 0, "no Pulumi.<stack>.yaml in the repository");
    return [
        ...files.map((file) => ({
            name: file.slice("Pulumi.".length, -".yaml".length),
            config: ((yaml.load(readFileSync(join(REPO, file), "utf8")) ?? {}) as { config?: Record<string, unknown> }).config ?? {},
        })),
        { name: "empty", config: {} },
    ];
}

describe("the engine's project-config rules (pulumi/pulumi pkg/workspace/config.go)", () => {
    test("the mirror refuses what the engine's own test refuses (config_project_test.go: TestStackConfigErrorsWhenMissingTwoStackValueForConfigTypeWithNoDefault)", () => {
        const { errors } = applyProjectConfig("dev", "test", { another: { type: "string" }, values: { type: "array", items: { type: "string" } } }, {});
        assert.deepEqual(errors, ["Stack 'dev' is missing configuration values 'another' and 'values'"]);
        // A declared type is checked against the stack's value; text digits pass as an integer (strconv.Atoi).
        assert.deepEqual(applyProjectConfig("dev", "test", { n: { type: "integer", default: 1 } }, { "test:n": "ten" }).errors, [
            "Stack 'dev' with configuration key 'n' must be of type 'integer'",
        ]);
        assert.deepEqual(applyProjectConfig("dev", "test", { n: { type: "integer", default: 1 } }, { "test:n": 7 }).errors, []);
        assert.deepEqual(applyProjectConfig("dev", "test", { s: { type: "string", default: "" } }, { "test:s": [1] }).errors, [
            "Stack 'dev' with configuration key 's' must be of type 'string'",
        ]);
    });

    test("Pulumi.yaml itself passes Project.Validate (every default has its declared type)", () => {
        assert.deepEqual(validateProject(project.name, declared), []);
    });

    for (const stack of stacks()) {
        test(`stack ${stack.name}: the engine runs the program (no declared key missing, every value of its declared type)`, () => {
            assert.deepEqual(applyProjectConfig(stack.name, project.name, declared, stack.config).errors, []);
        });
    }

    test("every declared key has a default: a stack that sets nothing still runs", () => {
        const noDefault = Object.entries(declared).filter(([, d]) => d.default === undefined && d.value === undefined).map(([k]) => k);
        assert.deepEqual(noDefault, []);
    });
});
