import { startCluster, runbookSpecs } from "../test/support/mariadb";
import { replicationProvider } from "../components/replication/provider";
import { traceStatements } from "./instrument";
import { median } from "./report";
import { performance } from "node:perf_hooks";
(async () => {
  for (const n of [1, 8]) {
    const cluster = await startCluster(runbookSpecs(n), { binlogInitialisation: true });
    const ep = (s: any) => ({ name: s.name, host: s.host, port: s.port, internalHost: "127.0.0.1", internalPort: s.port });
    const inputs: any = { source: ep(cluster.source), replicas: cluster.replicas.map(ep), rootUser: "root", rootPassword: "root-secret",
      replicationUser: "repl", replicationPassword: "pw", replicationUserHost: "127.0.0.1", tls: "auto", connectRetrySeconds: 2, deadlineSeconds: 30, verify: true };
    const { id, outs } = await replicationProvider.create!(inputs);
    await new Promise(r => setTimeout(r, 1000));
    const s: number[] = [];
    for (let i = 0; i < 30; i++) { const t = performance.now(); await replicationProvider.read!(id, outs); s.push(performance.now() - t); }
    console.log("N", n, "median", median(s).toFixed(1), s.map(x => x.toFixed(0)).join(","));
    for (let k = 0; k < 3; k++) {
    const t0 = performance.now(); const { trace } = await traceStatements(() => replicationProvider.read!(id, outs)); const tot = performance.now() - t0;
    const lastEnd = Math.max(...trace.map(e => e.at + e.ms));
    console.log("traced total", tot.toFixed(1), "last statement end", lastEnd, "connects end max", Math.max(...trace.filter(e => e.what === "(connect)").map(e => e.at + e.ms)));
    }
    const cpu0 = process.cpuUsage(); const t1 = performance.now();
    for (let i = 0; i < 20; i++) await replicationProvider.read!(id, outs);
    const cpu = process.cpuUsage(cpu0); console.log("per read: wall", ((performance.now() - t1) / 20).toFixed(1), "node cpu", ((cpu.user + cpu.system) / 20000).toFixed(1));
    for (const x of cluster.servers) x.process?.kill("SIGKILL");
    await cluster.destroy();
  }
  process.exit(0);
})();
