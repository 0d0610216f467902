/** Planners without an LLM: Optuna's TPE or random sampler, via the Python `suggest` command. */
import type { PlannerContext, PlannerResult } from "../contracts.js";
import { emptyUsage } from "../llm/usage.js";

export function createSamplerPlanner(sampler: "tpe" | "random") {
  return async function samplerPlanner(ctx: PlannerContext): Promise<PlannerResult> {
    const decisions = await ctx.suggest(sampler, ctx.batchSize);
    const planner = sampler === "tpe" ? "optuna" : "random";
    return {
      proposals: decisions.map((decision) => ({ decision, planner, fallback: null, advice: null })),
      usage: emptyUsage(),
      attempts: 0,
      transcript: null,
    };
  };
}
