/**
 * review (run --review only): pause after each evaluation with interrupt(); the resume value
 * `{accept: boolean}` overrides the verdict. Nothing happens before interrupt(), since the node
 * re-runs from its start when resumed.
 */
import path from "node:path";
import { interrupt } from "@langchain/langgraph";
import { readJson, runDir } from "../../workspace.js";
import type { GraphState, GraphUpdate } from "../state.js";
import type { GraphDeps } from "../graph.js";

export interface ReviewPayload {
  run_id: string;
  metrics: Record<string, unknown> | null;
  verdict: { accept: boolean; reason: string; status: string | null };
}

export async function reviewNode(state: GraphState, deps: GraphDeps): Promise<GraphUpdate> {
  const runId = state.current_run_id as string;
  const payload: ReviewPayload = {
    run_id: runId,
    metrics: readJson<Record<string, unknown>>(path.join(runDir(deps.py.ws, runId), "metrics.json")),
    verdict: { accept: state.accept_run, reason: state.evaluation_reason, status: state.run_status },
  };
  const answer = interrupt<ReviewPayload, { accept?: unknown }>(payload);
  const accept = answer?.accept === true;
  return {
    accept_run: accept,
    evaluation_reason: `manual review: ${accept ? "accepted" : "rejected"} (evaluator said: ${state.evaluation_reason})`,
    evaluation_source: "manual",
  };
}
