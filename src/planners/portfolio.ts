/**
 * The literature portfolio: after the baseline, the first proposals are each model family at its
 * published recipe (search_space.json `recipes`), the way Optuna's `enqueue_trial` seeds a study
 * with known-good trials. A proposal is just `model.family = X`: config-apply writes X's model
 * defaults and recipe. A family whose recipe config was already trained at this fidelity (by
 * value, failed runs included) is not proposed again. Each one is a training like any other,
 * judged by the same rule; `--portfolio off` skips it.
 *
 * Order: the order of `recipes` in search_space.json. The shipped file lists the cheap linear
 * families first (DLinear, NLinear: seconds per epoch on a CPU), then PatchTST, then the
 * Informer (minutes per epoch on a CPU): a search on a CPU holds a model that beats persistence
 * before it spends its time on a transformer, and a small budget is not used up by the portfolio's
 * most expensive member.
 */
import type { PlannerContext, Proposal } from "../contracts.js";
import { FAMILY_KEY } from "./families.js";

export const PORTFOLIO_PLANNER = "portfolio";

/** Up to `slots` portfolio proposals not tried yet at this fidelity (none when the space has no recipes). */
export async function portfolioProposals(ctx: PlannerContext, slots: number): Promise<Proposal[]> {
  const space = ctx.searchSpace;
  const recipes = Object.entries(space.recipes ?? {});
  if (slots <= 0 || recipes.length === 0 || !(FAMILY_KEY in space.params)) return [];
  const base = (await ctx.checkChanges([])).configId; // the incumbent's config (the current family's)
  const out: Proposal[] = [];
  for (const [family, recipe] of recipes) {
    if (out.length >= slots) break;
    const changes = [{ key: FAMILY_KEY, value: family }];
    const check = await ctx.checkChanges(changes);
    if (check.errors.length > 0 || check.configId === null || check.configId === base || ctx.knownConfigs[check.configId]) continue;
    out.push({
      planner: PORTFOLIO_PLANNER,
      decision: {
        step_type: "radical",
        plan: `Portfolio: model family ${family} at its published training recipe`,
        reason: `A known-good start before the search explores (recipe: ${recipe.source})`,
        config_changes: changes,
      },
    });
  }
  return out;
}
