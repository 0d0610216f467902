/**
 * should_continue, the route after update_state, in a file of its own: update_state reads it too
 * (a round after which the search ends sends its closing in the same helper request).
 */
import { END } from "@langchain/langgraph";
import type { SearchOptions } from "../workspace.js";
import type { GraphState } from "./state.js";

/** should_continue: stop on request, at the budget, or when the best mean beats the target. */
export function shouldContinue(state: GraphState, options: Pick<SearchOptions, "targetValMse">): "planner" | typeof END {
  if (state.stop_requested) return END;
  // A starting config that train.py rejects (bad config, missing data) fails every proposal too.
  if (baselineRejected(state)) return END;
  if (state.iteration >= state.max_iterations) return END;
  const target = options.targetValMse;
  const best = state.incumbent?.val_mean ?? null;
  if (target != null && best != null && best < target) return END;
  return "planner";
}

/** The baseline could not even start: train.py rejected the starting config. */
export function baselineRejected(state: GraphState): boolean {
  const root = state.trials.find((t) => t.kind === "baseline" && t.repeat_of === null);
  return root !== undefined && state.results[root.run_id]?.run_status === "invalid";
}

