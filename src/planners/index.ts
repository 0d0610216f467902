/** Picks a planner by name. LLM planners read their settings now, so a missing key fails at start. */
import type { Planner } from "../contracts.js";
import { UserError } from "../errors.js";
import type { CostBudget } from "../llm/budget.js";
import { readLlmSettings } from "../llm/settings.js";
import { createLlmPlanner } from "./llm.js";
import { createMockPlanner } from "./mock.js";
import { createSamplerPlanner } from "./offline.js";

import { PLANNER_NAMES, type PlannerName } from "./names.js";

export { PLANNER_NAMES, type PlannerName };

export interface PlannerOptions {
  /** Environment with the LLM settings (see src/llm/settings.ts); default process.env. */
  env?: Record<string, string | undefined>;
  /** Required for the mock planner: the JSON script to replay. */
  mockFile?: string;
  /** The search's LLM cost cap (LLM planners only). */
  budget?: CostBudget | null;
}

export function createPlanner(name: PlannerName, opts: PlannerOptions = {}): Planner {
  const env = opts.env ?? process.env;
  switch (name) {
    case "llm":
      return createLlmPlanner(readLlmSettings(env, "planner"), false, opts.budget ?? null);
    case "llm+optuna":
      return createLlmPlanner(readLlmSettings(env, "planner"), true, opts.budget ?? null);
    case "optuna":
      return createSamplerPlanner("tpe");
    case "random":
      return createSamplerPlanner("random");
    case "mock":
      if (!opts.mockFile) throw new UserError("the mock planner needs a script; pass --mock-file FILE");
      return createMockPlanner(opts.mockFile);
    default:
      throw new UserError(`unknown planner "${String(name)}"; use one of ${PLANNER_NAMES.join(", ")}`);
  }
}
