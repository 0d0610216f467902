/**
 * executor: write config.py = incumbent + changes (through the Python helper, so a re-run is
 * idempotent), then train. A finished attempt of this same run (crash after training) is
 * reused; a half-written one is set aside and retrained under the same id.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../errors.js";
import { agent, AgentError, runTraining, type TrainOutcome } from "../../python.js";
import { incumbentConfig, readAgentState, readJson, runDir } from "../../workspace.js";
import type { GraphState, GraphUpdate } from "../state.js";
import type { GraphDeps } from "../graph.js";

interface Failure {
  status?: string;
  reason?: string;
}

export async function executorNode(state: GraphState, deps: GraphDeps): Promise<GraphUpdate> {
  const started = performance.now();
  const runId = state.current_run_id;
  if (!runId) throw new Error("executor reached without a reserved run id");
  const dir = runDir(deps.py.ws, runId);
  const reused = finishedAttempt(dir);
  if (reused) {
    deps.ui.notice(`${runId} already finished in an interrupted attempt; reusing its results`);
    return { ...reused, timings: { ...state.timings, executor_s: seconds(started), train_s: 0 } };
  }
  setAsideIncomplete(deps, dir, runId);
  const applied = await applyChanges(state, deps);
  if ("error" in applied) {
    deps.ui.warn(`config change rejected: ${applied.error}`);
    return { ...failed("invalid", applied.error), timings: { ...state.timings, executor_s: seconds(started), train_s: 0 } };
  }
  deps.ui.diff(applied.diff);
  const view = await deps.ui.training(runId);
  let out: TrainOutcome;
  try {
    out = await runTraining(deps.py, {
      runId,
      maxEpochs: state.options.max_epochs,
      timeoutS: state.options.run_timeout_s,
      signal: deps.signal,
      // after Ctrl-C, the child's last words (a KeyboardInterrupt) are not news: one line says it
      onLine: (line, stream) => deps.signal.aborted || view.line(line, stream),
      onProgress: view.event,
    });
  } finally {
    view.end();
  }
  if (deps.signal.aborted) {
    throw new UserError("interrupted during training; continue with 'nas-graph resume'", 130);
  }
  return {
    ...outcome(out, dir, state.options.run_timeout_s),
    diff: applied.diff,
    timings: { ...state.timings, executor_s: seconds(started), train_s: out.wallS },
  };
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function failed(status: string, error: string): GraphUpdate {
  return { run_status: status, run_error: error, training_success: false };
}

/** metrics.json, or a failure other than an interruption, means this run already finished. */
function finishedAttempt(dir: string): GraphUpdate | null {
  if (fs.existsSync(path.join(dir, "metrics.json"))) return { run_status: "ok", run_error: null, training_success: true };
  const failure = readJson<Failure>(path.join(dir, "failure.json"));
  if (failure && failure.status !== "interrupted") {
    return failed(failure.status ?? "crashed", failure.reason ?? "training failed");
  }
  return null;
}

/** Move a half-written run dir (killed or interrupted attempt) out of runs/, never delete it. */
function setAsideIncomplete(deps: GraphDeps, dir: string, runId: string): void {
  if (!fs.existsSync(dir)) return;
  const dest = path.join(deps.py.ws.meta, "aborted", `${runId}-${Date.now()}`);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.renameSync(dir, dest);
  deps.ui.notice(`moved the incomplete ${runId} from an interrupted attempt to ${path.relative(deps.py.ws.dir, dest)}; retraining it`);
}

async function applyChanges(state: GraphState, deps: GraphDeps): Promise<{ diff: string } | { error: string }> {
  const base = incumbentConfig(deps.py.ws, readAgentState(deps.py.ws).best_run_id, state.search_id);
  try {
    if (state.config_changes.length === 0) {
      await agent(deps.py, ["config-restore", "--from", base]);
      return { diff: "" };
    }
    const res = await agent<{ diff?: string }>(deps.py, ["config-apply", "--base", base, "--changes", JSON.stringify(state.config_changes)]);
    return { diff: res.diff ?? "" };
  } catch (err) {
    if (err instanceof AgentError) return { error: [err.message, ...err.errors].join("; ") };
    throw err;
  }
}

/** Map train.py's exit code (docs/contracts.md) to a run status. */
function outcome(out: TrainOutcome, dir: string, timeoutS: number | null): GraphUpdate {
  const failure = readJson<Failure>(path.join(dir, "failure.json"));
  const last = out.tail.filter((l) => l.trim()).pop() ?? "";
  if (out.timedOut) return failed("timeout", `training exceeded --run-timeout ${timeoutS}s`);
  switch (out.exitCode) {
    case 0:
      return fs.existsSync(path.join(dir, "metrics.json"))
        ? { run_status: "ok", run_error: null, training_success: true }
        : failed("crashed", "train.py exited 0 but wrote no metrics.json");
    case 2:
      return failed("invalid", `bad config: ${last || "train.py rejected config.py"}`);
    case 3:
      return failed("diverged", failure?.reason ?? "non-finite loss");
    case 130:
      return failed("interrupted", failure?.reason ?? "training was interrupted");
    default:
      return failed("crashed", failure?.reason ?? (last || `train.py exited with code ${out.exitCode}`));
  }
}
