/**
 * The seed's deterministic acceptance rules, with configurable thresholds, applied in the
 * seed's order:
 *   1. improvement > acceptAbovePct           -> accept
 *   2. improvement < rejectBelowPct           -> reject (degraded)
 *   3. |train - val| / val > maxGapPct        -> reject (overfitting)
 *   4. best_epoch < min(minBestEpoch, max_epochs) -> reject (converged too quickly)
 *   5. otherwise (rejectBelow..acceptAbove)   -> undecided: borderline, needs a judge
 * improvement = (best_val - new_val) / best_val * 100, in percent (boundaries inclusive as in
 * the seed: exactly +2% or -0.5% is borderline).
 *
 * Rule 4 uses min(minBestEpoch, metrics.max_epochs): a run capped by --max-epochs below
 * minBestEpoch cannot reach that epoch, so it must not be rejected for it.
 * Two cases the seed does not cover: a failed training is rejected with its cause, and a
 * successful run with no best run yet is accepted as the baseline (the seed's formula
 * would compute NaN and reject it).
 */
import type { EvaluationInput } from "../contracts.js";

export interface Thresholds {
  /** Accept outright above this improvement (percent). */
  acceptAbovePct: number;
  /** Reject outright below this improvement (percent, negative = regression). */
  rejectBelowPct: number;
  /** Reject when the train/val gap exceeds this (percent of val_mse). */
  maxGapPct: number;
  /** Reject when the best epoch is earlier than this (capped by max_epochs). */
  minBestEpoch: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { acceptAbovePct: 2, rejectBelowPct: -0.5, maxGapPct: 50, minBestEpoch: 3 };

export interface RulesVerdict {
  /** true accept, false reject, null borderline (needs the LLM or the tie-break). */
  accept: boolean | null;
  reason: string;
  /** rules | baseline | failure */
  source: "rules" | "baseline" | "failure";
  improvementPct: number | null;
}

const pct = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}%`;

export function applyRules(input: Pick<EvaluationInput, "metrics" | "failure" | "best">, t: Thresholds = DEFAULT_THRESHOLDS): RulesVerdict {
  const { metrics, best } = input;
  if (input.failure !== null || metrics === null) {
    return { accept: false, reason: `training failed: ${input.failure ?? "no metrics"}`, source: "failure", improvementPct: null };
  }
  const val = metrics.val_mse;
  if (!Number.isFinite(val)) {
    return { accept: false, reason: `training failed: val_mse is ${val}`, source: "failure", improvementPct: null };
  }
  if (best === null || !Number.isFinite(best.val_mse) || best.val_mse <= 0) {
    return { accept: true, reason: `baseline: first successful run (val_mse ${val.toFixed(4)})`, source: "baseline", improvementPct: null };
  }
  // Rounded to 1e-9 % so that a boundary like exactly +2.0% is not tipped by float noise.
  const improvement = Math.round(((best.val_mse - val) / best.val_mse) * 100 * 1e9) / 1e9;
  const verdict = (accept: boolean | null, reason: string): RulesVerdict => ({ accept, reason, source: "rules", improvementPct: improvement });

  if (improvement > t.acceptAbovePct) return verdict(true, `significant improvement: ${pct(improvement)} val_mse over ${best.run_id}`);
  if (improvement < t.rejectBelowPct) return verdict(false, `performance degraded: ${pct(improvement)} val_mse vs ${best.run_id}`);
  const gap = Number.isFinite(metrics.train_mse) ? (Math.abs(metrics.train_mse - val) / val) * 100 : 0;
  if (gap > t.maxGapPct) return verdict(false, `severe overfitting: train/val gap ${gap.toFixed(1)}% > ${t.maxGapPct}%`);
  const minEpoch = Math.min(t.minBestEpoch, metrics.max_epochs);
  if (metrics.best_epoch < minEpoch) {
    return verdict(false, `converged too quickly: best epoch ${metrics.best_epoch} < ${minEpoch}`);
  }
  const kind = improvement > 0 ? "small improvement" : "minor regression";
  return verdict(null, `borderline ${pct(improvement)}: ${kind} vs ${best.run_id}`);
}

/** A clause for the verdict reason when the run's val_mse is worse than persistence on its task. */
export function naiveNote(input: Pick<EvaluationInput, "metrics" | "persistenceValMse">): string {
  const p = input.persistenceValMse;
  const val = input.metrics?.val_mse;
  if (typeof p !== "number" || typeof val !== "number" || !(val > p)) return "";
  return `; val_mse ${val.toFixed(4)} is worse than persistence (repeating the last value: ${p.toFixed(4)}) on this task`;
}
