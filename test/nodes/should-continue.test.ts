/** The graph's routes alone: should_continue after update_state, and the routes after planner and evaluator. */
import { describe, expect, it } from "vitest";
import { END, Send } from "@langchain/langgraph";
import { evidenceOf } from "../../src/contracts.js";
import { routeAfterEvaluator, routeAfterPlanner } from "../../src/graph/graph.js";
import { baselineRejected, shouldContinue } from "../../src/graph/should-continue.js";
import type { GraphState, TrialResult } from "../../src/graph/state.js";
import { configRecord, graphState, searchOpts, trial } from "./fakes.js";

/** A state after update_state: `iteration` trainings of 10 done, the incumbent at this mean. */
function after(over: Partial<GraphState> & { best?: number; target?: number | null; baseline?: string } = {}): GraphState {
  const { best, target, baseline, ...rest } = over;
  const root = trial("run_0001", { kind: "baseline", config_changes: [] });
  const results: Record<string, TrialResult> = baseline ? { run_0001: { run_id: "run_0001", run_status: baseline, run_error: "x", training_success: false, diff: "", train_s: 0, trial_s: 0 } } : {};
  return graphState({
    max_iterations: 10,
    iteration: 4,
    incumbent: best === undefined ? null : evidenceOf(configRecord("run_0001", [best])),
    trials: [root],
    results,
    ...rest,
  });
}

/** should_continue as the graph routes it: with the search's --target-val-mse. */
function shouldContinueAt(over: Parameters<typeof after>[0] = {}): ReturnType<typeof shouldContinue> {
  return shouldContinue(after(over), { targetValMse: over.target ?? null });
}

describe("should_continue", () => {
  it("plans the next round while the budget lasts and the target is not met", () => {
    expect(shouldContinueAt()).toBe("planner");
    expect(shouldContinueAt({ best: 0.3, target: 0.25 })).toBe("planner");
    expect(shouldContinueAt({ iteration: 9 })).toBe("planner");
  });

  it("ends when the planner asked to stop", () => {
    expect(shouldContinueAt({ stop_requested: true })).toBe(END);
  });

  it("ends when the training budget is spent", () => {
    expect(shouldContinueAt({ iteration: 10 })).toBe(END);
    expect(shouldContinueAt({ iteration: 11 })).toBe(END);
  });

  it("ends when the incumbent's mean beats --target-val-mse, not at it", () => {
    expect(shouldContinueAt({ best: 0.24, target: 0.25 })).toBe(END);
    expect(shouldContinueAt({ best: 0.25, target: 0.25 })).toBe("planner");
    expect(shouldContinueAt({ target: 0.25 })).toBe("planner"); // no incumbent yet
  });

  it("ends when train.py rejected the starting config (an invalid baseline), not when it crashed", () => {
    expect(baselineRejected(after({ baseline: "invalid" }))).toBe(true);
    expect(shouldContinueAt({ baseline: "invalid" })).toBe(END);
    expect(baselineRejected(after({ baseline: "crashed" }))).toBe(false);
    expect(shouldContinueAt({ baseline: "crashed" })).toBe("planner");
    // a baseline seed (repeat_of set) that was invalid is no rejected start
    const seed = after({ trials: [trial("run_0002", { kind: "baseline", repeat_of: "run_0001" })] });
    expect(shouldContinue({ ...seed, results: { run_0002: { ...after({ baseline: "invalid" }).results.run_0001, run_id: "run_0002" } } }, { targetValMse: null })).toBe("planner");
  });
});

describe("the routes after planner and evaluator", () => {
  it("sends one trial task per planned trial, with its slot, or ends when nothing was planned", () => {
    const state = graphState({ trials: [trial("run_0005"), trial("run_0006")] });
    const sends = routeAfterPlanner(state) as Send[];
    expect(sends.map((s) => [s.node, s.args.trial.run_id, s.args.slot, s.args.search_id])).toEqual([
      ["trial", "run_0005", 0, state.search_id],
      ["trial", "run_0006", 1, state.search_id],
    ]);
    expect(routeAfterPlanner(graphState({ trials: [] }))).toBe(END);
  });

  it("pauses for a human only with --review", () => {
    expect(routeAfterEvaluator({ options: searchOpts({ review: true }) })).toBe("review");
    expect(routeAfterEvaluator({ options: searchOpts() })).toBe("update_state");
  });
});
