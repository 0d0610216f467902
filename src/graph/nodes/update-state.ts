/**
 * update_state: record the run in agent_state.json (upsert, so a re-run never duplicates),
 * put config.py back on the incumbent, log the decision, print the verdict and running best.
 */
import type { AgentStateFile } from "../../contracts.js";
import { appendDecision } from "../../decision-log.js";
import { agent } from "../../python.js";
import { incumbentConfig, readAgentState } from "../../workspace.js";
import type { GraphState, GraphUpdate } from "../state.js";
import type { GraphDeps } from "../graph.js";

export async function updateStateNode(state: GraphState, deps: GraphDeps): Promise<GraphUpdate> {
  const started = performance.now();
  const runId = state.current_run_id as string;
  const rec = await agent<{ best_run_id: string | null; study_error?: string }>(deps.py, ["record-run", "--run-id", runId, "--info", JSON.stringify(runInfo(state))]);
  if (rec.study_error) deps.ui.warn(`the Optuna study (.nas-graph/optuna.db) was not updated: ${rec.study_error}`);
  if (rec.best_run_id !== runId) {
    await agent(deps.py, ["config-restore", "--from", incumbentConfig(deps.py.ws, rec.best_run_id, state.search_id)]);
  }
  const best = bestOf(readAgentState(deps.py.ws));
  const iteration = state.iteration + 1;
  const timings = { ...state.timings, update_s: (performance.now() - started) / 1000 };
  appendDecision(deps.py.ws.decisions, {
    search_id: state.search_id,
    iteration,
    run_id: runId,
    step_type: state.step_type,
    planner: state.planner_name,
    fallback: state.fallback,
    changes: state.config_changes,
    run_status: state.run_status,
    accepted: state.accept_run,
    evaluation_source: state.evaluation_source,
    best_run_id: best.best_run_id,
    best_val_mse: best.best_val_mse,
    timings: { ...timings },
    usage_total: { ...state.usage },
    at: new Date().toISOString(),
  });
  deps.ui.verdict(runId, state.accept_run, state.run_status, state.evaluation_reason);
  deps.ui.best(best.best_run_id, best.best_val_mse, best.n_runs);
  deps.ui.usage(state.usage);
  return { ...best, iteration, timings };
}

/** The RunInfo fields the graph knows; record-run merges the run dir's files into them. */
function runInfo(state: GraphState): Record<string, unknown> {
  return {
    status: state.run_status ?? "crashed",
    step_type: state.step_type,
    plan: state.plan,
    reason: state.reason,
    config_changes: Object.fromEntries(state.config_changes.map((c) => [c.key, c.value])),
    accepted: state.accept_run,
    evaluation_reason: state.evaluation_reason,
    feedback: state.feedback,
    planner: state.planner_name,
    fallback: state.fallback,
    advice: state.advice,
    error: state.run_error,
    search_id: state.search_id,
  };
}

export function bestOf(s: AgentStateFile): { best_run_id: string | null; best_val_mse: number | null; n_runs: number } {
  const run = s.runs.find((r) => r.run_id === s.best_run_id);
  return {
    best_run_id: s.best_run_id,
    best_val_mse: typeof run?.val_mse === "number" ? run.val_mse : null,
    n_runs: s.runs.length,
  };
}
