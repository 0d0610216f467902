/**
 * Replays scripted decisions from a JSON file `{ "planner": [PlannerDecision, ...] }`,
 * through the same validation as LLM answers. Decision i is used for the i-th proposal of the
 * search (ctx.plannerCall counts them), so a resumed search replays the same script; a batch
 * of K takes the next K entries. When the script runs out, the planner answers stop.
 */
import { readFileSync } from "node:fs";
import { PlannerDecisionSchema, type PlannerContext, type PlannerDecision, type PlannerResult } from "../contracts.js";
import { UserError, oneLine } from "../errors.js";
import { formatZodError } from "../llm/structured.js";
import { emptyUsage } from "../llm/usage.js";
import { validateDecisions } from "./validate.js";

export function createMockPlanner(file: string) {
  let script: unknown[] | null = null;
  return async function mockPlanner(ctx: PlannerContext): Promise<PlannerResult> {
    script ??= readScript(file);
    const start = ctx.plannerCall;
    const entries = script.slice(start, start + ctx.batchSize);
    const decisions = entries.length > 0 ? await checkEntries(file, start, entries, ctx) : [exhausted()];
    return {
      proposals: decisions.map((decision) => ({ decision, planner: "mock", fallback: null, advice: null })),
      usage: emptyUsage(),
      attempts: 1,
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

/** The entries as decisions; a stop entry ends the batch before it (or is the batch's only one). */
async function checkEntries(file: string, start: number, entries: unknown[], ctx: PlannerContext): Promise<PlannerDecision[]> {
  const decisions: PlannerDecision[] = [];
  for (const [i, entry] of entries.entries()) {
    const parsed = PlannerDecisionSchema.safeParse(entry);
    if (!parsed.success) throw new UserError(`mock script ${file}: planner[${start + i}] is invalid: ${formatZodError(parsed.error)}; fix that entry`);
    if (parsed.data.step_type === "stop" && decisions.length > 0) break;
    decisions.push(parsed.data);
    if (parsed.data.step_type === "stop") break;
  }
  const problems = await validateDecisions(decisions, ctx);
  if (problems.length > 0) {
    const which = decisions.length > 1 ? `planner[${start}..${start + decisions.length - 1}]` : `planner[${start}]`;
    throw new UserError(`mock script ${file}: ${which} is invalid: ${problems.join("; ")}; fix that entry`);
  }
  return decisions;
}
