/** Planners without an LLM: Optuna's TPE or random sampler, via the Python `suggest` command. */
import type { PlannerContext, PlannerResult } from "../contracts.js";
import { emptyUsage } from "../llm/usage.js";

export function createSamplerPlanner(sampler: "tpe" | "random") {
  return async function samplerPlanner(ctx: PlannerContext): Promise<PlannerResult> {
    const decision = await ctx.suggest(sampler);
    return {
      decision,
      planner: sampler === "tpe" ? "optuna" : "random",
      usage: emptyUsage(),
      attempts: 0,
      fallback: null,
      advice: null,
      transcript: null,
    };
  };
}
