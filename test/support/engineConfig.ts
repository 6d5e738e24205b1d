/**
 * The Pulumi engine's project-config rules, mirrored from its source (pulumi/pulumi v3.259, read with `git show`):
 * - `sdk/go/common/workspace/project.go`, `Project.Validate`: a declared `default` must have the declared type
 *   (`ValidateConfigValue`); an `array` needs `items`; a key of another namespace declares no type or default.
 * - `pkg/workspace/config.go`, `ValidateStackConfigAndApplyProjectConfig` → `mergeConfig`: a key of the project's
 *   namespace declared without `default` (or `value`) that the stack does not set stops every command with
 *   `Stack '<stack>' is missing configuration value(s) '<key>'`; a key the stack does not set gets the declared
 *   default written into the stack's config (so the program reads it); then `validateStackConfigValues` checks
 *   every explicitly typed key's value against its type: `Stack '<stack>' with configuration key '<key>' must be
 *   of type '<type>'`.
 * - `sdk/go/common/resource/config/object.go`, `MarshalString`: a scalar in the stack file (bool, number) is kept
 *   as its text ("true", "365"); a list or map as JSON, decoded again (numbers as float64) before the type check.
 * Keys the project does not declare pass through untouched.
 */

/** A key under `config:` in Pulumi.yaml. */
export interface ProjectConfigType {
    type?: string;
    items?: { type: string; items?: unknown };
    default?: unknown;
    value?: unknown;
    secret?: boolean;
    description?: string;
}

/** `ValidateConfigValue` (project.go): whether `value` has the declared type. */
export function validateConfigValue(type: string, items: ProjectConfigType["items"], value: unknown): boolean {
    switch (type) {
        case "string":
            return typeof value === "string";
        case "integer":
            // int, a whole float64, or text strconv.Atoi takes.
            if (typeof value === "number") return Number.isInteger(value);
            return typeof value === "string" && /^[+-]?\d+$/.test(value);
        case "boolean":
            return typeof value === "boolean" || value === "true" || value === "false";
        case "object":
            return typeof value === "object" && value !== null && !Array.isArray(value);
    }
    if (!Array.isArray(value) || !items) return false;
    return value.every((item) => validateConfigValue(items.type, items.items as ProjectConfigType["items"], item));
}

function fullTypeName(type: string, items: ProjectConfigType["items"]): string {
    return items ? `array<${fullTypeName(items.type, items.items as ProjectConfigType["items"])}>` : type;
}

/** `Project.Validate` (project.go): the errors `pulumi` gives for Pulumi.yaml itself. */
export function validateProject(projectName: string, config: Record<string, ProjectConfigType>): string[] {
    const errors: string[] = [];
    for (const [key, declared] of Object.entries(config)) {
        if (declared.default !== undefined && declared.value !== undefined) errors.push(`project config '${key}' cannot have both a 'default' and 'value' attribute`);
        const ownNamespace = !key.includes(":") || key.startsWith(`${projectName}:`);
        if (ownNamespace) {
            if (declared.type === "array" && !declared.items) errors.push(`The configuration key '${key}' declares an array but does not specify the underlying type via the 'items' attribute`);
            if (declared.type !== undefined && declared.default !== undefined && !validateConfigValue(declared.type, declared.items, declared.default)) {
                errors.push(`The default value specified for configuration key '${key}' is not of the expected type '${fullTypeName(declared.type, declared.items)}'`);
            }
        } else if (declared.type !== undefined || declared.default !== undefined || declared.value === undefined) {
            errors.push(`Configuration key '${key}' is not namespaced by the project and must provide only 'value'`);
        }
    }
    return errors;
}

/** A stack file's value as the engine holds it (object.go MarshalString): text for scalars, decoded JSON otherwise. */
function engineValue(value: unknown): unknown {
    if (typeof value === "object" && value !== null) return JSON.parse(JSON.stringify(value));
    return String(value);
}

/**
 * `mergeConfig` with validation (config.go), for a stack whose config is `stackConfig` (namespaced keys as in
 * `Pulumi.<stack>.yaml`; `secure:` values count as set and are not type-checked here). Returns the engine's errors
 * (empty when it runs the program) and the config the program then sees (namespaced keys, the engine's values).
 */
export function applyProjectConfig(
    stackName: string,
    projectName: string,
    project: Record<string, ProjectConfigType>,
    stackConfig: Record<string, unknown>,
): { errors: string[]; config: Record<string, unknown> } {
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(stackConfig)) config[key.includes(":") ? key : `${projectName}:${key}`] = value;
    const missing: string[] = [];
    for (const key of Object.keys(project).sort()) {
        const declared = project[key];
        const full = key.includes(":") ? key : `${projectName}:${key}`;
        const hasDefault = declared.default !== undefined;
        const hasValue = declared.value !== undefined;
        if (!(full in config) && !hasValue && !hasDefault && full.startsWith(`${projectName}:`)) {
            missing.push(key);
            continue;
        }
        if (!(full in config)) config[full] = hasDefault ? declared.default : declared.value;
    }
    if (missing.length > 0) {
        const list = missing.length === 1 ? `'${missing[0]}'` : `${missing.slice(0, -1).map((k) => `'${k}'`).join(", ")} and '${missing.at(-1)}'`;
        return { errors: [`Stack '${stackName}' is missing configuration value${missing.length === 1 ? "" : "s"} ${list}`], config };
    }
    const errors: string[] = [];
    for (const key of Object.keys(project).sort()) {
        const declared = project[key];
        if (declared.type === undefined) continue;
        const full = key.includes(":") ? key : `${projectName}:${key}`;
        const value = config[full];
        const secure = typeof value === "object" && value !== null && "secure" in value;
        if (declared.secret && !secure) {
            errors.push(`Stack '${stackName}' with configuration key '${key}' must be encrypted as it's secret`);
            continue;
        }
        if (secure) continue;
        if (!validateConfigValue(declared.type, declared.items, engineValue(value))) {
            errors.push(`Stack '${stackName}' with configuration key '${key}' must be of type '${fullTypeName(declared.type, declared.items)}'`);
        }
    }
    return { errors, config };
}
