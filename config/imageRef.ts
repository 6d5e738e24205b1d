/**
 * Pure parsing of Docker image references, and what a reference says about the server inside.
 * The flavor and version decide the mysqld flag names, and flags must be rendered before the server exists,
 * so they are read from the reference (or stated in config) rather than from the live server.
 */
import type { Flavor, ServerVersion } from "./types";

export interface ImageReference {
    /** Registry host with optional port, when the reference names one. */
    registry?: string;
    /** Repository path without registry, e.g. `library/mysql` is written `mysql`. */
    repository: string;
    tag?: string;
    digest?: string;
}

// Grammar from the distribution reference spec (github.com/distribution/reference, reference.go).
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?";
const REFERENCE = new RegExp(
    `^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::([\\w][\\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$`,
);

/** Parses `[registry/]repo[:tag][@digest]`; returns undefined when the text is not a valid reference. */
export function parseImageReference(text: string): ImageReference | undefined {
    const match = REFERENCE.exec(text);
    if (!match) return undefined;
    let registry: string | undefined = match[1];
    let repository = match[2];
    const tag: string | undefined = match[3];
    const digest: string | undefined = match[4];
    // A first component without a dot, colon or "localhost" is a path component, not a registry.
    if (registry && !/[.:]/.test(registry) && registry !== "localhost") {
        // Then it must also be a valid path component: `Foo/mysql` is not a reference (paths are lowercase).
        if (!new RegExp(`^${COMPONENT}$`).test(registry)) return undefined;
        repository = `${registry}/${repository}`;
        registry = undefined;
    }
    if (repository.length > 255) return undefined;
    return { registry, repository, tag, digest };
}

/** The flavor a repository name implies: the last path component decides (percona/percona-server → percona). */
export function flavorFromRepository(repository: string): Flavor | undefined {
    const last = repository.split("/").pop() ?? "";
    if (last.includes("mariadb")) return "mariadb";
    if (last.includes("percona")) return "percona";
    if (last === "mysql" || last === "mysql-server" || last.startsWith("mysql-")) return "mysql";
    return undefined;
}

/**
 * The version a tag implies: `5.7.30`, `8.0.36-28`, `8.4-oracle`, `11.4`. A tag without a patch floats to
 * the newest patch of that minor release, so its patch is taken as Infinity (the newest flag names apply).
 */
export function versionFromTag(tag: string | undefined): ServerVersion | undefined {
    if (!tag) return undefined;
    const match = /^(\d+)\.(\d+)(?:\.(\d+))?(?![\d.])/.exec(tag);
    if (!match) return undefined;
    return parseVersionNumbers(match[1], match[2], match[3]);
}

/** Parses a version written in config: `5.7.30`, `8.0`, `11.4.2`. */
export function parseVersion(text: string): ServerVersion | undefined {
    const match = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text.trim());
    return match ? parseVersionNumbers(match[1], match[2], match[3]) : undefined;
}

function parseVersionNumbers(major: string, minor: string, patch: string | undefined): ServerVersion {
    return { major: Number(major), minor: Number(minor), patch: patch === undefined ? Infinity : Number(patch) };
}

/** True when `version` is at least `major.minor.patch`. */
export function versionAtLeast(version: ServerVersion, major: number, minor: number, patch = 0): boolean {
    if (version.major !== major) return version.major > major;
    if (version.minor !== minor) return version.minor > minor;
    return version.patch >= patch;
}

export function formatVersion(version: ServerVersion): string {
    return Number.isFinite(version.patch)
        ? `${version.major}.${version.minor}.${version.patch}`
        : `${version.major}.${version.minor}`;
}

/** The clone plugin (seedMethod clone): MySQL and Percona Server 8.0.17 and newer; MariaDB has none. */
export function cloneCapable(flavor: Flavor, version: ServerVersion): boolean {
    return flavor !== "mariadb" && versionAtLeast(version, 8, 0, 17);
}
