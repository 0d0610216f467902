/**
 * What every verdict starts with (failures, baselines, seeds of the incumbent), and the seed's
 * fixed-percent rules (`--acceptance fixed`), applied in the seed's order to the new run's
 * val_mse against the incumbent's mean:
 *   1. improvement > acceptAbove           -> accept
 *   2. improvement < rejectBelow           -> reject (degraded)
 *   3. val rose > maxRise after its best    -> reject (overfitting; read from the val curve,
 *                                                 nas_agent/curve.py; not the train/val gap)
 *   4. best_epoch < min(minBestEpoch, max_epochs) -> reject (converged too quickly)
 *   5. otherwise (rejectBelow..acceptAbove)   -> undecided: borderline, needs a judge
 * improvement = (incumbent_val - new_val) / incumbent_val * 100, in percent (boundaries
 * inclusive as in the seed: exactly +2% or -0.5% is borderline).
 *
 * Rule 4 uses min(minBestEpoch, metrics.max_epochs): a run capped by --max-epochs below
 * minBestEpoch cannot reach that epoch, so it must not be rejected for it.
 * Cases the seed does not cover: a failed training is rejected with its cause, a successful
 * run with no incumbent is accepted as the baseline, and another seed of the incumbent's own
 * config is kept (it measures the noise; the config's verdict stands). When that first successful
 * run is a proposal (every seed of the planned baseline failed: an OOM, a --run-timeout), it is
 * measured like a baseline: its missing seeds, up to --baseline-seeds, train next (baselineSeeds;
 * with --parallel they go to the round's incumbent, should a config of the same round beat it),
 * so that the incumbent has a measured mean and noise before other configs are judged against it.
 */
import type { EvaluationInput } from "../contracts.js";
import { UserError } from "../errors.js";
import { RUN_DEFAULTS } from "../run-defaults.js";

export interface Thresholds {
  /** Accept outright above this improvement (percent). */
  acceptAbove: number;
  /** Reject outright below this improvement (percent, negative = regression). */
  rejectBelow: number;
  /** Flag (noise mode) or reject (fixed mode) when val_mse rose more than this after its best epoch (percent). */
  maxRise: number;
  /** Reject when the best epoch is earlier than this (capped by max_epochs); fixed mode only. */
  minBestEpoch: number;
}

/** `nas-graph run`'s defaults (src/run-defaults.ts). */
export const DEFAULT_THRESHOLDS: Thresholds = (({ acceptAbove, rejectBelow, maxRise, minBestEpoch }) => ({ acceptAbove, rejectBelow, maxRise, minBestEpoch }))(RUN_DEFAULTS);

/** Every threshold must be known and finite; the accept bound must lie above the reject bound. */
export function checkThresholds(t: Record<string, unknown> | Thresholds): Thresholds {
  for (const [key, value] of Object.entries(t)) {
    if (!(key in DEFAULT_THRESHOLDS)) throw new UserError(`unknown evaluator threshold "${key}"; use ${Object.keys(DEFAULT_THRESHOLDS).join(", ")}`);
    if (typeof value !== "number" || !Number.isFinite(value)) throw new UserError(`evaluator threshold ${key} must be a number (got ${String(value)})`);
  }
  const th = t as unknown as Thresholds;
  if (th.maxRise < 0) throw new UserError(`--max-rise must be >= 0 (got ${th.maxRise})`);
  if (th.acceptAbove < th.rejectBelow) {
    throw new UserError(`the accept threshold (${th.acceptAbove}%) is below the reject threshold (${th.rejectBelow}%); raise it or lower the other`);
  }
  return th;
}

export interface RulesVerdict {
  /** true accept, false reject, null borderline (needs the LLM or the tie-break). */
  accept: boolean | null;
  reason: string;
  /** rules | baseline | failure | seed */
  source: "rules" | "baseline" | "failure" | "seed";
  improvementPct: number | null;
  /** A baseline from a proposal: further seeds to train before other verdicts. */
  baselineSeeds?: number;
}

const pct = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}%`;

/** Failures, baselines and seeds of the incumbent: decided the same way in every mode; null otherwise. */
export function settledCases(input: Pick<EvaluationInput, "metrics" | "failure" | "incumbent" | "candidate" | "baselineSeedsLeft">): RulesVerdict | null {
  const { metrics, incumbent } = input;
  if (input.failure !== null || metrics === null) {
    return { accept: false, reason: `training failed: ${input.failure ?? "no metrics"}`, source: "failure", improvementPct: null };
  }
  const val = metrics.val_mse;
  if (!Number.isFinite(val)) {
    return { accept: false, reason: `training failed: val_mse is ${val}`, source: "failure", improvementPct: null };
  }
  if (incumbent === null || !Number.isFinite(incumbent.val_mean) || incumbent.val_mean <= 0) {
    const seeds = Math.max(0, input.baselineSeedsLeft ?? 0);
    const measured = seeds > 0 ? `; measured like a baseline: ${seeds} more seed${seeds === 1 ? "" : "s"} of it train next, before anything is judged against it` : "";
    return { accept: true, reason: `baseline: first successful run (val_mse ${val.toFixed(4)})${measured}`, source: "baseline", improvementPct: null, baselineSeeds: seeds };
  }
  if (input.candidate && input.candidate.root_run_id === incumbent.root_run_id) {
    const n = input.candidate.n;
    return { accept: true, reason: `seed ${n} of the incumbent ${incumbent.root_run_id}'s config (val_mse ${val.toFixed(4)}): measures the seed noise`, source: "seed", improvementPct: null };
  }
  return null;
}

export function applyRules(
  input: Pick<EvaluationInput, "metrics" | "failure" | "incumbent" | "candidate" | "curve" | "baselineSeedsLeft">,
  t: Thresholds = DEFAULT_THRESHOLDS,
): RulesVerdict {
  const settled = settledCases(input);
  if (settled) return settled;
  const metrics = input.metrics!;
  const best = input.incumbent!;
  const val = metrics.val_mse;
  // Rounded to 1e-9 % so that a boundary like exactly +2.0% is not tipped by float noise.
  const improvement = Math.round(((best.val_mean - val) / best.val_mean) * 100 * 1e9) / 1e9;
  const verdict = (accept: boolean | null, reason: string): RulesVerdict => ({ accept, reason, source: "rules", improvementPct: improvement });
  const vs = best.root_run_id;

  if (improvement > t.acceptAbove) return verdict(true, `significant improvement: ${pct(improvement)} val_mse over ${vs}`);
  if (improvement < t.rejectBelow) return verdict(false, `performance degraded: ${pct(improvement)} val_mse vs ${vs}`);
  // the helper's rule (nas_agent/curve.py), with the search's --max-rise
  if (input.curve?.overfitting) return verdict(false, `overfitting: ${input.curve.overfitting}`);
  const minEpoch = Math.min(t.minBestEpoch, metrics.max_epochs);
  if (metrics.best_epoch < minEpoch) {
    return verdict(false, `converged too quickly: best epoch ${metrics.best_epoch} < ${minEpoch}`);
  }
  const kind = improvement > 0 ? "small improvement" : "minor regression";
  return verdict(null, `borderline ${pct(improvement)}: ${kind} vs ${vs}`);
}

/** A clause for the verdict reason when the run's val_mse is worse than persistence on its task. */
export function naiveNote(input: Pick<EvaluationInput, "metrics" | "persistenceValMse">): string {
  const p = input.persistenceValMse;
  const val = input.metrics?.val_mse;
  if (typeof p !== "number" || typeof val !== "number" || !(val > p)) return "";
  return `; val_mse ${val.toFixed(4)} is worse than persistence (repeating the last value: ${p.toFixed(4)}) on this task`;
}
