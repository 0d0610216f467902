/**
 * The options of a search, from the command line to the search record (search.json): checked
 * (each failure one usage line, exit 2), defaults resolved and announced. `run` and `demo` build
 * them here, `resume` checks the ones it may change here.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import { checkNoise } from "../evaluation/noise.js";
import { checkThresholds } from "../evaluation/rules.js";
import { EXECUTORS, parseGpus, type ExecutorOptions } from "../executors/index.js";
import { slurmOptions } from "../executors/slurm.js";
import { llmConfigured } from "../llm/settings.js";
import { PLANNER_NAMES } from "../planners/names.js";
import { ui } from "../ui.js";
import type { SearchOptions, Thresholds } from "../workspace.js";

/** The planners `--planner` accepts: listed once, in src/planners/names.ts. */
export const PLANNERS = PLANNER_NAMES;

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

/** The options as checked before the search begins: the baseline's seed count is decided then (null: not given). */
export type RequestedOptions = Omit<SearchOptions, "baselineSeeds"> & { baselineSeeds: number | null };

/** Resolve defaults (announced in one line each) and check the option values. */
export function searchOptions(opts: RunOptions, env: NodeJS.ProcessEnv): RequestedOptions {
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
  checkNoise({ alpha: opts.alpha, defaultRelSd: opts.defaultRelSd, maxLooks: 1 + opts.maxRepeats });
  checkThresholds(thresholdsOf(opts));
  if (opts.maxEpochs !== undefined) positiveInt("--max-epochs", opts.maxEpochs);
  if (opts.runTimeout !== undefined && !(opts.runTimeout > 0)) throw new UserError("--run-timeout must be a positive number of seconds");
  checkCostCap(opts.maxCostUsd);
  checkMaxLlmFailures(opts.maxLlmFailures);
  if (opts.seed !== undefined && !(Number.isInteger(opts.seed) && opts.seed >= 0 && opts.seed < 2 ** 32)) {
    throw new UserError(`--seed must be an integer from 0 to ${2 ** 32 - 1} (got ${opts.seed})`);
  }
}

function resolved(opts: RunOptions, env: NodeJS.ProcessEnv, planner: string, evaluator: "llm" | "rules"): RequestedOptions {
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
    thresholds: thresholdsOf(opts),
  };
}

function thresholdsOf(opts: RunOptions): Thresholds {
  return { acceptAbove: opts.acceptAbove, rejectBelow: opts.rejectBelow, maxRise: opts.maxRise, minBestEpoch: opts.minBestEpoch };
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
