/**
 * Pure: the declared topology → haproxy.cfg of the router (issues #15, #31). No I/O, no Pulumi.
 *
 * - writer frontend → one fit (writable, `read_only = 0`) member, never a read-only one, never two: the declared
 *   source while it is writable; otherwise a writable replica — the first usable backup server (HAProxy uses one
 *   backup, unless `option allbackups`), and then that same one for as long as it stays writable (a one-entry
 *   stick table, used only while the source is unfit), so a replica earlier in declared order that turns writable
 *   later does not take new connections while old ones stay on the other. Sessions do not outlive their member's
 *   fitness: a server that turns unfit has its sessions cut (`on-marked-down shutdown-sessions`), and the declared
 *   source, when writable again, cuts every session on the replicas (`on-marked-up shutdown-backup-sessions`).
 * - reader frontend → the fit replicas with `balance leastconn` (both replication threads running, heartbeat lag
 *   at most readerMaxLagSeconds); the source as a `backup` server, used only while no replica is fit, and as
 *   long as it answers at all (it tracks the `source_alive` backend's login check); when neither is usable (the
 *   source down: its replicas' receivers stop running, so every replica is unfit too), the last resort: every
 *   replica that answers the same login check (`reader_any`), reads possibly stale rather than refused;
 * - checks are HAProxy's own tcp-check (check.ts), every second, every 500 ms while a server changes state:
 *   down after 2 failures, up after 2 successes;
 * - server names resolved through Docker's embedded DNS at run time, so a member that is down when the router
 *   starts, or comes back with another address, does not keep the router from starting or the member away;
 *   a member on another Docker host is a host address and published port (placement.ts), checked the same way.
 *
 * Why leastconn: MySQL clients hold connections (pools) for a long time and the work per connection varies,
 * so the open connections are what loads a replica; roundrobin balances new connections only. HAProxy's
 * leastconn rotates among servers of equal load, so short-lived connections are spread round robin as well.
 */
import { isIP } from "node:net";
import { tcpCheckLines, type CheckFlavor } from "./check";
export { checkFlavorFor } from "./check";

/** The ports the router listens on inside its container (not privileged: the official image runs as haproxy). */
export const WRITER_PORT = 6446;
export const READER_PORT = 6447;

/** Where the official image (and the test image) reads its configuration: `haproxy -f <this>`. */
export const ROUTER_CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg";

export interface RouterServer {
    /** Member name: the server's name in HAProxy's logs and stats. */
    name: string;
    /**
     * Where the router dials it: the member's alias inside the network on the router's own host; with members on
     * several hosts, another host's address (a name, or an IP) for a member there.
     */
    host: string;
    port: number;
}

export interface RouterTopology {
    source: RouterServer;
    replicas: RouterServer[];
    checkUser: string;
    checkFlavor: CheckFlavor;
    /** A replica whose heartbeat is older leaves the reader pool; 0: no lag limit. */
    readerMaxLagSeconds: number;
}

/**
 * HAProxy check timing: a check every second, every 500 ms once a check disagrees with the server's state; down
 * after 2 failures, up after 2 successes. A change is seen within intervalMs + (fall - 1) × fastIntervalMs plus
 * one check's duration: 1.5 s and a few ms.
 */
export const CHECK_TIMING = { intervalMs: 1000, fastIntervalMs: 500, fall: 2, rise: 2 } as const;

/** The haproxy.cfg of a topology. Deterministic: the same topology gives the same text (no container churn). */
export function renderHaproxyConfig(t: RouterTopology): string {
    for (const server of [t.source, ...t.replicas]) {
        // Names and aliases come from validated config (DNS labels); anything else would break the file's syntax.
        if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(server.name) || !(/^[A-Za-z0-9.-]+$/.test(server.host) || isIP(server.host) === 6) || !Number.isInteger(server.port)) {
            throw new Error(`router server ${JSON.stringify(server)}: names must be DNS labels, hosts host names or IP addresses, ports whole numbers`);
        }
    }
    if (!Number.isInteger(t.readerMaxLagSeconds) || t.readerMaxLagSeconds < 0) throw new Error(`readerMaxLagSeconds ${t.readerMaxLagSeconds}: a whole number of seconds, 0 for no limit`);
    const check = (kind: "writer" | "reader" | "alive") => tcpCheckLines(t.checkUser, t.checkFlavor, kind, t.readerMaxLagSeconds).map((l) => `    ${l}`);
    // An IPv6 address in brackets: HAProxy reads the port after the last colon, brackets make that explicit.
    const address = (s: RouterServer) => (isIP(s.host) === 6 ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`);
    const server = (s: RouterServer, extra = " check") => `    server ${s.name} ${address(s)}${extra}`;
    const lag = t.readerMaxLagSeconds > 0 ? `, heartbeat lag <= ${t.readerMaxLagSeconds} s` : ", no lag limit";
    return [
        "# Rendered by mysql-replicaset (components/router/render.ts) from the declared topology. Do not edit:",
        "# `pulumi up` replaces the router container whenever this text changes (a switchover, a new replica).",
        `# writer :${WRITER_PORT} -> ${t.source.name} while writable, else the first writable of ${t.replicas.map((r) => r.name).join(", ") || "(none)"}; never two`,
        `# reader :${READER_PORT} -> the fit of ${t.replicas.map((r) => r.name).join(", ")} (threads running${lag}; leastconn); ${t.source.name} only while none is fit; any alive replica while ${t.source.name} is down too`,
        "global",
        "    log stdout format raw local0",
        "    maxconn 4096",
        "",
        // Docker's embedded DNS: members are found by alias, again after a restart gives them another address.
        "resolvers docker",
        "    nameserver dns 127.0.0.11:53",
        "    resolve_retries 3",
        "    timeout resolve 1s",
        "    timeout retry 1s",
        "    hold valid 5s",
        "    hold nx 1s",
        "    hold other 1s",
        "    hold obsolete 1s",
        "",
        "defaults",
        "    mode tcp",
        "    log global",
        "    option tcplog",
        "    option log-health-checks",
        "    timeout connect 3s",
        // A MySQL session may idle as long as the server's wait_timeout (8 h by default).
        "    timeout client 8h",
        "    timeout server 8h",
        "    timeout check 2s",
        // init-addr last,libc,none: a member that does not resolve at start (stopped) starts in maintenance and
        // joins when it resolves. on-marked-down shutdown-sessions: clients of a member that turned unfit are cut
        // at once and reconnect to a fit one (for the writer: to the next writable member, or to nothing).
        `    default-server inter ${CHECK_TIMING.intervalMs}ms fastinter ${CHECK_TIMING.fastIntervalMs}ms fall ${CHECK_TIMING.fall} rise ${CHECK_TIMING.rise} ` +
            "resolvers docker resolve-prefer ipv4 init-addr last,libc,none on-marked-down shutdown-sessions",
        "",
        "frontend writer",
        `    bind :${WRITER_PORT}`,
        "    default_backend writer",
        "",
        "backend writer",
        ...check("writer"),
        // While the source is unfit, every connection goes where the first one went, as long as that replica stays
        // fit; when it does not, the next connection takes the first usable backup and is remembered. One key, but
        // room for every connection at once: each connection's store holds an entry of its own until it is written
        // back, and a full table drops its oldest entry, the one key (seen on HAProxy 2.6.12 with size 1: 3 of 8
        // connections opened together went to another writable replica).
        "    stick-table type integer size 8k",
        `    stick on int(0) unless { srv_is_up(writer/${t.source.name}) }`,
        // The source is the one active server: fit again, it takes the writer back from any replica at once.
        server(t.source, " check on-marked-up shutdown-backup-sessions"),
        // Backups: only the first usable one takes connections (no `option allbackups`).
        ...t.replicas.map((r) => server(r, " check backup")),
        "",
        "frontend reader",
        `    bind :${READER_PORT}`,
        // nbsrv counts the usable servers, a usable backup among them: reader_any only while neither a fit
        // replica nor the source is up.
        "    use_backend reader_any if { nbsrv(reader) lt 1 }",
        "    default_backend reader",
        "",
        "backend reader",
        "    balance leastconn",
        ...check("reader"),
        ...t.replicas.map((r) => server(r)),
        // A backup server takes traffic only while no replica is fit; its state is the source_alive check's.
        server(t.source, ` backup track source_alive/${t.source.name}`),
        "",
        // The reader's last resort: the replicas that accept the login check, fit or not.
        "backend reader_any",
        "    balance leastconn",
        ...check("alive"),
        ...t.replicas.map((r) => server(r)),
        "",
        // No frontend: the source's login check, which the reader's backup follows.
        "backend source_alive",
        ...check("alive"),
        server(t.source),
        "",
    ].join("\n");
}
