/**
 * Checks a planner decision beyond its zod schema: shape rules that need no Python,
 * then the Python config helper's dry run (keys, types, ranges, allow-list, constraints).
 */
import type { PlannerContext, PlannerDecision } from "../contracts.js";
import { FAMILY_KEY, IMPLICIT_FAMILY, incumbentParams } from "./families.js";

export async function validateDecision(decision: PlannerDecision, ctx: PlannerContext): Promise<string[]> {
  const changes = decision.config_changes;
  if (decision.step_type === "stop") {
    return changes.length > 0 ? ["config_changes must be empty when step_type is stop"] : [];
  }
  if (changes.length === 0) return [`config_changes is empty; a ${decision.step_type} step needs at least one change`];
  const keys = changes.map((c) => c.key);
  const dupes = [...new Set(keys.filter((k, i) => keys.indexOf(k) !== i))];
  if (dupes.length > 0) return [`config_changes sets ${dupes.join(", ")} more than once`];
  const family = changes.find((c) => c.key === FAMILY_KEY);
  const incumbent = incumbentParams(ctx.agentState.runs ?? [], ctx.agentState.best_run_id);
  const now = incumbent?.[FAMILY_KEY] ?? IMPLICIT_FAMILY;
  if (incumbent && family && family.value !== now && decision.step_type !== "radical") {
    return [`switching ${FAMILY_KEY} from ${String(now)} to ${String(family.value)} is a radical step; set step_type "radical"`];
  }
  return ctx.validateChanges(changes);
}
