/**
 * Test workspaces and a CLI driver: a temp copy of nas_system with the TINY config and search
 * space (test/fixtures/), and `node dist/cli.js` spawned as the real entry point.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = path.join(REPO, "dist", "cli.js");
export const DATA_DIR = process.env.NAS_DATA_DIR ?? path.resolve(REPO, "..", "shared", "data", "ETT-small");

const COPIED = ["train.py", "model.py", "models", "data.py", "nas_agent"];

/** A fresh workspace; `edit` may rewrite the tiny config text (e.g. more epochs). */
export function makeWorkspace(edit: (config: string) => string = (c) => c): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-test-"));
  for (const name of COPIED) {
    fs.cpSync(path.join(REPO, "nas_system", name), path.join(dir, name), {
      recursive: true,
      filter: (src) => !src.includes("__pycache__"),
    });
  }
  const tiny = fs.readFileSync(path.join(REPO, "test", "fixtures", "tiny_config.py"), "utf8");
  fs.writeFileSync(path.join(dir, "config.py"), edit(tiny));
  // model sizes and lengths shrunk, so the offline planners' proposals also train in seconds
  fs.copyFileSync(path.join(REPO, "test", "fixtures", "tiny_search_space.json"), path.join(dir, "search_space.json"));
  return dir;
}

export function removeWorkspace(dir: string): void {
  // the background Optuna study update (nas_agent study) may still be writing into .nas-graph
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
}

/** A test file's workspaces: `const workspace = tempWorkspaces()`, then `workspace()` per test; removed after each test. */
export function tempWorkspaces(): (edit?: (config: string) => string) => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) removeWorkspace(d);
  });
  return (edit) => {
    const d = makeWorkspace(edit);
    dirs.push(d);
    return d;
  };
}

/** Environment for the CLI: no real key, no .env pick-up surprises, the test data folder. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  // one torch thread per training: vitest runs two test files at once on 2 cores
  const env: NodeJS.ProcessEnv = { OMP_NUM_THREADS: "1", ...process.env, NAS_DATA_DIR: DATA_DIR, NO_COLOR: "1" };
  for (const k of ["OPENROUTER_API_KEY", "NAS_LLM_BASE_URL", "NAS_PLANNER_MODEL", "NAS_EVALUATOR_MODEL", "NAS_LOG_LEVEL"]) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawn `node dist/cli.js ...args` in its own process group (so a test can kill the group). */
export function startCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? REPO,
    env: opts.env ?? cliEnv(),
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => {
    stderr += d;
    for (const w of waiters.splice(0)) {
      if (w.re.test(stderr)) w.resolve();
      else waiters.push(w);
    }
  });
  const done = new Promise<CliResult>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  /** Resolves once stderr matches `re`; rejects if the process ends first. */
  const waitFor = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(stderr)) return resolve();
      waiters.push({ re, resolve });
      void done.then(() => reject(new Error(`CLI ended before ${re}:\n${stderr}`)));
    });
  return { child: child as ChildProcess, done, waitFor };
}

export async function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

export interface AgentStateRun {
  run_id: string;
  accepted: boolean;
  status?: string;
  val_mse: number | null;
  params?: Record<string, unknown>;
  config_changes?: Record<string, unknown>;
  step_type?: string;
  history_summary?: string;
  evaluation_reason?: string;
  error?: string | null;
  [field: string]: unknown;
}

export function readAgentState(dir: string): {
  best_run_id: string | null;
  /** agent_state.json's runs as written (docs/contracts.md); the fields tests read most are typed. */
  runs: Array<AgentStateRun>;
} {
  return JSON.parse(fs.readFileSync(path.join(dir, "agent_state.json"), "utf8"));
}

/** A mock planner script: `{planner: [decision, ...]}` written into the workspace. */
export function writeMockScript(dir: string, decisions: unknown[]): string {
  const file = path.join(dir, "mock.json");
  fs.writeFileSync(file, JSON.stringify({ planner: decisions }));
  return file;
}

/** A file's text. */
export const readText = (file: string): string => fs.readFileSync(file, "utf8");

/** A mock planner decision: less dropout (a small step every config accepts). */
export const DROPOUT_DECISION = { step_type: "small", plan: "Less dropout", reason: "underfits", config_changes: [{ key: "model.dropout", value: 0.1 }] };

export const LR_DECISION = {
  step_type: "small",
  plan: "Raise the learning rate",
  reason: "the baseline learns slowly",
  config_changes: [{ key: "training.optimizer_params.lr", value: 0.001 }],
};
