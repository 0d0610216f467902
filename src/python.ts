/**
 * The bridge to Python: the installed `nas_agent` CLI (one JSON object per call). train.py
 * is run by an executor (src/executors/). TypeScript never parses Python.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { UserError, oneLine } from "./errors.js";
import { logger } from "./log.js";
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
