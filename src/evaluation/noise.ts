/**
 * Noise-aware acceptance (the default): compare means over seeds, not single draws.
 *
 * The incumbent I and the candidate C are configs with n_I and n_C seeds (ConfigEvidence):
 * means m_I, m_C, and noise estimates s_I, s_C (the seed-to-seed sd of val_mse pooled over
 * their family's configs at this fidelity, with its degrees of freedom; when no spread was
 * measured, e.g. with --baseline-seeds 1, a stated default relative sd times the config's mean).
 * With
 *     delta = ln(m_I / m_C)                     (the candidate's gain on the log scale, > 0 is better)
 *     SE    = sqrt((s_I/m_I)^2 / n_I + (s_C/m_C)^2 / n_C)   (seed noise of an MSE is relative)
 *     margin = q_k * SE                         (shown as the % gain it takes: 1 - exp(-margin))
 * where q_k is the one-sided Student t quantile at 1 - alpha_k on the pooled degrees of freedom
 * (the smaller of the two estimates'; the normal quantile for an assumed sd). A candidate is
 * looked at up to K = 1 + --max-repeats times (one more seed each time), so the false-accept
 * rate --alpha (0.025) is spent over the looks: look k gets alpha_k = alpha * k / (1 + ... + K)
 * (a Bonferroni split that keeps most of it for the later, better-measured looks). A config no
 * better than the incumbent is then accepted at most alpha of the time (bench/verdicts.py).
 * The verdict is:
 *   1. delta > margin                         -> accept (the gain clears the noise)
 *   2. delta <= 0                             -> reject (the mean is not lower)
 *   3. 0 < delta <= margin, a curve flag     -> reject (a fragile gain inside the noise; no repeat)
 *   4. 0 < delta <= margin, repeats left     -> repeat: train C again with a new seed
 *   5. 0 < delta <= margin, no repeat left   -> open: recorded as promising, never the incumbent
 * Repeats shrink SE by adding seeds to C; the verdict always uses the mean.
 */
import type { ConfigEvidence } from "../contracts.js";
import { tQuantile } from "./stats.js";
import { UserError } from "../errors.js";
import { RUN_DEFAULTS } from "../run-defaults.js";

export interface NoiseOptions {
  /** The false-accept rate of a candidate no better than the incumbent, over all its looks (--alpha). */
  alpha: number;
  /** Relative sd (of the config's mean val_mse) assumed when no seed spread was measured. */
  defaultRelSd: number;
  /** Looks a candidate may get: 1 + --max-repeats. */
  maxLooks: number;
}

/** `nas-graph run`'s defaults (src/run-defaults.ts). */
export const DEFAULT_NOISE: NoiseOptions = { alpha: RUN_DEFAULTS.alpha, defaultRelSd: RUN_DEFAULTS.defaultRelSd, maxLooks: 1 + RUN_DEFAULTS.maxRepeats };

/** The noise margin's parameters must be usable numbers. */
export function checkNoise(o: NoiseOptions): NoiseOptions {
  if (!(Number.isFinite(o.alpha) && o.alpha > 0 && o.alpha < 0.5)) throw new UserError(`--alpha must be a false-accept rate in (0, 0.5), e.g. 0.025 (got ${o.alpha})`);
  if (!(Number.isFinite(o.defaultRelSd) && o.defaultRelSd > 0 && o.defaultRelSd < 1)) {
    throw new UserError(`--default-rel-sd must be a fraction in (0, 1), e.g. 0.1 (got ${o.defaultRelSd})`);
  }
  return o;
}

/** alpha_k of look k (1-based, capped at K): alpha * k / (1 + ... + K); they sum to alpha. */
export function lookAlpha(alpha: number, look: number, maxLooks: number): number {
  const K = Math.max(1, maxLooks);
  const k = Math.min(Math.max(1, look), K);
  return (alpha * k) / ((K * (K + 1)) / 2);
}

export type NoiseDecision = "accept" | "reject" | "repeat" | "open";

export interface NoiseVerdict {
  decision: NoiseDecision;
  reason: string;
  /** Gain of the candidate's mean over the incumbent's, in % of the incumbent's mean. */
  deltaPct: number;
  marginPct: number;
  /** Where the sd came from (measured pool or the default). */
  noise: string;
}

/** The noise estimate of one config, and where it came from. */
export function configSd(c: ConfigEvidence, o: Pick<NoiseOptions, "defaultRelSd">): { sd: number; source: string; dof: number } {
  if (c.noise_sd != null && c.noise_sd > 0) {
    return { sd: c.noise_sd, source: `sd ${fmt(c.noise_sd)} from ${c.noise_source ?? "measured seeds"}`, dof: c.noise_dof ?? Infinity };
  }
  return { sd: o.defaultRelSd * c.val_mean, source: `no measured seed spread: default relative sd ${(o.defaultRelSd * 100).toFixed(0)}%`, dof: Infinity };
}

export function describeConfig(c: ConfigEvidence): string {
  const sd = c.n >= 2 && c.val_sd != null ? ` ± ${fmt(c.val_sd)}` : "";
  return `${fmt(c.val_mean)}${sd} (${c.n} seed${c.n === 1 ? "" : "s"})`;
}

export function noiseVerdict(
  cand: ConfigEvidence,
  inc: ConfigEvidence,
  o: NoiseOptions,
  repeatsLeft: number,
  flags: string[],
): NoiseVerdict {
  const sI = configSd(inc, o);
  const sC = configSd(cand, o);
  // on the log scale: seed noise of an MSE is relative (an sd proportional to the level), so the
  // difference of log means has SE sqrt(rel_I^2 / n_I + rel_C^2 / n_C) whatever the two levels
  const vI = (sI.sd / inc.val_mean) ** 2 / inc.n;
  const vC = (sC.sd / cand.val_mean) ** 2 / cand.n;
  const se = Math.sqrt(vI + vC);
  // Two families' own pools (no run in common): Welch-Satterthwaite; the smaller dof was
  // over-cautious there (bench/verdicts.mjs ... cross). One pool, or pools that overlap (one of
  // them over all families): the smaller dof (one pool's dof, when it is one).
  const apart = inc.noise_pool === "family" && cand.noise_pool === "family" && inc.family !== cand.family;
  const dof = apart ? welchDof(vI, sI.dof, vC, sC.dof) : Math.min(sI.dof, sC.dof);
  const look = Math.min(cand.n, o.maxLooks);
  const q = tQuantile(1 - lookAlpha(o.alpha, look, o.maxLooks), dof);
  const delta = Math.log(inc.val_mean / cand.val_mean);
  const deltaPct = ((inc.val_mean - cand.val_mean) / inc.val_mean) * 100;
  const marginPct = (1 - Math.exp(-q * se)) * 100; // the gain (in % of the incumbent's mean) that clears it
  const noise = sC.source === sI.source ? sC.source : `candidate ${sC.source}; incumbent ${sI.source}`;
  const head = `mean val_mse ${describeConfig(cand)} vs ${inc.root_run_id}'s ${describeConfig(inc)}`;
  const gain = `${deltaPct >= 0 ? "+" : ""}${deltaPct.toFixed(1)}%`;
  const test = Number.isFinite(dof) ? `t ${q.toFixed(2)} on ${Number(dof.toFixed(1))} dof` : `z ${q.toFixed(2)}`;
  const margin = `the noise margin ${marginPct.toFixed(1)}% (${test}, look ${look} of ${o.maxLooks}; ${noise})`;
  const verdict = (decision: NoiseDecision, reason: string): NoiseVerdict => ({ decision, reason, deltaPct, marginPct, noise });
  if (delta > q * se) return verdict("accept", `${head}: ${gain}, beyond ${margin}`);
  if (delta <= 0) return verdict("reject", `${head}: ${gain}, not lower`);
  if (flags.length > 0) return verdict("reject", `${head}: ${gain}, inside ${margin}, and ${flags.join("; ")}: not worth a repeat`);
  if (repeatsLeft > 0) return verdict("repeat", `${head}: ${gain}, inside ${margin}: train it again with a new seed`);
  return verdict("open", `${head}: ${gain}, inside ${margin}, and no repeat left`);
}

/** Welch-Satterthwaite degrees of freedom of v1 + v2, each estimated on its own dof (Infinity: known). */
function welchDof(v1: number, dof1: number, v2: number, dof2: number): number {
  const parts = (Number.isFinite(dof1) ? v1 ** 2 / dof1 : 0) + (Number.isFinite(dof2) ? v2 ** 2 / dof2 : 0);
  return parts > 0 ? (v1 + v2) ** 2 / parts : Infinity;
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
