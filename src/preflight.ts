/**
 * The pre-flight of `run`, `resume` and `demo`: before a search records anything (no search id,
 * no search.json, no run), `train.py --check` in the workspace validates config.py exactly as a
 * training would (family, keys, constraints, the model build) and checks that the data is reachable
 * (local, in NAS_DATA_DIR, or a URL to download; nothing is downloaded). Same interpreter and
 * environment as the executors' trainings (NAS_PYTHON, else .venv).
 */
import { execa } from "execa";
import { oneLine, UserError } from "./errors.js";
import { logger } from "./log.js";
import { agent, AgentError, pythonBin, pythonEnv, type PyContext } from "./python.js";
import { ui } from "./ui.js";

/** A failed pre-flight: nothing was recorded (demo removes the folder it created). */
export class PreflightError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = "PreflightError";
  }
}

export async function preflight(ctx: PyContext): Promise<void> {
  await checkSpace(ctx);
  const python = pythonBin(ctx.env);
  const started = performance.now();
  const res = await execa(python, ["-u", "train.py", "--config", "config.py", "--check"], {
    cwd: ctx.ws.dir,
    env: pythonEnv(ctx.env),
    extendEnv: false,
    reject: false,
    timeout: 300_000,
  });
  logger.debug({ exitCode: res.exitCode, ms: Math.round(performance.now() - started) }, "train.py --check");
  const out = String(res.stdout ?? "").trim();
  const err = String(res.stderr ?? "").split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (res.exitCode === 0 && out.startsWith("config ok:")) {
    if (/will be downloaded from/.test(out)) ui.notice(out);
    return;
  }
  if (res.exitCode === 2 && err.length > 0) {
    // train.py's one line: "config error: <cause>; <fix>"
    throw new PreflightError(`cannot start a search: ${err[err.length - 1].replace(/^config error: /, "")}`);
  }
  if (res.failed && res.exitCode === undefined) {
    throw new PreflightError(`cannot run train.py --check with ${python}: ${oneLine(res.shortMessage)}; set NAS_PYTHON to a Python with the nas_system requirements`);
  }
  const last = err.length ? err[err.length - 1] : out.split("\n").pop() || `exit code ${res.exitCode}`;
  throw new PreflightError(`train.py --check failed on config.py (exit code ${res.exitCode}): ${last}; fix config.py or the workspace's model code`);
}

/** The search space the planners will read (the workspace's search_space.json, else the installed one) parses and validates. */
async function checkSpace(ctx: PyContext): Promise<void> {
  try {
    await agent(ctx, ["space"]);
  } catch (err) {
    if (err instanceof AgentError) throw new PreflightError(`cannot start a search: ${err.message}`);
    throw err;
  }
}
