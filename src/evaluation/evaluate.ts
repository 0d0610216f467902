/**
 * The hybrid evaluator: deterministic rules first; only borderline runs go to the LLM
 * (mode "llm"). Without an LLM (mode "rules"), or when the LLM fails after its re-asks,
 * a borderline run is kept iff its val_mse is strictly lower than the best's, and the
 * reason says which of these happened.
 */
import { EvaluatorDecisionSchema, type EvaluationInput, type EvaluationResult, type EvaluatorDecision } from "../contracts.js";
import { UserError, oneLine } from "../errors.js";
import { LlmFailure } from "../llm/errors.js";
import { llmConfigured, readLlmSettings, type LlmSettings } from "../llm/settings.js";
import { askStructured } from "../llm/structured.js";
import { emptyUsage } from "../llm/usage.js";
import { logger } from "../log.js";
import { fmt, formatChangeList } from "../planners/prompt.js";
import { renderPrompt } from "../prompts.js";
import { DEFAULT_THRESHOLDS, applyRules, naiveNote, type RulesVerdict, type Thresholds } from "./rules.js";

export const EVALUATOR_TOOL = "evaluator_decision";

export interface EvaluatorOptions {
  mode: "llm" | "rules";
  thresholds?: Partial<Thresholds>;
  env?: Record<string, string | undefined>;
}

export type Evaluator = (input: EvaluationInput) => Promise<EvaluationResult>;

export function createEvaluator(opts: EvaluatorOptions): Evaluator {
  const given = Object.entries(opts.thresholds ?? {}).filter(([, v]) => v !== undefined);
  const thresholds = checkThresholds({ ...DEFAULT_THRESHOLDS, ...Object.fromEntries(given) });
  const settings = opts.mode === "llm" ? evaluatorSettings(opts.env ?? process.env) : null;
  const decide = async (input: EvaluationInput): Promise<EvaluationResult> => {
    const rules = applyRules(input, thresholds);
    if (rules.accept !== null) return fromRules(rules);
    if (settings === null) return tieBreak(input, rules, "no LLM evaluator configured", "rules (no LLM)");
    return askLlm(settings, input, rules);
  };
  return async (input) => {
    const res = await decide(input);
    return { ...res, reason: res.reason + naiveNote(input) };
  };
}

/** Every threshold must be known and finite; the accept bound must lie above the reject bound. */
export function checkThresholds(t: Record<string, unknown>): Thresholds {
  for (const [key, value] of Object.entries(t)) {
    if (!(key in DEFAULT_THRESHOLDS)) throw new UserError(`unknown evaluator threshold "${key}"; use ${Object.keys(DEFAULT_THRESHOLDS).join(", ")}`);
    if (typeof value !== "number" || !Number.isFinite(value)) throw new UserError(`evaluator threshold ${key} must be a number (got ${String(value)})`);
  }
  const th = t as unknown as Thresholds;
  if (th.acceptAbovePct < th.rejectBelowPct) {
    throw new UserError(`the accept threshold (${th.acceptAbovePct}%) is below the reject threshold (${th.rejectBelowPct}%); raise it or lower the other`);
  }
  return th;
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
  return result(rules.accept === true, rules.reason, feedbackFor(rules), rules.source, rules);
}

/** Deterministic advice for the next plan, matching the rule that decided. */
function feedbackFor(rules: RulesVerdict): string {
  const r = rules.reason;
  if (rules.source === "baseline") return "Baseline established; tune from this config.";
  if (rules.source === "failure") return "The training failed; avoid this change or make it safer (lower lr, gradient clipping, smaller model).";
  if (r.startsWith("significant")) return "This change helped; refine around it with small steps.";
  if (r.startsWith("performance degraded")) return "This change made val_mse worse; try a different direction.";
  if (r.startsWith("severe overfitting")) return "Large train/val gap: add regularization (dropout, weight decay) or reduce capacity.";
  if (r.startsWith("converged too quickly")) return "The model peaked too early: try a lower learning rate or an lr scheduler.";
  return "Borderline change; prefer a clearly different direction next.";
}

/** Borderline without a usable LLM: keep the run iff its val_mse is strictly lower. */
function tieBreak(input: EvaluationInput, rules: RulesVerdict, why: string, source: string): EvaluationResult {
  const lower = input.metrics !== null && input.best !== null && input.metrics.val_mse < input.best.val_mse;
  const reason = `${rules.reason}; ${why}: ${lower ? "kept the lower val_mse" : "rejected: val_mse is not lower"}`;
  return result(lower, reason, "Borderline change; prefer a clearly different direction next.", source, rules);
}

async function askLlm(settings: LlmSettings, input: EvaluationInput, rules: RulesVerdict): Promise<EvaluationResult> {
  try {
    const answer = await askStructured<EvaluatorDecision>({
      settings,
      schema: EvaluatorDecisionSchema,
      toolName: EVALUATOR_TOOL,
      prompt: buildEvaluatorPrompt(input, rules),
      signal: input.signal,
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
    const fallback = tieBreak(input, rules, `LLM evaluator failed (${oneLine(err)})`, "rules (LLM failed)");
    return { ...fallback, usage: err.usage, transcript: err.attempts };
  }
}

export function buildEvaluatorPrompt(input: EvaluationInput, rules: RulesVerdict): string {
  const m = input.metrics;
  return renderPrompt("evaluator", {
    run_id: input.runId,
    new_val_mse: fmt(m?.val_mse),
    new_test_mse: fmt(m?.test_mse),
    new_train_mse: fmt(m?.train_mse),
    new_best_epoch: fmt(m?.best_epoch),
    new_epochs_run: fmt(m?.epochs_run),
    new_max_epochs: fmt(m?.max_epochs),
    best_run_id: input.best?.run_id ?? "none",
    best_val_mse: fmt(input.best?.val_mse),
    best_test_mse: fmt(input.best?.test_mse),
    improvement_pct: rules.improvementPct === null ? "n/a" : `${rules.improvementPct.toFixed(2)}%`,
    changes_summary: formatChangeList(input.changes),
    history_summary: input.historySummary.trim() || "none",
    rules_reason: rules.reason,
  });
}
