import { startCluster, runbookSpecs } from "../test/support/mariadb";
(async () => {
  const cluster = await startCluster(runbookSpecs(4), { binlogInitialisation: true });
  const [a, b, c, d] = cluster.replicas;
  const time = async (label: string, s: any, ...sql: string[]) => { const conn = await s.connect(); for (const q of sql) { const t = Date.now(); await conn.query(q); console.log(label, q.slice(0, 40), Date.now() - t); } await conn.end(); };
  await Promise.all([
    time("immediate", a, "RESET MASTER", "RESET MASTER"),
    time("flush-engine-logs", b, "FLUSH ENGINE LOGS", "RESET MASTER"),
    time("flush-binary-logs", c, "FLUSH BINARY LOGS", "RESET MASTER"),
  ]);
  await new Promise(r => setTimeout(r, 3000));
  await time("after 3s", d, "RESET MASTER");
  for (const s of cluster.servers) s.process?.kill("SIGKILL");
  await new Promise(r => setTimeout(r, 300));
  await require("fs/promises").rm(cluster.baseDir, { recursive: true, force: true });
  process.exit(0);
})();
