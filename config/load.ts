/**
 * Reads the stack's config through Pulumi and validates it. The only config module that touches Pulumi.
 */
import * as pulumi from "@pulumi/pulumi";
import { validateConfig, type RawConfig } from "./validate";
import type { ReplicaSetSettings } from "./types";

/** Every plain (non-secret) key the project reads; secrets are read separately as Outputs. */
export const PLAIN_KEYS = [
    "image",
    "flavor",
    "version",
    "networkName",
    "bindAddress",
    "storage",
    "storageRoot",
    "dataOwner",
    "members",
    "replicationUser",
    "replicationUserHost",
    "replicationTls",
    "tlsValidityDays",
    "connectRetrySeconds",
    "readinessTimeoutSeconds",
    "verifyReplication",
    "heartbeatIntervalMs",
    "readerMaxLagSeconds",
    "deleteDataOnDestroy",
    "checkHostPorts",
    "restartPolicy",
    "failover",
    "router",
    "routerImage",
    "writerPort",
    "readerPort",
    "routerHost",
    "hosts",
    "seedMethod",
] as const;

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
