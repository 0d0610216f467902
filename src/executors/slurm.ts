/**
 * `--executor slurm`: each trial is one sbatch job that runs train.py in place (cwd = the
 * workspace, on a filesystem the nodes share), so its outputs arrive as files.
 *
 * - Submit: `sbatch --parsable --chdir WS --output WS/.nas-graph/jobs/%x-%j.log --no-requeue
 *   --job-name nas-<search>-<run_id> [--partition --gres --time ...extra] --wrap "exec python -u train.py ..."`;
 *   the job id goes into the job record before the wait.
 * - Wait: poll `scontrol show job -o ID` every pollS seconds (sacct needs slurmdbd), and
 *   stream the job's output file as it grows. A failing sbatch, squeue or scontrol is tried
 *   again after 1, 2 and 4 s, then stops the search with one line (`resume` goes on).
 * - End states: COMPLETED / FAILED follow train.py's exit code; TIMEOUT, PREEMPTED, NODE_FAIL
 *   and BOOT_FAIL are submitted once more (the same trial and run id: one unit of the budget,
 *   the attempt count kept in the job record across a resume); CANCELLED is a stopped run; a job
 *   gone from scontrol (MinJobAge) is judged by runs/<id>/metrics.json or failure.json.
 * - Never twice: a re-run of the same trial re-adopts the recorded job while it is queued or
 *   running, and looks the job name up with squeue before it submits. Only this search's
 *   jobs: a record of another search (a killed one) is never adopted, and a new search
 *   cancels the jobs the search before it left queued or running (cancelAbandoned).
 * - Queue time is not run time: the trial's start is the job's StartTime (hooks.onStart), and
 *   its train_s the jobs' RunTime.
 * - Ctrl-C (the AbortSignal) and --run-timeout (counted on the job's RunTime) use scancel, the
 *   verdict told first (hooks.onStop: "interrupted" or "timeout").
 */
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { UserError, oneLine } from "../errors.js";
import { logger } from "../log.js";
import { pythonBin, pythonEnv, type PyContext } from "../python.js";
import { readJson, runDir } from "../workspace-paths.js";
import { jobsDir, readJobRecord, writeJobRecord, type SlurmJobRecord } from "./job-record.js";
import { parseProgressLine } from "../progress.js";
import { trainArgs } from "./local.js";
import { pushTail, type Executor, type PrepareResult, type RunHooks, type TrainOutcome, type TrialJob } from "./types.js";

export interface SlurmOptions {
  partition: string | null;
  gres: string | null;
  /** sbatch --time (e.g. 30, 2:00:00, 1-00:00:00). */
  time: string | null;
  /** Extra sbatch arguments (NAS_SLURM_ARGS / --slurm-args, split like a shell would). */
  args: string[];
  /** Seconds between two polls of a job. */
  pollS: number;
}

export const DEFAULT_POLL_S = 5;
const ACTIVE = new Set([
  "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD",
  "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD",
]);
const RETRIED = new Set(["TIMEOUT", "PREEMPTED", "NODE_FAIL", "BOOT_FAIL"]);
const MAX_ATTEMPTS = 2;
/** Waits before trying a failed sbatch or squeue again (a busy or restarting controller). */
const TRANSIENT_DELAYS_MS = [1000, 2000, 4000];
/** Options we set ourselves: not allowed in the extra sbatch arguments. */
const OWN_FLAGS = ["--parsable", "--chdir", "-D", "--output", "-o", "--error", "-e", "--job-name", "-J", "--wrap", "--requeue"];
const CLIENTS = ["sbatch", "squeue", "scontrol", "scancel"];

export function jobName(job: Pick<TrialJob, "searchId" | "runId">): string {
  return `nas-${job.searchId}-${job.runId}`;
}

/** Quote one word for /bin/sh. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Split NAS_SLURM_ARGS like a shell: whitespace, '...' and "..." quotes; no expansions. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let cur = "";
  let have = false;
  let quote: string | null = null;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      have = true;
    } else if (/\s/.test(ch)) {
      if (have) out.push(cur);
      cur = "";
      have = false;
    } else {
      cur += ch;
      have = true;
    }
  }
  if (quote) throw new UserError(`unbalanced ${quote} in --slurm-args / NAS_SLURM_ARGS; close the quote`);
  if (have) out.push(cur);
  return out;
}

const TIME_RE = /^(UNLIMITED|INFINITE|\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2})$/;

/** Resolve Slurm options from flags, else NAS_SLURM_* (from the environment or .env), and check their form. */
export function slurmOptions(
  flags: { partition?: string; gres?: string; time?: string; args?: string; pollS?: number },
  env: NodeJS.ProcessEnv,
): SlurmOptions {
  const pick = (flag: string | undefined, name: string) => {
    const v = flag ?? env[name];
    return v != null && v.trim() !== "" ? v.trim() : null;
  };
  const time = pick(flags.time, "NAS_SLURM_TIME");
  if (time && !TIME_RE.test(time)) {
    throw new UserError(`Slurm time limit '${time}' is not a Slurm time (minutes, H:MM:SS or D-HH:MM:SS); fix --slurm-time / NAS_SLURM_TIME`);
  }
  const pollText = flags.pollS != null ? String(flags.pollS) : pick(undefined, "NAS_SLURM_POLL_S");
  const pollS = pollText == null ? DEFAULT_POLL_S : Number(pollText);
  if (!Number.isFinite(pollS) || pollS <= 0 || pollS > 600) {
    throw new UserError(`Slurm poll interval '${pollText}' must be a number of seconds in (0, 600]; fix --slurm-poll / NAS_SLURM_POLL_S`);
  }
  const args = splitArgs(pick(flags.args, "NAS_SLURM_ARGS") ?? "");
  const own = args.find((a) => OWN_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)));
  if (own) throw new UserError(`--slurm-args / NAS_SLURM_ARGS may not set ${own}: nas-graph sets it for each job; remove it`);
  return { partition: pick(flags.partition, "NAS_SLURM_PARTITION"), gres: pick(flags.gres, "NAS_SLURM_GRES"), time, args, pollS };
}

/** sbatch's resource options (partition, gres, time, extra). */
function resourceArgs(o: SlurmOptions): string[] {
  const args: string[] = [];
  if (o.partition) args.push("--partition", o.partition);
  if (o.gres) args.push("--gres", o.gres);
  if (o.time) args.push("--time", o.time);
  return [...args, ...o.args];
}

/** Before a search starts or resumes: the client commands are on PATH, and Slurm accepts the options (sbatch --test-only). */
export async function checkSlurm(o: SlurmOptions, env: NodeJS.ProcessEnv): Promise<void> {
  for (const bin of CLIENTS) {
    if (!onPath(bin, env)) {
      throw new UserError(`--executor slurm: ${bin} is not on PATH; run on a Slurm login node or add the Slurm client commands to PATH`);
    }
  }
  const res = await execa("sbatch", ["--test-only", ...resourceArgs(o), "--wrap", "true"], { env, extendEnv: false, reject: false, timeout: 60_000 });
  if (res.exitCode !== 0) {
    const why = lastLine(`${res.stderr}\n${res.stdout}`) || `exit code ${res.exitCode}`;
    throw new UserError(`Slurm rejects the job options (${why}); fix --slurm-partition/--slurm-gres/--slurm-time/--slurm-args or NAS_SLURM_*`);
  }
}

function onPath(bin: string, env: NodeJS.ProcessEnv): boolean {
  return (env.PATH ?? "").split(path.delimiter).some((d) => {
    try {
      fs.accessSync(path.join(d || ".", bin), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The line that says what went wrong: the first "error:" line, else the last line. */
function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /\berror:/i.test(l)) ?? lines.pop() ?? "";
}

/** `scontrol show job -o` fields of one job. */
export type JobInfo = Record<string, string>;

/** Parse `scontrol show job -o` (Key=Value words; a word without '=' continues the previous value). */
export function parseJobLine(line: string): JobInfo {
  const out: JobInfo = {};
  let last: string | null = null;
  for (const word of line.trim().split(/\s+/)) {
    const eq = word.indexOf("=");
    if (eq > 0) {
      last = word.slice(0, eq);
      out[last] = word.slice(eq + 1);
    } else if (last) {
      out[last] += ` ${word}`;
    }
  }
  return out;
}

/** RunTime=[D-]HH:MM:SS in seconds. */
export function runTimeS(text: string | undefined): number {
  const m = /^(?:(\d+)-)?(\d+):(\d+):(\d+)$/.exec(text ?? "");
  if (!m) return 0;
  return Number(m[1] ?? 0) * 86400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

/** ExitCode=code:signal. */
function exitParts(text: string | undefined): { code: number | null; signal: number } {
  const m = /^(\d+):(\d+)$/.exec(text ?? "");
  return m ? { code: Number(m[1]), signal: Number(m[2]) } : { code: null, signal: 0 };
}

interface Failure {
  status?: string;
  reason?: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

/** Follows a growing output file and hands out complete lines. */
class LogTail {
  private offset = 0;
  private partial = "";
  constructor(readonly file: string) {}

  read(onLine: (line: string) => void, final = false): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, "r");
    } catch {
      return; // not created yet (job pending)
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.partial += buf.subarray(0, n).toString("utf8");
      }
    } finally {
      fs.closeSync(fd);
    }
    const lines = this.partial.split("\n");
    this.partial = lines.pop() ?? "";
    for (const l of lines) onLine(l.replace(/\r$/, ""));
    if (final && this.partial) {
      onLine(this.partial);
      this.partial = "";
    }
  }
}

type Ended =
  | { kind: "state"; state: string; info: JobInfo; byUs: "abort" | "timeout" | null }
  | { kind: "vanished"; byUs: "abort" | "timeout" | null };

export class SlurmExecutor implements Executor {
  readonly kind = "slurm" as const;

  constructor(
    private readonly ctx: PyContext,
    private readonly opts: SlurmOptions,
  ) {}

  /** Slurm client commands run with the trainings' environment: sbatch exports it to the job (--export=ALL). */
  private async cmd(bin: string, args: string[]): Promise<{ code: number | undefined; stdout: string; stderr: string }> {
    const env = pythonEnv(this.ctx.env);
    delete env.NAS_PARENT_PID; // a job has no parent to die with
    // its own process group: a terminal's Ctrl-C (SIGINT to the whole foreground group) must not
    // kill a poll in flight; our SIGINT handler answers it, with scancel
    const res = await execa(bin, args, { env, extendEnv: false, reject: false, timeout: 120_000, detached: true });
    if (res.failed && res.exitCode === undefined && !res.timedOut) {
      throw new UserError(`cannot run ${bin} (${oneLine(res.shortMessage)}); run on a Slurm login node or add the Slurm client commands to PATH`);
    }
    logger.debug({ bin, args, exitCode: res.exitCode }, "slurm command");
    return { code: res.exitCode, stdout: String(res.stdout ?? ""), stderr: String(res.stderr ?? "") };
  }

  /**
   * The job's fields, or null once scontrol no longer knows it. A failing scontrol (a busy or
   * restarting controller) is tried again after 1, 2 and 4 s; one that keeps failing stops the
   * search with one line, the job left as it is: `resume` re-adopts it from its record.
   */
  async show(jobId: string): Promise<JobInfo | null> {
    for (let tries = 0; ; tries++) {
      const res = await this.cmd("scontrol", ["show", "job", "-o", jobId]);
      if (res.code === 0 && res.stdout.trim()) return parseJobLine(res.stdout.split("\n")[0]);
      if (/invalid job id/i.test(res.stderr)) return null;
      if (tries >= TRANSIENT_DELAYS_MS.length) {
        const why = lastLine(res.stderr) || lastLine(res.stdout) || `exit code ${res.code}`;
        throw new UserError(`scontrol failed (${why}); check that the Slurm controller is up, then 'nas-graph resume'`);
      }
      logger.warn({ jobId, stderr: res.stderr }, "scontrol failed; will retry");
      await sleep(TRANSIENT_DELAYS_MS[tries]);
    }
  }

  /** Queued or running jobs of this user with this name (ids, oldest first). */
  async findByName(name: string): Promise<string[]> {
    let res = await this.cmd("squeue", ["--me", "-h", "-n", name, "-o", "%i %T"]);
    for (const ms of TRANSIENT_DELAYS_MS) {
      if (res.code === 0) break;
      logger.warn({ name, stderr: res.stderr }, "squeue failed; will retry");
      await sleep(ms);
      res = await this.cmd("squeue", ["--me", "-h", "-n", name, "-o", "%i %T"]);
    }
    if (res.code !== 0) {
      throw new UserError(`squeue failed (${lastLine(res.stderr) || `exit code ${res.code}`}); check that the Slurm controller is up, then 'nas-graph resume'`);
    }
    return res.stdout
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((w) => w[0] && ACTIVE.has(w[1] ?? ""))
      .map((w) => w[0])
      .sort((a, b) => Number(a) - Number(b));
  }

  /** This search's record of this trial; a record another search left (a killed one) is not this trial's. */
  private recordOf(job: Pick<TrialJob, "runId" | "searchId">): SlurmJobRecord | null {
    const rec = readJobRecord(this.ctx.ws, job.runId);
    return rec?.executor === "slurm" && rec.search_id === job.searchId ? rec : null;
  }

  /**
   * A new search (`run`) starts: the jobs that an earlier search (killed, never to be resumed)
   * left queued or running are cancelled, so they neither hold the queue nor train for nobody.
   * Their records stay, so that their run ids are never reused.
   */
  async cancelAbandoned(searchId: string, notice: (msg: string) => void): Promise<void> {
    const dir = jobsDir(this.ctx.ws);
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^run_\d+\.json$/.test(f)) : [];
    for (const f of files) {
      const rec = readJobRecord(this.ctx.ws, f.slice(0, -5));
      if (rec?.executor !== "slurm" || rec.ended_at || rec.search_id === searchId) continue;
      const info = await this.show(rec.job_id);
      const active = info !== null && ACTIVE.has((info.JobState ?? "").split(/[ +]/)[0]);
      if (active) {
        await this.cancel(rec.job_id);
        notice(`cancelled Slurm job ${rec.job_id} (${rec.run_id}) of the earlier search ${rec.search_id}: a new search does not adopt it`);
      }
      writeJobRecord(this.ctx.ws, { ...rec, ended_at: new Date().toISOString(), state: active ? "CANCELLED" : (info?.JobState ?? "GONE") });
    }
  }

  private logFile(name: string, jobId: string): string {
    return path.join(jobsDir(this.ctx.ws), `${name}-${jobId}.log`);
  }

  /** The job's progress events (train.py --progress), a file on the shared filesystem. */
  private progressFile(name: string): string {
    return path.join(jobsDir(this.ctx.ws), `${name}.progress.jsonl`);
  }

  /** A job of an earlier attempt that is still queued or running: by the record, else by name. */
  private async alive(job: TrialJob): Promise<string | null> {
    const rec = this.recordOf(job);
    if (rec && !rec.ended_at) {
      const info = await this.show(rec.job_id);
      if (info && ACTIVE.has(info.JobState ?? "")) return rec.job_id;
    }
    const found = await this.findByName(jobName(job));
    return found[0] ?? null;
  }

  async prepare(job: TrialJob, hooks: Pick<RunHooks, "notice">): Promise<PrepareResult> {
    const id = await this.alive(job);
    if (id) hooks.notice?.(`Slurm job ${id} of an earlier attempt of ${job.runId} is still queued or running; waiting for it`);
    return { adopt: id, stale: false };
  }

  async run(job: TrialJob, hooks: RunHooks): Promise<TrainOutcome> {
    const started = performance.now();
    const name = jobName(job);
    const tail: string[] = [];
    const onLine = (l: string, stream: "stdout" | "stderr" = "stdout") => {
      hooks.onLine(l, stream);
      pushTail(tail, l);
    };
    if (hooks.signal.aborted) return { exitCode: null, timedOut: false, canceled: true, wallS: 0, tail, jobId: null };
    const rec = this.recordOf(job);
    let jobId: string | null = null;
    // attempts count toward the one retry only within one unfinished job chain; a chain cut
    // between a retried end state and its resubmission (the CLI killed there) goes on counting
    let attempt = rec && (!rec.ended_at || RETRIED.has(rec.state ?? "")) ? rec.attempt : 0;
    if (rec?.ended_at && RETRIED.has(rec.state ?? "") && rec.attempt >= MAX_ATTEMPTS) {
      // its retry ended the same way before the CLI died: that is the trial's outcome
      return { ...this.judge(job, rec.job_id, { kind: "state", state: rec.state!, info: {}, byUs: null }), wallS: 0, tail, jobId: rec.job_id };
    }
    if (rec && !rec.ended_at) {
      const info = await this.show(rec.job_id);
      const gone = info === null && !hasOutcome(runDir(this.ctx.ws, job.runId));
      if (!gone) jobId = rec.job_id; // adopt it while queued or running, else judge how it ended
      else hooks.notice?.(`Slurm job ${rec.job_id} of an earlier attempt of ${job.runId} is gone without results; submitting again`);
    }
    if (!jobId) {
      const found = await this.findByName(name);
      if (found.length > 0) {
        jobId = found[0];
        hooks.notice?.(`adopting Slurm job ${jobId} (${name}) of an earlier attempt`);
        attempt = Math.max(attempt, 1);
        this.record(job, jobId, attempt, null);
      }
    }
    if (!jobId) {
      attempt += 1;
      jobId = await this.submit(job, attempt, hooks);
    }
    let ranS = 0; // the jobs' RunTime: queue time is not run time
    for (;;) {
      const end = await this.wait(job, jobId, hooks, onLine);
      const state = end.kind === "state" ? end.state : null;
      if (end.kind === "state") ranS += runTimeS(end.info.RunTime);
      if (state && RETRIED.has(state) && !end.byUs && attempt < MAX_ATTEMPTS && !hooks.signal.aborted) {
        this.record(job, jobId, attempt, end);
        hooks.notice?.(`Slurm job ${jobId} of ${job.runId} ended in ${state}; submitting it once more`);
        this.setAside(job.runId, hooks);
        attempt += 1;
        jobId = await this.submit(job, attempt, hooks);
        continue;
      }
      this.record(job, jobId, attempt, end);
      const wallS = end.kind === "state" ? ranS : (performance.now() - started) / 1000;
      return { ...this.judge(job, jobId, end), wallS, tail, jobId };
    }
  }

  private record(job: TrialJob, jobId: string, attempt: number, end: Ended | null): void {
    const prev = this.recordOf(job);
    const same = prev?.job_id === jobId;
    const info = end?.kind === "state" ? end.info : null;
    writeJobRecord(this.ctx.ws, {
      executor: "slurm",
      run_id: job.runId,
      search_id: job.searchId,
      job_id: jobId,
      job_name: jobName(job),
      attempt,
      submitted_at: same && prev ? prev.submitted_at : new Date().toISOString(),
      log: path.relative(this.ctx.ws.dir, this.logFile(jobName(job), jobId)),
      ended_at: end ? new Date().toISOString() : null,
      state: end ? (end.kind === "state" ? end.state : "GONE") : null,
      exit_code: info ? exitParts(info.ExitCode).code : null,
    });
  }

  private async submit(job: TrialJob, attempt: number, hooks: RunHooks): Promise<string> {
    const name = jobName(job);
    fs.mkdirSync(jobsDir(this.ctx.ws), { recursive: true });
    const progress = this.progressFile(jobName(job));
    fs.rmSync(progress, { force: true }); // a new attempt: its own events only
    const wrap = ["exec", pythonBin(this.ctx.env), ...trainArgs(job, progress)].map(shQuote).join(" ");
    const args = [
      "--parsable",
      "--chdir", this.ctx.ws.dir,
      "--output", path.join(jobsDir(this.ctx.ws), "%x-%j.log"),
      "--error", path.join(jobsDir(this.ctx.ws), "%x-%j.err"), // apart: stderr lines are shown, stdout is the epoch log
      "--job-name", name,
      // Slurm must not rerun a job under the same id (its run dir then holds the stopped attempt's
      // failure.json); a TIMEOUT or PREEMPTED job is submitted again by run(), its dir set aside
      "--no-requeue",
      ...resourceArgs(this.opts),
      "--wrap", wrap,
    ];
    let id = "";
    for (let tries = 0; ; tries++) {
      const res = await this.cmd("sbatch", args);
      id = res.stdout.trim().split(";")[0];
      if (res.code === 0 && /^\d+$/.test(id)) break;
      const why = lastLine(res.stderr) || lastLine(res.stdout) || `exit code ${res.code}`;
      if (tries >= TRANSIENT_DELAYS_MS.length) {
        throw new UserError(`sbatch refused ${job.runId} (${why}); check the Slurm options (NAS_SLURM_*) and that the controller is up, then 'nas-graph resume'`);
      }
      // a busy or restarting controller: try again, unless the job got in after all
      hooks.notice?.(`sbatch failed for ${job.runId} (${why}); trying again in ${TRANSIENT_DELAYS_MS[tries] / 1000} s`);
      await sleep(TRANSIENT_DELAYS_MS[tries]);
      const found = await this.findByName(name);
      if (found.length > 0) {
        id = found[0];
        break;
      }
    }
    this.record(job, id, attempt, null); // before the wait: a later process re-adopts it
    hooks.notice?.(`submitted ${job.runId} as Slurm job ${id}${attempt > 1 ? ` (attempt ${attempt})` : ""}`);
    return id;
  }

  /** Poll until the job leaves the active states; scancel on abort or --run-timeout. */
  private async wait(job: TrialJob, jobId: string, hooks: RunHooks, onLine: (l: string, stream?: "stdout" | "stderr") => void): Promise<Ended> {
    const log = new LogTail(this.logFile(jobName(job), jobId));
    const err = new LogTail(this.logFile(jobName(job), jobId).replace(/\.log$/, ".err"));
    const onErr = (l: string) => onLine(l, "stderr");
    const progress = new LogTail(this.progressFile(jobName(job)));
    const onEvent = (l: string) => {
      const ev = parseProgressLine(l);
      if (ev) hooks.onProgress?.(ev);
    };
    let byUs: "abort" | "timeout" | null = null;
    let cancelAt = 0;
    let startSeen = false;
    const pollMs = this.opts.pollS * 1000;
    for (;;) {
      if (hooks.signal.aborted && byUs !== "abort" && byUs !== "timeout") {
        byUs = "abort";
        hooks.onStop?.({ verdict: "interrupted", at_ms: Date.now() }); // the verdict first, then scancel
        await this.cancel(jobId);
        cancelAt = performance.now();
      }
      const info = await this.show(jobId);
      log.read(onLine);
      err.read(onErr);
      progress.read(onEvent);
      if (info === null) {
        log.read(onLine, true);
        err.read(onErr, true);
        progress.read(onEvent, true);
        return { kind: "vanished", byUs };
      }
      const state = (info.JobState ?? "").split(/[ +]/)[0];
      const startMs = state === "RUNNING" || runTimeS(info.RunTime) > 0 ? Date.parse(info.StartTime ?? "") : NaN;
      if (!startSeen && Number.isFinite(startMs)) {
        startSeen = true; // the job left the queue: its run starts here, not at sbatch
        hooks.onStart?.(startMs);
      }
      if (!ACTIVE.has(state)) {
        await sleep(Math.min(pollMs, 500)); // let the file system show the last lines
        log.read(onLine, true);
        err.read(onErr, true);
        progress.read(onEvent, true);
        return { kind: "state", state, info, byUs };
      }
      // (a Ctrl-C that came during this poll stands: the next turn cancels for it)
      if (!byUs && !hooks.signal.aborted && job.timeoutS && state === "RUNNING" && runTimeS(info.RunTime) > job.timeoutS) {
        byUs = "timeout";
        hooks.onStop?.({ verdict: "timeout", at_ms: Date.now() });
        await this.cancel(jobId);
        cancelAt = performance.now();
      }
      if (byUs && performance.now() - cancelAt > 120_000) {
        // scancel did not take: report instead of waiting forever
        throw new UserError(`Slurm job ${jobId} did not stop within 120 s of scancel; check it with 'scontrol show job ${jobId}'`);
      }
      await sleep(byUs ? Math.min(pollMs, 1000) : pollMs, byUs ? undefined : hooks.signal);
    }
  }

  private async cancel(jobId: string): Promise<void> {
    const res = await this.cmd("scancel", [jobId]);
    if (res.code !== 0) logger.warn({ jobId, stderr: res.stderr }, "scancel failed");
  }

  /** Move a run dir of a timed-out or preempted attempt aside before the retry. */
  private setAside(runId: string, hooks: RunHooks): void {
    const dir = runDir(this.ctx.ws, runId);
    if (!fs.existsSync(dir)) return;
    const dest = path.join(this.ctx.ws.meta, "aborted", `${runId}-${Date.now()}`);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.renameSync(dir, dest);
    hooks.notice?.(`moved the run dir of the stopped attempt of ${runId} to ${path.relative(this.ctx.ws.dir, dest)}`);
  }

  /** Map the end of a job to train.py's exit codes (docs/contracts.md). */
  private judge(job: TrialJob, jobId: string, end: Ended): Omit<TrainOutcome, "wallS" | "tail" | "jobId"> {
    const none = { exitCode: null, timedOut: false, canceled: false, error: null };
    if (end.byUs === "timeout") return { ...none, timedOut: true };
    if (end.byUs === "abort") return { ...none, canceled: true };
    if (end.kind === "vanished") return { ...none, ...this.byFiles(job.runId, jobId) };
    const { code, signal } = exitParts(end.info.ExitCode);
    switch (end.state) {
      case "COMPLETED":
        return { ...none, exitCode: code ?? 0 };
      case "FAILED":
        return signal ? { ...none, error: `Slurm job ${jobId} failed: killed by signal ${signal}` } : { ...none, exitCode: code };
      case "CANCELLED":
        return { ...none, canceled: true, error: `Slurm job ${jobId} was cancelled (scancel)` };
      case "TIMEOUT":
        return { ...none, timedOut: true, error: `Slurm job ${jobId} reached its time limit twice (--slurm-time / NAS_SLURM_TIME ${this.opts.time ?? "partition default"})` };
      case "NODE_FAIL":
      case "BOOT_FAIL":
        return { ...none, error: `Slurm job ${jobId} ended in ${end.state} twice (a node failure); check the nodes with 'sinfo -R'` };
      case "OUT_OF_MEMORY":
        return { ...none, error: `Slurm job ${jobId} ran out of memory; ask for more with --slurm-args '--mem=...'` };
      default:
        return { ...none, exitCode: code && code !== 0 ? code : null, error: `Slurm job ${jobId} ended in state ${end.state} (${end.info.Reason ?? "no reason given"})` };
    }
  }

  /** A job gone from scontrol: its run dir's outcome files tell how it ended. */
  private byFiles(runId: string, jobId: string): Partial<TrainOutcome> {
    const dir = runDir(this.ctx.ws, runId);
    if (fs.existsSync(path.join(dir, "metrics.json"))) return { exitCode: 0 };
    const failure = readJson<Failure>(path.join(dir, "failure.json"));
    const codes: Record<string, number> = { diverged: 3, interrupted: 130, crashed: 1 };
    if (failure) return { exitCode: codes[failure.status ?? ""] ?? 1 };
    return { error: `Slurm job ${jobId} ended without results and is no longer known to scontrol; see its log in .nas-graph/jobs/` };
  }
}

function hasOutcome(dir: string): boolean {
  return fs.existsSync(path.join(dir, "metrics.json")) || fs.existsSync(path.join(dir, "failure.json"));
}
