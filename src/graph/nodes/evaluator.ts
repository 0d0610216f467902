/**
 * evaluator: judge the run with the evaluator (rules; LLM on borderline cases). A failed run is
 * rejected with its cause; the first successful run with no incumbent is accepted as the baseline.
 */
import path from "node:path";
import type { EvaluationInput, EvaluationResult, RunMetrics } from "../../contracts.js";
import { agent, AgentError } from "../../python.js";
import { readAgentState, readJson, runDir } from "../../workspace.js";
import { addUsage, ZERO_USAGE, type GraphState, type GraphUpdate } from "../state.js";
import type { GraphDeps } from "../graph.js";

export async function evaluatorNode(state: GraphState, deps: GraphDeps): Promise<GraphUpdate> {
  const started = performance.now();
  const runId = state.current_run_id as string;
  const { result, evaluateS } = await judge(state, deps, runId);
  const s = (performance.now() - started) / 1000;
  const askedLlm = result.usage.calls > 0 || (result.transcript?.length ?? 0) > 0 || result.source === "llm" || result.source.includes("LLM failed");
  return {
    accept_run: result.accept,
    evaluation_reason: result.reason,
    feedback: result.feedback,
    evaluation_source: result.source,
    usage: addUsage(state.usage, result.usage),
    timings: {
      ...state.timings,
      evaluator_s: s,
      evaluator_llm_s: askedLlm ? evaluateS : 0,
      iteration_usage: addUsage(state.timings.iteration_usage ?? { ...ZERO_USAGE }, result.usage),
    },
  };
}

/** Failed runs and the first success (no best yet) are decided by the evaluator's rules too. */
async function judge(state: GraphState, deps: GraphDeps, runId: string): Promise<{ result: EvaluationResult; evaluateS: number }> {
  const metrics = state.training_success ? readJson<RunMetrics>(path.join(runDir(deps.py.ws, runId), "metrics.json")) : null;
  const failure = metrics ? null : `run ${state.run_status ?? "failed"}: ${state.run_error ?? "no metrics.json"}`;
  const summary = metrics && deps.evaluatorUsesHistory ? (await agent<{ summary: unknown }>(deps.py, ["summarize", "--run-id", runId])).summary : "";
  const input: EvaluationInput = {
    runId,
    metrics,
    failure,
    best: bestRun(deps, runId),
    changes: state.config_changes,
    historySummary: typeof summary === "string" ? summary : JSON.stringify(summary),
    persistenceValMse: metrics ? await persistence(deps, runId) : null,
    signal: deps.signal,
  };
  const asked = performance.now();
  const result = await deps.evaluate(input);
  return { result, evaluateS: (performance.now() - asked) / 1000 };
}

function bestRun(deps: GraphDeps, runId: string): EvaluationInput["best"] {
  const s = readAgentState(deps.py.ws);
  if (!s.best_run_id || s.best_run_id === runId) return null;
  const run = s.runs.find((r) => r.run_id === s.best_run_id);
  if (!run || typeof run.val_mse !== "number") return null;
  return { run_id: run.run_id, val_mse: run.val_mse, test_mse: run.test_mse ?? null };
}

/** Persistence's val_mse on the run's task (computed once per task by nas_agent; read-only
 * here, record-run stores it); null when the task's data cannot be read. */
async function persistence(deps: GraphDeps, runId: string): Promise<number | null> {
  const config = path.join(runDir(deps.py.ws, runId), "config_used.py");
  try {
    const out = await agent<{ baselines: { persistence: { val_mse: number } } }>(deps.py, ["baselines", "--config", config, "--no-store"]);
    return out.baselines.persistence.val_mse;
  } catch (err) {
    if (err instanceof AgentError) return null;
    throw err;
  }
}
