/**
 * The graph state: plain JSON only (it is checkpointed to SQLite). Never put env, keys or
 * class instances here; large data lives in files (agent_state.json, runs/).
 *
 * One iteration = planner -> executor -> evaluator -> [review] -> update_state.
 *
 * | field              | set by        | meaning |
 * | ------------------ | ------------- | ------- |
 * | search_id          | run command   | thread id of this search (also recorded per run) |
 * | iteration          | update_state  | iterations finished in this search (0 at start) |
 * | max_iterations     | run command   | stop after this many iterations |
 * | options            | run command   | target_val_mse, max_epochs, run_timeout_s, review, seed |
 * | planner_call       | planner       | planner calls so far in this search (0-based for the next) |
 * | start_baseline     | run command   | config.py differs from the incumbent's: train it first as a new baseline |
 * | baseline_done      | planner       | this search has trained the starting config |
 * | step_type          | planner       | baseline / small / medium / radical / stop |
 * | plan, reason       | planner       | the decision in words |
 * | config_changes     | planner       | [{key, value}] relative to the incumbent |
 * | planner_name, fallback, advice | planner | who decided; the LLM fallback cause; hybrid advice |
 * | current_run_id     | planner       | run id reserved for this iteration (re-runs reuse it) |
 * | diff               | executor      | config-apply's diff of config.py |
 * | run_status         | executor      | ok / diverged / crashed / interrupted / timeout / invalid |
 * | run_error          | executor      | one-line cause of a failed run |
 * | training_success   | executor      | run_status == ok |
 * | accept_run         | evaluator/review | the verdict |
 * | evaluation_reason, feedback, evaluation_source | evaluator/review | why, advice for next plan |
 * | best_run_id, best_val_mse, n_runs | update_state | compact view of agent_state.json |
 * | usage              | planner/evaluator | LLM token and cost totals of this search |
 * | llm_max_call_usd   | planner/evaluator | cost of the largest single LLM call of this search (the cost cap's estimate) |
 * | timings            | each node     | seconds spent per node in the current iteration |
 */
import { Annotation } from "@langchain/langgraph";
import type { ConfigChange, LlmUsage } from "../contracts.js";

export interface GraphOptions {
  target_val_mse: number | null;
  max_epochs: number | null;
  run_timeout_s: number | null;
  review: boolean;
  seed: number | null;
}

export interface IterationTimings {
  planner_s?: number;
  planner_llm_s?: number;
  executor_s?: number;
  train_s?: number;
  evaluator_s?: number;
  evaluator_llm_s?: number;
  review_s?: number;
  update_s?: number;
  prompt_chars?: number;
  llm_attempts?: number;
  iteration_usage?: LlmUsage;
}

export const ZERO_USAGE: LlmUsage = { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };

export function addUsage(a: LlmUsage, b: LlmUsage | undefined | null): LlmUsage {
  if (!b) return a;
  return {
    calls: a.calls + (b.calls ?? 0),
    input_tokens: a.input_tokens + (b.input_tokens ?? 0),
    output_tokens: a.output_tokens + (b.output_tokens ?? 0),
    cost_usd: a.cost_usd + (b.cost_usd ?? 0),
  };
}

/** Last-write-wins channel with a default. */
function field<T>(init: () => T) {
  return Annotation<T>({ reducer: (_old: T, next: T) => next, default: init });
}

export const GraphStateAnnotation = Annotation.Root({
  search_id: field<string>(() => ""),
  iteration: field<number>(() => 0),
  max_iterations: field<number>(() => 20),
  options: field<GraphOptions>(() => ({ target_val_mse: null, max_epochs: null, run_timeout_s: null, review: false, seed: null })),
  planner_call: field<number>(() => 0),
  start_baseline: field<boolean>(() => false),
  baseline_done: field<boolean>(() => false),
  step_type: field<string | null>(() => null),
  plan: field<string>(() => ""),
  reason: field<string>(() => ""),
  config_changes: field<ConfigChange[]>(() => []),
  planner_name: field<string | null>(() => null),
  fallback: field<string | null>(() => null),
  advice: field<string | null>(() => null),
  current_run_id: field<string | null>(() => null),
  diff: field<string>(() => ""),
  run_status: field<string | null>(() => null),
  run_error: field<string | null>(() => null),
  training_success: field<boolean>(() => false),
  accept_run: field<boolean>(() => false),
  evaluation_reason: field<string>(() => ""),
  feedback: field<string | null>(() => null),
  evaluation_source: field<string | null>(() => null),
  best_run_id: field<string | null>(() => null),
  best_val_mse: field<number | null>(() => null),
  n_runs: field<number>(() => 0),
  usage: field<LlmUsage>(() => ({ ...ZERO_USAGE })),
  llm_max_call_usd: field<number>(() => 0),
  timings: field<IterationTimings>(() => ({})),
});

export type GraphState = typeof GraphStateAnnotation.State;
export type GraphUpdate = typeof GraphStateAnnotation.Update;
