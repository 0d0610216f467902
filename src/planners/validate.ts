/**
 * Checks planner decisions beyond their zod schema: shape rules that need no Python, the
 * Python config helper's dry run (keys, types, ranges, allow-list, constraints), and
 * duplicates: a proposal must give a config that was never trained at this fidelity and
 * differs from the other proposals of its batch (compared by config_id, i.e. by value).
 */
import type { PlannerContext, PlannerDecision } from "../contracts.js";
import { FAMILY_KEY, IMPLICIT_FAMILY, incumbentParams } from "./families.js";

export async function validateDecisions(decisions: PlannerDecision[], ctx: PlannerContext): Promise<string[]> {
  if (decisions.some((d) => d.step_type === "stop")) {
    if (decisions.length > 1) return ["a stop decision must be the only one"];
    return decisions[0].config_changes.length > 0 ? ["config_changes must be empty when step_type is stop"] : [];
  }
  if (decisions.length === 0) return ["no proposal given; give at least one, or one stop decision"];
  if (decisions.length > ctx.batchSize) return [`${decisions.length} proposals given; give at most ${ctx.batchSize}`];
  const errors: string[] = [];
  const seen = new Map<string, number>();
  for (const [i, decision] of decisions.entries()) {
    const where = decisions.length > 1 ? `proposal ${i + 1}: ` : "";
    const problems = await checkDecision(decision, ctx, seen, i);
    errors.push(...problems.map((p) => where + p));
  }
  return errors;
}

async function checkDecision(decision: PlannerDecision, ctx: PlannerContext, seen: Map<string, number>, index: number): Promise<string[]> {
  const changes = decision.config_changes;
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
  const check = await ctx.checkChanges(changes);
  if (check.errors.length > 0) return check.errors;
  if (check.configId === null) return [];
  const trained = ctx.knownConfigs[check.configId];
  if (trained) return [`these changes give the config ${trained} already trained; propose a config not tried yet`];
  const twin = seen.get(check.configId);
  if (twin !== undefined) return [`these changes give the same config as proposal ${twin + 1}; make every proposal different`];
  seen.set(check.configId, index);
  return [];
}
