/**
 * Reads the stack's config through Pulumi and validates it. The only config module that touches Pulumi.
 */
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_KEYS, KEY_NAMES, type ConfigKeyName } from "./keys";
import { SECRET_VALUE, validateConfig, type RawConfig } from "./validate";
import type { ReplicaSetSettings } from "./types";

/** Every plain (non-secret) key the project reads (config/keys.ts); secrets are read separately as Outputs. */
export const PLAIN_KEYS: readonly ConfigKeyName[] = CONFIG_KEYS.filter((k) => !("secret" in k && k.secret)).map((k) => k.name);

/** TLS material of a tcp:// engine (secret config `hostTls.<host>`), as the Docker provider takes it. */
export interface HostTlsMaterial {
    ca?: string;
    cert?: string;
    key?: string;
}

export interface LoadedConfig {
    settings: ReplicaSetSettings;
    /** Secret config values when the user set them; otherwise the component generates passwords. */
    rootPassword?: pulumi.Output<string>;
    replicationPassword?: pulumi.Output<string>;
    /** Secret `hostTls`: TLS material per host name, for tcp:// engines. */
    hostTls?: pulumi.Output<Record<string, HostTlsMaterial>>;
}

/** Loads and validates the stack config; throws ConfigError (naming each key) before anything is declared. */
export function loadConfig(config = new pulumi.Config()): LoadedConfig {
    const raw: RawConfig = {};
    // The engine hands the program every key of the stack (PULUMI_CONFIG): one in the project's namespace that no
    // table entry names is a mistake (a typo runs the default), refused by validateConfig with the closest key.
    const prefix = `${config.name}:`;
    for (const [full, text] of Object.entries(pulumi.runtime.allConfig())) {
        const key = full.slice(prefix.length);
        if (!full.startsWith(prefix) || KEY_NAMES.includes(key)) continue;
        raw[key] = isSecretKey(full) ? SECRET_VALUE : parseStructured(text);
    }
    for (const key of PLAIN_KEYS) {
        const text = config.get(key);
        // Empty means unset: Pulumi.yaml declares optional keys with "" as their default.
        if (text === undefined || text === "") continue;
        raw[key] = key === "members" || key === "hosts" ? parseStructured(text) : text;
    }
    // The passwords' plain text, only to check their length before anything is declared (validateConfig never
    // returns or shows them); the component receives them as secrets below. Set-but-empty counts as set.
    for (const key of ["rootPassword", "replicationPassword"] as const) {
        const text = config.get(key);
        if (text !== undefined) raw[key] = text;
    }
    // Only the host names of the secret hostTls are validated (its material never reaches the settings).
    const hostTlsText = config.get("hostTls");
    if (hostTlsText !== undefined && hostTlsText !== "") {
        const parsed = parseStructured(hostTlsText);
        raw.hostTls = parsed && typeof parsed === "object" && !Array.isArray(parsed) ? Object.keys(parsed) : "(not an object)";
    }
    return {
        settings: validateConfig(raw),
        hostTls: hostTlsText ? config.getSecretObject<Record<string, HostTlsMaterial>>("hostTls") : undefined,
        rootPassword: config.getSecret("rootPassword"),
        replicationPassword: config.getSecret("replicationPassword"),
    };
}

/**
 * Whether the stack set `key` (namespaced) as a secret: the SDK's own test (PULUMI_CONFIG_SECRET_KEYS), which it
 * marks internal; should it go away, every unknown key counts as secret and its value is not shown.
 */
function isSecretKey(key: string): boolean {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
    return typeof runtimeConfig.isConfigSecret === "function" ? runtimeConfig.isConfigSecret(key) : true;
}

/**
 * Structured values arrive as JSON text. Scalars stay text (the validator converts numbers and booleans):
 * JSON-parsing `version: "8.0"` would turn it into the number 8.
 */
function parseStructured(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}
