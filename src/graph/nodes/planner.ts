/**
 * planner: decide the next step. Trains the starting config first when the workspace has no
 * accepted run yet (baseline); otherwise builds a PlannerContext from the workspace files and
 * asks the planner. Reserves the run id so a re-run of the executor uses the same one.
 */
import fs from "node:fs";
import type { ConfigChange, PlannerContext, PlannerDecision, PlannerResult } from "../../contracts.js";
import { agent, AgentError } from "../../python.js";
import { incumbentConfig, readAgentState } from "../../workspace.js";
import { bestSummary } from "../../runs-view.js";
import { addUsage, ZERO_USAGE, type GraphState, type GraphUpdate } from "../state.js";
import type { GraphDeps } from "../graph.js";

export const BASELINE_PLAN = "Baseline: train the starting config as is";

export async function plannerNode(state: GraphState, deps: GraphDeps): Promise<GraphUpdate> {
  const started = performance.now();
  const agentState = readAgentState(deps.py.ws);
  const baseline = agentState.best_run_id == null && !state.baseline_done;
  const asked = performance.now();
  const result = baseline ? baselineResult() : await deps.planner(await buildContext(state, deps, agentState));
  const llmS = usedLlm(result) ? (performance.now() - asked) / 1000 : 0;
  const d = result.decision;
  const runId = d.step_type === "stop" ? null : (await agent<{ run_id: string }>(deps.py, ["next-run-id"])).run_id;
  const seconds = (performance.now() - started) / 1000;
  const usage = addUsage(state.usage, result.usage);
  deps.ui.iteration({
    n: state.iteration + 1,
    max: state.max_iterations,
    runId,
    planner: result.planner,
    best: bestSummary(agentState),
    costUsd: usage.cost_usd,
  });
  deps.ui.plan(baseline ? "baseline" : d.step_type, d.plan, d.reason, result.planner, result.fallback ?? null);
  return {
    step_type: baseline ? "baseline" : d.step_type,
    plan: d.plan,
    reason: d.reason,
    config_changes: d.config_changes,
    planner_name: result.planner,
    fallback: result.fallback ?? null,
    advice: result.advice ?? null,
    current_run_id: runId,
    baseline_done: state.baseline_done || baseline,
    planner_call: baseline ? state.planner_call : state.planner_call + 1,
    usage,
    run_status: null,
    run_error: null,
    diff: "",
    timings: {
      planner_s: seconds,
      planner_llm_s: llmS,
      prompt_chars: result.prompt_chars ?? undefined,
      llm_attempts: result.transcript?.length ?? 0,
      iteration_usage: result.usage,
    },
  };
}

/** An LLM was asked (answered or failed) by this planner call. */
function usedLlm(r: PlannerResult): boolean {
  return r.usage.calls > 0 || Boolean(r.fallback) || (r.transcript?.length ?? 0) > 0 || r.planner.startsWith("llm");
}

function baselineResult(): PlannerResult {
  const decision: PlannerDecision = {
    step_type: "small",
    plan: BASELINE_PLAN,
    reason: "No accepted run yet: measure the starting point first",
    config_changes: [],
  };
  return { decision, planner: "baseline", usage: { ...ZERO_USAGE }, attempts: 0, fallback: null, advice: null };
}

async function buildContext(
  state: GraphState,
  deps: GraphDeps,
  agentState: PlannerContext["agentState"],
): Promise<PlannerContext & { plannerCall: number }> {
  // The incumbent's config: the text the prompt shows is the one the changes apply to.
  const base = incumbentConfig(deps.py.ws, agentState.best_run_id, state.search_id);
  return {
    iteration: state.iteration + 1,
    maxIterations: state.max_iterations,
    agentState,
    configText: fs.readFileSync(base, "utf8"),
    searchSpace: await deps.searchSpace(),
    lastFeedback: state.feedback,
    targetValMse: state.options.target_val_mse,
    validateChanges: (changes) => validateChanges(deps, changes, base),
    suggest: (sampler) => suggest(deps, sampler, state.options.seed ?? 0),
    signal: deps.signal,
    plannerCall: state.planner_call,
  };
}

/** Dry-run config-apply against the incumbent: [] when the changes apply cleanly. */
async function validateChanges(deps: GraphDeps, changes: ConfigChange[], base: string): Promise<string[]> {
  const args = ["config-apply", "--dry-run", "--base", base, "--changes", JSON.stringify(changes)];
  try {
    await agent(deps.py, args);
    return [];
  } catch (err) {
    if (err instanceof AgentError) return err.errors.length ? err.errors : [err.message];
    throw err;
  }
}

/** Optuna's proposal; nas_agent varies the sampler seed with the history size, so calls explore. */
async function suggest(deps: GraphDeps, sampler: "tpe" | "random", seed: number): Promise<PlannerDecision> {
  const out = await agent<{ decision: PlannerDecision }>(deps.py, ["suggest", "--sampler", sampler, "--seed", String(seed)]);
  return out.decision;
}
