/**
 * Members on several Docker hosts (issue 17): the `hosts` config and its errors, the pure placement and channel
 * addressing, the replication accounts an update keeps or drops, and the resource graph under mocks — which
 * provider declares each resource, where each port is published, and where each replica is pointed.
 */
import { describe, test, before } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, validateConfig, type RawConfig } from "../../config/validate";
import { loadConfig } from "../../config/load";
import type { ReplicaSetSettings } from "../../config/types";
import { memberAddresses, memberEndpoint, publishAddress, routerTarget } from "../../components/placement";
import { routerConfig } from "../../components/router/declare";
import { ROUTER_CHECK_USER } from "../../config/accounts";
import { checkFlavorFor, renderHaproxyConfig, ROUTER_CONFIG_PATH } from "../../components/router/render";
import { channelAddress, channelTarget, replicationAccountHosts } from "../../components/replication/route";
import { checkInputs, planUpdate } from "../../components/replication/plan";
import { routerCheckHosts } from "../../components/replication/routerAccount";
import type { MemberEndpoint, ReplicationInputs } from "../../components/replication/types";
import { ReplicaSet } from "../../components/replicaSet";
import { find, isSecretMarked, ofType, plainStrings, readStackConfig, reveal, runProgram, TYPES, valueOf, type ProgramRun, type RecordedResource } from "../support/pulumiMocks";

const NAME = "mysql-replicaset";

/** Three hosts, as a user writes them (the e2e harness uses the same shape on network namespaces). */
const HOSTS = [
    { name: "node1", docker: "ssh://deploy@10.0.0.11", address: "10.0.0.11" },
    { name: "node2", docker: "ssh://deploy@10.0.0.12", address: "10.0.0.12" },
    { name: "node3", docker: "unix:///run/node3/docker.sock", address: "10.0.0.13" },
];
/** The dev topology, one member per host, every member on 3306 of its own host. */
const PLACED = [
    { name: "db001", role: "source", serverId: 100, hostPort: 3306, host: "node1" },
    { name: "db002", role: "replica", serverId: 200, hostPort: 3306, host: "node2" },
    { name: "db003", role: "replica", serverId: 300, hostPort: 3306, host: "node3" },
];

const devRaw = () => readStackConfig("dev").raw;
const placed = (overrides: RawConfig = {}): ReplicaSetSettings => validateConfig({ ...devRaw(), hosts: HOSTS, members: PLACED, ...overrides });

function problemsOf(raw: RawConfig): Array<[string, unknown, string]> {
    try {
        validateConfig({ ...devRaw(), ...raw });
    } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        return error.problems.map((p) => [p.key, p.value, p.fix]);
    }
    assert.fail(`expected a ConfigError for ${JSON.stringify(raw)}`);
}

function expectProblem(raw: RawConfig, key: string, value: unknown, fix: RegExp): void {
    const problems = problemsOf(raw);
    const found = problems.find(([k]) => k === key);
    assert.ok(found, `no problem names ${key}: ${JSON.stringify(problems)}`);
    assert.deepEqual(found[1], value, `${key}'s value`);
    assert.match(found[2], fix);
}

describe("config: hosts and members[].host", () => {
    test("without hosts, the settings carry no hosts and no member a host (the dev stack unchanged)", () => {
        const s = validateConfig(devRaw());
        assert.equal("hosts" in s, false);
        for (const m of s.members) assert.equal("host" in m, false, m.name);
    });

    test("hosts are read with their defaults: bindAddress is the address when it is an IP", () => {
        const s = placed();
        assert.deepEqual(s.hosts, HOSTS.map((h) => ({ ...h, bindAddress: h.address })));
        assert.deepEqual(s.members.map((m) => [m.name, m.host, m.hostPort]), [["db001", "node1", 3306], ["db002", "node2", 3306], ["db003", "node3", 3306]]);
    });

    test("a host named by address takes an explicit bindAddress and needs replicationUserHost", () => {
        const hosts = [{ ...HOSTS[0], address: "node1.example.internal", bindAddress: "10.0.0.11" }, ...HOSTS.slice(1)];
        const s = placed({ hosts, replicationUserHost: "10.0.0.0/255.255.0.0" });
        assert.equal(s.hosts![0].bindAddress, "10.0.0.11");
        expectProblem({ hosts, members: PLACED }, "hosts[0].address", "node1.example.internal", /use the host's IP, or set replicationUserHost/);
        expectProblem({ hosts: [{ ...HOSTS[0], address: "node1.example.internal" }, ...HOSTS.slice(1)], members: PLACED, replicationUserHost: "%" },
            "hosts[0].bindAddress", undefined, /is a name: set bindAddress .* never published on every interface/);
    });

    test("a member naming an unknown host is refused, naming the hosts", () => {
        expectProblem({ hosts: HOSTS, members: PLACED.map((m, i) => (i === 2 ? { ...m, host: "node9" } : m)) }, "members[2].host", "node9", /name one of hosts: node1, node2, node3/);
    });

    test("with hosts, a member without host is refused; without hosts, a member with one", () => {
        expectProblem({ hosts: HOSTS, members: PLACED.map((m, i) => (i === 1 ? { ...m, host: undefined } : m)) }, "members[1].host", undefined, /name one of hosts/);
        expectProblem({ members: PLACED }, "members[0].host", "node1", /remove it, or list the Docker hosts under hosts/);
    });

    test("a duplicate address/port pair is refused; the same port on two hosts is fine", () => {
        const twoOnNode1 = PLACED.map((m, i) => (i === 1 ? { ...m, host: "node1" } : m));
        expectProblem({ hosts: HOSTS, members: twoOnNode1 }, "members[1].hostPort", 3306, /members\[0\] publishes 10\.0\.0\.11:3306 already/);
        assert.doesNotThrow(() => placed({ members: twoOnNode1.map((m, i) => (i === 1 ? { ...m, hostPort: 3307 } : m)) }));
        // Without hosts the old rule stands: every member its own port.
        expectProblem({ members: PLACED.map(({ host: _host, ...m }) => m) }, "members[1].hostPort", 3306, /own host port/);
    });

    test("a missing address is refused, naming the key", () => {
        const { address: _address, ...noAddress } = HOSTS[1];
        expectProblem({ hosts: [HOSTS[0], noAddress, HOSTS[2]], members: PLACED }, "hosts[1].address", undefined, /set the name or IP at which the other hosts/);
    });

    test("bad host entries: name, engine, duplicate name, unknown field, empty list", () => {
        expectProblem({ hosts: [{ ...HOSTS[0], name: "Node_1" }, ...HOSTS.slice(1)], members: PLACED }, "hosts[0].name", "Node_1", /DNS label/);
        expectProblem({ hosts: [{ ...HOSTS[0], docker: "10.0.0.11:2375" }, ...HOSTS.slice(1)], members: PLACED }, "hosts[0].docker", "10.0.0.11:2375", /ssh:\/\/user@host, tcp:\/\/host:2376/);
        expectProblem({ hosts: [...HOSTS, { ...HOSTS[0], address: "10.0.0.14" }], members: PLACED }, "hosts[3].name", "node1", /own name: hosts\[0\]/);
        expectProblem({ hosts: [{ ...HOSTS[0], port: 22 }, ...HOSTS.slice(1)], members: PLACED }, "hosts[0].port", 22, /remove it: a host takes name, docker, address, bindAddress/);
        expectProblem({ hosts: [], members: PLACED }, "hosts", [], /list of \{name, docker, address\}/);
        expectProblem({ hosts: [{ ...HOSTS[0], bindAddress: "everywhere" }, ...HOSTS.slice(1)], members: PLACED }, "hosts[0].bindAddress", "everywhere", /IP address of this host/);
    });

    test("two hosts on one engine, and a loopback address among several hosts, are refused before anything is declared", () => {
        expectProblem({ hosts: [HOSTS[0], { ...HOSTS[1], docker: HOSTS[0].docker }, HOSTS[2]], members: PLACED }, "hosts[1].docker", HOSTS[0].docker, /own engine: hosts\[0\] uses it already/);
        expectProblem({ hosts: [HOSTS[0], { ...HOSTS[1], address: "127.0.0.1" }, HOSTS[2]], members: PLACED }, "hosts[1].address", "127.0.0.1", /loopback reaches only the host itself/);
    });

    test("a tcp:// engine needs TLS material in the secret hostTls; hostTls names only known hosts", () => {
        const tcp = [{ ...HOSTS[0], docker: "tcp://10.0.0.11:2376" }, ...HOSTS.slice(1)];
        expectProblem({ hosts: tcp, members: PLACED }, "hosts[0].docker", "tcp://10.0.0.11:2376", /hostTls\.node1\.ca/);
        assert.doesNotThrow(() => validateConfig({ ...devRaw(), hosts: tcp, members: PLACED, hostTls: ["node1"] }));
        expectProblem({ hosts: tcp, members: PLACED, hostTls: ["node1", "node7"] }, "hostTls", "node7", /name a host of hosts/);
    });

    test("router haproxy with hosts runs on routerHost, by default the first of hosts", () => {
        assert.equal(placed({ router: "haproxy" }).routerHost, "node1");
        assert.equal(placed({ router: "haproxy", routerHost: "node3" }).routerHost, "node3");
        assert.equal("routerHost" in placed(), false, "no router, no router host");
        assert.equal("routerHost" in validateConfig({ ...devRaw(), router: "haproxy" }), false, "without hosts, the local engine");
    });

    test("a bad routerHost is refused, naming the key, the value and the fix", () => {
        expectProblem({ hosts: HOSTS, members: PLACED, router: "haproxy", routerHost: "node9" }, "routerHost", "node9", /name one of hosts: node1, node2, node3/);
        expectProblem({ hosts: HOSTS, members: PLACED, routerHost: "node2" }, "routerHost", "node2", /remove it, or set router to haproxy/);
        expectProblem({ router: "haproxy", routerHost: "node2" }, "routerHost", "node2", /remove it, or list the Docker hosts under hosts/);
    });

    test("with hosts, writerPort and readerPort clash only with members published on the router's host", () => {
        const on6446 = (host: string) => PLACED.map((m, i) => (i === 1 ? { ...m, host, hostPort: 6446 } : m));
        assert.doesNotThrow(() => placed({ router: "haproxy", members: on6446("node2") }), "6446 on node2, router on node1");
        expectProblem({ hosts: HOSTS, members: on6446("node2"), router: "haproxy", routerHost: "node2" }, "writerPort", 6446, /on the router's host node2: members\[1\] \(db002\) has hostPort 6446/);
    });

    test("writerPort and readerPort clash with members of any host sharing the router host's address (one machine, two engines)", () => {
        // node2 is a second engine on node1's machine (another socket, the same address): its ports are node1's.
        const twoEngines = [HOSTS[0], { ...HOSTS[1], docker: "unix:///run/user/1000/docker.sock", address: "10.0.0.11" }, HOSTS[2]];
        const on6446 = PLACED.map((m, i) => (i === 1 ? { ...m, hostPort: 6446 } : m));
        expectProblem({ hosts: twoEngines, members: on6446, router: "haproxy", routerHost: "node1" }, "writerPort", 6446,
            /on the router's host's address 10\.0\.0\.11: members\[1\] \(db002\) has hostPort 6446/);
    });

    test("an IPv6 host address among several hosts is refused: containers on the set's networks have no IPv6 to dial it", () => {
        expectProblem({ hosts: [HOSTS[0], { ...HOSTS[1], address: "fd00::12" }, HOSTS[2]], members: PLACED }, "hosts[1].address", "fd00::12",
            /IPv4 only.*use the host's IPv4 address/);
        // One host: nothing dials its address from a container on another host.
        assert.doesNotThrow(() => placed({ hosts: [{ ...HOSTS[0], address: "fd00::11" }], members: PLACED.map((m) => ({ ...m, host: "node1", hostPort: m.serverId * 10 })) }));
    });

    test("storage hostPath is refused with hosts (its directories are made where pulumi runs)", () => {
        expectProblem({ hosts: HOSTS, members: PLACED, storage: "hostPath" }, "storage", "hostPath", /use volume with hosts/);
    });

    test("loadConfig reads hosts as structured config and only the host names of the secret hostTls", async () => {
        const material = { node1: { ca: "CA-PEM", cert: "CERT-PEM", key: "KEY-PEM-SECRET" } };
        const tcp = [{ ...HOSTS[0], docker: "tcp://10.0.0.11:2376" }, ...HOSTS.slice(1)];
        pulumi.runtime.setAllConfig(
            { "mysql-replicaset:hosts": JSON.stringify(tcp), "mysql-replicaset:members": JSON.stringify(PLACED), "mysql-replicaset:hostTls": JSON.stringify(material) },
            ["mysql-replicaset:hostTls"],
        );
        try {
            const loaded = loadConfig(new pulumi.Config("mysql-replicaset"));
            assert.deepEqual(loaded.settings.hosts?.map((h) => h.docker), ["tcp://10.0.0.11:2376", "ssh://deploy@10.0.0.12", "unix:///run/node3/docker.sock"]);
            assert.ok(!JSON.stringify(loaded.settings).includes("KEY-PEM-SECRET"), "no TLS material in the settings");
            assert.equal(await pulumi.isSecret(loaded.hostTls!), true, "hostTls stays a secret");
        } finally {
            pulumi.runtime.setAllConfig({}, []);
        }
    });
});

describe("placement (pure)", () => {
    test("without hosts: the endpoint is exactly the one before hosts existed", () => {
        const s = validateConfig(devRaw());
        assert.deepEqual(memberEndpoint(s, s.members[1]), { name: "db002", host: "127.0.0.1", port: 3307, internalHost: "db002", internalPort: 3306 });
        assert.equal(publishAddress(s, s.members[1]), "127.0.0.1");
    });

    test("with hosts: dialled and published at the host's address, reached by peers there", () => {
        const s = placed();
        assert.deepEqual(memberEndpoint(s, s.members[1]), {
            name: "db002", host: "10.0.0.12", port: 3306, internalHost: "db002", internalPort: 3306,
            dockerHost: "node2", peerHost: "10.0.0.12", peerPort: 3306,
        });
        assert.equal(publishAddress(s, s.members[1]), "10.0.0.12");
        const bound = placed({ hosts: [HOSTS[0], { ...HOSTS[1], bindAddress: "192.168.5.2" }, HOSTS[2]] });
        assert.equal(publishAddress(bound, bound.members[1]), "192.168.5.2");
    });

    test("memberAddresses: the names and IPs a certificate must carry", () => {
        const s = placed({ hosts: [HOSTS[0], { ...HOSTS[1], address: "node2.example.internal", bindAddress: "10.0.0.12" }, HOSTS[2]], replicationUserHost: "%" });
        assert.deepEqual(memberAddresses(s, s.members[1]), { dns: ["db002", "node2.example.internal"], ips: ["10.0.0.12"] });
        const dev = validateConfig(devRaw());
        assert.deepEqual(memberAddresses(dev, dev.members[0]), { dns: ["db001"], ips: ["127.0.0.1"] });
    });
});

const endpoint = (name: string, dockerHost?: string, peerHost?: string, port = 3306): MemberEndpoint => ({
    name, host: peerHost ?? "127.0.0.1", port, internalHost: name, internalPort: 3306,
    ...(dockerHost ? { dockerHost, peerHost, peerPort: port } : {}),
});

describe("channel addressing (pure, used by attach and switchover)", () => {
    test("same host: the source's alias; another host: the source host's address and published port", () => {
        const source = endpoint("db001", "node1", "10.0.0.11", 3310);
        assert.deepEqual(channelTarget(source, endpoint("db002", "node1", "10.0.0.11", 3311)), { host: "db001", port: 3306 });
        assert.deepEqual(channelTarget(source, endpoint("db003", "node2", "10.0.0.12")), { host: "10.0.0.11", port: 3310 });
        assert.equal(channelAddress(source, endpoint("db003", "node2", "10.0.0.12")), "10.0.0.11:3310");
    });

    test("without placement (one engine, or state from before hosts): the alias", () => {
        assert.deepEqual(channelTarget(endpoint("db001"), endpoint("db002")), { host: "db001", port: 3306 });
    });

    test("a switchover re-points by the new source's host: the previous source on another host gets the new one's address", () => {
        const newSource = endpoint("db002", "node2", "10.0.0.12", 3307);
        assert.equal(channelAddress(newSource, endpoint("db001", "node1", "10.0.0.11")), "10.0.0.12:3307");
        assert.equal(channelAddress(newSource, endpoint("db004", "node2", "10.0.0.12", 3308)), "db002:3306");
    });
});

describe("replication accounts across hosts (plan.ts)", () => {
    const inputs = (host: string, others?: string[]): ReplicationInputs => ({
        source: endpoint("db001", "node1", "10.0.0.11"),
        replicas: [endpoint("db002", "node2", "10.0.0.12")],
        rootUser: "root", rootPassword: "root-password", replicationUser: "repl", replicationPassword: "repl-password",
        replicationUserHost: host, ...(others ? { otherReplicationUserHosts: others } : {}),
        tls: "auto", connectRetrySeconds: 10, deadlineSeconds: 60, verify: true,
    });

    test("every pattern once, replicationUserHost first", () => {
        assert.deepEqual(replicationAccountHosts(inputs("172.18.0.0/255.255.0.0", ["10.0.0.11", "172.18.0.0/255.255.0.0", "10.0.0.12"])), ["172.18.0.0/255.255.0.0", "10.0.0.11", "10.0.0.12"]);
        assert.deepEqual(replicationAccountHosts(inputs("%")), ["%"]);
    });

    test("an update drops exactly the accounts of patterns no longer declared, and re-points the replicas", () => {
        const plan = planUpdate(inputs("172.18.0.0/255.255.0.0", ["10.0.0.11", "10.0.0.12"]), inputs("172.18.0.0/255.255.0.0", ["10.0.0.11", "10.0.0.13"]));
        assert.deepEqual(plan.dropAccounts, [{ user: "repl", host: "10.0.0.12" }]);
        assert.deepEqual([...plan.reconfigure], ["db002"]);
        assert.deepEqual(planUpdate(inputs("%"), inputs("%")).dropAccounts, []);
    });

    test("check refuses a malformed placement of an endpoint", () => {
        const bad = { ...inputs("%"), replicas: [{ ...endpoint("db002", "node2", "10.0.0.12"), peerHost: "", peerPort: "3306" }] };
        assert.deepEqual(checkInputs(bad as unknown as Record<string, unknown>).map((f) => f.property), ["replicas[0].peerHost", "replicas[0].peerPort"]);
        assert.deepEqual(checkInputs(inputs("%") as unknown as Record<string, unknown>), []);
    });

    test("the router's check account: routerCheckHosts when given, else replicationUserHost; check refuses a bad list", () => {
        assert.deepEqual(routerCheckHosts(inputs("172.18.0.0/255.255.0.0")), ["172.18.0.0/255.255.0.0"]);
        assert.deepEqual(routerCheckHosts({ ...inputs("%"), routerCheckHosts: ["172.21.0.0/255.255.0.0", "10.0.0.12"] }), ["172.21.0.0/255.255.0.0", "10.0.0.12"]);
        for (const bad of [[], ["10.0.0.12", ""], "10.0.0.12"]) {
            const failures = checkInputs({ ...inputs("%"), routerCheckHosts: bad } as unknown as Record<string, unknown>);
            assert.deepEqual(failures.map((f) => f.property), ["routerCheckHosts"], JSON.stringify(bad));
        }
    });

    test("an update drops the check account's rows the new inputs no longer declare (router moved or removed)", () => {
        const withRouter = (hosts: string[] | undefined, user: string | null = "replicaset_check") =>
            ({ ...inputs("%"), ...(user ? { routerCheckUser: user } : {}), ...(hosts ? { routerCheckHosts: hosts } : {}) }) as ReplicationInputs;
        const at = (...hosts: string[]) => hosts.map((host) => ({ user: "replicaset_check", host }));
        const node1 = withRouter(["172.21.0.0/255.255.0.0", "10.0.0.11"]);
        assert.deepEqual(planUpdate(node1, node1).dropRouterCheck, [], "nothing moved");
        assert.deepEqual(planUpdate(node1, withRouter(["172.22.0.0/255.255.0.0", "10.0.0.12"])).dropRouterCheck, at("172.21.0.0/255.255.0.0", "10.0.0.11"));
        assert.deepEqual(planUpdate(node1, withRouter(["172.21.0.0/255.255.0.0", "10.0.0.12"])).dropRouterCheck, at("10.0.0.11"), "a pattern kept is not dropped");
        assert.deepEqual(planUpdate(node1, withRouter(undefined, null)).dropRouterCheck, at("172.21.0.0/255.255.0.0", "10.0.0.11"), "router removed");
        assert.deepEqual(planUpdate(withRouter(undefined), withRouter(["10.0.0.12"])).dropRouterCheck, at("%"), "from replicationUserHost to the router host's patterns");
        assert.deepEqual(planUpdate(withRouter(undefined, null), node1).dropRouterCheck, [], "no router before");
    });

    test("check refuses other host patterns that are not a list of patterns", () => {
        const failures = checkInputs({ ...inputs("%"), otherReplicationUserHosts: ["10.0.0.11", ""] } as unknown as Record<string, unknown>);
        assert.deepEqual(failures.map((f) => f.property), ["otherReplicationUserHosts"]);
    });
});

// ---------------------------------------------------------------------------------------------------------
// the resource graph under mocks

/** Each host's network reports its own subnet, as separate engines would. */
const SUBNET: Record<string, string> = { "mybridge-node1": "172.20.0.0/16", "mybridge-node2": "172.21.0.0/16", "mybridge-node3": "172.22.0.0/16" };

async function declare(settings: ReplicaSetSettings): Promise<ProgramRun<ReplicaSet>> {
    const run = await runProgram(() => new ReplicaSet(NAME, { settings }), {
        state: (args) => (args.type === TYPES.network && SUBNET[args.name] ? { ipamConfigs: [{ subnet: SUBNET[args.name], gateway: "x" }] } : undefined),
    });
    assert.equal(run.error, undefined, `declaring the component threw: ${String(run.error)}`);
    return run;
}

/** The provider resource an explicit provider reference names ("<urn>::<id>"). */
function providerOf(run: ProgramRun<unknown>, r: RecordedResource): RecordedResource | undefined {
    if (r.provider === "") return undefined;
    const urn = r.provider.split("::").slice(0, -1).join("::");
    return run.resources.find((p) => p.urn === urn);
}

describe("graph: the dev topology, one member per host", () => {
    let run: ProgramRun<ReplicaSet>;
    before(async () => (run = await declare(placed())));

    test("one docker provider per host, speaking to that host's engine", () => {
        const providers = ofType(run.resources, TYPES.dockerProvider);
        assert.deepEqual(providers.map((p) => [p.name, reveal(p.inputs).host]).sort(), HOSTS.map((h) => [`${NAME}-host-${h.name}`, h.docker]));
    });

    test("each member's network, image, volumes and container are declared with its host's provider", () => {
        for (const m of PLACED) {
            const expected = `${NAME}-host-${m.host}`;
            const resources = [
                find(run.resources, TYPES.network, `mybridge-${m.host}`),
                find(run.resources, TYPES.image, `${NAME}-image-${m.host}`),
                find(run.resources, TYPES.volume, `${m.name}-data`),
                find(run.resources, TYPES.volume, `${m.name}-log`),
                find(run.resources, TYPES.container, m.name),
            ];
            for (const r of resources) assert.equal(providerOf(run, r)?.name, expected, `${r.type} ${r.name} is declared with ${expected}`);
            // Docker names are per engine: the network keeps its configured name on every host.
            assert.equal(reveal(resources[0].inputs).name, "mybridge");
            assert.deepEqual(reveal(resources[4].inputs).networksAdvanced, [{ name: "mybridge", aliases: [m.name] }]);
        }
        // Nothing uses the default provider (the local engine) any more.
        for (const r of run.resources.filter((x) => x.type.startsWith("docker:index/"))) assert.notEqual(r.provider, "", `${r.name} has an explicit provider`);
    });

    test("every port is published on its host's address, never on every interface", () => {
        for (const m of PLACED) {
            const ports = reveal(find(run.resources, TYPES.container, m.name).inputs).ports;
            assert.deepEqual(ports, [{ internal: 3306, external: 3306, ip: HOSTS.find((h) => h.name === m.host)!.address, protocol: "tcp" }]);
        }
    });

    test("the provider dials each member at its host's address; each replica is pointed at the source host's address", () => {
        const inputs = reveal(find(run.resources, TYPES.replication, `${NAME}-replication`).inputs) as ReplicationInputs;
        assert.deepEqual([inputs.source, ...inputs.replicas].map((e) => `${e.name}@${e.host}:${e.port}`), ["db001@10.0.0.11:3306", "db002@10.0.0.12:3306", "db003@10.0.0.13:3306"]);
        assert.deepEqual(inputs.replicas.map((r) => [r.name, channelAddress(inputs.source, r)]), [["db002", "10.0.0.11:3306"], ["db003", "10.0.0.11:3306"]]);
    });

    test("the replication account covers every host's bridge subnet and every host's address", () => {
        const inputs = reveal(find(run.resources, TYPES.replication, `${NAME}-replication`).inputs) as ReplicationInputs;
        assert.deepEqual(replicationAccountHosts(inputs), [
            "172.20.0.0/255.255.0.0", "172.21.0.0/255.255.0.0", "172.22.0.0/255.255.0.0", "10.0.0.11", "10.0.0.12", "10.0.0.13",
        ]);
    });

    test("the component's healthy output and network name still come out", async () => {
        assert.equal(await valueOf(run.result!.networkName), "mybridge");
    });
});

describe("graph: two members on one host share its network; a host without members gets no provider", () => {
    let run: ProgramRun<ReplicaSet>;
    before(async () => {
        const members = [PLACED[0], { ...PLACED[1], host: "node1", hostPort: 3307 }, PLACED[2]];
        run = await declare(placed({ members }));
    });

    test("node1's two members share one network and one image; node2 carries nothing", () => {
        assert.deepEqual(ofType(run.resources, TYPES.dockerProvider).map((p) => p.name).sort(), [`${NAME}-host-node1`, `${NAME}-host-node3`]);
        assert.deepEqual(ofType(run.resources, TYPES.network).map((n) => n.name).sort(), ["mybridge-node1", "mybridge-node3"]);
        for (const m of ["db001", "db002"]) assert.equal(providerOf(run, find(run.resources, TYPES.container, m))?.name, `${NAME}-host-node1`);
    });

    test("the replica on the source's host uses the alias, the other one the source host's address", () => {
        const inputs = reveal(find(run.resources, TYPES.replication, `${NAME}-replication`).inputs) as ReplicationInputs;
        assert.deepEqual(inputs.replicas.map((r) => [r.name, channelAddress(inputs.source, r)]), [["db002", "db001:3306"], ["db003", "10.0.0.11:3306"]]);
    });
});

/** The `server` lines of a rendered haproxy.cfg, per backend. */
function backends(cfg: string): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    let current = "";
    for (const line of cfg.split("\n")) {
        const backend = /^backend (\S+)/.exec(line);
        if (backend) out[(current = backend[1])] = [];
        else if (/^\S/.test(line)) current = "";
        else if (current && /^\s+server /.test(line)) out[current].push(line.trim());
    }
    return out;
}

describe("the router across hosts (pure): one place decides how the router reaches a member", () => {
    test("a member on the router's host by alias and internal port; the others at their host's address and hostPort", () => {
        const s = placed({ router: "haproxy", routerHost: "node2", members: PLACED.map((m, i) => (i === 2 ? { ...m, hostPort: 3316 } : m)) });
        assert.deepEqual(s.members.map((m) => routerTarget(s, m)), [{ host: "10.0.0.11", port: 3306 }, { host: "db002", port: 3306 }, { host: "10.0.0.13", port: 3316 }]);
        assert.deepEqual(backends(routerConfig(s)), {
            writer: ["server db001 10.0.0.11:3306 check on-marked-up shutdown-backup-sessions", "server db002 db002:3306 check backup", "server db003 10.0.0.13:3316 check backup"],
            reader: ["server db002 db002:3306 check", "server db003 10.0.0.13:3316 check", "server db001 10.0.0.11:3306 backup track source_alive/db001"],
            reader_any: ["server db002 db002:3306 check", "server db003 10.0.0.13:3316 check"],
            source_alive: ["server db001 10.0.0.11:3306 check"],
        });
    });

    test("a role swap re-renders the writer at the new source's host address; the router stays on its host", () => {
        const swapped = PLACED.map((m) => ({ ...m, role: m.name === "db003" ? "source" : "replica" }));
        const s = placed({ router: "haproxy", routerHost: "node2", members: swapped });
        assert.deepEqual(backends(routerConfig(s)), {
            writer: ["server db003 10.0.0.13:3306 check on-marked-up shutdown-backup-sessions", "server db001 10.0.0.11:3306 check backup", "server db002 db002:3306 check backup"],
            reader: ["server db001 10.0.0.11:3306 check", "server db002 db002:3306 check", "server db003 10.0.0.13:3306 backup track source_alive/db003"],
            reader_any: ["server db001 10.0.0.11:3306 check", "server db002 db002:3306 check"],
            source_alive: ["server db003 10.0.0.13:3306 check"],
        });
        assert.equal(s.routerHost, "node2");
    });

    test("without hosts: every member by alias, as before", () => {
        const s = validateConfig({ ...devRaw(), router: "haproxy" });
        assert.deepEqual(backends(routerConfig(s)).reader, ["server db002 db002:3306 check", "server db003 db003:3306 check", "server db001 db001:3306 backup track source_alive/db001"]);
    });

    test("a host name is rendered as written; the renderer brackets an IPv6 address (config refuses one among several hosts)", () => {
        const hosts = [HOSTS[0], HOSTS[1], { ...HOSTS[2], address: "Node3.example.internal", bindAddress: "10.0.0.13" }];
        const s = placed({ hosts, router: "haproxy", replicationUserHost: "%" });
        assert.deepEqual(backends(routerConfig(s)).reader.slice(0, 2), ["server db002 10.0.0.12:3306 check", "server db003 Node3.example.internal:3306 check"]);
        const cfg = renderHaproxyConfig({
            source: { name: "db001", host: "10.0.0.11", port: 3306 },
            replicas: [{ name: "db002", host: "fd00::12", port: 3306 }],
            checkUser: ROUTER_CHECK_USER,
            checkFlavor: checkFlavorFor(s.flavor, s.version),
            readerMaxLagSeconds: s.readerMaxLagSeconds,
        });
        assert.deepEqual(backends(cfg).reader[0], "server db002 [fd00::12]:3306 check");
    });
});

describe("graph: router haproxy on one of three hosts", () => {
    let run: ProgramRun<ReplicaSet>;
    const settings = () => placed({ router: "haproxy", routerHost: "node2" });
    before(async () => (run = await declare(settings())));

    test("the router's container and image are declared with the router host's provider, on that host's network", () => {
        const router = find(run.resources, TYPES.container, `${NAME}-router`);
        assert.equal(providerOf(run, router)?.name, `${NAME}-host-node2`);
        assert.equal(providerOf(run, find(run.resources, TYPES.image, `${NAME}-router-image`))?.name, `${NAME}-host-node2`);
        assert.deepEqual(reveal(router.inputs).networksAdvanced, [{ name: "mybridge" }]);
        // Still only the three member hosts' providers: the router's host carries db002.
        assert.deepEqual(ofType(run.resources, TYPES.dockerProvider).map((p) => p.name).sort(), HOSTS.map((h) => `${NAME}-host-${h.name}`));
    });

    test("writer and reader are published on the router host's address; the endpoints name it", async () => {
        const inputs = reveal(find(run.resources, TYPES.container, `${NAME}-router`).inputs) as Record<string, any>;
        assert.deepEqual(inputs.ports, [
            { internal: 6446, external: 6446, ip: "10.0.0.12", protocol: "tcp" },
            { internal: 6447, external: 6447, ip: "10.0.0.12", protocol: "tcp" },
        ]);
        assert.deepEqual(await valueOf(run.result!.endpoints), { writer: "10.0.0.12:6446", reader: "10.0.0.12:6447" });
    });

    test("the uploaded configuration dials db002 by alias and the others at their hosts' addresses", () => {
        const inputs = reveal(find(run.resources, TYPES.container, `${NAME}-router`).inputs) as Record<string, any>;
        assert.equal(inputs.uploads[0].file, ROUTER_CONFIG_PATH);
        assert.deepEqual(backends(inputs.uploads[0].content), {
            writer: ["server db001 10.0.0.11:3306 check on-marked-up shutdown-backup-sessions", "server db002 db002:3306 check backup", "server db003 10.0.0.13:3306 check backup"],
            reader: ["server db002 db002:3306 check", "server db003 10.0.0.13:3306 check", "server db001 10.0.0.11:3306 backup track source_alive/db001"],
            reader_any: ["server db002 db002:3306 check", "server db003 10.0.0.13:3306 check"],
            source_alive: ["server db001 10.0.0.11:3306 check"],
        });
    });

    test("the check account takes the router host's bridge subnet and its address", () => {
        const inputs = reveal(find(run.resources, TYPES.replication, `${NAME}-replication`).inputs) as ReplicationInputs;
        assert.deepEqual(inputs.routerCheckHosts, ["172.21.0.0/255.255.0.0", "10.0.0.12"]);
    });

    test("with replicationUserHost set, the check account takes that pattern alone (no routerCheckHosts)", async () => {
        const given = await declare(placed({ router: "haproxy", replicationUserHost: "10.0.0.0/255.0.0.0" }));
        const inputs = reveal(find(given.resources, TYPES.replication, `${NAME}-replication`).inputs) as ReplicationInputs;
        assert.equal(inputs.routerCheckHosts, undefined);
    });
});

describe("graph: the router on a host that carries no member", () => {
    test("that host gets a provider and a network but no server image; the router runs there", async () => {
        const SUBNET4 = "172.23.0.0/16";
        const hosts = [...HOSTS, { name: "edge", docker: "ssh://deploy@10.0.0.14", address: "10.0.0.14" }];
        const run = await runProgram(() => new ReplicaSet(NAME, { settings: placed({ hosts, router: "haproxy", routerHost: "edge" }) }), {
            state: (args) => args.type === TYPES.network ? { ipamConfigs: [{ subnet: SUBNET[args.name] ?? SUBNET4, gateway: "x" }] } : undefined,
        });
        assert.equal(run.error, undefined, String(run.error));
        assert.equal(providerOf(run, find(run.resources, TYPES.container, `${NAME}-router`))?.name, `${NAME}-host-edge`);
        assert.equal(providerOf(run, find(run.resources, TYPES.network, "mybridge-edge"))?.name, `${NAME}-host-edge`);
        assert.equal(run.resources.some((r) => r.type === TYPES.image && r.name === `${NAME}-image-edge`), false, "no server image on the router-only host");
        const inputs = reveal(find(run.resources, TYPES.replication, `${NAME}-replication`).inputs) as ReplicationInputs;
        // The router dials every member across hosts, so its checks come from the edge host's address only: its
        // bridge subnet would admit, on every member, any local container of an equal subnet (engines share pools).
        assert.deepEqual(inputs.routerCheckHosts, ["10.0.0.14"]);
        // The replication account is not widened by the router's host.
        assert.ok(!replicationAccountHosts(inputs).includes("10.0.0.14"), JSON.stringify(replicationAccountHosts(inputs)));
        const cfg = reveal(find(run.resources, TYPES.container, `${NAME}-router`).inputs).uploads[0].content as string;
        assert.deepEqual(backends(cfg).writer[0], "server db001 10.0.0.11:3306 check on-marked-up shutdown-backup-sessions");
    });
});

describe("graph: a tcp:// host's TLS material", () => {
    test("reaches that host's provider as secrets, and no other provider gets any", async () => {
        const material = { node1: { ca: "CA-PEM-TEXT", cert: "CERT-PEM-TEXT", key: "KEY-PEM-SECRET-TEXT" } };
        const settings = placed({ hosts: [{ ...HOSTS[0], docker: "tcp://10.0.0.11:2376" }, ...HOSTS.slice(1)], hostTls: ["node1"] });
        const run = await runProgram(() => new ReplicaSet(NAME, { settings, hostTls: pulumi.secret(material) }));
        assert.equal(run.error, undefined, String(run.error));
        const node1 = find(run.resources, TYPES.dockerProvider, `${NAME}-host-node1`);
        for (const key of ["caMaterial", "certMaterial", "keyMaterial"]) {
            assert.ok(isSecretMarked(node1.inputs[key]), `${key} is a secret`);
        }
        assert.deepEqual(reveal(node1.inputs), { host: "tcp://10.0.0.11:2376", caMaterial: "CA-PEM-TEXT", certMaterial: "CERT-PEM-TEXT", keyMaterial: "KEY-PEM-SECRET-TEXT" });
        for (const { where, text } of run.resources.flatMap((r) => plainStrings(r.inputs).map((x) => ({ where: `${r.type} ${r.name} ${x.path}`, text: x.text })))) {
            assert.ok(!text.includes("KEY-PEM-SECRET-TEXT"), `the key appears in plain text at ${where}`);
        }
    });
});

describe("graph: the dev stack declares no provider of its own", () => {
    test("every resource uses the default provider, as before hosts existed", async () => {
        const run = await declare(validateConfig(devRaw()));
        assert.deepEqual(ofType(run.resources, TYPES.dockerProvider), []);
        for (const r of run.resources) assert.equal(r.provider, "", `${r.type} ${r.name}`);
    });
});

describe("graph: a member's role is part of nothing declared for it (the provider fences at run time)", () => {
    /** The inputs of every resource the program declares, by "type name". */
    async function inputsByResource(settings: ReplicaSetSettings): Promise<{ run: ProgramRun<ReplicaSet>; inputs: Record<string, string> }> {
        const run = await declare(settings);
        return { run, inputs: Object.fromEntries(run.resources.map((r) => [`${r.type} ${r.name}`, JSON.stringify(reveal(r.inputs))])) };
    }
    /** The resources whose inputs differ between two declarations of the same set. */
    function changed(before: Record<string, string>, after: Record<string, string>): string[] {
        assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort(), "the same resources are declared");
        return Object.keys(before).filter((key) => before[key] !== after[key]).sort();
    }
    const swapped = (members: Array<{ name: string; role: string }>, source: string) => members.map((m) => ({ ...m, role: m.name === source ? "source" : "replica" }));

    // A failover away from a machine that is gone: `pulumi up` can change nothing on its engine. When the role was
    // part of the container command (`--read-only=ON` on replicas), declaring the dead source a replica asked
    // Pulumi to replace its container there; that step failed and the replication resource, which depends on
    // every container, never ran the failover.
    test("no resource on the lost host (node1, the old source) changes when db003 on node3 is declared the source", async () => {
        const onNode1 = async (settings: ReplicaSetSettings) => {
            const run = await declare(settings);
            return Object.fromEntries(run.resources.filter((r) => providerOf(run, r)?.name === `${NAME}-host-node1`).map((r) => [r.name, JSON.stringify(reveal(r.inputs))]));
        };
        const before = await onNode1(placed({ router: "haproxy", routerHost: "node2" }));
        const after = await onNode1(placed({ router: "haproxy", routerHost: "node2", members: swapped(PLACED, "db003") }));
        assert.deepEqual(Object.keys(before).sort(), ["db001", "db001-data", "db001-log", `${NAME}-image-node1`, "mybridge-node1"].sort(), "what node1 carries");
        const changedThere = Object.keys(before).filter((name) => before[name] !== after[name]);
        assert.deepEqual(changedThere, [], "resources on node1 that `pulumi up` would have to replace there");
    });

    test("a switchover between live hosts changes the replication resource and the router's configuration, nothing declared for a member", async () => {
        const before = await inputsByResource(placed({ router: "haproxy", routerHost: "node2" }));
        const after = await inputsByResource(placed({ router: "haproxy", routerHost: "node2", members: swapped(PLACED, "db002") }));
        assert.deepEqual(changed(before.inputs, after.inputs), [`${TYPES.container} ${NAME}-router`, `${TYPES.replication} ${NAME}-replication`]);
        // What changed in the replication resource is the role itself.
        const replication = (run: ProgramRun<ReplicaSet>) => reveal(find(run.resources, TYPES.replication, `${NAME}-replication`).inputs) as ReplicationInputs;
        assert.deepEqual([replication(before.run).source.name, replication(after.run).source.name], ["db001", "db002"]);
    });

    test("a switchover on one engine (the dev stack, TLS verify) changes no container, volume, image, network or certificate", async () => {
        const dev = validateConfig(devRaw());
        const before = await inputsByResource(dev);
        const after = await inputsByResource(validateConfig({ ...devRaw(), members: swapped(dev.members, "db002") }));
        assert.ok(Object.keys(before.inputs).some((key) => key.startsWith("tls:")), "the dev stack declares certificates");
        assert.deepEqual(changed(before.inputs, after.inputs), [`${TYPES.replication} ${NAME}-replication`]);
    });

    test("every member's container runs the same server flags whatever its role: all start read-only", async () => {
        const { run } = await inputsByResource(placed());
        const flagsOf = (name: string) => (reveal(find(run.resources, TYPES.container, name).inputs).command as string[]).filter((f) => !/^--(server-id|report-host)=/.test(f));
        assert.deepEqual(flagsOf("db001"), flagsOf("db002"));
        assert.ok(flagsOf("db001").includes("--read-only=ON"), JSON.stringify(flagsOf("db001")));
    });
});
