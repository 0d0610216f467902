/**
 * Replays scripted decisions from a JSON file `{ "planner": [PlannerDecision, ...] }`,
 * through the same validation as LLM answers. Decision i is used for planner call i
 * (ctx.plannerCall), so a resumed search replays the same script. When the script runs
 * out, the planner answers stop.
 */
import { readFileSync } from "node:fs";
import { PlannerDecisionSchema, type PlannerContext, type PlannerDecision, type PlannerResult } from "../contracts.js";
import { UserError, oneLine } from "../errors.js";
import { formatZodError } from "../llm/structured.js";
import { emptyUsage } from "../llm/usage.js";
import { validateDecision } from "./validate.js";

export function createMockPlanner(file: string) {
  let script: unknown[] | null = null;
  return async function mockPlanner(ctx: PlannerContext): Promise<PlannerResult> {
    script ??= readScript(file);
    const index = ctx.plannerCall;
    const decision = index < script.length ? await checkEntry(file, index, script[index], ctx) : exhausted();
    return {
      decision,
      planner: "mock",
      usage: emptyUsage(),
      attempts: 1,
      fallback: null,
      advice: null,
      transcript: null,
    };
  };
}

function exhausted(): PlannerDecision {
  return { step_type: "stop", plan: "mock script exhausted", reason: "no scripted decision left", config_changes: [] };
}

function readScript(file: string): unknown[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UserError(`mock script ${file} cannot be read (${oneLine(err)}); pass a JSON file like {"planner": [...]}`);
  }
  const list = (data as { planner?: unknown } | null)?.planner;
  if (!Array.isArray(list)) {
    throw new UserError(`mock script ${file} has no "planner" list; write it as {"planner": [decision, ...]}`);
  }
  return list;
}

async function checkEntry(file: string, index: number, entry: unknown, ctx: PlannerContext): Promise<PlannerDecision> {
  const parsed = PlannerDecisionSchema.safeParse(entry);
  const problems = parsed.success ? await validateDecision(parsed.data, ctx) : [formatZodError(parsed.error)];
  if (problems.length > 0 || !parsed.success) {
    throw new UserError(`mock script ${file}: planner[${index}] is invalid: ${problems.join("; ")}; fix that entry`);
  }
  return parsed.data;
}
