/**
 * planner: plan the next round of up to --parallel K trials, within the training budget:
 *   1. repeats of configs whose verdict waits for another seed (repeat_queue), first;
 *   2. the baseline's seeds, when config.py is not the incumbent at this fidelity (the seeds
 *      begin-search named, state.baseline_seeds; those beyond this round queue up);
 *   3. the literature portfolio (each family at its published recipe, planners/portfolio.ts), once
 *      per family and fidelity, unless --portfolio off;
 *   4. new proposals from the planner for the slots left, relative to the incumbent's config.
 * Run ids are reserved up front, consecutive and in trial order, so a re-run of a trial task uses the same one.
 */
import fs from "node:fs";
import path from "node:path";
import type { ChangeCheck, ConfigChange, PlannerContext, PlannerDecision, PlannerResult, Proposal } from "../../contracts.js";
import { largestCall } from "../../llm/budget.js";
import { LlmFailuresStop } from "../../llm/errors.js";
import { agent, AgentError, type HelperArgs } from "../../python.js";
import { UserError } from "../../errors.js";
import { RUN_DEFAULTS } from "../../run-defaults.js";
import { readAgentState, runConfigRel, startConfigRel } from "../../workspace.js";
import { addUsage, ZERO_USAGE, type GraphState, type GraphUpdate, type RenderedConfig, type RepeatRequest, type Trial } from "../state.js";
import { bestSummary } from "../../runs-view.js";
import { portfolioProposals } from "../../planners/portfolio.js";
import type { GraphDeps } from "../deps.js";
import { killPoint } from "../../test-hooks.js";

export const BASELINE_PLAN = "Baseline: train the starting config as is";

type Draft = Omit<Trial, "run_id">;

export async function plannerNode(state: GraphState, deps: GraphDeps): Promise<GraphUpdate> {
  const started = performance.now();
  const room = Math.min(deps.options.parallel, state.max_iterations - state.iteration);
  const queue = [...state.repeat_queue];
  const drafts: Draft[] = queue.splice(0, room).map((r) => repeatDraft(r));
  const baseline = !state.baseline_done && state.baseline_needed && drafts.length < room;
  const rootAt = drafts.length; // the baseline's first seed, when planned: its further seeds train right after it
  if (baseline) drafts.push(baselineDraft(state));
  const seedsNow = baseline ? Math.min(state.baseline_seeds.length - 1, room - drafts.length) : 0;
  const base = state.incumbent ? runConfigRel(state.incumbent.root_run_id) : startConfigRel(state.search_id);

  let result: PlannerResult | null = null;
  let llmS = 0;
  let slots = room - drafts.length - seedsNow;
  const portfolio: Proposal[] = [];
  const renders: Renders = new Map();
  if (slots > 0) {
    const ctx = await buildContext(state, deps, base, slots, renders);
    if (deps.options.portfolio) portfolio.push(...(await portfolioProposals(ctx, slots)));
    slots -= portfolio.length;
    if (slots > 0) {
      const asked = performance.now();
      result = await deps.planner({ ...ctx, batchSize: slots });
      llmS = result.usage.calls > 0 || (result.transcript?.length ?? 0) > 0 ? (performance.now() - asked) / 1000 : 0;
    }
  }
  // A round whose LLM call failed was planned by the optimizer: say so once; too many in a row stop the search
  const failure = result?.llm_failure ?? null;
  const inRow = failure ? state.llm_failures_in_row + 1 : result && result.usage.calls > 0 ? 0 : state.llm_failures_in_row;
  const maxInRow = deps.options.maxLlmFailures ?? RUN_DEFAULTS.maxLlmFailures; // null: --max-llm-failures not given
  if (failure && inRow >= maxInRow) throw new LlmFailuresStop(inRow, failure);
  if (failure) deps.ui.llmFallback(failure, inRow, maxInRow);
  const fallbacks = state.llm_fallbacks + (failure ? 1 : 0);
  const proposals = [...portfolio, ...(result?.proposals ?? [])];
  const stop = proposals.some((p) => p.decision.step_type === "stop");
  if (!stop) drafts.push(...proposals.map((p) => proposalDraft(p, base, renders)));

  const count = drafts.length + seedsNow;
  const runIds = count > 0 ? await reserveRunIds(deps, count) : [];
  killPoint("planner"); // the fault suite: ids reserved, not yet checkpointed
  // ids in trial order: the queued repeats, the baseline and its seeds of this round, the proposals
  const seedIds = runIds.slice(rootAt + 1, rootAt + 1 + seedsNow);
  const draftIds = [...runIds.slice(0, rootAt + 1), ...runIds.slice(rootAt + 1 + seedsNow)];
  const trials: Trial[] = drafts.map((d, i) => ({ ...d, run_id: draftIds[i] }));
  if (baseline) queueBaselineSeeds(state, trials, seedIds, queue);

  const usage = addUsage(state.usage, result?.usage);
  const best = bestSummary(state.incumbent);
  for (const p of stop ? proposals : []) deps.ui.plan("stop", p.decision.plan, p.decision.reason, p.planner, p.fallback ?? null);
  for (const [i, t] of trials.entries()) {
    deps.ui.iteration({
      n: state.iteration + i + 1,
      max: state.max_iterations,
      runId: t.run_id,
      planner: t.planner_name,
      kind: t.kind,
      repeatOf: t.repeat_of,
      seed: t.seed,
      best,
      costUsd: usage.cost_usd,
      maxCostUsd: deps.budget?.capUsd ?? null,
      llmFallbacks: fallbacks,
    });
    deps.ui.plan(t.kind === "proposal" ? t.step_type : t.kind, t.plan, t.reason, t.planner_name, t.fallback);
  }
  return {
    trials,
    round: state.round + 1,
    repeat_queue: queue,
    stop_requested: stop,
    baseline_done: state.baseline_done || baseline,
    planner_call: state.planner_call + (stop ? 0 : (result?.proposals.length ?? 0)),
    usage,
    llm_max_call_usd: largestCall(result?.transcript, state.llm_max_call_usd),
    llm_fallbacks: fallbacks,
    llm_failures_in_row: inRow,
    verdicts: [],
    timings: {
      planner_s: (performance.now() - started) / 1000,
      planner_llm_s: llmS,
      prompt_chars: result?.prompt_chars ?? undefined,
      llm_attempts: result?.transcript?.length ?? 0,
      round_usage: result?.usage ?? { ...ZERO_USAGE },
    },
  };
}

/** `count` consecutive free run ids: those the last helper answer of this invoke reported, else asked for now. */
async function reserveRunIds(deps: GraphDeps, count: number): Promise<string[]> {
  const known = deps.runIds?.next ?? null;
  if (deps.runIds) deps.runIds.next = null; // used once
  if (known && known.length >= count) return known.slice(0, count);
  return (await agent<{ run_ids: string[] }>(deps.py, ["next-run-id", "--count", String(count)])).run_ids;
}

function baselineDraft(state: GraphState): Draft {
  const seeds = state.baseline_seeds.length;
  if (seeds === 0) {
    // a checkpoint of an older version, saved before its first round was planned: nothing trained yet
    throw new UserError("this search was saved by an older nas-graph before its first training; start it again with 'nas-graph run'");
  }
  return {
    kind: "baseline",
    repeat_of: null,
    seed: state.baseline_seeds[0],
    base: startConfigRel(state.search_id),
    config_changes: [],
    step_type: "baseline",
    plan: BASELINE_PLAN,
    reason: seeds > 1
      ? `No incumbent at this fidelity: measure the starting point and its seed noise (${seeds} seeds)`
      : "No incumbent at this fidelity: measure the starting point first",
    planner_name: "baseline",
    fallback: null,
    advice: null,
  };
}

/**
 * The baseline's further seeds (begin-search's, after the first): those with a reserved run id
 * train in this round, right after the first seed (from the start snapshot, since the first
 * seed's config_used.py is not written yet); the rest wait in front of the queue.
 */
function queueBaselineSeeds(state: GraphState, trials: Trial[], ids: string[], queue: RepeatRequest[]): void {
  const root = trials.find((t) => t.kind === "baseline" && t.repeat_of === null)!;
  const count = state.baseline_seeds.length;
  const seeds = state.baseline_seeds.slice(1);
  const request = (seed: number, i: number): RepeatRequest => ({
    root_run_id: root.run_id,
    seed,
    kind: "baseline",
    plan: `Baseline seed ${i + 2} of ${count}: measure the seed noise`,
  });
  const now = ids.map((run_id, i) => ({ ...repeatDraft(request(seeds[i], i)), base: root.base, run_id }));
  trials.splice(trials.indexOf(root) + 1, 0, ...now);
  queue.unshift(...seeds.slice(ids.length).map((seed, i) => request(seed, ids.length + i)));
}

function repeatDraft(r: RepeatRequest): Draft {
  return {
    kind: r.kind === "baseline" ? "baseline" : "repeat",
    repeat_of: r.root_run_id,
    seed: r.seed,
    base: runConfigRel(r.root_run_id),
    config_changes: [],
    step_type: r.kind === "baseline" ? "baseline" : "repeat",
    plan: r.plan,
    reason: r.kind === "baseline" ? "The seed-to-seed spread of val_mse decides which gains count" : "Its gain was inside the seed noise: one more seed before the verdict",
    planner_name: r.kind === "baseline" ? "baseline" : "evaluator",
    fallback: null,
    advice: null,
  };
}

/** The configs the helper rendered this round (changes on the round's base), by their changes. */
type Renders = Map<string, RenderedConfig>;
const renderKey = (changes: ConfigChange[]) => JSON.stringify(changes);

function proposalDraft(p: Proposal, base: string, renders: Renders): Draft {
  const d = p.decision;
  return {
    kind: "proposal",
    repeat_of: null,
    seed: null,
    base,
    config_changes: d.config_changes,
    step_type: d.step_type,
    plan: d.plan,
    reason: d.reason,
    planner_name: p.planner,
    fallback: p.fallback ?? null,
    advice: p.advice ?? null,
    // rendered while planning (suggest, or the check of an LLM's changes): the trial writes it, no request
    rendered: renders.get(renderKey(d.config_changes)) ?? null,
  };
}

async function buildContext(state: GraphState, deps: GraphDeps, base: string, batchSize: number, renders: Renders): Promise<PlannerContext> {
  const agentState = readAgentState(deps.py.ws);
  const knownConfigs: Record<string, string> = {};
  for (const c of agentState.configs ?? []) if (c.config_id && c.fidelity === state.fidelity) knownConfigs[c.config_id] ??= c.root_run_id;
  const baseAbs = path.join(deps.py.ws.dir, base);
  return {
    iteration: state.iteration + 1,
    maxIterations: state.max_iterations,
    plannerCall: state.planner_call,
    batchSize,
    agentState,
    fidelity: state.fidelity,
    incumbent: state.incumbent,
    // The incumbent's config: the text the prompt shows is the one the changes apply to.
    configText: fs.readFileSync(baseAbs, "utf8"),
    searchSpace: await deps.searchSpace(),
    lastFeedback: state.verdicts.at(-1)?.feedback ?? null,
    targetValMse: deps.options.targetValMse,
    checkChanges: (changes) => checkChanges(deps, changes, baseAbs, renders),
    knownConfigs,
    suggest: (sampler, count) => suggest(deps, sampler, deps.options.seed ?? 0, count, baseAbs, renders),
    signal: deps.signal,
  };
}

/** Dry-run config-apply against the incumbent: the errors, and the resulting config's id (its text kept for the trial). */
async function checkChanges(deps: GraphDeps, changes: ConfigChange[], base: string, renders: Renders): Promise<ChangeCheck> {
  const args: HelperArgs = ["config-apply", "--dry-run", "--with-text", "--base", base, "--changes", JSON.stringify(changes)];
  try {
    const res = await agent<{ config_id?: string; text?: string; diff?: string }>(deps.py, args);
    if (changes.length > 0 && typeof res.text === "string") renders.set(renderKey(changes), { text: res.text, diff: res.diff ?? "" });
    return { errors: [], configId: res.config_id ?? null };
  } catch (err) {
    if (err instanceof AgentError) return { errors: err.errors.length ? err.errors : [err.message], configId: null };
    throw err;
  }
}

/**
 * Optuna's proposals; nas_agent varies the sampler seed with the history size, so calls explore.
 * The same request renders each proposal's config on the round's base (kept for the trial).
 */
async function suggest(deps: GraphDeps, sampler: "tpe" | "random", seed: number, count: number, base: string, renders: Renders): Promise<PlannerDecision[]> {
  const args: HelperArgs = ["suggest", "--sampler", sampler, "--seed", String(seed), "--render-base", base];
  if (count > 1) args.push("--count", String(count));
  const out = await agent<{ decision: PlannerDecision; decisions?: PlannerDecision[]; rendered?: (RenderedConfig | null)[] }>(deps.py, args);
  const decisions = out.decisions ?? [out.decision];
  for (const [i, d] of decisions.entries()) {
    const r = out.rendered?.[i];
    if (r && d.config_changes.length > 0) renders.set(renderKey(d.config_changes), { text: r.text, diff: r.diff });
  }
  return decisions;
}
