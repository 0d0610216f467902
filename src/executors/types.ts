import type { ProgressEvent } from "../progress.js";

/**
 * One interface for running a trial's training: `local` (train.py children of this process)
 * and `slurm` (one sbatch job per trial, on a filesystem the nodes share). The graph's
 * executor node only ever talks to an Executor; the job record file
 * `.nas-graph/jobs/<run_id>.json` (src/executors/job-record.ts) lets a later process find
 * what an earlier attempt of the same trial left behind.
 */

/** One trial to train: train.py's arguments and where it sits among the trials in flight. */
export interface TrialJob {
  /** run_XXXX, also train.py --tag. */
  runId: string;
  /** The search's id: Slurm job names are nas-<searchId>-<runId>. */
  searchId: string;
  /** train.py --config, relative to the workspace dir (the trial's own config file). */
  configPath: string;
  /** train.py --seed (null: the config's own). */
  seed: number | null;
  /** train.py --max-epochs (null: the config's own). */
  maxEpochs: number | null;
  /** --run-timeout: stop a training that runs longer (Slurm: counted from the job's start). */
  timeoutS: number | null;
  /** 0-based index of this trial among those in flight (GPU round-robin, thread split). */
  slot: number;
}

export interface TrainOutcome {
  /** train.py's exit code (docs/contracts.md); null when it was killed or never ran. */
  exitCode: number | null;
  /** Stopped by --run-timeout (or, on Slurm, by the job's time limit after the retry). */
  timedOut: boolean;
  /** Stopped by the AbortSignal (Ctrl-C), or, on Slurm, cancelled by someone else (scancel). */
  canceled: boolean;
  /** Seconds the training ran (Slurm: the jobs' RunTime, queue time left out). */
  wallS: number;
  /** Last lines of output, for the error of a failed run. */
  tail: string[];
  /** The Slurm job id of the attempt that ran (null for local). */
  jobId?: string | null;
  /** A one-line cause the executor knows better than the exit code (e.g. a Slurm state). */
  error?: string | null;
}

/** Why the executor stopped a training, and when (epoch ms): the attempt record's `stopped`. */
export interface StopVerdict {
  verdict: "timeout" | "interrupted";
  at_ms: number;
}

export interface PrepareResult {
  /**
   * A job of an earlier attempt of this trial is still queued or running, and run() will
   * wait for it: leave runs/<id> alone (Slurm only; a local leftover is stopped instead).
   */
  adopt: string | null;
  /**
   * An earlier attempt was cut off when the orchestrator died (its process was stopped or
   * is gone): a failure.json it left is not the trial's outcome; set the run dir aside.
   */
  stale: boolean;
}

export interface RunHooks {
  /** Aborted on Ctrl-C: the executor stops the training (SIGTERM / scancel). */
  signal: AbortSignal;
  /** Every human output line of the training, as it arrives (stdout: its epoch log; stderr: notices). */
  onLine: (line: string, stream: "stdout" | "stderr") => void;
  /** train.py's progress events (`--progress`: a pipe for local children, a file for Slurm jobs). */
  onProgress?: (event: ProgressEvent) => void;
  /**
   * The training started (epoch ms): at spawn for a local child; for a Slurm job its StartTime,
   * once it left the queue (queue time is not run time). Called again for a resubmitted job.
   */
  onStart?: (startedAtMs: number) => void;
  /**
   * The executor stops the training itself: its --run-timeout deadline passed ("timeout"), or a
   * Ctrl-C came ("interrupted"; the first of the two stands). Called synchronously at that moment,
   * before the stop signal reaches the training (whose failure.json then only says "interrupted"),
   * so that the caller's record holds the verdict even if this process dies before the training ends.
   */
  onStop?: (stop: StopVerdict) => void;
  /** One-line notices (orphan stopped, job adopted, job submitted, retry). */
  notice?: (msg: string) => void;
}

export interface Executor {
  readonly kind: "local" | "slurm";
  /**
   * Call before looking at or moving runs/<id>: stops a leftover local train.py of an
   * earlier attempt, or finds a Slurm job of an earlier attempt still queued or running.
   */
  prepare(job: TrialJob, hooks: Pick<RunHooks, "notice">): Promise<PrepareResult>;
  /**
   * Train one trial to the end, or re-adopt the job an earlier attempt of this same trial
   * left running; never throws for a failed training (only when it cannot start at all).
   */
  run(job: TrialJob, hooks: RunHooks): Promise<TrainOutcome>;
}

export const TAIL_LINES = 20;

/** Keep the last TAIL_LINES lines. */
export function pushTail(tail: string[], line: string): void {
  tail.push(line);
  if (tail.length > TAIL_LINES) tail.shift();
}
