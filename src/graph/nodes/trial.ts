/**
 * trial (one task per trial of a round, through LangGraph Send): write the trial's own config
 * file (.nas-graph/trials/<run_id>.py = its base + changes: the text the helper rendered while
 * planning, else through the Python helper; a repeat or baseline seed copies its config as is,
 * a plain file copy), then train it through the search's executor (local or
 * Slurm, src/executors/). config.py is never touched here. A finished attempt of this same run
 * (crash after training) is reused, a failure of any kind included, and so is a timeout (the
 * executor's verdict in the attempt record); an interrupted one is set aside and retrained under
 * the same id; a Slurm job of an earlier attempt that is still
 * queued or running is waited for, never submitted twice. A failed training is a result,
 * never an exception.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError, oneLine } from "../../errors.js";
import type { StopVerdict, TrainOutcome, TrialJob } from "../../executors/types.js";
import { agent, AgentError, type HelperArgs } from "../../python.js";
import { readJson, runDir, trialConfigRel, writeJsonAtomic } from "../../workspace.js";
import type { GraphUpdate, RenderedConfig, Trial, TrialInput, TrialResult } from "../state.js";
import type { GraphDeps } from "../deps.js";
import { killPoint } from "../../test-hooks.js";

interface Failure {
  status?: string;
  reason?: string;
}

export async function trialNode(input: TrialInput, deps: GraphDeps): Promise<GraphUpdate> {
  const started = performance.now();
  const { trial } = input;
  const options = deps.options;
  const runId = trial.run_id;
  const dir = runDir(deps.py.ws, runId);
  const done = (r: Omit<TrialResult, "run_id" | "trial_s">): GraphUpdate => ({
    results: { [runId]: { ...r, run_id: runId, trial_s: (performance.now() - started) / 1000 } },
  });
  const job: TrialJob = {
    runId,
    searchId: input.search_id,
    configPath: trialConfigRel(runId),
    seed: trial.seed,
    maxEpochs: options.maxEpochs,
    timeoutS: options.runTimeoutS,
    slot: input.slot,
  };
  // first: stop a leftover local train.py, or find a Slurm job still at work on this run
  const earlier = await deps.executor.prepare(job, { notice: deps.ui.notice });
  if (!earlier.adopt) {
    const reused = finishedAttempt(dir, readJson<AttemptRecord>(attemptPath(deps, runId)), earlier.stale);
    if (reused) {
      deps.ui.notice(`${runId} already finished in an interrupted attempt; reusing its results`);
      return done({ ...reused, diff: "", train_s: 0 });
    }
    setAsideIncomplete(deps, dir, runId);
  }
  const written = await writeTrialConfig(trial, deps);
  if ("error" in written) {
    deps.ui.warn(`config change rejected: ${written.error}`);
    return done({ ...failed("invalid", written.error), diff: "", train_s: 0 });
  }
  deps.ui.diff(written.diff);
  const view = await deps.ui.training(runId);
  // Before training: its timeout; once the executor says so, when it started (a Slurm job: when
  // it left the queue); and when the executor stops it itself, its verdict, written before the
  // stop signal goes out: a resume after a crash reads a timeout (final: train.py's failure.json
  // only says "interrupted") apart from a Ctrl-C (retrained) there, never from file times.
  const attempt: AttemptRecord = { run_id: runId, started_at_ms: null, timeout_s: options.runTimeoutS };
  writeJsonAtomic(attemptPath(deps, runId), attempt);
  killPoint("trial"); // the fault suite: config written, training not started
  let out: TrainOutcome;
  try {
    out = await deps.executor.run(job, {
      signal: deps.signal,
      onStart: (ms) => {
        attempt.started_at_ms = ms;
        writeJsonAtomic(attemptPath(deps, runId), attempt);
        killPoint("training"); // the fault suite: the training in flight
      },
      onStop: (stop) => {
        attempt.stopped = stop;
        writeJsonAtomic(attemptPath(deps, runId), attempt);
      },
      // after Ctrl-C, the child's last words (a KeyboardInterrupt) are not news: one line says it
      onLine: (line, stream) => deps.signal.aborted || view.line(line, stream),
      onProgress: view.event,
      notice: deps.ui.notice,
    });
  } finally {
    view.end();
  }
  if (deps.signal.aborted) {
    throw new UserError("interrupted during training; continue with 'nas-graph resume'", 130);
  }
  return done({ ...outcome(out, dir, options.runTimeoutS), diff: written.diff, train_s: out.wallS });
}

type Outcome = Pick<TrialResult, "run_status" | "run_error" | "training_success">;

function failed(status: string, error: string): Outcome {
  return { run_status: status, run_error: error, training_success: false };
}

/** The trial's record of a training attempt, `.nas-graph/attempts/<run_id>.json`. */
interface AttemptRecord {
  run_id: string;
  /** null until the training started (a Slurm job still in the queue). */
  started_at_ms: number | null;
  timeout_s: number | null;
  /** The executor's verdict when it stopped the training itself (absent: it did not, or an older record). */
  stopped?: StopVerdict;
}

function attemptPath(deps: GraphDeps, runId: string): string {
  return path.join(deps.py.ws.meta, "attempts", `${runId}.json`);
}

/**
 * metrics.json, or a failure of any kind, means this run already finished. The executor's
 * verdict "timeout" (it stopped the training at the --run-timeout deadline) is final, whatever
 * the training had time to write; an "interrupted" failure otherwise (a Ctrl-C, a killed CLI;
 * also an older attempt record without a verdict, whose timeout then trains once more) is
 * retrained. `stale`: the attempt was cut off with the orchestrator (its child stopped or died
 * with it), so a failure.json it left is not the run's outcome.
 */
function finishedAttempt(dir: string, attempt: AttemptRecord | null, stale: boolean): Outcome | null {
  if (fs.existsSync(path.join(dir, "metrics.json"))) return { run_status: "ok", run_error: null, training_success: true };
  if (attempt?.stopped?.verdict === "timeout") return failed("timeout", timeoutError(attempt.timeout_s));
  const failure = readJson<Failure>(path.join(dir, "failure.json"));
  if (!failure || stale || failure.status === "interrupted") return null;
  return failed(failure.status ?? "crashed", failure.reason ?? "training failed");
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

/** The trial's config file: its base plus the changes (validated by the AST helper), or a copy. */
async function writeTrialConfig(trial: Trial, deps: GraphDeps): Promise<{ diff: string } | { error: string }> {
  const ws = deps.py.ws.dir;
  const target = path.join(ws, trialConfigRel(trial.run_id));
  const base = path.join(ws, trial.base);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (trial.config_changes.length === 0) return copyConfig(base, target);
  if (trial.rendered) return writeRendered(trial.rendered, target);
  try {
    const args: HelperArgs = ["config-apply", "--base", base, "--config", target, "--changes", JSON.stringify(trial.config_changes)];
    const res = await agent<{ diff?: string }>(deps.py, args);
    return { diff: res.diff ?? "" };
  } catch (err) {
    if (err instanceof AgentError) return { error: [err.message, ...err.errors].join("; ") };
    throw err;
  }
}

/** A proposal the helper rendered while planning: its text, written atomically as is (no request). */
function writeRendered(r: RenderedConfig, target: string): { diff: string } | { error: string } {
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, r.text);
    fs.renameSync(tmp, target);
    return { diff: r.diff };
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    return { error: `cannot write ${target}: ${oneLine(err)}` };
  }
}

/**
 * A repeat or a baseline seed trains its config as is: a byte copy (atomic) of a file that already
 * parsed (a run's config_used.py or the search's start snapshot), no helper request. A copy that
 * does not parse any more is train.py's to reject (exit 2: invalid), as any bad config.
 */
function copyConfig(base: string, target: string): { diff: string } | { error: string } {
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    fs.copyFileSync(base, tmp);
    fs.renameSync(tmp, target);
    return { diff: "" };
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    return { error: code === "ENOENT" ? `the config to repeat, ${base}, is missing: its run was moved or deleted` : `cannot copy ${base} to ${target}: ${oneLine(err)}` };
  }
}

/** Map train.py's exit code (docs/contracts.md) to a run status. */
function outcome(out: TrainOutcome, dir: string, timeoutS: number | null): Outcome {
  const failure = readJson<Failure>(path.join(dir, "failure.json"));
  const last = out.tail.filter((l) => l.trim()).pop() ?? "";
  if (out.timedOut) return failed("timeout", out.error ?? timeoutError(timeoutS));
  if (out.canceled) return failed("interrupted", out.error ?? failure?.reason ?? "training was stopped");
  switch (out.exitCode) {
    case 0:
      return fs.existsSync(path.join(dir, "metrics.json"))
        ? { run_status: "ok", run_error: null, training_success: true }
        : failed("crashed", "train.py exited 0 but wrote no metrics.json");
    case 2:
      return failed("invalid", `bad config: ${last || "train.py rejected the config"}`);
    case 3:
      return failed("diverged", failure?.reason ?? "non-finite loss");
    case 130:
      return failed("interrupted", failure?.reason ?? "training was interrupted");
    default:
      return failed("crashed", out.error ?? failure?.reason ?? (last || `train.py exited with code ${out.exitCode}`));
  }
}
