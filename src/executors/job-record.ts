/**
 * Per-trial job records, `.nas-graph/jobs/<run_id>.json` (TypeScript-owned): written before
 * the executor waits on a training, so that a later process (resume after a crash) can find
 * what an earlier attempt of the same trial left behind: a local train.py (pid and start
 * time, to stop an orphan and never a recycled pid) or a Slurm job (its id, to re-adopt it).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { readJson, writeJsonAtomic, type Workspace } from "../workspace-paths.js";

export interface LocalJobRecord {
  executor: "local";
  run_id: string;
  search_id: string;
  pid: number;
  /** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot): tells a recycled pid apart. */
  start_ticks: string | null;
  argv: string[];
  started_at: string;
  /** Set once the child has exited (and reaped) in this process. */
  ended_at: string | null;
  exit_code?: number | null;
}

export interface SlurmJobRecord {
  executor: "slurm";
  run_id: string;
  search_id: string;
  job_id: string;
  job_name: string;
  /** 1 for the first submission, 2 for the retry after TIMEOUT/PREEMPTED. */
  attempt: number;
  submitted_at: string;
  /** The job's output file (stdout and stderr of train.py). */
  log: string;
  /** Set once run() has judged the job's end state; the job is then never waited on again. */
  ended_at: string | null;
  state?: string | null;
  exit_code?: number | null;
}

export type JobRecord = LocalJobRecord | SlurmJobRecord;

export function jobsDir(ws: Workspace): string {
  return path.join(ws.meta, "jobs");
}

export function jobRecordPath(ws: Workspace, runId: string): string {
  return path.join(jobsDir(ws), `${runId}.json`);
}

export function readJobRecord(ws: Workspace, runId: string): JobRecord | null {
  return readJson<JobRecord>(jobRecordPath(ws, runId));
}

export function writeJobRecord(ws: Workspace, rec: JobRecord): void {
  fs.mkdirSync(jobsDir(ws), { recursive: true });
  writeJsonAtomic(jobRecordPath(ws, rec.run_id), rec);
}

// ------------------------------------------------------------------ process identity (Linux /proc)

/** State letter and start time of a live process, from /proc/<pid>/stat; null when gone or no /proc. */
function procStat(pid: number): { state: string; startTicks: string } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // "pid (comm) state ppid ..." where comm may hold spaces and parentheses: split after the last ')'
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0] ?? "?", startTicks: rest[19] ?? "" };
}

export function hasProc(): boolean {
  return fs.existsSync("/proc/self/stat");
}

/** The start time of a process (null without /proc). */
export function startTicks(pid: number): string | null {
  return procStat(pid)?.startTicks ?? null;
}

/** Is this the same process that was recorded (alive, not a zombie, not a recycled pid)? */
export function sameProcessAlive(pid: number, ticks: string | null): boolean {
  if (hasProc()) {
    const st = procStat(pid);
    if (!st || st.state === "Z" || st.state === "X") return false;
    return ticks == null || st.startTicks === ticks;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The command line of a process (empty when unknown): /proc, else `ps` (macOS). */
export function cmdline(pid: number): string[] {
  if (hasProc()) {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    } catch {
      return [];
    }
  }
  try {
    return execFileSync("ps", ["-o", "command=", "-p", String(pid)], { encoding: "utf8" }).trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone (or after a last wait). */
export async function stopProcess(
  pid: number,
  ticks: string | null,
  graceMs = 10_000,
  kill: (pid: number, sig: NodeJS.Signals) => void = process.kill,
): Promise<boolean> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  const waitGone = async (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      if (!sameProcessAlive(pid, ticks)) return true;
      await sleep(100);
    }
    return !sameProcessAlive(pid, ticks);
  };
  signal("SIGTERM");
  if (await waitGone(graceMs)) return true;
  signal("SIGKILL");
  return waitGone(5000);
}
