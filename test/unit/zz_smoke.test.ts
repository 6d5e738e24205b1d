import { test } from "node:test";
import { runProgram } from "../support/pulumiMocks";
import { validateConfig } from "../../config/validate";
import { ReplicaSet } from "../../components/replicaSet";
test("smoke", async () => {
  const run = await runProgram(() => new ReplicaSet("mysql-replicaset", { settings: validateConfig({}) }));
  for (const r of run.resources) console.log(JSON.stringify({...r, inputs: r.type.includes("dynamic") ? {...r.inputs, __provider: String(r.inputs.__provider).length} : r.inputs}, null, 1));
});
