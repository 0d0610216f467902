/**
 * Read-only views of agent_state.json for people (status, the iteration header): each run with
 * its config's statistics over seeds. The grouping itself is Python's (agent_state.json
 * `configs`, derived by nas_agent.config_stats); a state written before it (no `configs`)
 * shows each run alone. Decisions never read these: Python owns best_run_id.
 */
import type { AgentStateFile, ConfigEvidence, RunInfo } from "./contracts.js";

export interface ConfigStats {
  key: string;
  run_ids: string[];
  /** val_mse of the finished (status ok) runs of this config. */
  values: number[];
  mean: number | null;
  /** Sample sd (n - 1), null under 2 values. */
  sd: number | null;
  n: number;
}

export function finite(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

/** run_id -> the statistics of its config. */
export function configStats(state: AgentStateFile): Map<string, ConfigStats> {
  const out = new Map<string, ConfigStats>();
  for (const c of state.configs ?? []) {
    const stats: ConfigStats = {
      key: c.config_id ? `${c.config_id}@${c.fidelity ?? ""}` : `run:${c.root_run_id}`,
      run_ids: c.run_ids,
      values: c.val_values,
      mean: c.val_mean,
      sd: c.val_sd,
      n: c.n,
    };
    for (const id of c.run_ids) out.set(id, stats);
  }
  for (const r of state.runs) if (!out.has(r.run_id)) out.set(r.run_id, alone(r));
  return out;
}

function alone(r: RunInfo): ConfigStats {
  const ok = (r.status ?? "ok") === "ok" && finite(r.val_mse);
  return { key: `run:${r.run_id}`, run_ids: [r.run_id], values: ok ? [r.val_mse as number] : [], mean: ok ? (r.val_mse as number) : null, sd: null, n: ok ? 1 : 0 };
}

export interface BestSummary {
  run_id: string;
  mean: number | null;
  sd: number | null;
  n: number;
}

/** The incumbent's seeds as the header shows them. */
export function bestSummary(c: ConfigEvidence | null): BestSummary | null {
  return c ? { run_id: c.root_run_id, mean: c.val_mean, sd: c.val_sd, n: c.n } : null;
}

/** "0.1812 ± 0.0040 (run_0002, 3 seeds)" or "0.1812 (run_0002)". */
export function formatBest(b: BestSummary | null): string {
  if (!b) return "none yet";
  const m = finite(b.mean) ? b.mean.toFixed(4) : "-";
  if (b.n > 1) return `${m} ± ${finite(b.sd) ? b.sd.toFixed(4) : "-"} (${b.run_id}, ${b.n} seeds)`;
  return `${m} (${b.run_id})`;
}
