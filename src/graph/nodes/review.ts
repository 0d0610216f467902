/**
 * review (run --review only): pause after the evaluation of each trial with interrupt(); the
 * resume value overrides that trial's verdict: `{accept: boolean}`, or `{repeat: true}` to train
 * the run's config again with a new seed before any verdict (offered while the training budget
 * has room: `repeats_left`; update_state queues it as the evaluator's own repeats are). With
 * several trials in a round, one pause per trial, in evaluation order. Nothing happens before
 * the interrupts, since the node re-runs from its start when resumed.
 */
import path from "node:path";
import { interrupt } from "@langchain/langgraph";
import { readJson, runDir } from "../../workspace.js";
import type { GraphState, GraphUpdate, ReviewAnswer, ReviewPayload, Verdict } from "../state.js";
import type { GraphDeps } from "../deps.js";
import { killPoint } from "../../test-hooks.js";

export async function reviewNode(state: GraphState, deps: GraphDeps): Promise<GraphUpdate> {
  const verdicts: Verdict[] = [];
  // what the budget has left once this round's trials and the queued seeds are trained
  let left = state.max_iterations - state.iteration - state.trials.length - state.repeat_queue.length;
  for (const v of state.verdicts) {
    const status = state.results[v.run_id]?.run_status ?? null;
    const payload: ReviewPayload = {
      run_id: v.run_id,
      metrics: readJson<Record<string, unknown>>(path.join(runDir(deps.py.ws, v.run_id), "metrics.json")),
      verdict: { accept: v.accept, repeat: v.repeat, reason: v.reason, status },
      repeats_left: status === "ok" ? Math.max(0, left) : 0,
    };
    const answer = interrupt<ReviewPayload, ReviewAnswer>(payload);
    killPoint("review"); // the fault suite: an answer given, its verdict not yet checkpointed
    if (answer?.repeat === true && (payload.repeats_left ?? 0) > 0) {
      left -= 1;
      verdicts.push({
        ...v,
        accept: false,
        repeat: true,
        promising: false,
        reason: `manual review: train it again with a new seed (evaluator said: ${v.reason})`,
        source: "manual",
      });
      continue;
    }
    const accept = answer?.accept === true;
    const refused = answer?.repeat === true ? "a repeat was asked with no training left: " : "";
    verdicts.push({
      ...v,
      accept,
      repeat: false,
      reason: `manual review: ${refused}${accept ? "accepted" : "rejected"} (evaluator said: ${v.reason})`,
      source: "manual",
    });
  }
  return { verdicts };
}
