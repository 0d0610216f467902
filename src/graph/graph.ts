/**
 * The search graph: planner -> trial x K (Send) -> evaluator -> [review] -> update_state -> (loop|END).
 * Nodes get their collaborators (planner, evaluator, Python bridge, executor, UI) through
 * GraphDeps (./deps.ts, which the nodes import, never this file), never through the state, so
 * the checkpoint holds plain JSON only.
 */
import { END, START, Send, StateGraph } from "@langchain/langgraph";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import type { Executor } from "../executors/types.js";
import type { PyContext } from "../python.js";
import type { Ui } from "../ui.js";
import type { GraphDeps } from "./deps.js";
import { GraphStateAnnotation, type GraphState, type TrialInput } from "./state.js";
import { plannerNode } from "./nodes/planner.js";
import { trialNode } from "./nodes/trial.js";
import { evaluatorNode } from "./nodes/evaluator.js";
import { reviewNode } from "./nodes/review.js";
import { updateStateNode } from "./nodes/update-state.js";

import { shouldContinue } from "./should-continue.js";

export type { GraphDeps } from "./deps.js";
export { baselineRejected, shouldContinue } from "./should-continue.js";
export { maxRiseArgs } from "./deps.js";

/** Steps per round (review included), for the recursion limit. */
export const NODES_PER_ITERATION = 5;

/** LangGraph counts steps per invoke and is off by one; a round trains at least one trial. */
export function recursionLimitFor(maxIterations: number): number {
  return NODES_PER_ITERATION * maxIterations + 10;
}

/** After planning: one Send per trial (each its own checkpointed task), or END when none is left. */
export function routeAfterPlanner(state: GraphState): Send[] | typeof END {
  if (state.trials.length === 0) return END;
  return state.trials.map(
    (trial, slot) => new Send("trial", { trial, search_id: state.search_id, slot } satisfies TrialInput),
  );
}

/** After evaluation: pause for a human only with --review. */
export function routeAfterEvaluator(deps: Pick<GraphDeps, "options">): "review" | "update_state" {
  return deps.options.review ? "review" : "update_state";
}

/** The compiled graph; without a checkpointer for LangGraph Studio, which brings its own. */
export function buildGraph(deps: GraphDeps, checkpointer?: BaseCheckpointSaver) {
  return new StateGraph(GraphStateAnnotation)
    .addNode("planner", (s: GraphState) => plannerNode(s, deps))
    .addNode("trial", (input: TrialInput) => trialNode(input, deps))
    .addNode("evaluator", (s: GraphState) => evaluatorNode(s, deps))
    .addNode("review", (s: GraphState) => reviewNode(s, deps))
    .addNode("update_state", (s: GraphState) => updateStateNode(s, deps))
    .addEdge(START, "planner")
    .addConditionalEdges("planner", routeAfterPlanner, ["trial", END])
    .addEdge("trial", "evaluator")
    .addConditionalEdges("evaluator", () => routeAfterEvaluator(deps), ["review", "update_state"])
    .addEdge("review", "update_state")
    .addConditionalEdges("update_state", (s: GraphState) => shouldContinue(s, deps.options), ["planner", END])
    .compile({ checkpointer });
}

export type SearchGraph = ReturnType<typeof buildGraph>;

/** Collaborators that refuse to work: for inspecting or drawing the graph without running it. */
export function inertDeps(py: PyContext, ui: Ui): GraphDeps {
  const inert = () => Promise.reject(new Error("inspection only"));
  const executor: Executor = { kind: "local", prepare: inert, run: inert };
  return {
    get options(): GraphDeps["options"] {
      throw new Error("inspection only");
    },
    py, planner: inert, evaluate: inert, evaluatorUsesHistory: false, executor, ui, signal: new AbortController().signal, searchSpace: inert,
  };
}
