/** `nas-graph run`: start a new search on the workspace. */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import { llmConfigured } from "../llm/settings.js";
import { evidenceOf, type ConfigRecord, type NoiseRecord } from "../contracts.js";
import { agent, AgentError, checkPythonEnv } from "../python.js";
import { preflight } from "../preflight.js";
import { EXECUTORS, openExecutor, parseGpus, type ExecutorOptions } from "../executors/index.js";
import { SlurmExecutor, slurmOptions } from "../executors/slurm.js";
import { configureUi, ui } from "../ui.js";
import {
  acquireLock,
  newSearchId,
  openWorkspace,
  readSearch,
  startConfigPath,
  writeSearch,
  type SearchOptions,
  type SearchRecord,
  type Workspace,
} from "../workspace.js";
import { driveSearch, type SearchSummary } from "../graph/session.js";
import { printSummary } from "./resume.js";

export const PLANNERS = ["llm", "mock", "optuna", "random", "llm+optuna"] as const;

export interface RunOptions {
  systemDir: string;
  maxIterations: number;
  planner?: string;
  mockFile?: string;
  evaluator?: string;
  targetValMse?: number;
  maxEpochs?: number;
  runTimeout?: number;
  review?: boolean;
  seed?: number;
  parallel: number;
  acceptance: string;
  baselineSeeds?: number;
  maxRepeats: number;
  /** "on" | "off" (--portfolio). */
  portfolio?: string;
  alpha: number;
  defaultRelSd: number;
  maxRise: number;
  maxCostUsd?: number;
  maxLlmFailures?: number;
  executor?: string;
  gpus?: string;
  slurmPartition?: string;
  slurmGres?: string;
  slurmTime?: string;
  slurmArgs?: string;
  slurmPoll?: number;
  acceptAbove: number;
  rejectBelow: number;
  minBestEpoch: number;
  json?: boolean;
}

/** What `nas_agent begin-search` says about config.py at this search's fidelity. */
interface SearchStart {
  fidelity: string;
  seed: number | null;
  baseline_needed: boolean;
  baseline_reason: string | null;
  /** config.py held what the tool wrote at another fidelity: put back on this fidelity's incumbent (from this file). */
  config_restored_from?: string | null;
  incumbent: ConfigRecord | null;
  noise: NoiseRecord | null;
}

export async function runCommand(opts: RunOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  configureUi({ json: opts.json });
  printSummary(await startSearch(opts, env), Boolean(opts.json));
}

/** Start a new search on the workspace and drive it to its end (or its review pause). */
export async function startSearch(opts: RunOptions, env: NodeJS.ProcessEnv = process.env): Promise<SearchSummary> {
  const ws = openWorkspace(opts.systemDir, { needTrain: true });
  const options = searchOptions(opts, env);
  const executor = await openExecutor({ ws, env }, options); // Slurm: client commands on PATH, options accepted (before any state is written)
  const release = acquireLock(ws, "run", ui.notice);
  try {
    const previous = readSearch(ws);
    if (previous?.status === "paused") ui.notice(`leaving the paused search ${previous.thread_id} unanswered; starting a new one`);
    await checkPythonEnv({ ws, env });
    await checkConfig(ws, env);
    await preflight({ ws, env }); // config, model and data as a training sees them: before any record
    const threadId = newSearchId();
    // the jobs a killed search left queued or running are not this search's: never adopted, cancelled
    if (executor instanceof SlurmExecutor) await executor.cancelAbandoned(threadId, ui.notice);
    const start = startConfigPath(ws, threadId);
    fs.mkdirSync(path.dirname(start), { recursive: true });
    fs.copyFileSync(ws.config, start);
    const now = new Date().toISOString();
    const begin = await agent<SearchStart>({ ws, env }, ["begin-search", ...(options.maxEpochs ? ["--max-epochs-cap", String(options.maxEpochs)] : [])]);
    if (begin.config_restored_from) fs.copyFileSync(ws.config, start); // the search starts from this fidelity's incumbent
    const resolved = { ...options, baselineSeeds: baselineSeeds(options, begin) };
    const rec: SearchRecord = { thread_id: threadId, started_at: now, updated_at: now, status: "running", options: resolved };
    writeSearch(ws, rec);
    ui.notice(`search ${threadId}: up to ${options.maxIterations} trainings in ${ws.dir} (fidelity ${begin.fidelity})`);
    announce(begin, resolved);
    return await driveSearch(ws, rec, { start: initialState(rec, begin) }, env);
  } finally {
    release();
  }
}

/** The starting config.py must parse: the search starts from it and falls back to it. */
async function checkConfig(ws: Workspace, env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await agent({ ws, env }, ["config-get"]);
  } catch (err) {
    if (err instanceof AgentError) throw new UserError(`cannot start a search: ${err.message}`);
    throw err;
  }
}

/** Resolve defaults (announced in one line each) and check the option values. */
function searchOptions(opts: RunOptions, env: NodeJS.ProcessEnv): SearchOptions {
  const hasKey = llmConfigured(env);
  const planner = opts.planner ?? (hasKey ? "llm" : "optuna");
  if (!(PLANNERS as readonly string[]).includes(planner)) {
    throw new UserError(`unknown --planner '${planner}'; use one of ${PLANNERS.join(", ")}`);
  }
  if (planner === "mock" && !opts.mockFile) throw new UserError("--planner mock needs --mock-file FILE (a JSON list of planner decisions)");
  if (opts.mockFile && !fs.existsSync(opts.mockFile)) throw new UserError(`--mock-file ${opts.mockFile} does not exist; pass the path of your mock script`);
  const evaluator = opts.evaluator ?? (hasKey ? "llm" : "rules");
  if (evaluator !== "llm" && evaluator !== "rules") throw new UserError(`unknown --evaluator '${evaluator}'; use llm or rules`);
  checkUsage(opts);
  // every usage error above comes before any other output
  if (!opts.planner) ui.notice(`planner: ${planner} (${hasKey ? "OPENROUTER_API_KEY is set" : "no OPENROUTER_API_KEY; pass --planner to choose"})`);
  if (!opts.evaluator) ui.notice(`evaluator: ${evaluator} (${hasKey ? "LLM on borderline runs" : "rules only; no OPENROUTER_API_KEY"})`);
  return resolved(opts, env, planner, evaluator as "llm" | "rules");
}

/** The option values a search needs, checked (each failure one usage line, exit 2). */
function checkUsage(opts: RunOptions): void {
  positiveInt("--max-iterations", opts.maxIterations);
  positiveInt("--parallel", opts.parallel);
  if (opts.acceptance !== "noise" && opts.acceptance !== "fixed") throw new UserError(`unknown --acceptance '${opts.acceptance}'; use noise or fixed`);
  if (opts.baselineSeeds !== undefined) positiveInt("--baseline-seeds", opts.baselineSeeds);
  if (!Number.isInteger(opts.maxRepeats) || opts.maxRepeats < 0) throw new UserError(`--max-repeats must be an integer >= 0 (got ${opts.maxRepeats})`);
  if (opts.portfolio !== undefined && opts.portfolio !== "on" && opts.portfolio !== "off") throw new UserError(`unknown --portfolio '${opts.portfolio}'; use on or off`);
  if (!(Number.isFinite(opts.alpha) && opts.alpha > 0 && opts.alpha < 0.5)) throw new UserError(`--alpha must be a false-accept rate in (0, 0.5), e.g. 0.025 (got ${opts.alpha})`);
  if (opts.maxEpochs !== undefined) positiveInt("--max-epochs", opts.maxEpochs);
  if (opts.runTimeout !== undefined && !(opts.runTimeout > 0)) throw new UserError("--run-timeout must be a positive number of seconds");
  checkCostCap(opts.maxCostUsd);
  checkMaxLlmFailures(opts.maxLlmFailures);
  if (opts.seed !== undefined && !(Number.isInteger(opts.seed) && opts.seed >= 0 && opts.seed < 2 ** 32)) {
    throw new UserError(`--seed must be an integer from 0 to ${2 ** 32 - 1} (got ${opts.seed})`);
  }
}

function resolved(opts: RunOptions, env: NodeJS.ProcessEnv, planner: string, evaluator: "llm" | "rules"): SearchOptions {
  return {
    maxIterations: opts.maxIterations,
    planner,
    evaluator,
    mockFile: opts.mockFile ? path.resolve(opts.mockFile) : null,
    targetValMse: opts.targetValMse ?? null,
    maxEpochs: opts.maxEpochs ?? null,
    runTimeoutS: opts.runTimeout ?? null,
    review: Boolean(opts.review),
    seed: opts.seed ?? null,
    parallel: opts.parallel,
    acceptance: opts.acceptance as "noise" | "fixed",
    baselineSeeds: opts.baselineSeeds ?? null,
    maxRepeats: opts.acceptance === "fixed" ? 0 : opts.maxRepeats,
    portfolio: opts.portfolio !== "off",
    alpha: opts.alpha,
    defaultRelSd: opts.defaultRelSd,
    maxCostUsd: opts.maxCostUsd ?? null,
    maxLlmFailures: opts.maxLlmFailures ?? null,
    ...executorOptions(opts, env),
    thresholds: {
      acceptAbove: opts.acceptAbove,
      rejectBelow: opts.rejectBelow,
      maxRise: opts.maxRise,
      minBestEpoch: opts.minBestEpoch,
    },
  };
}

/** 3 seeds measure the noise; 1 when it is already measured at this fidelity or the rules are fixed. */
function baselineSeeds(o: SearchOptions, begin: SearchStart): number {
  if (o.baselineSeeds !== null) return o.baselineSeeds;
  return o.acceptance === "fixed" || begin.noise ? 1 : 3;
}

/** One line each: why the search starts where it does, and what its verdicts rest on. */
function announce(begin: SearchStart, o: SearchOptions): void {
  if (begin.baseline_needed) {
    ui.notice(`baseline: ${begin.baseline_reason}; config.py is trained first (${o.baselineSeeds} seed${o.baselineSeeds === 1 ? "" : "s"})`);
  } else if (begin.incumbent) {
    const c = begin.incumbent;
    if (begin.config_restored_from) {
      ui.notice(`config.py held the incumbent of a search at another fidelity (written by nas-graph, not edited): put back this fidelity's incumbent ${c.root_run_id}`);
    }
    ui.notice(`continuing from the incumbent ${c.root_run_id} (config.py is its config): mean val_mse ${c.val_mean?.toFixed(4)} over ${c.n} seed(s)`);
  }
  if (o.acceptance === "fixed") {
    ui.notice("acceptance: the seed's fixed-percent rules on single runs (--acceptance fixed)");
  } else if (begin.noise) {
    const n = begin.noise;
    ui.notice(`acceptance: means over seeds; seed noise at this fidelity sd ${n.sd.toFixed(4)}${n.rel_sd != null ? ` (${(n.rel_sd * 100).toFixed(1)}%)` : ""} over ${n.n} runs, reused`);
  } else if ((o.baselineSeeds ?? 1) < 2) {
    ui.notice(`acceptance: means over seeds; no seed noise measured (--baseline-seeds 1): using the default relative sd ${(o.defaultRelSd * 100).toFixed(0)}% until repeats measure it`);
  } else {
    ui.notice(`acceptance: means over seeds; the baseline's ${o.baselineSeeds} seeds measure the seed noise`);
  }
}

export function checkMaxLlmFailures(v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new UserError(`--max-llm-failures must be a positive integer (got ${v})`);
}

export function checkCostCap(v: number | undefined): void {
  if (v !== undefined && !(v > 0)) throw new UserError(`--max-cost-usd must be a positive number of US dollars (got ${v})`);
}

/** --executor and its options (Slurm ones from flags, else NAS_SLURM_*), checked for form here and against Slurm at start. */
function executorOptions(opts: RunOptions, env: NodeJS.ProcessEnv): ExecutorOptions {
  const kind = opts.executor ?? "local";
  if (!(EXECUTORS as readonly string[]).includes(kind)) throw new UserError(`unknown --executor '${kind}'; use one of ${EXECUTORS.join(", ")}`);
  if (kind === "local") {
    if (opts.slurmPartition || opts.slurmGres || opts.slurmTime || opts.slurmArgs || opts.slurmPoll !== undefined) {
      throw new UserError("--slurm-* options need --executor slurm");
    }
    return { executor: "local", gpus: opts.gpus ? parseGpus(opts.gpus) : null, slurm: null };
  }
  if (opts.gpus) throw new UserError("--gpus is for --executor local; on Slurm ask for GPUs with --slurm-gres gpu:1");
  const slurm = slurmOptions(
    { partition: opts.slurmPartition, gres: opts.slurmGres, time: opts.slurmTime, args: opts.slurmArgs, pollS: opts.slurmPoll },
    env,
  );
  return { executor: "slurm", gpus: null, slurm };
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new UserError(`${name} must be a positive integer (got ${v})`);
}

export function initialState(rec: SearchRecord, begin: SearchStart) {
  const o = rec.options;
  const incumbent = begin.baseline_needed ? null : evidenceOf(begin.incumbent);
  return {
    search_id: rec.thread_id,
    iteration: 0,
    max_iterations: o.maxIterations,
    fidelity: begin.fidelity,
    start_seed: begin.seed,
    baseline_needed: begin.baseline_needed,
    incumbent,
    best_run_id: incumbent?.root_run_id ?? null,
    options: {
      target_val_mse: o.targetValMse,
      max_epochs: o.maxEpochs,
      run_timeout_s: o.runTimeoutS,
      review: o.review,
      seed: o.seed,
      parallel: o.parallel,
      baseline_seeds: o.baselineSeeds ?? 1,
      max_repeats: o.maxRepeats,
      portfolio: o.portfolio ?? true,
    },
  };
}
