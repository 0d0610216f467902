/**
 * The LLM planner (and its hybrid variant with TPE advice). Invalid answers are re-asked
 * with the error quoted; if the LLM still fails (malformed answers, or the API is down),
 * the iteration falls back to TPE's suggestion so the search keeps moving. A setting the
 * user must fix (bad key, unknown model) stops the search instead.
 */
import { PlannerDecisionSchema, type PlannerContext, type PlannerDecision, type PlannerResult } from "../contracts.js";
import { oneLine } from "../errors.js";
import type { CostBudget } from "../llm/budget.js";
import { LlmFailure } from "../llm/errors.js";
import type { LlmSettings } from "../llm/settings.js";
import { askStructured } from "../llm/structured.js";
import { logger } from "../log.js";
import { classifyAdvice } from "./advice.js";
import { buildPlannerPrompt } from "./prompt.js";
import { validateDecision } from "./validate.js";

export const PLANNER_TOOL = "planner_decision";

export function createLlmPlanner(settings: LlmSettings, hybrid: boolean, budget: CostBudget | null = null) {
  return async function llmPlanner(ctx: PlannerContext): Promise<PlannerResult> {
    const advice = hybrid ? await ctx.suggest("tpe") : null;
    const prompt = buildPlannerPrompt(ctx, advice);
    try {
      const answer = await askStructured<PlannerDecision>({
        settings,
        schema: PlannerDecisionSchema,
        toolName: PLANNER_TOOL,
        prompt,
        validate: (decision) => validateDecision(decision, ctx),
        signal: ctx.signal,
        budget,
      });
      return {
        decision: answer.value,
        planner: hybrid ? "llm+optuna" : "llm",
        usage: answer.usage,
        attempts: answer.attempts.length,
        fallback: null,
        advice: advice ? classifyAdvice(advice.config_changes, answer.value.config_changes) : null,
        transcript: answer.attempts,
        prompt_chars: prompt.length,
      };
    } catch (err) {
      if (!(err instanceof LlmFailure)) throw err; // UserError, abort, bugs: not ours to hide
      return { ...(await fallBackToTpe(ctx, err, advice)), prompt_chars: prompt.length };
    }
  };
}

async function fallBackToTpe(ctx: PlannerContext, err: LlmFailure, advice: PlannerDecision | null): Promise<PlannerResult> {
  const cause = oneLine(err);
  logger.warn({ iteration: ctx.iteration, cause }, "LLM planner failed; this iteration uses the TPE suggestion");
  const decision = advice ?? (await ctx.suggest("tpe"));
  return {
    decision,
    planner: "optuna (fallback)",
    usage: err.usage,
    attempts: err.attempts.length,
    fallback: cause,
    advice: null,
    transcript: err.attempts,
  };
}
