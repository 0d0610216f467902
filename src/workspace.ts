/**
 * Paths of one workspace (`--system-dir`), the single-writer lock, and the search metadata
 * (`.nas-graph/search.json`) that lets `resume` continue the last search with its options.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "./errors.js";
import type { AgentStateFile } from "./contracts.js";
import type { ExecutorOptions } from "./executors/index.js";

export interface Workspace {
  dir: string;
  config: string;
  agentState: string;
  runs: string;
  meta: string;
  checkpoints: string;
  lock: string;
  searchFile: string;
  decisions: string;
}

/** Resolve and check a workspace directory (must hold config.py and train.py). */
export function openWorkspace(systemDir: string, opts: { needTrain?: boolean } = {}): Workspace {
  const dir = path.resolve(systemDir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new UserError(`workspace ${dir} does not exist; pass --system-dir pointing at your nas_system folder`);
  }
  const ws = workspacePaths(dir);
  if (!fs.existsSync(ws.config)) {
    throw new UserError(`no config.py in ${dir}; pass --system-dir pointing at a folder with config.py and train.py`);
  }
  if (opts.needTrain && !fs.existsSync(path.join(dir, "train.py"))) {
    throw new UserError(`no train.py in ${dir}; copy nas_system/train.py into the workspace`);
  }
  return ws;
}

export function workspacePaths(dir: string): Workspace {
  const meta = path.join(dir, ".nas-graph");
  return {
    dir,
    config: path.join(dir, "config.py"),
    agentState: path.join(dir, "agent_state.json"),
    runs: path.join(dir, "runs"),
    meta,
    checkpoints: path.join(meta, "checkpoints.sqlite"),
    lock: path.join(meta, "lock"),
    searchFile: path.join(meta, "search.json"),
    decisions: path.join(meta, "decisions.jsonl"),
  };
}

export function runDir(ws: Workspace, runId: string): string {
  return path.join(ws.runs, runId);
}

/** The start snapshot of config.py taken when a search begins (incumbent before any best). */
export function startConfigPath(ws: Workspace, searchId: string): string {
  return path.join(ws.meta, "searches", searchId, "start_config.py");
}

/** Read JSON, or null when the file is absent. A corrupt file is a user-facing error. */
export function readJson<T>(file: string): T | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new UserError(`${file} is not valid JSON; fix or remove it`);
  }
}

/** agent_state.json as written by Python, or an empty state before the first run. */
export function readAgentState(ws: Workspace): AgentStateFile {
  const s = readJson<AgentStateFile>(ws.agentState);
  return s ?? { max_runs: 0, best_run_id: null, runs: [] };
}

export function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
  fs.renameSync(tmp, file);
}

// ---------------------------------------------------------------- lock

interface LockInfo {
  pid: number;
  started_at: string;
  command: string;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Take `.nas-graph/lock` (O_EXCL). A lock held by a live process is a clear error; a stale
 * one (dead pid) is taken over with a notice. Returns a release function (also run on exit).
 */
export function acquireLock(ws: Workspace, command: string, notice: (msg: string) => void): () => void {
  fs.mkdirSync(ws.meta, { recursive: true });
  const info: LockInfo = { pid: process.pid, started_at: new Date().toISOString(), command };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(ws.lock, "wx");
      fs.writeSync(fd, JSON.stringify(info) + "\n");
      fs.closeSync(fd);
      return lockReleaser(ws.lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const held = readLock(ws.lock);
    if (held && pidAlive(held.pid) && held.pid !== process.pid) {
      throw new UserError(
        `workspace ${ws.dir} is busy: '${held.command}' (pid ${held.pid}, started ${held.started_at}) holds ${ws.lock}; wait for it to finish or stop it first`,
        3,
      );
    }
    notice(`taking over a stale lock from ${held ? `pid ${held.pid} (${held.command}, started ${held.started_at})` : "an unreadable lock file"}`);
    fs.rmSync(ws.lock, { force: true });
  }
  throw new UserError(`could not take the lock ${ws.lock}; another process keeps recreating it`, 3);
}

function readLock(file: string): LockInfo | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as LockInfo;
  } catch {
    return null;
  }
}

function lockReleaser(file: string): () => void {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    const held = readLock(file);
    if (held?.pid === process.pid) fs.rmSync(file, { force: true });
  };
  process.on("exit", release);
  return release;
}

// ---------------------------------------------------------------- search metadata

/** Options of a search, recorded so that `resume` continues with the same ones (executor, gpus, slurm: see src/executors/). */
export interface SearchOptions extends ExecutorOptions {
  maxIterations: number;
  planner: string;
  evaluator: "llm" | "rules";
  mockFile: string | null;
  targetValMse: number | null;
  maxEpochs: number | null;
  runTimeoutS: number | null;
  review: boolean;
  seed: number | null;
  thresholds: Thresholds;
}

export interface Thresholds {
  acceptAbove: number;
  rejectBelow: number;
  maxGap: number;
  minBestEpoch: number;
}

export interface SearchRecord {
  thread_id: string;
  started_at: string;
  status: "running" | "paused" | "finished" | "interrupted" | "failed";
  updated_at: string;
  options: SearchOptions;
}

export function readSearch(ws: Workspace): SearchRecord | null {
  return readJson<SearchRecord>(ws.searchFile);
}

export function writeSearch(ws: Workspace, rec: SearchRecord): void {
  writeJsonAtomic(ws.searchFile, { ...rec, updated_at: new Date().toISOString() });
}

export function newSearchId(): string {
  return `search-${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")}-${process.pid}`;
}

/** The config every plan starts from: the best run's config_used.py, else the search's start snapshot. */
export function incumbentConfig(ws: Workspace, bestRunId: string | null, searchId: string): string {
  return bestRunId ? path.join(runDir(ws, bestRunId), "config_used.py") : startConfigPath(ws, searchId);
}
