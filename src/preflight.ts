/**
 * The pre-flight of `run`, `resume` and `demo`: before a search records anything (no search id,
 * no search.json, no run), one helper request checks the interpreter's packages, the search space,
 * (for `run`) that config.py parses, and runs `train.py --check` in the workspace, which validates
 * config.py exactly as a training would (family, keys, constraints, the model build) and checks that
 * the data is reachable (local, in NAS_DATA_DIR, or a URL to download; nothing is downloaded). Same
 * interpreter and environment as the executors' trainings (NAS_PYTHON, else .venv). `run` sends the
 * checks inside its begin-search request (nas_agent preflight.py); this file words their outcome.
 */
import { UserError } from "./errors.js";
import { logger } from "./log.js";
import { agent, pythonBin, type PyContext } from "./python.js";
import type { SearchSpace } from "./contracts.js";
import { ui } from "./ui.js";

/** A failed pre-flight: nothing was recorded (demo removes the folder it created). */
export class PreflightError extends UserError {
  constructor(message: string) {
    super(message, 2);
    this.name = "PreflightError";
  }
}

/** nas_agent's pre-flight answer (nas_system/nas_agent/preflight.py): each check's outcome, in order. */
export interface PreflightAnswer {
  ok: boolean;
  env: { python: string; missing: string[]; outdated?: { name: string; version: string; required: string }[] };
  /** agent_state.json does not read: the helper's one line with its fix. */
  state_error?: string;
  space?: SearchSpace;
  space_error?: string;
  config_error?: string;
  train_check?: { exit: number | null; stdout?: string; stderr?: string; error?: string };
}

/** `resume`: the checks in one request; the search space the planners will read. */
export async function preflight(ctx: PyContext): Promise<SearchSpace> {
  const res = await agent<{ preflight: PreflightAnswer }>(ctx, ["preflight", "--python", pythonBin(ctx.env)]);
  return checkPreflight(ctx, res.preflight);
}

/** Throw the first failed check's one line (none failed: the search space). */
export function checkPreflight(ctx: PyContext, pf: PreflightAnswer): SearchSpace {
  checkEnv(ctx, pf.env);
  if (pf.state_error !== undefined) throw new UserError(pf.state_error);
  if (pf.space_error !== undefined) throw new PreflightError(`cannot start a search: ${pf.space_error}`);
  // the starting config.py must parse: the search starts from it and falls back to it
  if (pf.config_error !== undefined) throw new UserError(`cannot start a search: ${pf.config_error}`);
  if (pf.train_check) checkTrain(ctx, pf.train_check);
  if (!pf.ok || !pf.space) throw new UserError("nas_agent preflight failed without naming a check (a bug in nas_agent; please report it)", 1);
  return pf.space;
}

/**
 * The interpreter has the packages nas_system needs (a find_spec per package, nothing heavy
 * imported). A missing one is a set-up problem, not our bug: one line naming the interpreter,
 * the packages and the fix.
 */
function checkEnv(ctx: PyContext, res: PreflightAnswer["env"]): void {
  const outdated = res.outdated ?? [];
  if (res.missing.length === 0 && outdated.length === 0) return;
  const bin = pythonBin(ctx.env);
  const where = res.python && res.python !== bin ? `${bin} (${res.python})` : bin;
  if (res.missing.length === 0) {
    // an older package imports fine and fails mid-search (optuna 4.x: no set_constraint); say it now
    const olds = outdated.map((o) => `${o.name} ${o.version} (needs >= ${o.required})`).join(", ");
    throw new UserError(
      `the Python at ${where} has ${olds} that nas_system cannot use: run '${bin} -m pip install -r nas_system/requirements.txt' or set NAS_PYTHON to a Python with those versions`,
    );
  }
  const what = res.missing.length === 1 ? `the package ${res.missing[0]}` : `the packages ${res.missing.join(", ")}`;
  throw new UserError(
    `the Python at ${where} lacks ${what} that nas_system needs: run 'bash scripts/setup.sh' (creates .venv) or set NAS_PYTHON to a Python with nas_system/requirements.txt installed`,
  );
}

/** train.py --check's outcome (docs/contracts.md: "config ok: ..." exit 0, or one error line exit 2). */
function checkTrain(ctx: PyContext, res: NonNullable<PreflightAnswer["train_check"]>): void {
  const python = pythonBin(ctx.env);
  logger.debug({ exitCode: res.exit }, "train.py --check");
  const out = String(res.stdout ?? "").trim();
  const err = String(res.stderr ?? "").split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (res.exit === 0 && out.startsWith("config ok:")) {
    if (/will be downloaded from/.test(out)) ui.notice(out);
    return;
  }
  if (res.exit === 2 && err.length > 0) {
    // train.py's one line: "config error: <cause>; <fix>"
    throw new PreflightError(`cannot start a search: ${err[err.length - 1].replace(/^config error: /, "")}`);
  }
  if (res.exit === null) {
    throw new PreflightError(`cannot run train.py --check with ${python}: ${res.error ?? "no exit code"}; set NAS_PYTHON to a Python with the nas_system requirements`);
  }
  const last = err.length ? err[err.length - 1] : out.split("\n").pop() || `exit code ${res.exit}`;
  throw new PreflightError(`train.py --check failed on config.py (exit code ${res.exit}): ${last}; fix config.py or the workspace's model code`);
}
