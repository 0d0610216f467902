/** The planners' names (`--planner`), listed once: createPlanner (./index.ts) and the option check (src/commands/search-options.ts) read them. */
export const PLANNER_NAMES = ["llm", "mock", "optuna", "random", "llm+optuna"] as const;
export type PlannerName = (typeof PLANNER_NAMES)[number];
