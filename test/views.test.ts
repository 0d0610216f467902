/**
 * Views show one fidelity at a time: `status` and `report` show the current fidelity by default
 * and another with --fidelity N (its epoch cap); the verdict labels (promising included) and
 * persistence come from the helper; Δ has the verdicts' sign; the report's naive-baselines table
 * lists forecasts only. Through the CLI, on a recorded workspace.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cliEnv, REPO, removeWorkspace, runCli } from "./helpers/workspace.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeWorkspace));

const TASK = "ETTh1.csv MS OT->24 8640/2880/2880";
const ONE = `${TASK} @1ep`;
const THREE = `${TASK} @3ep`;
const run = (id: string, fields: Record<string, unknown>) => ({ run_id: id, val_mse: null, test_mse: null, accepted: false, status: "ok", config_changes: {}, ...fields });
const STATE = {
  max_runs: 50,
  fidelity: ONE, // the last search ran at 1 epoch
  runs: [
    run("run_0000", { val_mse: 0.3, test_mse: 0.4, accepted: true, kind: "baseline", step_type: "baseline", config_id: "A", seed: 42, fidelity: THREE }),
    run("run_0001", { val_mse: 0.2, test_mse: 0.3, accepted: true, kind: "proposal", step_type: "small", config_id: "B", seed: 42, fidelity: THREE }),
    run("run_0002", { val_mse: 0.5, test_mse: 0.6, accepted: true, kind: "baseline", step_type: "baseline", config_id: "A", seed: 42, fidelity: ONE }),
    // inside the noise when the budget ran out: promising, unconfirmed
    run("run_0003", { val_mse: 0.48, test_mse: 0.5, kind: "proposal", step_type: "small", config_id: "C", seed: 42, fidelity: ONE, promising: true, evaluation_reason: "inside the margin" }),
    // promising once, then a repeat's verdict rejected the config: no longer promising
    run("run_0004", { val_mse: 0.49, test_mse: 0.5, kind: "proposal", step_type: "small", config_id: "D", seed: 42, fidelity: ONE, promising: true, evaluation_reason: "inside the margin" }),
    run("run_0005", { val_mse: 0.56, test_mse: 0.5, kind: "repeat", step_type: "small", config_id: "D", seed: 43, repeat_of: "run_0004", fidelity: ONE, evaluation_reason: "not lower" }),
  ],
  baselines: { [TASK]: { task: { data_file: "ETTh1.csv" }, period: 24, persistence: { val_mse: 0.45, test_mse: 0.55 }, seasonal_naive: { val_mse: 0.7, test_mse: 0.8 } } },
};

function recorded(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-views-"));
  dirs.push(dir);
  fs.copyFileSync(path.join(REPO, "test", "fixtures", "tiny_config.py"), path.join(dir, "config.py"));
  fs.writeFileSync(path.join(dir, "agent_state.json"), JSON.stringify(STATE));
  const python = path.join(REPO, ".venv", "bin", "python");
  const code = "import sys; from nas_agent import agent_state as st; p = sys.argv[1]; st.save_agent_state(st.load_agent_state(p), p)";
  execFileSync(python, ["-c", code, path.join(dir, "agent_state.json")], { env: { ...process.env, PYTHONPATH: path.join(REPO, "nas_system") } });
  return dir;
}

describe("one fidelity per view", () => {
  const dir = recorded();
  const cli = async (...args: string[]) => {
    const res = await runCli([...args, "--system-dir", dir], { env: cliEnv() });
    expect(res.code, res.stderr).toBe(0);
    return res.stdout;
  };

  it("status: the current fidelity by default, another with --fidelity N, labels and persistence from the helper", async () => {
    const now = JSON.parse(await cli("status", "--json"));
    expect(now.fidelity).toBe(ONE);
    expect(now.runs.map((r: { run_id: string; verdict: string }) => [r.run_id, r.verdict])).toEqual([
      ["run_0002", "accepted"], ["run_0003", "promising"], ["run_0004", "rejected"], ["run_0005", "rejected"],
    ]);
    expect(now.best).toMatchObject({ run_id: "run_0002" }); // not the better 3-epoch run_0001
    expect(now.other_fidelities).toEqual([{ fidelity: THREE, runs: 2 }]);
    expect(now.persistence_val_mse).toBe(0.45);
    expect(now.runs[1].delta_pct).toBeCloseTo(4, 6); // 0.48 against the best's 0.5: a 4% gain, + as in the verdicts
    const text = await cli("status");
    expect(text).toMatch(/^ run_0003\s+small\s+-\s+0\.4800\s+\+4\.0%\s+0\.5000\s+promising/m);
    expect(text).toContain(`not shown (another task or epoch cap, not comparable): 2 run(s) at ${THREE}; pick one with --fidelity N (its epoch cap)`);
    expect(text).toContain("persistence (repeat the last value) on this task: val_mse 0.4500");

    const three = JSON.parse(await cli("status", "--json", "--fidelity", "3"));
    expect(three.fidelity).toBe(THREE);
    expect(three.runs.map((r: { run_id: string }) => r.run_id)).toEqual(["run_0000", "run_0001"]);
    expect(three.best).toMatchObject({ run_id: "run_0001" });
    expect(three.runs[0].delta_pct).toBeCloseTo(-50, 6); // 0.3 against 0.2: worse, so -

    const bad = await runCli(["status", "--system-dir", dir, "--fidelity", "7"], { env: cliEnv() });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^error: --fidelity '7' matches no recorded fidelity: pass an epoch cap \(e\.g\. --fidelity 3\) or one of/);
  });

  it("status: totals say which fidelity they cover (this one's own, then all fidelities')", async () => {
    const d = recorded();
    // each run's share of its round's LLM usage, as update_state logs it; the 3-epoch search cost $0.03, the 1-epoch one $0.004
    const share = (run_id: string, search_id: string, cost_usd: number, train_s: number) => ({ search_id, run_id, timings: { train_s }, usage_run: { calls: 1, input_tokens: 10, output_tokens: 2, cost_usd }, usage_total: {} });
    const log = [share("run_0000", "s3", 0.01, 20), share("run_0001", "s3", 0.02, 20), share("run_0002", "s1", 0.001, 5), share("run_0003", "s1", 0.001, 5), share("run_0004", "s1", 0.001, 5), share("run_0005", "s1", 0.001, 5)];
    log[1].usage_total = { calls: 2, input_tokens: 20, output_tokens: 4, cost_usd: 0.03 };
    log[5].usage_total = { calls: 4, input_tokens: 40, output_tokens: 8, cost_usd: 0.004 };
    fs.mkdirSync(path.join(d, ".nas-graph"), { recursive: true });
    fs.writeFileSync(path.join(d, ".nas-graph", "decisions.jsonl"), log.map((e) => JSON.stringify(e) + "\n").join(""));
    const status = async (...args: string[]) => {
      const res = await runCli(["status", "--system-dir", d, ...args], { env: cliEnv() });
      expect(res.code, res.stderr).toBe(0);
      return res.stdout;
    };
    const json = JSON.parse(await status("--json"));
    expect(json.totals).toMatchObject({ trainings: 6, failed: 0, training_time_s: 60, llm_calls: 6, cost_usd: 0.034 });
    expect(json.fidelity_totals).toMatchObject({ fidelity: ONE, trainings: 4, failed: 0, training_time_s: 20 });
    expect(json.fidelity_totals.usage.cost_usd).toBeCloseTo(0.004, 10);
    const text = await status();
    expect(text).toContain("totals at this fidelity: 4 trainings (0 failed), 0m20s training; $0.0040 of LLM cost (its rounds' share)");
    expect(text).toContain("totals over all fidelities: 6 trainings (0 failed), 1m00s training; 6 LLM calls, 60 in / 12 out tokens, $0.0340");
    expect(await status("--fidelity", "3")).toContain("totals at this fidelity: 2 trainings (0 failed), 0m40s training; $0.0300 of LLM cost (its rounds' share)");
    // the report's summary says the same of its fidelity
    const rep = await runCli(["report", "--json", "--fidelity", "1", "--system-dir", d], { env: cliEnv() });
    expect(rep.code, rep.stderr).toBe(0);
    expect(fs.readFileSync(path.join(d, "runs", "report.md"), "utf8")).toContain("LLM cost of these trainings: $0.0040 (all fidelities: $0.0340).");
  });

  it("report: one fidelity, the same labels, a naive-baselines table of forecasts only", async () => {
    await cli("report", "--json", "--fidelity", "1");
    const md = fs.readFileSync(path.join(dir, "runs", "report.md"), "utf8");
    expect(md).toContain(`Fidelity ${ONE}: 4 trainings: 1 accepted, 2 rejected, 1 promising (unconfirmed), 0 failed.`);
    expect(md).toContain(`Not shown (not comparable): 2 runs at ${THREE}.`);
    expect(md).toContain("Best config: run_0002");
    expect(md).not.toMatch(/\| run_000[01] \|/); // no 3-epoch run in any table
    expect(md).toMatch(/\| run_0003 \|[^\n]*\| promising \|/);
    const naive = md.slice(md.indexOf("### Naive baselines"));
    expect(naive).toMatch(new RegExp(`\\| ${TASK} \\| persistence \\| 0\\.4500 \\| 0\\.5500 \\|`));
    expect(naive).toMatch(/\| seasonal_naive \(period 24\) \| 0\.7000 \| 0\.8000 \|/);
    expect(naive).not.toMatch(/^\|[^|\n]+\| (task|period) \|/m); // metadata, not forecasts
  });
});
