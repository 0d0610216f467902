/**
 * review (run --review only): pause after the evaluation of each trial with interrupt(); the
 * resume value `{accept: boolean}` overrides that trial's verdict. With several trials in a
 * round, one pause per trial, in evaluation order. Nothing happens before the interrupts,
 * since the node re-runs from its start when resumed.
 */
import path from "node:path";
import { interrupt } from "@langchain/langgraph";
import { readJson, runDir } from "../../workspace.js";
import type { GraphState, GraphUpdate, Verdict } from "../state.js";
import type { GraphDeps } from "../deps.js";

export interface ReviewPayload {
  run_id: string;
  metrics: Record<string, unknown> | null;
  verdict: { accept: boolean; repeat: boolean; reason: string; status: string | null };
}

export async function reviewNode(state: GraphState, deps: GraphDeps): Promise<GraphUpdate> {
  const verdicts: Verdict[] = [];
  for (const v of state.verdicts) {
    const payload: ReviewPayload = {
      run_id: v.run_id,
      metrics: readJson<Record<string, unknown>>(path.join(runDir(deps.py.ws, v.run_id), "metrics.json")),
      verdict: { accept: v.accept, repeat: v.repeat, reason: v.reason, status: state.results[v.run_id]?.run_status ?? null },
    };
    const answer = interrupt<ReviewPayload, { accept?: unknown }>(payload);
    const accept = answer?.accept === true;
    verdicts.push({
      ...v,
      accept,
      repeat: false,
      reason: `manual review: ${accept ? "accepted" : "rejected"} (evaluator said: ${v.reason})`,
      source: "manual",
    });
  }
  return { verdicts };
}
