/**
 * executor: write config.py = incumbent + changes (through the Python helper, so a re-run is
 * idempotent), then train. A finished attempt of this same run (crash after training) is
 * reused, a failure of any kind included; an interrupted one (Ctrl-C, or the CLI killed) is
 * set aside and retrained under the same id.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../errors.js";
import { agent, AgentError, runTraining, type TrainOutcome } from "../../python.js";
import { incumbentConfig, readAgentState, readJson, runDir, startConfigPath, writeJsonAtomic } from "../../workspace.js";
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
  const reused = finishedAttempt(dir, readJson<AttemptRecord>(attemptPath(deps, runId)));
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
  // Before training: when it started and its timeout, so that a resume after a crash can tell
  // a timeout (train.py also writes failure.json "interrupted" when the timeout stops it) from a Ctrl-C.
  writeJsonAtomic(attemptPath(deps, runId), { run_id: runId, started_at_ms: Date.now(), timeout_s: state.options.run_timeout_s });
  const out = await runTraining(deps.py, {
    runId,
    maxEpochs: state.options.max_epochs,
    timeoutS: state.options.run_timeout_s,
    signal: deps.signal,
    onLine: (line) => deps.ui.trainLine(runId, line),
  });
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

/** The executor's record of a training attempt, `.nas-graph/attempts/<run_id>.json`. */
interface AttemptRecord {
  run_id: string;
  started_at_ms: number;
  timeout_s: number | null;
}

function attemptPath(deps: GraphDeps, runId: string): string {
  return path.join(deps.py.ws.meta, "attempts", `${runId}.json`);
}

/** Slack for file-system timestamp granularity when comparing failure.json's time with the deadline. */
const CLOCK_SLACK_MS = 1000;

/**
 * metrics.json, or a failure of any kind, means this run already finished. An "interrupted"
 * failure written at or after the attempt's --run-timeout deadline is that timeout (final);
 * one written before it was a Ctrl-C or a killed CLI (retrained).
 */
function finishedAttempt(dir: string, attempt: AttemptRecord | null): GraphUpdate | null {
  if (fs.existsSync(path.join(dir, "metrics.json"))) return { run_status: "ok", run_error: null, training_success: true };
  const failurePath = path.join(dir, "failure.json");
  const failure = readJson<Failure>(failurePath);
  if (!failure) return null;
  if (failure.status !== "interrupted") return failed(failure.status ?? "crashed", failure.reason ?? "training failed");
  if (attempt?.timeout_s != null) {
    const deadline = attempt.started_at_ms + attempt.timeout_s * 1000;
    if (fs.statSync(failurePath).mtimeMs >= deadline - CLOCK_SLACK_MS) return failed("timeout", timeoutError(attempt.timeout_s));
  }
  return null;
}

function timeoutError(timeoutS: number | null): string {
  return `training exceeded --run-timeout ${timeoutS}s`;
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
  // A baseline trains the config.py the search started from (the user's file), never the incumbent's.
  const base =
    state.step_type === "baseline"
      ? startConfigPath(deps.py.ws, state.search_id)
      : incumbentConfig(deps.py.ws, readAgentState(deps.py.ws).best_run_id, state.search_id);
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
  if (out.timedOut) return failed("timeout", timeoutError(timeoutS));
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
