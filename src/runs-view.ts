/**
 * Read-only views of agent_state.json for people (status, the iteration header): runs grouped
 * by config (`config_id`, plus `fidelity` when present; else each run alone) with the mean and
 * sd of val_mse over the config's seeds. Fields that older states lack are simply absent.
 * Decisions never read these: Python owns best_run_id.
 */
import type { AgentStateFile, RunInfo } from "./contracts.js";

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

/** The config a run belongs to: config_id (and fidelity) when recorded, else the run itself. */
export function configKey(r: RunInfo): string {
  const id = typeof r.config_id === "string" && r.config_id ? r.config_id : null;
  if (!id) return `run:${r.run_id}`;
  return typeof r.fidelity === "string" && r.fidelity ? `${id}@${r.fidelity}` : id;
}

export function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

export function sampleSd(xs: number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs) as number;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export function configStats(runs: RunInfo[]): Map<string, ConfigStats> {
  const out = new Map<string, ConfigStats>();
  for (const r of runs) {
    const key = configKey(r);
    let g = out.get(key);
    if (!g) out.set(key, (g = { key, run_ids: [], values: [], mean: null, sd: null, n: 0 }));
    g.run_ids.push(r.run_id);
    if ((r.status ?? "ok") === "ok" && finite(r.val_mse)) g.values.push(r.val_mse);
  }
  for (const g of out.values()) {
    g.n = g.values.length;
    g.mean = mean(g.values);
    g.sd = sampleSd(g.values);
  }
  return out;
}

export interface BestSummary {
  run_id: string;
  mean: number | null;
  sd: number | null;
  n: number;
}

/** The incumbent (Python's best_run_id) with its config's mean ± sd over seeds. */
export function bestSummary(state: AgentStateFile): BestSummary | null {
  const best = state.runs.find((r) => r.run_id === state.best_run_id);
  if (!best) return null;
  const g = configStats(state.runs).get(configKey(best));
  if (!g || g.n === 0) return { run_id: best.run_id, mean: finite(best.val_mse) ? best.val_mse : null, sd: null, n: 1 };
  return { run_id: best.run_id, mean: g.mean, sd: g.sd, n: g.n };
}

/** "0.1812 ± 0.0040 (run_0002, 3 seeds)" or "0.1812 (run_0002)". */
export function formatBest(b: BestSummary | null): string {
  if (!b) return "none yet";
  const m = finite(b.mean) ? b.mean.toFixed(4) : "-";
  if (b.n > 1) return `${m} ± ${finite(b.sd) ? b.sd.toFixed(4) : "-"} (${b.run_id}, ${b.n} seeds)`;
  return `${m} (${b.run_id})`;
}
