/**
 * `nas-graph status` on recorded workspaces, through the CLI: a state with seeds grouped by
 * config_id, a failed run, noise and naive baselines (text and --json), and an older state
 * without those fields (nothing invented).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cliEnv, REPO, removeWorkspace, runCli } from "./helpers/workspace.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeWorkspace));

type Run = Record<string, unknown>;

function run(id: string, fields: Run): Run {
  return { run_id: id, val_mse: null, test_mse: null, history_summary: null, accepted: false, config_changes: {}, status: "ok", ...fields };
}

/** A workspace holding only what status reads: config.py, agent_state.json, decisions.jsonl. */
function recorded(state: Record<string, unknown>, decisions: Run[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-status-"));
  dirs.push(dir);
  fs.copyFileSync(path.join(REPO, "test", "fixtures", "tiny_config.py"), path.join(dir, "config.py"));
  fs.writeFileSync(path.join(dir, "agent_state.json"), JSON.stringify(state, null, 2));
  derive(dir);
  fs.mkdirSync(path.join(dir, ".nas-graph"));
  fs.writeFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), decisions.map((d) => JSON.stringify(d) + "\n").join(""));
  return dir;
}

/** Python writes agent_state.json: let it derive what it always derives (configs, noise, best_run_id). */
function derive(dir: string): void {
  const python = fs.existsSync(path.join(REPO, ".venv", "bin", "python")) ? path.join(REPO, ".venv", "bin", "python") : "python3";
  const code = "import sys; from nas_agent import agent_state as st; p = sys.argv[1]; st.save_agent_state(st.load_agent_state(p), p)";
  execFileSync(python, ["-c", code, path.join(dir, "agent_state.json")], { env: { ...process.env, PYTHONPATH: path.join(REPO, "nas_system") } });
}

const TASK = "ETTh1.csv MS OT->24 8640/2880/2880";
const FID = `${TASK} @3ep`;
const SEEDED = {
  max_runs: 50,
  best_run_id: "run_0003",
  runs: [
    run("run_0000", { val_mse: 0.2, test_mse: 0.3, accepted: true, step_type: "baseline", planner: "baseline", kind: "baseline", config_id: "A", seed: 42, fidelity: FID, plan: "Baseline: train the starting config as is" }),
    run("run_0001", { val_mse: 0.22, test_mse: 0.31, accepted: true, step_type: "baseline", planner: "baseline", kind: "baseline", config_id: "A", seed: 43, repeat_of: "run_0000", fidelity: FID }),
    run("run_0002", { val_mse: 0.21, test_mse: 0.32, accepted: true, step_type: "baseline", planner: "baseline", kind: "baseline", config_id: "A", seed: 44, repeat_of: "run_0000", fidelity: FID }),
    run("run_0003", { val_mse: 0.18, test_mse: 0.25, accepted: true, step_type: "small", planner: "optuna", kind: "proposal", config_id: "B", seed: 42, fidelity: FID, plan: "TPE proposes:\n lr 1e-4 -> 1e-3" }),
    run("run_0004", { val_mse: 0.19, test_mse: 0.27, accepted: true, step_type: "small", planner: "optuna", kind: "repeat", config_id: "B", seed: 45, repeat_of: "run_0003", fidelity: FID }),
    run("run_0005", { status: "diverged", step_type: "radical", planner: "llm", kind: "proposal", config_id: "C", seed: 42, fidelity: FID, error: "loss became nan", plan: "Try SGD with lr 10" }),
    run("run_0006", { val_mse: 0.25, test_mse: 0.2, step_type: "medium", planner: "llm", kind: "proposal", config_id: "D", seed: 42, fidelity: FID, plan: "Wider model" }),
  ],
  noise: { [FID]: { sd: 0.01, rel_sd: 0.0476, n: 3, mean: 0.21, run_ids: ["run_0000", "run_0001", "run_0002"], config_id: "A" } },
  baselines: { [TASK]: { persistence: { val_mse: 0.3, test_mse: 0.4 }, seasonal_naive: { val_mse: 0.5, test_mse: 0.6 }, period: 24 } },
};
const DECISIONS = [
  { search_id: "s1", iteration: 6, run_id: "run_0005", timings: { train_s: 12.5 }, usage_total: { calls: 1, input_tokens: 500, output_tokens: 100, cost_usd: 0.005 } },
  { search_id: "s1", iteration: 7, run_id: "run_0006", timings: { train_s: 30 }, usage_total: { calls: 3, input_tokens: 1500, output_tokens: 300, cost_usd: 0.0125 } },
];

describe("status", () => {
  it("groups seeds by config_id: mean ± sd, Δ against the best mean, held-out test, verdicts, totals (--json)", async () => {
    const dir = recorded(SEEDED, DECISIONS);
    const res = await runCli(["status", "--system-dir", dir, "--json"], { env: cliEnv() });
    expect(res.code, res.stderr).toBe(0);
    const s = JSON.parse(res.stdout);
    const byId = Object.fromEntries(s.runs.map((r: { run_id: string }) => [r.run_id, r]));
    expect(byId.run_0000.config).toMatchObject({ n: 3, run_ids: ["run_0000", "run_0001", "run_0002"] });
    expect(byId.run_0000.config.mean).toBeCloseTo(0.21, 10);
    expect(byId.run_0000.config.sd).toBeCloseTo(0.01, 10);
    expect(byId.run_0003.config.mean).toBeCloseTo(0.185, 10);
    // the config's mean against the best's mean, with the verdicts' sign: a gain is +, a higher val_mse -
    expect(byId.run_0000.delta_pct).toBeCloseTo(((0.185 - 0.21) / 0.185) * 100, 6);
    expect(byId.run_0006.delta_pct).toBeCloseTo(((0.185 - 0.25) / 0.185) * 100, 6);
    expect(byId.run_0003).toMatchObject({ best_config: true, verdict: "accepted", test_mse: 0.25, seed: 42, kind: "proposal" });
    expect(byId.run_0004).toMatchObject({ best_config: true, kind: "repeat", seed: 45 });
    expect(byId.run_0005).toMatchObject({ verdict: "failed", status: "diverged", val_mse: null, delta_pct: null, best_config: false });
    expect(byId.run_0006).toMatchObject({ verdict: "rejected", planner: "llm", plan: "Wider model" });
    expect(byId.run_0003.plan).toBe("TPE proposes: lr 1e-4 -> 1e-3"); // one line
    expect(s.best).toMatchObject({ run_id: "run_0003", n_seeds: 2, run_ids: ["run_0003", "run_0004"], config: path.join("runs", "run_0003", "config_used.py") });
    expect(s.best.val_mse_mean).toBeCloseTo(0.185, 10);
    expect(s.best.test_mse).toBeCloseTo(0.26, 10);
    expect(s.totals).toMatchObject({ trainings: 7, failed: 1, llm_calls: 3, input_tokens: 1500, output_tokens: 300, cost_usd: 0.0125 });
    expect(s.totals.training_time_s).toBeCloseTo(42.5, 5); // train.py wall time from the decision log
    // the noise as Python derives it: pooled over the configs with 2+ seeds (A: 3, B: 2)
    expect(s.noise[FID]).toMatchObject({ dof: 3, n: 5, run_ids: ["run_0000", "run_0001", "run_0002", "run_0003", "run_0004"] });
    expect(s.noise[FID].sd).toBeCloseTo(Math.sqrt((2 * 0.01 ** 2 + 1 * 0.00005) / 3), 10); // B: var 0.00005, 1 dof
    expect(s.baselines).toEqual(SEEDED.baselines);
    expect(s).not.toHaveProperty("study"); // no Optuna study written here

    // the study's last background update failed: status says so, with the fix
    fs.writeFileSync(path.join(dir, ".nas-graph", "optuna.status.json"), JSON.stringify({ ok: false, error: "OperationalError: disk I/O error", at: "now" }));
    const again = JSON.parse((await runCli(["status", "--system-dir", dir, "--json"], { env: cliEnv() })).stdout);
    expect(again.study).toEqual({ path: path.join(dir, ".nas-graph", "optuna.db"), trials: null, error: "OperationalError: disk I/O error" });
    const text = (await runCli(["status", "--system-dir", dir], { env: cliEnv() })).stdout;
    expect(text).toContain(`optuna study: the last update failed (OperationalError: disk I/O error); rebuild it with 'python -m nas_agent --system-dir ${dir} study'`);
  });

  it("prints the same as a table, the best config marked, noise and baselines below", async () => {
    const dir = recorded(SEEDED, DECISIONS);
    const res = await runCli(["status", "--system-dir", dir], { env: cliEnv() });
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.split("\n");
    expect(lines[0]).toBe(`fidelity ${FID}`);
    expect(lines[1]).toMatch(/^run\s+step\s+planner\s+val_mse\s+mean ± sd \(n\)\s+Δ best\s+test_mse \(held out\)\s+verdict\s+plan$/);
    const row = (id: string) => lines.find((l) => l.includes(id)) ?? "";
    expect(row("run_0000")).toMatch(/^ run_0000\s+baseline\s+baseline\s+0\.2000\s+0\.2100 ± 0\.0100 \(3\)\s+-13\.5%\s+0\.3000\s+accepted\s+Baseline: train/);
    expect(row("run_0003")).toMatch(/^\*run_0003\s+small\s+optuna\s+0\.1800\s+0\.1850 ± 0\.0071 \(2\)\s+best\s+0\.2500\s+accepted\s+TPE proposes: lr 1e-4 -> 1e-3$/);
    expect(row("run_0004")).toMatch(/^\*run_0004\s+repeat s45\s+optuna/);
    expect(row("run_0005")).toMatch(/^ run_0005\s+radical\s+llm\s+-\s+-\s+-\s+failed \(diverged\)\s+Try SGD/);
    expect(row("run_0006")).toMatch(/^ run_0006\s+medium\s+llm\s+0\.2500\s+-35\.1%\s+0\.2000\s+rejected\s+Wider model$/);
    expect(res.stdout).toContain("best: run_0003 val_mse 0.1850 ± 0.0071 over 2 seeds; test_mse (held out) 0.2600; config: runs/run_0003/config_used.py");
    expect(res.stdout).toContain("totals: 7 trainings (1 failed), 0m43s training; 3 LLM calls, 1500 in / 300 out tokens, $0.0125");
    expect(res.stdout).toContain(`noise [${FID}]: val_mse sd 0.0091 (relative 4.5%, mean 0.1975) over 5 seeds`);
    expect(res.stdout).toContain(`naive baselines on ${TASK}: persistence val_mse=0.3000 (held-out test_mse=0.4000); seasonal naive, period 24: val_mse=0.5000 (held-out test_mse=0.6000)`);
    expect(res.stdout).not.toContain("\u001b"); // not a terminal: no colours
  });

  it("an older state (no config_id, seeds, noise or baselines) shows each run alone and invents nothing", async () => {
    const dir = recorded({
      max_runs: 50,
      best_run_id: "run_0001",
      runs: [
        run("run_0000", { val_mse: 0.4, test_mse: 0.5, accepted: true, step_type: "baseline", planner: "baseline" }),
        run("run_0001", { val_mse: 0.3, test_mse: 0.6, accepted: true, step_type: "small", planner: "mock" }),
        run("run_0002", { status: "invalid", step_type: "small", planner: "mock", error: "bad key" }),
      ],
    });
    const json = JSON.parse((await runCli(["status", "--system-dir", dir, "--json"], { env: cliEnv() })).stdout);
    expect(json).not.toHaveProperty("noise");
    expect(json).not.toHaveProperty("baselines");
    expect(json.usage).toBeNull();
    expect(json.totals).toMatchObject({ trainings: 2, failed: 0, cost_usd: 0 }); // an invalid change never trained
    expect(json.runs.map((r: { config: { n: number } }) => r.config.n)).toEqual([1, 1, 0]);
    expect(json.best).toMatchObject({ run_id: "run_0001", n_seeds: 1, val_mse: 0.3 });
    const text = (await runCli(["status", "--system-dir", dir], { env: cliEnv() })).stdout;
    expect(text).toMatch(/^\*run_0001\s+small\s+mock\s+0\.3000\s+best\s+0\.6000\s+accepted/m);
    expect(text).toMatch(/^ run_0000\s+baseline\s+baseline\s+0\.4000\s+-33\.3%/m);
    expect(text).toContain("best: run_0001 val_mse 0.3000; test_mse (held out) 0.6000");
    expect(text).not.toMatch(/noise|naive baselines|±/);
  });

  it("reads an older search.json's thresholds under their flags' names (one name and unit from the CLI to the rules)", async () => {
    const dir = recorded({ max_runs: 50, best_run_id: null, runs: [] });
    const old = { acceptAbovePct: 2.5, rejectBelowPct: -1, maxRisePct: 30, minBestEpoch: 2 };
    const search = { thread_id: "search-old", started_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z", status: "finished", options: { maxIterations: 3, thresholds: old } };
    fs.writeFileSync(path.join(dir, ".nas-graph", "search.json"), JSON.stringify(search));
    const res = await runCli(["status", "--system-dir", dir, "--json"], { env: cliEnv() });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout).search.options.thresholds).toEqual({ acceptAbove: 2.5, rejectBelow: -1, maxRise: 30, minBestEpoch: 2 });
  });
});
