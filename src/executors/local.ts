/**
 * `--executor local`: each trial is a train.py child of this process, in the workspace.
 *
 * - GPUs: trials are spread round-robin by slot over the GPUs that `--gpus` or
 *   CUDA_VISIBLE_DEVICES lists (each child sees one); several may share one GPU.
 * - CPU threads: with K > 1 trials in flight, each child gets OMP_NUM_THREADS =
 *   max(1, floor(cores / K)) unless the user set OMP_NUM_THREADS.
 * - A child never outlives this process: it runs in its own process group, train.py asks
 *   Linux for a parent-death signal (NAS_PARENT_PID, see train.py), and the job record
 *   (pid + start time) lets a later attempt of the same trial stop a survivor first.
 * - --run-timeout and Ctrl-C: the verdict ("timeout" / "interrupted") is told first
 *   (hooks.onStop), then the child gets SIGTERM (SIGKILL 5 s later).
 */
import os from "node:os";
import { execa } from "execa";
import { UserError, oneLine } from "../errors.js";
import { logger } from "../log.js";
import { parseProgressLine } from "../progress.js";
import { pythonBin, pythonEnv, type PyContext } from "../python.js";
import {
  cmdline,
  readJobRecord,
  sameProcessAlive,
  startTicks,
  stopProcess,
  writeJobRecord,
  type LocalJobRecord,
} from "./job-record.js";
import { pushTail, type Executor, type PrepareResult, type RunHooks, type StopVerdict, type TrainOutcome, type TrialJob } from "./types.js";

export interface LocalOptions {
  /** GPU ids from --gpus (null: read CUDA_VISIBLE_DEVICES). */
  gpus: string[] | null;
  /** Trainings in flight at once (--parallel K): each child gets one GPU of the list, and 1/K of the CPU threads. */
  parallel: number;
}

/** train.py's command line (after the interpreter). */
export function trainArgs(job: TrialJob, progress: string): string[] {
  const args = ["-u", "train.py", "--config", job.configPath, "--tag", job.runId, "--progress", progress];
  if (job.maxEpochs != null) args.push("--max-epochs", String(job.maxEpochs));
  if (job.seed != null) args.push("--seed", String(job.seed));
  return args;
}

/** The GPU list: --gpus, else CUDA_VISIBLE_DEVICES; null when neither names a device. */
export function gpuList(gpus: string[] | null, env: NodeJS.ProcessEnv): string[] | null {
  if (gpus && gpus.length > 0) return gpus;
  const visible = (env.CUDA_VISIBLE_DEVICES ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (visible.length === 0 || visible[0] === "-1") return null;
  return visible;
}

export class LocalExecutor implements Executor {
  readonly kind = "local" as const;
  private readonly live = new Set<number>();

  constructor(
    private readonly ctx: PyContext,
    private readonly opts: LocalOptions,
  ) {
    // Children run in their own process group; take them down on any exit of ours
    // (Linux also has the parent-death signal, which covers kill -9 too).
    process.on("exit", () => {
      for (const pid of this.live) killGroup(pid, "SIGKILL");
    });
  }

  /** The environment of one trial's child. */
  childEnv(job: TrialJob): NodeJS.ProcessEnv {
    const env = pythonEnv(this.ctx.env);
    env.NAS_PARENT_PID = String(process.pid);
    const gpus = gpuList(this.opts.gpus, this.ctx.env);
    // K = 1 without --gpus keeps today's environment exactly (the child sees every listed GPU)
    const k = this.opts.parallel;
    if (gpus && (k > 1 || this.opts.gpus)) env.CUDA_VISIBLE_DEVICES = gpus[job.slot % gpus.length];
    if (k > 1 && this.ctx.env.OMP_NUM_THREADS === undefined) {
      env.OMP_NUM_THREADS = String(Math.max(1, Math.floor(os.availableParallelism() / k)));
    }
    return env;
  }

  async prepare(job: TrialJob, hooks: Pick<RunHooks, "notice">): Promise<PrepareResult> {
    const rec = readJobRecord(this.ctx.ws, job.runId);
    if (!rec || rec.executor !== "local" || rec.ended_at) return { adopt: null, stale: false };
    // The child of an earlier attempt was never seen to exit: that process died while it ran.
    if (sameProcessAlive(rec.pid, rec.start_ticks) && isTraining(rec.pid, job.runId)) {
      hooks.notice?.(`stopping the leftover train.py (pid ${rec.pid}) of an earlier attempt of ${job.runId}`);
      if (!(await stopProcess(rec.pid, rec.start_ticks, 10_000, killGroup))) {
        throw new UserError(`cannot stop the leftover train.py (pid ${rec.pid}) of ${job.runId}; kill it by hand, then run 'nas-graph resume'`);
      }
    }
    return { adopt: null, stale: true };
  }

  async run(job: TrialJob, hooks: RunHooks): Promise<TrainOutcome> {
    await this.prepare(job, hooks);
    const python = pythonBin(this.ctx.env);
    // progress events on fd 3, a pipe apart from the human log (train.py --progress)
    const args = trainArgs(job, "/dev/fd/3");
    const started = performance.now();
    // the executor's own stops: its verdict goes out (hooks.onStop) before its signal does
    let stopped: StopVerdict["verdict"] | null = null;
    const stop = (verdict: StopVerdict["verdict"]): boolean => {
      if (stopped) return false;
      stopped = verdict;
      hooks.onStop?.({ verdict, at_ms: Date.now() });
      return true;
    };
    const onAbort = () => stop("interrupted"); // before execa's own listener (cancelSignal) stops the child
    if (hooks.signal.aborted) onAbort();
    else hooks.signal.addEventListener("abort", onAbort, { once: true });
    const sub = execa(python, args, {
      cwd: this.ctx.ws.dir,
      env: this.childEnv(job),
      extendEnv: false,
      reject: false,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      detached: true,
      cancelSignal: hooks.signal,
      forceKillAfterDelay: 5000,
      buffer: false,
    });
    let rec: LocalJobRecord | null = null;
    if (sub.pid !== undefined) {
      this.live.add(sub.pid);
      rec = {
        executor: "local",
        run_id: job.runId,
        search_id: job.searchId,
        pid: sub.pid,
        start_ticks: startTicks(sub.pid),
        argv: [python, ...args],
        started_at: new Date().toISOString(),
        ended_at: null,
      };
      writeJobRecord(this.ctx.ws, rec); // before the wait: a later process can find and stop it
    }
    hooks.onStart?.(Date.now());
    // --run-timeout: SIGTERM (then SIGKILL after forceKillAfterDelay) once the verdict is told
    const deadline = job.timeoutS
      ? setTimeout(() => {
          if (sub.exitCode === null && sub.signalCode === null && stop("timeout")) sub.kill();
        }, job.timeoutS * 1000)
      : undefined;
    const tail: string[] = [];
    const lines = async (from: "stdout" | "stderr") => {
      for await (const line of sub.iterable({ from })) {
        const text = String(line);
        hooks.onLine(text, from);
        pushTail(tail, text);
      }
    };
    const events = async () => {
      for await (const line of sub.iterable({ from: "fd3" })) {
        const ev = parseProgressLine(String(line));
        if (ev) hooks.onProgress?.(ev);
      }
    };
    let res;
    try {
      await Promise.all([lines("stdout"), lines("stderr"), events()]);
      res = await sub;
    } finally {
      clearTimeout(deadline);
      hooks.signal.removeEventListener("abort", onAbort);
    }
    const timedOut = stopped === "timeout";
    if (sub.pid !== undefined) this.live.delete(sub.pid);
    if (rec) writeJobRecord(this.ctx.ws, { ...rec, ended_at: new Date().toISOString(), exit_code: res.exitCode ?? null });
    logger.debug({ runId: job.runId, exitCode: res.exitCode, timedOut, canceled: res.isCanceled }, "train.py finished");
    if (res.failed && res.exitCode === undefined && !res.isCanceled && !timedOut && !res.signal) {
      throw new UserError(`cannot start training: ${oneLine(res.shortMessage)}; set NAS_PYTHON to a Python with the nas_system requirements`);
    }
    // killed by a signal nobody here sent (the OOM killer, a kill by hand): say so, not its last line
    const killed = res.signal && !res.isCanceled && !timedOut ? res.signal : null;
    return {
      exitCode: res.exitCode ?? null,
      timedOut,
      canceled: Boolean(res.isCanceled),
      wallS: (performance.now() - started) / 1000,
      tail,
      jobId: null,
      error: killed ? `train.py was killed by ${killed}${killed === "SIGKILL" ? " (out of memory? see dmesg)" : ""}` : null,
    };
  }
}

/** Signal a child's whole process group (it is the group leader), else the pid alone. */
function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

/** Is `pid` a train.py of this trial? (Never signal a recycled pid that runs something else.) */
function isTraining(pid: number, runId: string): boolean {
  const argv = cmdline(pid);
  if (argv.length === 0) return false;
  return argv.some((a) => a.endsWith("train.py")) && argv.includes(runId);
}
