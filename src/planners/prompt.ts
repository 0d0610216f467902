/**
 * Fills prompts/planner.md from a PlannerContext: state, budget, recent and failed runs of this
 * search's fidelity, the current config, the search space and (hybrid only) the TPE advice.
 * Validation data only: no test metric ever reaches the prompt (the test split is held out).
 */
import type { AgentStateFile, ConfigChange, ConfigEvidence, ParamSpec, PlannerContext, PlannerDecision, RunInfo, SearchSpace } from "../contracts.js";
import { renderPrompt } from "../prompts.js";
import { FAMILY_KEY, familyOf, isActive } from "./families.js";

/** How many of the latest runs the prompt shows in full. */
export const RECENT_RUNS = 8;
/** How many failed/rejected runs the prompt lists with their reasons. */
export const FAILED_RUNS = 10;

export function buildPlannerPrompt(ctx: PlannerContext, advice: PlannerDecision[] | null, wanted = 1): string {
  // Only runs of this search's fidelity are comparable (same task and epoch cap).
  const runs = (ctx.agentState.runs ?? []).filter((r) => ctx.fidelity == null || r.fidelity == null || r.fidelity === ctx.fidelity);
  const best = runs.find((r) => r.run_id === ctx.agentState.best_run_id) ?? null;
  return renderPrompt("planner", {
    iteration: ctx.iteration,
    max_iterations: ctx.maxIterations,
    best_val_mse: ctx.incumbent ? formatEvidence(ctx.incumbent) : "none yet (no accepted run)",
    best_run_id: ctx.incumbent?.root_run_id ?? "none",
    seed_noise: formatNoise(ctx),
    iterations_left: Math.max(0, ctx.maxIterations - ctx.iteration),
    target_val_mse: ctx.targetValMse === null ? "none given" : fmt(ctx.targetValMse),
    last_feedback: ctx.lastFeedback?.trim() || "none yet",
    recent_runs_summary: formatRecentRuns(runs.slice(-RECENT_RUNS), ctx.agentState),
    failed_runs_summary: formatFailedRuns(runs, ctx.agentState),
    current_config: ctx.configText.trimEnd(),
    search_space: formatSearchSpace(ctx.searchSpace, best?.params ?? null),
    naive_baselines: formatBaselines(ctx.agentState),
    constraints: formatConstraints(ctx.searchSpace),
    tpe_advice: advice ? advice.map(formatAdvice).join("\n") : "none (this planner does not use a sampler)",
    stop_rule: stopRule(ctx.targetValMse),
    answer_format: answerFormat(wanted),
  });
}

/** `0.1871 ± 0.027 over 3 seeds (mean val_mse)`. */
export function formatEvidence(c: ConfigEvidence): string {
  const sd = c.n >= 2 && c.val_sd != null ? ` ± ${fmt(c.val_sd)}` : "";
  return `${fmt(c.val_mean)}${sd} (mean val_mse over ${c.n} seed${c.n === 1 ? "" : "s"})`;
}

function formatNoise(ctx: PlannerContext): string {
  const noise = ctx.fidelity ? ctx.agentState.noise?.[ctx.fidelity] : undefined;
  if (!noise) return "not measured yet: a gain must clear a default relative sd before it counts";
  const rel = noise.rel_sd != null ? ` (${(noise.rel_sd * 100).toFixed(1)}% of the mean)` : "";
  return `sd ${fmt(noise.sd)}${rel} of val_mse between seeds of one config (${noise.n} runs); a gain counts only when a one-sided t test on this noise, over both configs' seeds, finds it beyond chance: a smaller gain is retrained with new seeds first, then rejected or kept as promising`;
}

function answerFormat(wanted: number): string {
  if (wanted === 1) {
    return "Call the tool with step_type, plan (what to try, one or two sentences), reason (why, citing\nthe runs above) and config_changes";
  }
  return (
    `This round trains ${wanted} configs at once: call the tool with proposals, a list of exactly ${wanted}\n` +
    "distinct proposals (each a different config, none already trained), each with step_type, plan,\n" +
    "reason and config_changes; or a list of one stop decision to end the search. Each proposal's config_changes"
  );
}

function stopRule(target: number | null): string {
  return target === null
    ? "only if further improvement looks unlikely (no target val_mse is set; the iteration budget is enforced for you)"
    : `if the best val_mse is below ${fmt(target)}, or further improvement looks unlikely (the iteration budget is enforced for you)`;
}

export function fmt(value: unknown): string {
  if (typeof value === "number") return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
  if (value === null || value === undefined) return "n/a";
  return typeof value === "string" ? value : JSON.stringify(value);
}

type Labels = Pick<AgentStateFile, "verdicts">;

/** The helper's verdict label (agent_state.json's `verdicts`); a failed run says how it failed (crashed, timeout, ...). */
function runLabel(run: RunInfo, state: Labels, bestId: string | null = null): string {
  const label = state.verdicts?.[run.run_id] ?? "not judged yet";
  const shown = label === "failed" && run.status ? `failed: ${run.status}` : label;
  return run.run_id === bestId ? `${shown}, best` : shown;
}

function formatChanges(changes: Record<string, unknown> | undefined): string {
  const entries = Object.entries(changes ?? {});
  return entries.length === 0 ? "none (baseline)" : entries.map(([k, v]) => `${k}=${fmt(v)}`).join(", ");
}

export function formatRecentRuns(runs: RunInfo[], state: Labels & Pick<AgentStateFile, "best_run_id">): string {
  if (runs.length === 0) return "none yet";
  return runs
    .map((r) => {
      const lines = [
        `- ${r.run_id} [${runLabel(r, state, state.best_run_id)}] step ${r.step_type ?? "baseline"}${r.planner ? ` (${r.planner})` : ""}${r.repeat_of ? ` (another seed of ${r.repeat_of})` : ""}: ${r.plan ?? "starting config"}`,
        `  changes: ${formatChanges(r.config_changes)}`,
        `  val_mse ${fmt(r.val_mse)}${r.seed != null ? ` (seed ${r.seed})` : ""} | train_mse ${fmt(r.train_mse)} | best_epoch ${fmt(r.best_epoch)} of ${fmt(r.epochs_run)}`,
      ];
      if (r.error) lines.push(`  error: ${r.error}`);
      if (r.evaluation_reason) lines.push(`  evaluation: ${r.evaluation_reason}`);
      if (r.history_summary) lines.push(`  history: ${r.history_summary}`);
      return lines.join("\n");
    })
    .join("\n");
}

export function formatFailedRuns(runs: RunInfo[], state: Labels): string {
  const bad = runs.filter((r) => state.verdicts?.[r.run_id] !== "accepted").slice(-FAILED_RUNS);
  if (bad.length === 0) return "none";
  return bad
    .map((r) => {
      const why = r.error || r.evaluation_reason || r.reason || "no reason recorded";
      return `- ${r.run_id} (${runLabel(r, state)}): ${formatChanges(r.config_changes)} -> ${why}`;
    })
    .join("\n");
}

function formatParam(key: string, p: ParamSpec, current: Record<string, unknown> | null): string {
  let domain: string;
  if (p.choices) domain = `one of ${p.choices.map((c) => (typeof c === "string" ? `"${c}"` : String(c))).join(" | ")}`;
  else if (p.type === "bool") domain = "true or false";
  else domain = `in [${p.low}, ${p.high}]${p.log ? " (log scale)" : ""}`;
  const now = current && key in current ? `; now ${fmt(current[key])}` : "";
  const kwargs = p.params_key ? ` (kwargs in ${p.params_key}: on a class change they reset to the new class defaults, keeping the search-space keys the new class has)` : "";
  const conds = Object.entries(p.when ?? {}).filter(([k]) => k !== FAMILY_KEY);
  const when = conds.length ? ` (applies only when ${conds.map(([k, allowed]) => `${k} is ${allowed.map((a) => fmt(a)).join(" or ")}`).join(" and ")})` : "";
  return `- ${key}: ${p.type}, ${domain}; step ${p.step}${now} - ${p.help ?? ""}${kwargs}${when}`;
}

/** Does a key apply to this model family? (its other conditions, e.g. a scheduler class, are shown with it) */
function ofFamily(p: ParamSpec, family: unknown): boolean {
  return isActive({ ...p, when: p.when?.[FAMILY_KEY] ? { [FAMILY_KEY]: p.when[FAMILY_KEY] } : {} }, { [FAMILY_KEY]: family });
}

/**
 * The keys of the current model family (with their current values), then, per other family,
 * the keys that only it has and the defaults a switch to it writes.
 */
export function formatSearchSpace(space: SearchSpace, current: Record<string, unknown> | null): string {
  const family = familyOf(space, current);
  const entries = Object.entries(space.params);
  if (family === null) return entries.map(([key, p]) => formatParam(key, p, current)).join("\n");
  const lines = entries.filter(([, p]) => ofFamily(p, family)).map(([key, p]) => formatParam(key, p, current));
  lines.push(...formatRecipes(space));
  const others = (space.params[FAMILY_KEY].choices ?? []).filter((f) => f !== family);
  if (others.length > 0) {
    lines.push(`Other model families: switch with a change of ${FAMILY_KEY} (a radical step); their keys apply only after the switch and may be set in the same change:`);
  }
  const shown = new Set<string>();
  for (const other of others) {
    const own = entries.filter(([, p]) => ofFamily(p, other) && !ofFamily(p, family));
    const defaults = Object.entries(space.family_defaults?.[String(other)] ?? {});
    const recipe = space.recipes?.[String(other)] ? " and its training recipe (listed above)" : "";
    const written = defaults.length || recipe ? `; switching writes ${defaults.map(([k, v]) => `${k}=${fmt(v)}`).join(", ")}${recipe} unless set in the same change` : "";
    const again = own.filter(([key]) => shown.has(key)).map(([key]) => key);
    const fresh = own.filter(([key]) => !shown.has(key));
    const note = own.length === 0 ? " (its keys are all listed above)" : again.length ? ` (also ${again.join(", ")}, listed above)` : "";
    lines.push(`* ${FAMILY_KEY} "${other}"${note}${written}:`);
    lines.push(...fresh.map(([key, p]) => "  " + formatParam(key, p, null)));
    for (const [key] of fresh) shown.add(key);
  }
  return lines.join("\n");
}

/** Each family's published training recipe, a known-good starting point (written on a switch to it). */
export function formatRecipes(space: SearchSpace): string[] {
  const recipes = Object.entries(space.recipes ?? {});
  if (recipes.length === 0) return [];
  return [
    "Published training recipes (known-good starting points; a switch of model.family writes that family's recipe unless the same change sets those keys):",
    ...recipes.map(([family, r]) =>
      `* ${family}: ${Object.entries(r.values).map(([k, v]) => `${k}=${fmt(v)}`).join(", ")}${r.epochs ? `; trained ${r.epochs} epochs there` : ""} (source: ${r.source})`),
  ];
}

/** The naive baselines of each task, validation MSE only (test figures never reach a planner). */
export function formatBaselines(state: AgentStateFile): string {
  const entries = Object.entries(state.baselines ?? {});
  if (entries.length === 0) return "not computed yet";
  return entries
    .map(([task, b]) =>
      `- ${task}: persistence (repeat the last value) val_mse ${fmt(b.persistence.val_mse)}; seasonal naive (repeat the last ${b.period} steps) val_mse ${fmt(b.seasonal_naive.val_mse)}`)
    .join("\n");
}

export function formatConstraints(space: SearchSpace): string {
  if (!space.constraints?.length) return "none";
  return space.constraints
    .map((c) => {
      const [a, b] = c.keys;
      const rule = c.rule === "divisible" ? `${a} divisible by ${b}` : c.rule === "less_equal" ? `${a} <= ${b}` : `${c.rule}(${c.keys.join(", ")})`;
      return `- ${rule}${c.help ? ` - ${c.help}` : ""}`;
    })
    .join("\n");
}

export function formatChangeList(changes: ConfigChange[]): string {
  return changes.length === 0 ? "no changes" : changes.map((c) => `${c.key}=${fmt(c.value)}`).join(", ");
}

function formatAdvice(advice: PlannerDecision): string {
  return `step_type ${advice.step_type}; config_changes: ${formatChangeList(advice.config_changes)}`;
}
