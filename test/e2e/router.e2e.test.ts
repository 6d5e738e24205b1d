/**
 * End to end: the router (issue #15) on a real Docker engine, with the HAProxy test image
 * (mysql-replicaset-test/haproxy:2.6, Debian bookworm's haproxy with the official image's contract). One set per
 * server image, reused across steps: writes through the writer endpoint are read through the reader endpoint;
 * the reader endpoint reaches every replica over 8 connections; a stopped replica leaves the reader pool and
 * returns by itself; after a role swap in config and an update (as `pulumi up`: no member's container changes —
 * the role is part of nothing declared for it —, the replication resource is updated by its provider, the router
 * replaced with the re-rendered configuration), the writer endpoint reaches the new source.
 *
 * Needs a Docker engine; without one it skips loudly, or fails when E2E_REQUIRED=1.
 */
import { after, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import Docker from "dockerode";
import * as mysql from "mysql2/promise";
import * as pulumi from "@pulumi/pulumi";
import { validateConfig } from "../../config/validate";
import { parseImageReference, versionFromTag } from "../../config/imageRef";
import type { ReplicaSetSettings } from "../../config/types";
import { ReplicaSet } from "../../components/replicaSet";
import { CHECK_TIMING } from "../../components/router/render";
import { ROUTER_CHECK_USER } from "../../config/accounts";
import { containerLogTail, DockerHooks } from "./dockerHooks";
import { SETTLE_SECONDS, eventually, freePorts, readVersions, removeRun, runtimeSettings, stepsOf, type TestImage, testImages, valueOf } from "./support";

const REPO = resolve(__dirname, "..", "..");
const REQUIRED = process.env.E2E_REQUIRED === "1";
const RUN = `rt${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 5)}`;
const ROUTER_IMAGE = "mysql-replicaset-test/haproxy:2.6";
const docker = new Docker();

/** MySQL 9.7 (caching_sha2_password check) and MariaDB 11.8 (mysql-check): the two check styles. */
const IMAGES: TestImage[] = testImages().filter((i) => i.image !== "mysql-replicaset-test/mariadb:10.11");

function prepare(): { engine?: string; problem?: string } {
    let engine: string;
    try {
        engine = execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 }).trim();
    } catch (error) {
        for (const i of IMAGES) i.title = `[${i.image}]`;
        return { problem: `no Docker engine answers (${(error as Error).message.split("\n")[0]}); start one with scripts/dockerd.sh start` };
    }
    try {
        execFileSync("bash", [join(REPO, "test/support/image/build-image.sh"), ...IMAGES.map((i) => i.image), ROUTER_IMAGE], { stdio: ["ignore", "ignore", "inherit"], timeout: 25 * 60_000 });
    } catch (error) {
        for (const i of IMAGES) i.title = `[${i.image}]`;
        return { engine, problem: `building the test images failed: ${(error as Error).message}` };
    }
    readVersions(IMAGES);
    return { engine };
}
const PREPARED = prepare();

/** 1 source + 2 replicas with the router on free ports. */
async function settingsWithRouter(image: TestImage, run: string): Promise<ReplicaSetSettings> {
    const [p1, p2, p3, writerPort, readerPort] = await freePorts(5);
    const tagSaysVersion = versionFromTag(parseImageReference(image.image)?.tag) !== undefined;
    return validateConfig({
        image: image.image,
        ...(tagSaysVersion ? {} : { version: image.version }),
        networkName: `${run}-net`,
        members: [
            { name: `${run}-db001`, role: "source", serverId: 100, hostPort: p1 },
            { name: `${run}-db002`, role: "replica", serverId: 200, hostPort: p2 },
            { name: `${run}-db003`, role: "replica", serverId: 300, hostPort: p3 },
        ],
        // Generous: MySQL's first initialisation took over 120 s on the shared 2-core machine under load.
        readinessTimeoutSeconds: 300,
        deleteDataOnDestroy: true,
        router: "haproxy",
        routerImage: ROUTER_IMAGE,
        writerPort,
        readerPort,
    });
}

const allHooks: DockerHooks[] = [];

async function runProgram(run: string, settings: ReplicaSetSettings, passwords: { rootPassword: string; replicationPassword: string }, previous?: DockerHooks) {
    const hooks = new DockerHooks({ docker, runId: RUN, projectDir: REPO, previous });
    allHooks.push(hooks);
    await pulumi.runtime.setMocks(hooks, "mysql-replicaset", `e2e-${run}`, false);
    hooks.observeResourceOptions();
    const set = new ReplicaSet(run, { settings, ...passwords });
    const values = Promise.all([valueOf(set.healthy), valueOf(set.endpoints), valueOf(set.router!.id)]);
    await values.catch(() => undefined);
    await runtimeSettings.waitForRPCs().catch(() => undefined);
    const [healthy, endpoints] = await values;
    return { hooks, healthy, endpoints };
}

function hostPort(endpoint: string): { host: string; port: number } {
    const i = endpoint.lastIndexOf(":");
    return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
}

async function onEndpoint<T = Record<string, unknown>>(endpoint: string, password: string, sql: string): Promise<T[]> {
    const connection = await mysql.createConnection({ ...hostPort(endpoint), user: "root", password, connectTimeout: 3000 });
    connection.on("error", () => undefined);
    try {
        const [result] = await connection.query(sql);
        return result as T[];
    } finally {
        await connection.end().catch(() => connection.destroy());
    }
}

/** The @@hostname of each of `n` connections opened together (held open, so leastconn spreads them). */
async function hostnamesOver(endpoint: string, password: string, n: number): Promise<string[]> {
    const connections = await Promise.all(
        Array.from({ length: n }, () => mysql.createConnection({ ...hostPort(endpoint), user: "root", password, connectTimeout: 3000 })),
    );
    try {
        const names: string[] = [];
        for (const c of connections) {
            c.on("error", () => undefined);
            const [rows] = await c.query("SELECT @@hostname AS h");
            names.push(String((rows as Array<{ h: string }>)[0].h));
        }
        return names;
    } finally {
        await Promise.all(connections.map((c) => c.end().catch(() => c.destroy())));
    }
}

const sorted = (names: Iterable<string>) => [...new Set(names)].sort();

after(async () => {
    for (const hooks of allHooks) hooks.host.stop();
    try {
        await removeRun(docker, RUN);
    } catch (error) {
        if (allHooks.length > 0) console.error(`router e2e cleanup of run ${RUN} failed: ${(error as Error).message}`);
    }
});

IMAGES.forEach((image, index) => {
    const T = image.title;
    const run = `${RUN}${index}`;
    test(`the router's endpoints follow the set on a real Docker engine ${T}`, { timeout: 15 * 60_000 }, async (t: TestContext) => {
        if (!PREPARED.engine) {
            const message = PREPARED.problem ?? "no Docker engine";
            if (REQUIRED) throw new Error(`E2E_REQUIRED=1 but ${message}`);
            console.error(`e2e: SKIPPED: ${message}`);
            t.skip(message);
            return;
        }
        if (PREPARED.problem) throw new Error(PREPARED.problem);

        // Steps share state; once one fails the rest are skipped.
        const step = stepsOf(t, T);

        const settings = await settingsWithRouter(image, run);
        const [source, ...replicas] = settings.members;
        const passwords = { rootPassword: "root-pw-e2e-router", replicationPassword: "repl-pw-e2e-router" };
        let first: Awaited<ReturnType<typeof runProgram>>;
        const routerLog = async () => `router log:\n${await containerLogTail(docker.getContainer(`${run}-router`), 40)}`;

        await step("the set with router: haproxy is up, healthy, and exports its endpoints", async () => {
            first = await runProgram(run, settings, passwords);
            assert.equal(first.healthy, true);
            assert.deepEqual(first.endpoints, { writer: `127.0.0.1:${settings.writerPort}`, reader: `127.0.0.1:${settings.readerPort}` });
            const info = await docker.getContainer(`${run}-router`).inspect();
            assert.equal(info.State.Running, true, await routerLog());
            // The check account: no privilege, host limited to the network, on every member (replicated).
            for (const m of settings.members) {
                const grants = await onEndpoint<Record<string, string>>(`127.0.0.1:${m.hostPort}`, passwords.rootPassword,
                    `SELECT CONCAT(User, '@', Host) AS who FROM mysql.user WHERE User = '${ROUTER_CHECK_USER}'`);
                assert.equal(grants.length, 1, `${m.name} has the check account`);
                assert.match(String(grants[0].who), /^replicaset_check@\d+\.\d+\.\d+\.\d+\/[\d.]+$/, `${m.name}: host limited to the network`);
            }
        });

        await step("the writer endpoint reaches the declared source; rows written through it are read through the reader", async () => {
            const { writer, reader } = first.endpoints;
            await eventually("the writer endpoint to reach the source", SETTLE_SECONDS, async () => {
                const [row] = await onEndpoint<{ h: string }>(writer, passwords.rootPassword, "SELECT @@hostname AS h");
                return row.h === source.name ? row : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
            await onEndpoint(writer, passwords.rootPassword, "CREATE DATABASE IF NOT EXISTS app");
            await onEndpoint(writer, passwords.rootPassword, "CREATE TABLE IF NOT EXISTS app.t (id VARCHAR(32) PRIMARY KEY)");
            await onEndpoint(writer, passwords.rootPassword, "INSERT INTO app.t VALUES ('through-writer')");
            const [row] = await eventually("the row through the reader endpoint", SETTLE_SECONDS, async () => {
                const found = await onEndpoint<{ id: string; h: string }>(reader, passwords.rootPassword, "SELECT id, @@hostname AS h FROM app.t");
                return found.length === 1 ? found : undefined;
            });
            assert.equal(row.id, "through-writer");
            assert.ok(replicas.some((r) => r.name === row.h), `the reader endpoint answered from a replica, not ${row.h}`);
        });

        await step("over 8 connections the reader endpoint reaches every replica, and never the source while they are up", async () => {
            const names = await eventually("every replica behind the reader endpoint", SETTLE_SECONDS, async () => {
                const seen = await hostnamesOver(first.endpoints.reader, passwords.rootPassword, 8);
                return sorted(seen).join() === sorted(replicas.map((r) => r.name)).join() ? seen : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
            assert.equal(names.length, 8);
            // The wait above kept only a sample without the source: a fresh one must have none either.
            const again = await hostnamesOver(first.endpoints.reader, passwords.rootPassword, 8);
            assert.ok(!again.includes(source.name), `the source answered on the reader endpoint with every replica up: ${again.join(", ")}`);
        });

        await step("a stopped replica leaves the reader pool within seconds; with none up the source serves reads; they return by themselves", async () => {
            const [stopped, other] = replicas;
            await docker.getContainer(stopped.name).stop({ t: 10 });
            const leftAfter = Date.now();
            await eventually(`${stopped.name} to leave the reader pool`, SETTLE_SECONDS, async () => {
                const seen = await hostnamesOver(first.endpoints.reader, passwords.rootPassword, 8);
                return sorted(seen).join() === other.name ? seen : undefined;
            });
            const tookMs = Date.now() - leftAfter;
            console.log(`router e2e ${T}: ${stopped.name} out of the reader pool ${tookMs} ms after docker stop returned`);
            // The checks take it out in about (fall + 1) × interval (3 s); the bound is ten times that, so a loaded
            // machine passes and a check that stopped working (or runs every 30 s) does not.
            const bound = 10 * (CHECK_TIMING.fall + 1) * CHECK_TIMING.intervalMs;
            assert.ok(tookMs < bound, `${stopped.name} left the reader pool after ${tookMs} ms (bound ${bound} ms)`);
            // The source is a backup server of the reader: it answers only once no replica is up.
            await docker.getContainer(other.name).stop({ t: 10 });
            await eventually("the source behind the reader endpoint with no replica up", SETTLE_SECONDS, async () => {
                const seen = await hostnamesOver(first.endpoints.reader, passwords.rootPassword, 4);
                return sorted(seen).join() === source.name ? seen : undefined;
            });
            await Promise.all([docker.getContainer(stopped.name).start(), docker.getContainer(other.name).start()]);
            await eventually("both replicas back in the reader pool, and the source out of it", SETTLE_SECONDS, async () => {
                const seen = await hostnamesOver(first.endpoints.reader, passwords.rootPassword, 8);
                return sorted(seen).join() === sorted(replicas.map((r) => r.name)).join() ? seen : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
        });

        await step("after a role swap in config and an update, the writer endpoint reaches the new source", async () => {
            const promoted = replicas[0];
            const swapped: ReplicaSetSettings = {
                ...settings,
                members: settings.members.map((m) => ({ ...m, role: m.name === promoted.name ? "source" : "replica" })),
            };
            const configBefore = (await docker.getContainer(`${run}-router`).inspect()).Id;
            const membersBefore = await Promise.all(settings.members.map(async (m) => (await docker.getContainer(m.name).inspect()).Id));
            const second = await runProgram(run, swapped, passwords, first.hooks);
            assert.equal(second.healthy, true);
            assert.notEqual((await docker.getContainer(`${run}-router`).inspect()).Id, configBefore, "the router was replaced with the re-rendered configuration");
            const membersAfter = await Promise.all(settings.members.map(async (m) => (await docker.getContainer(m.name).inspect()).Id));
            assert.deepEqual(membersAfter, membersBefore, "a member's container was replaced by the role swap");
            await eventually("the writer endpoint to reach the new source", SETTLE_SECONDS, async () => {
                const [row] = await onEndpoint<{ h: string; ro: number }>(second.endpoints.writer, passwords.rootPassword, "SELECT @@hostname AS h, @@read_only AS ro");
                return row.h === promoted.name ? row : undefined;
            }).catch(async (e: Error) => assert.fail(`${e.message}\n${await routerLog()}`));
            await onEndpoint(second.endpoints.writer, passwords.rootPassword, "INSERT INTO app.t VALUES ('after-swap')");
            const names = await eventually("the old source among the readers", SETTLE_SECONDS, async () => {
                const seen = await hostnamesOver(second.endpoints.reader, passwords.rootPassword, 8);
                return sorted(seen).join() === sorted([source.name, replicas[1].name]).join() ? seen : undefined;
            });
            assert.ok(!names.includes(promoted.name));
            await eventually("the new row through the reader", SETTLE_SECONDS, async () => {
                const rows = await onEndpoint<{ id: string }>(second.endpoints.reader, passwords.rootPassword, "SELECT id FROM app.t WHERE id = 'after-swap'");
                return rows.length === 1 ? rows : undefined;
            });
            await second.hooks.destroy();
        });
    });
});
