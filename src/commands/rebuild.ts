/**
 * `nas-graph rebuild`: reconstruct agent_state.json from runs/*\/ and the decision log
 * (`nas_agent rebuild-state`), for a state file that was lost or corrupted. The runs are replayed in
 * the order the search recorded them, with their verdicts; the file it replaces is moved aside.
 */
import { ensembleLine, selectEnsemble, type EnsembleResult } from "../ensemble.js";
import { mirrorStudy } from "../graph/study.js";
import { agent, AgentError } from "../python.js";
import { ui } from "../ui.js";
import { acquireLock, openWorkspace } from "../workspace.js";

export interface RebuildOptions {
  systemDir: string;
  force?: boolean;
  json?: boolean;
}

interface RebuildResult {
  path: string;
  runs: number;
  from_log: number;
  torn_lines: number;
  unlogged: string[];
  incomplete: string[];
  skipped: Array<{ run_id: string; reason: string }>;
  best_run_id: string | null;
  fidelity: string | null;
  moved_aside: string | null;
  baselines_errors: string[];
}

export async function rebuildCommand(opts: RebuildOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const ws = openWorkspace(opts.systemDir);
  const release = acquireLock(ws, "rebuild", ui.notice);
  try {
    const py = { ws, env };
    const res = await agent<RebuildResult>(py, ["rebuild-state", ...(opts.force ? ["--force"] : [])]);
    await mirrorStudy({ py, ui });
    // the current fidelity's ensemble, selected again as the search's end selected it (deterministic)
    let ensemble: EnsembleResult | null = null;
    let ensembleError: string | null = null;
    if (res.fidelity) {
      try {
        ensemble = await selectEnsemble(py);
      } catch (err) {
        if (!(err instanceof AgentError)) throw err;
        ensembleError = err.message;
      }
    }
    if (opts.json) {
      process.stdout.write(JSON.stringify({ ...res, ensemble, ensemble_error: ensembleError }) + "\n");
      return;
    }
    const runs = (n: number) => `${n} run${n === 1 ? "" : "s"}`;
    const out = [`rebuilt ${res.path}: ${runs(res.runs)} (${res.from_log} from the decision log), best run ${res.best_run_id ?? "none"}, fidelity ${res.fidelity ?? "none"}`];
    if (res.moved_aside) out.push(`the previous file is kept as ${res.moved_aside}`);
    if (res.unlogged.length) out.push(`verdict pending (no decision logged, not accepted): ${res.unlogged.join(", ")}`);
    if (res.incomplete.length) out.push(`left out, unfinished (no metrics.json or failure.json): ${res.incomplete.join(", ")}`);
    for (const s of res.skipped) out.push(`left out ${s.run_id}: ${s.reason}`);
    if (res.torn_lines) out.push(`skipped ${res.torn_lines} torn line(s) of the decision log`);
    for (const e of res.baselines_errors) out.push(`naive baselines not computed: ${e}`);
    out.push(ensemble ? ensembleLine(ensemble) : `no ensemble: ${ensembleError ?? "no fidelity recorded"}`);
    out.push("not rebuilt: manual overrides (nas-graph override; redo them), the ensembles of earlier fidelities");
    process.stdout.write(out.join("\n") + "\n");
  } finally {
    release();
  }
}
