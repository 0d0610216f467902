/**
 * `nas-graph ensemble`: select the final model of the current fidelity, a weighted ensemble of its
 * runs chosen on validation MSE only (src/ensemble.ts, `nas_agent ensemble`), record it in
 * agent_state.json (`status` and the report show it), and with `--forecast-csv PATH` write its
 * forecast of the test split as CSV in the data file's units.
 */
import { UserError } from "../errors.js";
import { ensembleLine, membersText, selectEnsemble } from "../ensemble.js";
import { ui } from "../ui.js";
import { acquireLock, openWorkspace } from "../workspace.js";

export interface EnsembleOptions {
  systemDir: string;
  steps?: number;
  forecastCsv?: string;
  json?: boolean;
}

export async function ensembleCommand(opts: EnsembleOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (opts.steps !== undefined && !(Number.isInteger(opts.steps) && opts.steps >= 1)) throw new UserError(`--steps must be a positive integer (got ${opts.steps})`);
  const ws = openWorkspace(opts.systemDir);
  // a lost, corrupt or empty agent_state.json: the helper's one line (nas_agent ensemble)
  const release = acquireLock(ws, "ensemble", ui.notice);
  try {
    const e = await selectEnsemble({ ws, env }, { steps: opts.steps, forecastCsv: opts.forecastCsv });
    if (opts.json) {
      process.stdout.write(JSON.stringify(e) + "\n");
      return;
    }
    const out = [ensembleLine(e), `members (weight): ${membersText(e)}; ${e.steps} addition${e.steps === 1 ? "" : "s"} among ${e.n_candidates} runs of ${e.fidelity}`];
    if (e.skipped.length) out.push(`left out: ${e.skipped.length} run(s) without usable saved forecasts (${e.skipped.map((s) => s.run_id).join(", ")})`);
    if (e.forecast_csv) out.push(`test forecast: ${e.forecast_csv.path} (${e.forecast_csv.rows} rows: ${e.forecast_csv.windows} windows x ${e.forecast_csv.steps} steps, ${e.forecast_csv.units})`);
    out.push("val_mse chose the weights; test_mse is held out: recorded and shown, never used to choose.");
    process.stdout.write(out.join("\n") + "\n");
  } finally {
    release();
  }
}
