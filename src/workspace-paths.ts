/**
 * Paths of one workspace (`--system-dir`) and its JSON files (read, atomic write, agent_state.json).
 * A leaf module: the executors and the Python bridge import it without the lock and the search
 * record of ./workspace.ts (which re-exports all of this).
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "./errors.js";
import type { AgentStateFile } from "./contracts.js";

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
  /** JSON log lines of the searches (pino and any library's console output), see src/log.ts. */
  logFile: string;
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
    logFile: path.join(meta, "log.jsonl"),
  };
}

export function runDir(ws: Workspace, runId: string): string {
  return path.join(ws.runs, runId);
}

/** The start snapshot of config.py taken when a search begins (the baseline's config). */
export function startConfigPath(ws: Workspace, searchId: string): string {
  return path.join(ws.dir, startConfigRel(searchId));
}

// Paths kept in the graph state are relative to the workspace (train.py runs there).
export const startConfigRel = (searchId: string) => path.join(".nas-graph", "searches", searchId, "start_config.py");
/** A finished run's config snapshot. */
export const runConfigRel = (runId: string) => path.join("runs", runId, "config_used.py");
/** The config file one trial trains (config.py itself only ever holds the incumbent). */
export const trialConfigRel = (runId: string) => path.join(".nas-graph", "trials", `${runId}.py`);

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
  let s: AgentStateFile | null;
  try {
    s = readJson<AgentStateFile>(ws.agentState);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    // the helper read it first in every command and words the fix (nas_agent/agent_state.py); relayed, not repeated
    throw new UserError(`${ws.agentState} is not valid JSON: 'nas-graph status --system-dir ${ws.dir}' names the fix`);
  }
  return s ?? { max_runs: 0, best_run_id: null, runs: [] };
}

export function writeJsonAtomic(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
  fs.renameSync(tmp, file);
}
