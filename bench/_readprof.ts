import { startCluster, runbookSpecs } from "../test/support/mariadb";
import { replicationProvider } from "../components/replication/provider";
import { performance } from "node:perf_hooks";
(async () => {
  const n = 8;
  const cluster = await startCluster(runbookSpecs(n), { binlogInitialisation: true });
  const ep = (s: any) => ({ name: s.name, host: s.host, port: s.port, internalHost: "127.0.0.1", internalPort: s.port });
  const inputs: any = { source: ep(cluster.source), replicas: cluster.replicas.map(ep), rootUser: "root", rootPassword: "root-secret",
    replicationUser: "repl", replicationPassword: "pw", replicationUserHost: "127.0.0.1", tls: "auto", connectRetrySeconds: 2, deadlineSeconds: 30, verify: true };
  const { id, outs } = await replicationProvider.create!(inputs);
  for (let i = 0; i < 20; i++) await replicationProvider.read!(id, outs);
  const { Session } = require("node:inspector/promises");
  const session = new Session(); session.connect();
  await session.post("Profiler.enable"); await session.post("Profiler.start");
  const cpu0 = process.cpuUsage(); const t1 = performance.now();
  for (let i = 0; i < 100; i++) await replicationProvider.read!(id, outs);
  const cpu = process.cpuUsage(cpu0); console.log("per read: wall", ((performance.now() - t1) / 100).toFixed(1), "node cpu", ((cpu.user + cpu.system) / 100000).toFixed(1));
  const { profile } = await session.post("Profiler.stop");
  // self time by function
  const self = new Map<string, number>();
  const nodes = new Map<number, any>(profile.nodes.map((n: any) => [n.id, n]));
  const dt = profile.timeDeltas; const counts = new Map<number, number>();
  profile.samples.forEach((s: number, i: number) => counts.set(s, (counts.get(s) ?? 0) + dt[i]));
  for (const [id, us] of counts) { const nd = nodes.get(id); const k = `${nd.callFrame.functionName || "(anon)"} ${nd.callFrame.url.split("/").slice(-2).join("/")}:${nd.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + us); }
  const tot = [...self.values()].reduce((a, b) => a + b, 0);
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log((us / 1000).toFixed(0).padStart(6), "ms", (100 * us / tot).toFixed(1).padStart(5), "%", k);
  for (const x of cluster.servers) x.process?.kill("SIGKILL");
  await cluster.destroy();
  process.exit(0);
})();
