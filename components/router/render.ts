/**
 * Pure: the declared topology → haproxy.cfg of the router (issue #15). No I/O, no Pulumi.
 *
 * - writer frontend → the declared source only;
 * - reader frontend → the replicas with `balance leastconn`, the source as a `backup` server, used only while
 *   no replica is up;
 * - health checks that speak MySQL with a password-less account without privileges (created by the provider,
 *   components/replication/routerAccount.ts), every second: a stopped member leaves its pool within ~2 s
 *   (fall 2) and returns after one good check (rise 1);
 * - server names resolved through Docker's embedded DNS at run time, so a member that is down when the router
 *   starts, or comes back with another address, does not keep the router from starting or the member away;
 *   a member on another Docker host is a host address and published port (placement.ts), checked the same way.
 *
 * Why leastconn: MySQL clients hold connections (pools) for a long time and the work per connection varies,
 * so the open connections are what loads a replica; roundrobin balances new connections only. HAProxy's
 * leastconn rotates among servers of equal load, so short-lived connections are spread round robin as well.
 */
import { isIP } from "node:net";
import type { Flavor, ServerVersion } from "../../config/types";

/** The ports the router listens on inside its container (not privileged: the official image runs as haproxy). */
export const WRITER_PORT = 6446;
export const READER_PORT = 6447;

/** Where the official image (and the test image) reads its configuration: `haproxy -f <this>`. */
export const ROUTER_CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg";

/**
 * How the router's health check logs in:
 * - `mysql-check`: HAProxy's `option mysql-check user <u> post-41`. Its handshake response has no
 *   CLIENT_PLUGIN_AUTH, so the server takes it for mysql_native_password: fine on MariaDB and MySQL 5.7,
 *   where the account uses that plugin.
 * - `caching-sha2`: MySQL 8.0+. mysql_native_password is off by default in 8.4 and gone in 9.x, and a
 *   caching_sha2_password account answers mysql-check with 1251 ("Client does not support authentication
 *   protocol", seen on MySQL 9.7.4 with HAProxy 2.6.12); HAProxy 3.4's `post-80` announces
 *   mysql_native_password and so gets an auth switch request, which it counts as a success while the server
 *   counts an aborted connection. So the check sends its own handshake response, announcing
 *   caching_sha2_password with an empty password: the server answers OK at once (an empty caching_sha2
 *   password needs no exchange), then reads the pipelined COM_QUIT and closes cleanly.
 */
export type CheckStyle = "mysql-check" | "caching-sha2";

/** The check a server of this flavor and version needs (its accounts' default authentication plugin). */
export function checkStyleFor(flavor: Flavor, version: ServerVersion): CheckStyle {
    return flavor !== "mariadb" && version.major >= 8 ? "caching-sha2" : "mysql-check";
}

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
    checkStyle: CheckStyle;
}

/** HAProxy check timing: a check every second; down after 2 failures, up again after 1 success. */
export const CHECK_TIMING = { intervalMs: 1000, fall: 2, rise: 1 } as const;

/** The haproxy.cfg of a topology. Deterministic: the same topology gives the same text (no container churn). */
export function renderHaproxyConfig(t: RouterTopology): string {
    if (!/^[A-Za-z0-9_]{1,32}$/.test(t.checkUser)) throw new Error(`checkUser ${JSON.stringify(t.checkUser)}: use 1 to 32 letters, digits or _`);
    for (const server of [t.source, ...t.replicas]) {
        // Names and aliases come from validated config (DNS labels); anything else would break the file's syntax.
        if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(server.name) || !(/^[A-Za-z0-9.-]+$/.test(server.host) || isIP(server.host) === 6) || !Number.isInteger(server.port)) {
            throw new Error(`router server ${JSON.stringify(server)}: names must be DNS labels, hosts host names or IP addresses, ports whole numbers`);
        }
    }
    const check = healthCheck(t.checkStyle, t.checkUser);
    // An IPv6 address in brackets: HAProxy reads the port after the last colon, brackets make that explicit.
    const address = (s: RouterServer) => (isIP(s.host) === 6 ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`);
    const server = (s: RouterServer, extra = "") => `    server ${s.name} ${address(s)} check${extra}`;
    return [
        "# Rendered by mysql-replicaset (components/router/render.ts) from the declared topology. Do not edit:",
        "# `pulumi up` replaces the router container whenever this text changes (a switchover, a new replica).",
        `# writer :${WRITER_PORT} -> ${t.source.name} (the declared source)`,
        `# reader :${READER_PORT} -> ${t.replicas.map((r) => r.name).join(", ")} (leastconn); ${t.source.name} only while no replica is up`,
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
        // joins when it resolves. on-marked-down shutdown-sessions: clients of a member that went down are cut
        // at once and reconnect to one that is up (for the writer: to nothing, rather than to a stale source).
        `    default-server inter ${CHECK_TIMING.intervalMs}ms fall ${CHECK_TIMING.fall} rise ${CHECK_TIMING.rise} ` +
            "resolvers docker resolve-prefer ipv4 init-addr last,libc,none on-marked-down shutdown-sessions",
        "",
        "frontend writer",
        `    bind :${WRITER_PORT}`,
        "    default_backend writer",
        "",
        "backend writer",
        ...check,
        server(t.source),
        "",
        "frontend reader",
        `    bind :${READER_PORT}`,
        "    default_backend reader",
        "",
        "backend reader",
        "    balance leastconn",
        ...check,
        ...t.replicas.map((r) => server(r)),
        // A backup server takes traffic only while every non-backup server is down.
        server(t.source, " backup"),
        "",
    ].join("\n");
}

/** The check lines of a backend. */
function healthCheck(style: CheckStyle, user: string): string[] {
    if (style === "mysql-check") return [`    option mysql-check user ${user} post-41`];
    return [
        "    option tcp-check",
        "    tcp-check connect",
        `    tcp-check send-binary ${caching2HandshakeResponse(user)}${COM_QUIT}`,
        // The OK packet answering the handshake response: payload length 7, sequence 2, header 0x00. An error
        // packet (wrong account, 1045) or an auth switch request (an account with a password) does not match.
        "    tcp-check expect binary 0700000200",
    ];
}

/** COM_QUIT: payload length 1, sequence 0, command 0x01. */
const COM_QUIT = "0100000001";

/**
 * A HandshakeResponse41 packet (sequence 1) for `user` with an empty password and the caching_sha2_password
 * plugin, as hex: capabilities CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH
 * (0x00088200, little-endian), max packet 16 MiB, charset 0x21 (utf8), 23 zero bytes, the user name and an
 * empty auth response, then the plugin name. The same layout as HAProxy's own `post-80` packet, with
 * another plugin name.
 */
export function caching2HandshakeResponse(user: string): string {
    const hex = (text: string) => Buffer.from(text, "utf8").toString("hex");
    const payload =
        "00820800" + "00000001" + "21" + "00".repeat(23) + hex(user) + "00" + "00" + hex("caching_sha2_password") + "00";
    const length = payload.length / 2;
    const header = [length & 0xff, (length >> 8) & 0xff, (length >> 16) & 0xff, 1].map((b) => b.toString(16).padStart(2, "0")).join("");
    return header + payload;
}
