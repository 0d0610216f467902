/**
 * The LLM planner (and its hybrid variant with TPE advice). Invalid answers are re-asked
 * with the error quoted; if the LLM still fails (malformed answers, or the API is down),
 * the round falls back to TPE's suggestions so the search keeps moving. A setting the
 * user must fix (bad key, unknown model) stops the search instead.
 *
 * One call per round: with a batch of 1 the answer is one PlannerDecision (the seed's
 * schema); with K > 1 it is a list of K distinct decisions (PlannerBatchSchema). The hybrid
 * shows TPE's K suggestions as advice, takes ceil(K/2) proposals from the LLM and fills the
 * rest of the batch with TPE suggestions the LLM did not take.
 */
import {
  PlannerBatchSchema,
  PlannerDecisionSchema,
  type PlannerContext,
  type PlannerDecision,
  type PlannerResult,
  type Proposal,
} from "../contracts.js";
import { oneLine } from "../errors.js";
import type { CostBudget } from "../llm/budget.js";
import { LlmFailure } from "../llm/errors.js";
import type { LlmSettings } from "../llm/settings.js";
import { askStructured, type StructuredAnswer } from "../llm/structured.js";
import { logger } from "../log.js";
import { classifyAdvice } from "./advice.js";
import { buildPlannerPrompt } from "./prompt.js";
import { validateDecisions } from "./validate.js";

export const PLANNER_TOOL = "planner_decision";

export function createLlmPlanner(settings: LlmSettings, hybrid: boolean, budget: CostBudget | null = null) {
  return async function llmPlanner(ctx: PlannerContext): Promise<PlannerResult> {
    const advice = hybrid ? await ctx.suggest("tpe", ctx.batchSize) : null;
    const wanted = hybrid ? Math.ceil(ctx.batchSize / 2) : ctx.batchSize;
    const prompt = buildPlannerPrompt(ctx, advice, wanted);
    try {
      const answer = await ask(settings, ctx, prompt, wanted, budget);
      const label = hybrid ? "llm+optuna" : "llm";
      const proposals: Proposal[] = answer.value.map((decision) => ({
        decision,
        planner: label,
        fallback: null,
        advice: advice ? classifyAdvice(advice.flatMap((a) => a.config_changes), decision.config_changes) : null,
      }));
      if (advice && proposals[0]?.decision.step_type !== "stop") proposals.push(...(await fill(ctx, advice, answer.value)));
      return { proposals, usage: answer.usage, attempts: answer.attempts.length, transcript: answer.attempts, prompt_chars: prompt.length };
    } catch (err) {
      if (!(err instanceof LlmFailure)) throw err; // UserError, abort, bugs: not ours to hide
      return { ...(await fallBackToTpe(ctx, err, advice)), prompt_chars: prompt.length };
    }
  };
}

/** One structured call: a single decision for a batch of 1, a list otherwise. */
async function ask(
  settings: LlmSettings,
  ctx: PlannerContext,
  prompt: string,
  wanted: number,
  budget: CostBudget | null,
): Promise<StructuredAnswer<PlannerDecision[]>> {
  const validate = (decisions: PlannerDecision[]) => validateDecisions(decisions, { ...ctx, batchSize: wanted });
  if (wanted === 1) {
    const one = await askStructured<PlannerDecision>({
      settings,
      schema: PlannerDecisionSchema,
      toolName: PLANNER_TOOL,
      prompt,
      validate: (d) => validate([d]),
      signal: ctx.signal,
      budget,
    });
    return { ...one, value: [one.value] };
  }
  const many = await askStructured({
    settings,
    schema: PlannerBatchSchema,
    toolName: PLANNER_TOOL,
    prompt,
    validate: async (b) => {
      const stop = b.proposals.length === 1 && b.proposals[0].step_type === "stop";
      if (!stop && b.proposals.length !== wanted) return [`give exactly ${wanted} proposals (got ${b.proposals.length}), or one stop decision`];
      return validate(b.proposals);
    },
    signal: ctx.signal,
    budget,
  });
  return { ...many, value: many.value.proposals };
}

/** The hybrid's share of TPE: advice the LLM did not take, distinct from the LLM's proposals. */
async function fill(ctx: PlannerContext, advice: PlannerDecision[], taken: PlannerDecision[]): Promise<Proposal[]> {
  const out: Proposal[] = [];
  for (const a of advice) {
    if (taken.length + out.length >= ctx.batchSize) break;
    const problems = await validateDecisions([...taken, ...out.map((p) => p.decision), a], { ...ctx, batchSize: ctx.batchSize });
    if (problems.length === 0) out.push({ decision: a, planner: "optuna (hybrid)", fallback: null, advice: null });
  }
  return out;
}

async function fallBackToTpe(ctx: PlannerContext, err: LlmFailure, advice: PlannerDecision[] | null): Promise<PlannerResult> {
  const cause = oneLine(err);
  logger.warn({ iteration: ctx.iteration, cause }, "LLM planner failed; this round uses the TPE suggestions");
  const decisions = advice ?? (await ctx.suggest("tpe", ctx.batchSize));
  return {
    proposals: decisions.map((decision) => ({ decision, planner: "optuna (fallback)", fallback: cause, advice: null })),
    usage: err.usage,
    attempts: err.attempts.length,
    transcript: err.attempts,
    llm_failure: cause,
  };
}
