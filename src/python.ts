/**
 * The bridge to Python: the installed `nas_agent` CLI (one JSON object per call) and
 * train.py run as a child process in the workspace. TypeScript never parses Python.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { UserError, oneLine } from "./errors.js";
import { logger } from "./log.js";
import { parseProgressLine, type ProgressEvent } from "./progress.js";
import type { Workspace } from "./workspace.js";

/** The package root (holds nas_system/ and .venv/), found from this compiled file. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** NAS_PYTHON, else <repo>/.venv/bin/python when present, else python3. */
export function pythonBin(env: NodeJS.ProcessEnv): string {
  if (env.NAS_PYTHON) return env.NAS_PYTHON;
  const venv = path.join(REPO_ROOT, ".venv", "bin", "python");
  return fs.existsSync(venv) ? venv : "python3";
}

/** Environment for Python children: the installed nas_agent first on PYTHONPATH, no API key. */
export function pythonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env, PYTHONUNBUFFERED: "1" };
  delete out.OPENROUTER_API_KEY;
  const installed = path.join(REPO_ROOT, "nas_system");
  out.PYTHONPATH = env.PYTHONPATH ? `${installed}${path.delimiter}${env.PYTHONPATH}` : installed;
  return out;
}

/** A nas_agent answer of `{ok: false, error}`: something the user or the LLM got wrong. */
export class AgentError extends UserError {
  constructor(
    readonly command: string,
    message: string,
    readonly errors: string[] = [],
  ) {
    super(message, 2);
    this.name = "AgentError";
  }
}

export interface PyContext {
  ws: Workspace;
  env: NodeJS.ProcessEnv;
}

/** Run `python -m nas_agent --system-dir DIR <args>` and return its JSON object. */
export async function agent<T = Record<string, unknown>>(ctx: PyContext, args: string[]): Promise<T> {
  const python = pythonBin(ctx.env);
  const started = performance.now();
  const res = await execa(python, ["-m", "nas_agent", "--system-dir", ctx.ws.dir, ...args], {
    env: pythonEnv(ctx.env),
    extendEnv: false,
    reject: false,
    stripFinalNewline: true,
  });
  const cmd = args[0] ?? "";
  logger.debug({ cmd, exitCode: res.exitCode, ms: Math.round(performance.now() - started) }, "nas_agent call");
  if (res.failed && res.exitCode === undefined) {
    throw new UserError(`cannot start ${python} (${oneLine(res.shortMessage)}); set NAS_PYTHON to a Python with the nas_system requirements`);
  }
  let parsed: Record<string, unknown> | null = null;
  try {
    parsed = JSON.parse(String(res.stdout)) as Record<string, unknown>;
  } catch {
    parsed = null;
  }
  if (parsed && parsed.ok === true) return parsed as T;
  if (parsed && parsed.ok === false && res.exitCode === 2) {
    const errors = Array.isArray(parsed.errors) ? parsed.errors.map(String) : [];
    throw new AgentError(cmd, String(parsed.error ?? "unknown error"), errors);
  }
  if (parsed && parsed.ok === false) {
    // exit 1: a bug in the helper, not a bad value; the node fails and `resume` can retry it
    throw new UserError(`nas_agent ${cmd} failed: ${String(parsed.error ?? "unknown error")} (a bug in nas_agent; please report it)`, 1);
  }
  const why = lastLine(String(res.stderr)) || lastLine(String(res.stdout)) || `exit code ${res.exitCode}`;
  throw new UserError(`nas_agent ${cmd} failed: ${why} (python: ${python}; check NAS_PYTHON and the nas_system install)`);
}

function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? "";
}

export interface TrainOptions {
  runId: string;
  maxEpochs: number | null;
  timeoutS: number | null;
  signal?: AbortSignal;
  /** A human output line of train.py (stdout: its epoch log; stderr: notices and errors). */
  onLine: (line: string, stream: "stdout" | "stderr") => void;
  /** A progress event of train.py (`--progress /dev/fd/3`, a pipe apart from the human log). */
  onProgress?: (event: ProgressEvent) => void;
}

export interface TrainOutcome {
  exitCode: number | null;
  timedOut: boolean;
  canceled: boolean;
  wallS: number;
  /** Last lines of output, for the error of a failed run. */
  tail: string[];
}

/**
 * Run train.py in the workspace, streaming every output line and its progress events (fd 3);
 * never throws for a failed run.
 */
export async function runTraining(ctx: PyContext, opts: TrainOptions): Promise<TrainOutcome> {
  const args = ["-u", "train.py", "--config", "config.py", "--tag", opts.runId, "--progress", "/dev/fd/3"];
  if (opts.maxEpochs != null) args.push("--max-epochs", String(opts.maxEpochs));
  const started = performance.now();
  const sub = execa(pythonBin(ctx.env), args, {
    cwd: ctx.ws.dir,
    env: pythonEnv(ctx.env),
    extendEnv: false,
    reject: false,
    stdio: ["ignore", "pipe", "pipe", "pipe"],
    timeout: opts.timeoutS ? opts.timeoutS * 1000 : undefined,
    cancelSignal: opts.signal,
    forceKillAfterDelay: 5000,
    buffer: false,
  });
  const tail: string[] = [];
  const lines = async (from: "stdout" | "stderr") => {
    for await (const line of sub.iterable({ from })) {
      const text = String(line);
      opts.onLine(text, from);
      tail.push(text);
      if (tail.length > 20) tail.shift();
    }
  };
  const events = async () => {
    for await (const line of sub.iterable({ from: "fd3" })) {
      const ev = parseProgressLine(String(line));
      if (ev) opts.onProgress?.(ev);
      else logger.debug({ runId: opts.runId, line: String(line).slice(0, 200) }, "not a progress event");
    }
  };
  await Promise.all([lines("stdout"), lines("stderr"), events()]);
  const res = await sub;
  logger.debug({ runId: opts.runId, exitCode: res.exitCode, timedOut: res.timedOut, canceled: res.isCanceled }, "train.py finished");
  if (res.failed && res.exitCode === undefined && !res.isCanceled && !res.timedOut && !res.signal) {
    throw new UserError(`cannot start training: ${oneLine(res.shortMessage)}; set NAS_PYTHON to a Python with the nas_system requirements`);
  }
  return {
    exitCode: res.exitCode ?? null,
    timedOut: Boolean(res.timedOut),
    canceled: Boolean(res.isCanceled),
    wallS: (performance.now() - started) / 1000,
    tail,
  };
}
