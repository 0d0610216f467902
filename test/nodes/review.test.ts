/** The review node alone, in a one-node graph (interrupt() needs one): each pause's payload, and the answers overriding the verdicts. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Command, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import { reviewNode } from "../../src/graph/nodes/review.js";
import { GraphStateAnnotation, type GraphState, type ReviewAnswer, type ReviewPayload, type Verdict } from "../../src/graph/state.js";
import type { Workspace } from "../../src/workspace-paths.js";
import { fakeDeps, fakeHelper, graphState, metrics, silentUi, tempWorkspaces, trial } from "./fakes.js";

const workspace = tempWorkspaces();

const verdict = (run_id: string, accept: boolean, reason: string): Verdict => ({ run_id, accept, repeat: false, promising: false, reason, feedback: "", source: "noise", improvement_pct: null });

/** Run the review node in a graph of its own; answer each pause in turn; the payloads it paused with and its verdicts. */
async function review({ ws, state }: Round, answers: ReviewAnswer[]) {
  const { py, calls } = fakeHelper(ws, {});
  const deps = fakeDeps(py, silentUi().ui);
  const graph = new StateGraph(GraphStateAnnotation)
    .addNode("review", (s: GraphState) => reviewNode(s, deps))
    .addEdge(START, "review")
    .addEdge("review", END)
    .compile({ checkpointer: new MemorySaver() });
  const config = { configurable: { thread_id: "review-test" } };
  const payloads: ReviewPayload[] = [];
  let input: Parameters<typeof graph.invoke>[0] = state;
  for (;;) {
    const out = (await graph.invoke(input, config)) as GraphState;
    const pending = (await graph.getState(config)).tasks.flatMap((t) => t.interrupts ?? []);
    if (pending.length === 0) return { payloads, verdicts: out.verdicts, calls };
    payloads.push(pending[0].value as ReviewPayload);
    if (payloads.length > answers.length) throw new Error(`paused ${payloads.length} times, ${answers.length} answers`);
    input = new Command({ resume: answers[payloads.length - 1] }) as unknown as typeof input;
  }
}

interface Round {
  ws: Workspace;
  state: GraphState;
}

/** A round of these trials, ok ones with their metrics.json on disk, and the evaluator's verdicts. */
function round(over: Partial<GraphState>, runs: Array<{ id: string; val: number | null; verdict: Verdict }>): Round {
  const ws = workspace();
  for (const r of runs.filter((r) => r.val !== null)) {
    fs.mkdirSync(path.join(ws.runs, r.id), { recursive: true });
    fs.writeFileSync(path.join(ws.runs, r.id, "metrics.json"), JSON.stringify(metrics(r.val!)));
  }
  const state = graphState({
    ...over,
    trials: runs.map((r) => trial(r.id)),
    results: Object.fromEntries(runs.map((r) => [r.id, { run_id: r.id, run_status: r.val === null ? "crashed" : "ok", run_error: r.val === null ? "OOM" : null, training_success: r.val !== null, diff: "", train_s: 1, trial_s: 1 }])),
    verdicts: runs.map((r) => r.verdict),
  });
  return { ws, state };
}

describe("review node", () => {
  it("pauses once per verdict, in order, and the answers override the evaluator", async () => {
    const state = round({ iteration: 2, max_iterations: 10 }, [
      { id: "run_0003", val: 0.25, verdict: verdict("run_0003", true, "beats the incumbent") },
      { id: "run_0004", val: 0.27, verdict: verdict("run_0004", false, "inside the noise") },
    ]);
    const { payloads, verdicts, calls } = await review(state, [{ accept: false }, { accept: true }]);

    expect(calls).toEqual([]);
    expect(payloads).toEqual([
      { run_id: "run_0003", metrics: metrics(0.25), verdict: { accept: true, repeat: false, reason: "beats the incumbent", status: "ok" }, repeats_left: 6 },
      { run_id: "run_0004", metrics: metrics(0.27), verdict: { accept: false, repeat: false, reason: "inside the noise", status: "ok" }, repeats_left: 6 },
    ]);
    expect(verdicts.map((v) => [v.run_id, v.accept, v.repeat, v.source, v.reason])).toEqual([
      ["run_0003", false, false, "manual", "manual review: rejected (evaluator said: beats the incumbent)"],
      ["run_0004", true, false, "manual", "manual review: accepted (evaluator said: inside the noise)"],
    ]);
  });

  it("a repeat answer asks for another seed while the budget has room; with none left it is a rejection", async () => {
    // 10 - 6 done - 2 in this round - 1 queued = 1 training left for a repeat
    const state = round({ iteration: 6, max_iterations: 10, repeat_queue: [{ root_run_id: "run_0001", seed: 43, kind: "baseline", plan: "seed" }] }, [
      { id: "run_0008", val: 0.25, verdict: verdict("run_0008", true, "beats it") },
      { id: "run_0009", val: 0.26, verdict: verdict("run_0009", true, "beats it too") },
    ]);
    const { payloads, verdicts } = await review(state, [{ repeat: true }, { repeat: true }]);
    expect(payloads.map((p) => p.repeats_left)).toEqual([1, 0]);
    expect(verdicts[0]).toMatchObject({ run_id: "run_0008", accept: false, repeat: true, promising: false, source: "manual", reason: "manual review: train it again with a new seed (evaluator said: beats it)" });
    expect(verdicts[1]).toMatchObject({ run_id: "run_0009", accept: false, repeat: false, source: "manual", reason: "manual review: a repeat was asked with no training left: rejected (evaluator said: beats it too)" });
  });

  it("a failed run is shown without metrics and offers no repeat", async () => {
    const state = round({ max_iterations: 10 }, [{ id: "run_0002", val: null, verdict: verdict("run_0002", false, "run crashed") }]);
    const { payloads, verdicts } = await review(state, [{ repeat: true }]);
    expect(payloads).toEqual([{ run_id: "run_0002", metrics: null, verdict: { accept: false, repeat: false, reason: "run crashed", status: "crashed" }, repeats_left: 0 }]);
    expect(verdicts[0]).toMatchObject({ accept: false, repeat: false, reason: expect.stringMatching(/no training left: rejected/) });
  });
});
