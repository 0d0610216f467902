/**
 * The final ensemble through the real CLI (node dist/cli.js, nas_agent, train.py on the tiny
 * config): a search ends by selecting and recording it, `nas-graph ensemble` records it again and
 * writes its test forecast as CSV, `status` shows it; a workspace whose train.py saves no
 * forecasts (the torch-free stand-in, test/helpers/fake_train.py, which writes none) finishes its
 * search with one warning line, and `nas-graph ensemble` says why in one.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, readAgentState, runCli, tempWorkspaces } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

// tiny task (test/fixtures/tiny_config.py): S, OT, 300 test rows, pred_len 12
const TEST_WINDOWS = 300 - 12 + 1;
const PRED_LEN = 12;

interface Ensemble {
  fidelity: string;
  members: Array<{ run_id: string; weight: number; count: number }>;
  val_mse: number;
  test_mse: number;
  best_single: { run_id: string; val_mse: number; test_mse: number };
  n_candidates: number;
  forecast_csv?: { path: string; rows: number };
}

function search(dir: string, iterations: number, json = false, env?: NodeJS.ProcessEnv) {
  const args = ["run", "--system-dir", dir, "--planner", "random", "--seed", "3", "--baseline-seeds", "2", "--max-iterations", String(iterations)];
  return runCli(json ? [...args, "--json"] : args, { env });
}

describe("nas-graph ensemble", () => {
  it("a finished search selects and records its ensemble; the command writes the test forecast as CSV; status shows it", async () => {
    const dir = workspace();
    const res = await search(dir, 3);
    expect(res.code, res.stderr).toBe(0);
    // the final summary: one line beside the best config, val and held-out test of both
    const lines = res.stderr.split("\n").filter((l) => l.includes("ensemble of"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ensemble of \d runs? \(weights chosen on val\): val_mse \d\.\d{4}, held-out test_mse \d\.\d{4}; best single run run_\d{4}: val_mse \d\.\d{4}, held-out test_mse \d\.\d{4}/);
    expect(res.stderr).not.toContain("warning");

    const state = readAgentState(dir) as ReturnType<typeof readAgentState> & { fidelity: string; ensembles: Record<string, Ensemble> };
    const recorded = state.ensembles[state.fidelity];
    expect(state.runs).toHaveLength(3); // an ensemble is no run
    expect(recorded.n_candidates).toBe(3);
    const ids = state.runs.map((r) => r.run_id);
    for (const m of recorded.members) expect(ids).toContain(m.run_id);
    expect(recorded.members.reduce((a, m) => a + m.weight, 0)).toBeCloseTo(1, 12);
    expect(recorded.val_mse).toBeLessThanOrEqual(recorded.best_single.val_mse);
    const single = state.runs.find((r) => r.run_id === recorded.best_single.run_id)!;
    expect(recorded.best_single.val_mse).toBeCloseTo(single.val_mse as number, 6);
    expect(Math.min(...state.runs.map((r) => r.val_mse as number))).toBe(single.val_mse);

    const csv = path.join(dir, "forecast.csv");
    const cmd = await runCli(["ensemble", "--system-dir", dir, "--json", "--forecast-csv", csv]);
    expect(cmd.code, cmd.stderr).toBe(0);
    const e = JSON.parse(cmd.stdout) as Ensemble;
    expect(e.members).toEqual(recorded.members); // the same runs, the same choice
    expect(e.forecast_csv).toMatchObject({ path: csv, rows: TEST_WINDOWS * PRED_LEN });
    const rows = fs.readFileSync(csv, "utf8").trim().split("\n");
    expect(rows[0]).toBe("window,step,date,target,forecast,actual");
    expect(rows).toHaveLength(1 + TEST_WINDOWS * PRED_LEN);
    expect(rows[1]).toMatch(/^0,1,\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},OT,-?\d/);

    const status = await runCli(["status", "--system-dir", dir, "--json"]);
    expect(status.code, status.stderr).toBe(0);
    const data = JSON.parse(status.stdout);
    expect(data.ensemble).toMatchObject({ members: e.members, val_mse: e.val_mse, test_mse: e.test_mse, best_single: e.best_single });
    expect(data.runs).toHaveLength(3);
    const text = await runCli(["status", "--system-dir", dir]);
    expect(text.stdout).toContain(`ensemble of ${e.members.length} run`);
  });

  it("runs of a train.py that saves no forecasts: the search still finishes with one warning line; the command says why in one line", async () => {
    const dir = workspace();
    // the stand-in trains as an older train.py did, before predictions.npz
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }) });
    const res = await search(dir, 2, true, env);
    expect(res.code, res.stderr).toBe(0);
    const summary = JSON.parse(res.stdout);
    expect(summary).toMatchObject({ status: "finished", iterations: 2, ensemble: null });
    expect(summary.ensemble_error).toMatch(/none of the 2 finished runs .*predictions\.npz.*train\.py/);
    const warnings = res.stderr.split("\n").filter((l) => l.startsWith("warning:"));
    expect(warnings).toEqual([`warning: no ensemble: ${summary.ensemble_error}`]);

    const cmd = await runCli(["ensemble", "--system-dir", dir], { env });
    expect(cmd.code).toBe(2);
    expect(cmd.stderr.trim().split("\n")).toEqual([`error: ${summary.ensemble_error}`]);
    const status = JSON.parse((await runCli(["status", "--system-dir", dir, "--json"])).stdout);
    expect(status.ensemble).toBeUndefined();
  });

  it("an empty workspace: one line naming the fix", async () => {
    const dir = workspace();
    const cmd = await runCli(["ensemble", "--system-dir", dir]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toBe(`error: no runs recorded in ${dir} yet; start a search with 'nas-graph run' first\n`);
  });
});
