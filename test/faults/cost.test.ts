/**
 * The report's per-run LLM cost with --parallel (issue 18, a defect under "Why"): one planner call
 * serves the round's K trials, so each run gets an equal share of its round's cost, written in the
 * decision log (`usage_run`) and read by the report; the shares add up to the search's total.
 * The stand-in trainer keeps the trainings instant: the fault is about accounting, not training.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cliEnv, readAgentState, runCli } from "../helpers/workspace.js";
import { fakeOpenAISuite } from "../helpers/llm-suite.js";
import { fakeTrainingPython } from "../helpers/stand-ins.js";
import { record } from "./ledger.js";

const suite = fakeOpenAISuite();

const proposal = (key: string, value: number) => ({ step_type: "small", plan: `set ${key}`, reason: "try", config_changes: [{ key, value }] });

describe("per-run LLM cost with --parallel 2", () => {
  it("each run of an LLM round gets its equal share, in the decision log and the report", async () => {
    const dir = suite.workspace();
    suite.fake().enqueue({ tool: { proposals: [proposal("training.optimizer_params.lr", 0.001), proposal("model.dropout", 0.1)] }, usage: { cost: 0.01 } });
    const env = cliEnv({ OPENROUTER_API_KEY: "sk-or-test", NAS_LLM_BASE_URL: suite.fake().baseURL, NAS_LLM_MAX_RETRIES: "0", NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }) });
    const res = await runCli(["run", "--system-dir", dir, "--planner", "llm", "--evaluator", "rules", "--portfolio", "off", "--parallel", "2",
      "--baseline-seeds", "2", "--max-iterations", "4", "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    const log = fs.readFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(log.map((d) => [d.run_id, d.round, d.usage_run.cost_usd])).toEqual([
      ["run_0000", 1, 0], ["run_0001", 1, 0], ["run_0002", 2, 0.005], ["run_0003", 2, 0.005],
    ]);
    const shares = log.reduce((s, d) => s + d.usage_run.cost_usd, 0);
    expect(shares).toBeCloseTo(log[log.length - 1].usage_total.cost_usd, 10);

    const rep = await runCli(["report", "--system-dir", dir], { env });
    expect(rep.code, rep.stderr).toBe(0);
    const md = fs.readFileSync(path.join(dir, "runs", "report.md"), "utf8");
    for (const id of ["run_0002", "run_0003"]) {
      const row = md.split("\n").find((l) => l.startsWith("|") && l.includes(id) && l.includes("$"));
      expect(row, md).toMatch(/\$0\.0050 \|\s*$/);
    }
    expect(md).toContain("LLM cost: $0.0100.");
    const runs = readAgentState(dir).runs;
    record({ name: "accounting/llm-cost-per-run-parallel-2", survived: true, runsLost: 4 - runs.length, executed: 0 });
  });
});
