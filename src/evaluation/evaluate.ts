/**
 * The hybrid evaluator. Failures, baselines and further seeds of the incumbent are settled
 * first (rules.ts). Then, by acceptance mode:
 *   - "noise" (default): means over seeds against a noise margin (noise.ts): accept, reject,
 *     repeat with a new seed, or open; only open cases go to the LLM (mode "llm").
 *   - "fixed": the seed's fixed-percent rules on the single new run (rules.ts); borderline
 *     runs go to the LLM.
 * Without an LLM (mode "rules"), or when the LLM fails after its re-asks, an open noise case
 * keeps the incumbent (the gain is inside the noise), and a fixed-mode borderline run is kept
 * iff its val_mse is strictly lower; the reason says which of these happened.
 */
import { EvaluatorDecisionSchema, type EvaluationInput, type EvaluationResult, type EvaluatorDecision } from "../contracts.js";
import { UserError, oneLine } from "../errors.js";
import type { CostBudget } from "../llm/budget.js";
import { LlmFailure } from "../llm/errors.js";
import { llmConfigured, readLlmSettings, type LlmSettings } from "../llm/settings.js";
import { askStructured } from "../llm/structured.js";
import { emptyUsage } from "../llm/usage.js";
import { logger } from "../log.js";
import { fmt, formatChangeList } from "../planners/prompt.js";
import { renderPrompt } from "../prompts.js";
import { DEFAULT_NOISE, checkNoise, configSd, noiseVerdict, type NoiseOptions, type NoiseVerdict } from "./noise.js";
import { DEFAULT_THRESHOLDS, applyRules, checkThresholds, naiveNote, settledCases, type RulesVerdict, type Thresholds } from "./rules.js";

export const EVALUATOR_TOOL = "evaluator_decision";

export type Acceptance = "noise" | "fixed";

export interface EvaluatorOptions {
  mode: "llm" | "rules";
  /** noise (default): means over seeds against a noise margin; fixed: the seed's percent rules. */
  acceptance?: Acceptance;
  thresholds?: Partial<Thresholds>;
  noise?: Partial<NoiseOptions>;
  env?: Record<string, string | undefined>;
  /** The search's LLM cost cap: an open case stops the search rather than pass it. */
  budget?: CostBudget | null;
}

export type Evaluator = (input: EvaluationInput) => Promise<EvaluationResult>;

export function createEvaluator(opts: EvaluatorOptions): Evaluator {
  const given = Object.entries(opts.thresholds ?? {}).filter(([, v]) => v !== undefined);
  const thresholds = checkThresholds({ ...DEFAULT_THRESHOLDS, ...Object.fromEntries(given) });
  const noise = checkNoise({ ...DEFAULT_NOISE, ...Object.fromEntries(Object.entries(opts.noise ?? {}).filter(([, v]) => v !== undefined)) });
  const settings = opts.mode === "llm" ? evaluatorSettings(opts.env ?? process.env) : null;
  const acceptance = opts.acceptance ?? "noise";
  const decide = async (input: EvaluationInput): Promise<EvaluationResult> => {
    const settled = settledCases(input);
    if (settled) return fromRules(settled);
    if (acceptance === "fixed") {
      const rules = applyRules(input, thresholds);
      if (rules.accept !== null) return fromRules(rules);
      if (settings === null) return tieBreak(input, rules, "no LLM evaluator configured", "rules (no LLM)");
      return askLlm(settings, input, rules, noise, opts.budget ?? null, (why) => tieBreak(input, rules, why, "rules (LLM failed)"));
    }
    const flags = [input.curve?.overfitting, input.curve?.early_peak].filter((f): f is string => typeof f === "string");
    const verdict = noiseVerdict(input.candidate!, input.incumbent!, noise, input.repeatsLeft, flags);
    if (verdict.decision !== "open") return fromNoise(verdict);
    const open: RulesVerdict = { accept: null, reason: verdict.reason, source: "rules", improvementPct: verdict.deltaPct };
    if (settings === null) return keepIncumbent(open, "no LLM evaluator configured", "noise (no LLM)");
    return unconfirmed(await askLlm(settings, input, open, noise, opts.budget ?? null, (why) => keepIncumbent(open, why, "noise (LLM failed)")));
  };
  return async (input) => {
    const res = await decide(input);
    return { ...res, reason: res.reason + naiveNote(input) };
  };
}

function fromNoise(v: NoiseVerdict): EvaluationResult {
  const feedback: Record<Exclude<NoiseVerdict["decision"], "open">, string> = {
    accept: "This change helped beyond the seed noise; refine around it.",
    reject: v.reason.includes("not worth a repeat")
      ? "The gain was inside the noise and the val curve was fragile: try a more stable direction (lower lr, more regularization)."
      : "This change did not lower the mean val_mse; try a different direction.",
    repeat: "The gain is inside the seed noise; it is being trained again with a new seed before the verdict.",
  };
  const d = v.decision as Exclude<NoiseVerdict["decision"], "open">;
  return {
    accept: d === "accept",
    repeat: d === "repeat",
    reason: v.reason,
    feedback: feedback[d],
    source: "noise",
    usage: emptyUsage(),
    improvement_pct: v.deltaPct,
    transcript: null,
  };
}

/** An open noise case without a usable LLM: the incumbent stays (the gain is not proven). */
/** A gain inside the noise with no repeat left: kept as promising, unconfirmed (never the incumbent). */
function keepIncumbent(open: RulesVerdict, why: string, source: string): EvaluationResult {
  const reason = `${open.reason}; ${why}: kept the incumbent; recorded as promising, unconfirmed (the gain is inside the seed noise; more seeds could confirm it)`;
  return { ...result(false, reason, "A gain inside the noise after every repeat: prefer a clearly different direction next.", source, open), promising: true };
}

/** Nothing becomes the incumbent from inside the noise margin: an LLM's yes marks the candidate promising, unconfirmed. */
function unconfirmed(res: EvaluationResult): EvaluationResult {
  if (res.source !== "llm") return res;
  if (!res.accept) return { ...res, promising: false };
  return { ...res, accept: false, promising: true, reason: `${res.reason}; recorded as promising, unconfirmed: a gain inside the seed noise never becomes the incumbent` };
}

function evaluatorSettings(env: Record<string, string | undefined>): LlmSettings {
  if (!llmConfigured(env)) {
    throw new UserError(
      "no LLM is configured for the evaluator: OPENROUTER_API_KEY is not set; put it in .env (see .env.example) or use --evaluator rules",
    );
  }
  return readLlmSettings(env, "evaluator");
}

function result(accept: boolean, reason: string, feedback: string, source: string, rules: RulesVerdict): EvaluationResult {
  return { accept, reason, feedback, source, usage: emptyUsage(), improvement_pct: rules.improvementPct, transcript: null };
}

function fromRules(rules: RulesVerdict): EvaluationResult {
  const res = result(rules.accept === true, rules.reason, feedbackFor(rules), rules.source, rules);
  return rules.baselineSeeds ? { ...res, baseline_seeds: rules.baselineSeeds } : res;
}

/** Deterministic advice for the next plan, matching the rule that decided. */
function feedbackFor(rules: RulesVerdict): string {
  const r = rules.reason;
  if (rules.source === "baseline") {
    return rules.baselineSeeds ? "Baseline established; its seed noise is being measured before the next verdict." : "Baseline established; tune from this config.";
  }
  if (rules.source === "seed") return "Another seed of the incumbent: the seed noise is being measured.";
  if (rules.source === "failure") return "The training failed; avoid this change or make it safer (lower lr, gradient clipping, smaller model).";
  if (r.startsWith("significant")) return "This change helped; refine around it with small steps.";
  if (r.startsWith("performance degraded")) return "This change made val_mse worse; try a different direction.";
  if (r.startsWith("overfitting")) return "val_mse rose after its best epoch: add regularization (dropout, weight decay), lower the lr, or reduce capacity.";
  if (r.startsWith("converged too quickly")) return "The model peaked too early: try a lower learning rate or an lr scheduler.";
  return "Borderline change; prefer a clearly different direction next.";
}

/** Borderline without a usable LLM: keep the run iff its val_mse is strictly lower. */
function tieBreak(input: EvaluationInput, rules: RulesVerdict, why: string, source: string): EvaluationResult {
  const lower = input.metrics !== null && input.incumbent !== null && input.metrics.val_mse < input.incumbent.val_mean;
  const reason = `${rules.reason}; ${why}: ${lower ? "kept the lower val_mse" : "rejected: val_mse is not lower"}`;
  return result(lower, reason, "Borderline change; prefer a clearly different direction next.", source, rules);
}

/** Ask the LLM about an open case; `fallback` decides when it fails after its re-asks. */
async function askLlm(
  settings: LlmSettings,
  input: EvaluationInput,
  rules: RulesVerdict,
  noise: NoiseOptions,
  budget: CostBudget | null,
  fallback: (why: string) => EvaluationResult,
): Promise<EvaluationResult> {
  try {
    const answer = await askStructured<EvaluatorDecision>({
      settings,
      schema: EvaluatorDecisionSchema,
      toolName: EVALUATOR_TOOL,
      prompt: buildEvaluatorPrompt(input, rules, noise),
      signal: input.signal,
      budget,
    });
    const d = answer.value;
    return {
      accept: d.accept,
      reason: `${rules.reason}; LLM: ${d.reason}`,
      feedback: d.feedback,
      source: "llm",
      usage: answer.usage,
      improvement_pct: rules.improvementPct,
      transcript: answer.attempts,
    };
  } catch (err) {
    if (!(err instanceof LlmFailure)) throw err;
    logger.warn({ run_id: input.runId, cause: oneLine(err) }, "LLM evaluator failed; using the rules tie-break");
    return { ...fallback(`LLM evaluator failed (${oneLine(err)})`), usage: err.usage, transcript: err.attempts };
  }
}

export function buildEvaluatorPrompt(input: EvaluationInput, rules: RulesVerdict, noise: NoiseOptions = DEFAULT_NOISE): string {
  const m = input.metrics;
  const c = input.candidate;
  const inc = input.incumbent;
  const values = (v: number[] | undefined) => (v && v.length ? v.map((x) => fmt(x)).join(", ") : "n/a");
  const curve = input.curve;
  return renderPrompt("evaluator", {
    run_id: input.runId,
    candidate_values: values(c?.val_values ?? (m ? [m.val_mse] : [])),
    candidate_mean: fmt(c?.val_mean ?? m?.val_mse),
    candidate_sd: c && c.n >= 2 ? fmt(c.val_sd) : "n/a (one seed)",
    new_train_mse: fmt(m?.train_mse),
    new_best_epoch: fmt(m?.best_epoch),
    new_epochs_run: fmt(m?.epochs_run),
    new_max_epochs: fmt(m?.max_epochs),
    best_run_id: inc?.root_run_id ?? "none",
    incumbent_values: values(inc?.val_values),
    incumbent_mean: fmt(inc?.val_mean),
    incumbent_sd: inc && inc.n >= 2 ? fmt(inc.val_sd) : "n/a (one seed)",
    improvement_pct: rules.improvementPct === null ? "n/a" : `${rules.improvementPct.toFixed(2)}%`,
    noise: c ? configSd(c, noise).source : "not measured",
    curve: curve
      ? `best epoch ${curve.best_epoch} of ${curve.epochs_run} (max ${curve.max_epochs})${curve.stopped_early ? ", early stopping fired" : ""}. ${curve.statement}`
      : "n/a",
    changes_summary: formatChangeList(input.changes),
    history_summary: input.historySummary.trim() || "none",
    rules_reason: rules.reason,
  });
}
