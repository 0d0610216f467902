/**
 * The search graph: planner -> executor -> evaluator -> [review] -> update_state -> (loop|END).
 * Nodes get their collaborators (planner, evaluator, Python bridge, UI) through GraphDeps,
 * never through the state, so the checkpoint holds plain JSON only.
 */
import { END, START, StateGraph } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import type { EvaluationInput, EvaluationResult, Planner, SearchSpace } from "../contracts.js";
import type { Executor } from "../executors/types.js";
import type { PyContext } from "../python.js";
import type { Ui } from "../ui.js";
import { GraphStateAnnotation, type GraphState } from "./state.js";
import { plannerNode } from "./nodes/planner.js";
import { executorNode } from "./nodes/executor.js";
import { evaluatorNode } from "./nodes/evaluator.js";
import { reviewNode } from "./nodes/review.js";
import { updateStateNode } from "./nodes/update-state.js";

export interface GraphDeps {
  py: PyContext;
  planner: Planner;
  evaluate: (input: EvaluationInput) => Promise<EvaluationResult>;
  /** Only the LLM evaluator reads the run's history summary (saves a helper call per iteration). */
  evaluatorUsesHistory: boolean;
  ui: Ui;
  /** Trains a trial: local train.py children or Slurm jobs (--executor). */
  executor: Executor;
  /** Aborted on Ctrl-C: cancels training and LLM calls. */
  signal: AbortSignal;
  /** The resolved search space (nas_agent space), fetched once per process. */
  searchSpace: () => Promise<SearchSpace>;
}

/** Nodes per iteration (review included), for the recursion limit. */
export const NODES_PER_ITERATION = 5;

/** LangGraph counts steps per invoke and is off by one: N iterations need 5N + 1. */
export function recursionLimitFor(maxIterations: number): number {
  return NODES_PER_ITERATION * maxIterations + 10;
}

/** After planning: a stop decision ends the search without training. */
export function routeAfterPlanner(state: GraphState): "executor" | typeof END {
  return state.step_type === "stop" ? END : "executor";
}

/** After evaluation: pause for a human only with --review. */
export function routeAfterEvaluator(state: GraphState): "review" | "update_state" {
  return state.options.review ? "review" : "update_state";
}

/** should_continue: stop at max iterations or when the best beats the target. */
export function shouldContinue(state: GraphState): "planner" | typeof END {
  if (state.step_type === "stop") return END;
  // A starting config that train.py rejects (bad config, missing data) fails every proposal too.
  if (baselineRejected(state)) return END;
  if (state.iteration >= state.max_iterations) return END;
  const target = state.options.target_val_mse;
  if (target != null && state.best_val_mse != null && state.best_val_mse < target) return END;
  return "planner";
}

/** The baseline run could not even start: train.py rejected the starting config. */
export function baselineRejected(state: GraphState): boolean {
  return state.step_type === "baseline" && state.run_status === "invalid";
}

export function buildGraph(deps: GraphDeps, checkpointer: BaseCheckpointSaver) {
  return new StateGraph(GraphStateAnnotation)
    .addNode("planner", (s: GraphState) => plannerNode(s, deps))
    .addNode("executor", (s: GraphState) => executorNode(s, deps))
    .addNode("evaluator", (s: GraphState) => evaluatorNode(s, deps))
    .addNode("review", (s: GraphState) => reviewNode(s, deps))
    .addNode("update_state", (s: GraphState) => updateStateNode(s, deps))
    .addEdge(START, "planner")
    .addConditionalEdges("planner", routeAfterPlanner, ["executor", END])
    .addEdge("executor", "evaluator")
    .addConditionalEdges("evaluator", routeAfterEvaluator, ["review", "update_state"])
    .addEdge("review", "update_state")
    .addConditionalEdges("update_state", shouldContinue, ["planner", END])
    .compile({ checkpointer });
}

export type SearchGraph = ReturnType<typeof buildGraph>;
