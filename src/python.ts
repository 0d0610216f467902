/**
 * The bridge to Python: the installed `nas_agent` helper (one long-lived `nas_agent serve`
 * per process, src/agent-server.ts; one JSON object per call). train.py
 * is run by an executor (src/executors/). TypeScript never parses Python.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { agentServer, type AgentAnswer, type HelperCommand } from "./agent-server.js";
import { UserError } from "./errors.js";
import { logger } from "./log.js";
import { parseProgressLine, type ProgressEvent } from "./progress.js";
import type { Workspace } from "./workspace-paths.js";

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
  /**
   * Sends one helper request (argv as for `python -m nas_agent`) in place of the long-lived helper
   * of `env`; unset (always, outside tests), agent() asks that helper. The seam the node tests
   * (test/nodes/) answer with canned JSON through; agent() reads the answer the same way.
   */
  request?: (argv: string[], command: HelperCommand) => Promise<AgentAnswer>;
}

/** Start the helper of this environment ahead of its first request (run/resume call it before their heavy imports). */
export function warmAgent(env: NodeJS.ProcessEnv): void {
  agentServer(pythonBin(env), pythonEnv(env)).warm();
}

/** Run `nas_agent --system-dir DIR <args>` on the long-lived helper (src/agent-server.ts) and return its JSON object. */
/** A helper request's argv: one of the helper's commands, then its options. */
export type HelperArgs = [HelperCommand, ...string[]];

export async function agent<T = Record<string, unknown>>(ctx: PyContext, args: HelperArgs): Promise<T> {
  const python = pythonBin(ctx.env);
  const started = performance.now();
  const cmd = args[0];
  const argv = ["--system-dir", ctx.ws.dir, ...args];
  const res = await (ctx.request ? ctx.request(argv, cmd) : agentServer(python, pythonEnv(ctx.env)).request(argv, cmd));
  logger.debug({ cmd, exitCode: res.exit, ms: Math.round(performance.now() - started) }, "nas_agent call");
  const parsed = res.result;
  if (parsed.ok === true) return parsed as T;
  if (parsed.ok === false && res.exit === 2) {
    const errors = Array.isArray(parsed.errors) ? parsed.errors.map(String) : [];
    throw new AgentError(cmd, String(parsed.error ?? "unknown error"), errors);
  }
  if (parsed.ok === false) {
    // exit 1: a bug in the helper, not a bad value; the node fails and `resume` can retry it.
    // nas_agent's own message already asks for a report; say it once.
    const error = String(parsed.error ?? "unknown error");
    throw new UserError(`nas_agent ${cmd} failed: ${error}${/please report it/.test(error) ? "" : " (a bug in nas_agent; please report it)"}`, 1);
  }
  throw new UserError(`nas_agent ${cmd} failed: no answer (exit code ${res.exit}) (python: ${python}; check NAS_PYTHON and the nas_system install)`);
}

