/**
 * The final model: a weighted ensemble of the current fidelity's runs, its weights chosen on
 * validation MSE only (greedy selection with replacement, Caruana et al. 2004). The selection,
 * its record in agent_state.json and the forecast CSV are Python's (`nas_agent ensemble`, which
 * owns the run files); this module asks for it and words the result for people.
 */
import path from "node:path";
import type { EnsembleRecord } from "./contracts.js";
import { agent, type PyContext, type HelperArgs } from "./python.js";
import { fmt } from "./ui.js";

/** The test forecast written as CSV (one row per window, step and target; original units). */
export interface ForecastCsv {
  path: string;
  rows: number;
  windows: number;
  steps: number;
  targets: string[];
  units: string;
}

export type EnsembleResult = EnsembleRecord & { forecast_csv?: ForecastCsv };

/** Select and record the ensemble of the current fidelity (and write its test forecast when asked). */
export async function selectEnsemble(py: PyContext, opts: { steps?: number; forecastCsv?: string } = {}): Promise<EnsembleResult> {
  const args: HelperArgs = ["ensemble"];
  if (opts.steps !== undefined) args.push("--steps", String(opts.steps));
  if (opts.forecastCsv) args.push("--forecast-csv", path.resolve(opts.forecastCsv)); // the helper's cwd is not ours
  const { ok: _ok, ...result } = await agent<EnsembleResult & { ok: true }>(py, args);
  return result;
}

/** One line: the ensemble next to the best single run, val (chosen on) and held-out test. */
export function ensembleLine(e: EnsembleRecord): string {
  const b = e.best_single;
  const n = e.members.length;
  return (
    `ensemble of ${n} run${n === 1 ? "" : "s"} (weights chosen on val): val_mse ${fmt(e.val_mse)}, held-out test_mse ${fmt(e.test_mse)}; ` +
    `best single run ${b.run_id}: val_mse ${fmt(b.val_mse)}, held-out test_mse ${fmt(b.test_mse)}`
  );
}

/** "run_0003 0.50, run_0001 0.33, run_0004 0.17" */
export function membersText(e: EnsembleRecord): string {
  return e.members.map((m) => `${m.run_id} ${m.weight.toFixed(2)}`).join(", ");
}
