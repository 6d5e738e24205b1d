import { startCluster, type ServerFlavor } from "./test/support/servers";
import { readFileSync } from "node:fs";
async function main() {
const cluster = await startCluster("mysql-9" as ServerFlavor, [{ name: "rv2a", serverId: 1, role: "source" }], { readySeconds: 180 });
const s = cluster.source;
const c = await s.connect();
const q = async (sql: string) => { try { const [r] = await c.query({ sql } as any); console.log(sql.slice(0, 60), "=>", JSON.stringify(r).slice(0, 1500)); } catch (e) { console.log(sql.slice(0, 60), "=> ERR", (e as Error).message); } };
try {
  await q("SET GLOBAL log_output = 'TABLE', GLOBAL general_log = ON, GLOBAL slow_query_log = ON, GLOBAL long_query_time = 0");
  await q("INSTALL PLUGIN clone SONAME 'mysql_clone.so'");
  await q("SET GLOBAL clone_valid_donor_list = '127.0.0.1:1'");
  await q("SET sql_log_bin = 0");
  await q("CREATE USER IF NOT EXISTS 'replicaset_clone'@'%' IDENTIFIED BY 'pw-SECRET-xyz' REQUIRE NONE");
  await q("ALTER USER 'replicaset_clone'@'%' IDENTIFIED BY 'pw-SECRET-xyz' REQUIRE NONE");
  await q("CLONE INSTANCE FROM 'replicaset_clone'@'127.0.0.1':1 IDENTIFIED BY 'pw-SECRET-xyz' REQUIRE NO SSL");
  await q("SELECT SQL_TEXT FROM performance_schema.events_statements_history WHERE SQL_TEXT LIKE '%SECRET%'");
  await q("SELECT DIGEST_TEXT, QUERY_SAMPLE_TEXT FROM performance_schema.events_statements_summary_by_digest WHERE QUERY_SAMPLE_TEXT LIKE '%SECRET%' OR DIGEST_TEXT LIKE '%SECRET%'");
  await q("SELECT CAST(argument AS CHAR) a FROM mysql.general_log WHERE argument LIKE '%SECRET%'");
  await q("SELECT CAST(sql_text AS CHAR) a FROM mysql.slow_log WHERE sql_text LIKE '%SECRET%'");
  await q("SELECT CAST(argument AS CHAR) a FROM mysql.general_log WHERE argument LIKE '%CLONE INSTANCE%' OR argument LIKE '%replicaset_clone%'");
  console.log("errorlog has secret:", readFileSync(s.errorLog, "utf8").includes("SECRET"));
} finally { await c.end(); await cluster.destroy(); }
}
main().catch((e) => { console.error(String(e).slice(0, 2000)); process.exit(1); });
