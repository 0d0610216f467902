/** `nas-graph run`: start a new search on the workspace. */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import { llmConfigured } from "../llm/settings.js";
import { agent, AgentError } from "../python.js";
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
  acceptAbove: number;
  rejectBelow: number;
  maxGap: number;
  minBestEpoch: number;
  json?: boolean;
}

export async function runCommand(opts: RunOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  configureUi({ json: opts.json });
  printSummary(await startSearch(opts, env), Boolean(opts.json));
}

/** Start a new search on the workspace and drive it to its end (or its review pause). */
export async function startSearch(opts: RunOptions, env: NodeJS.ProcessEnv = process.env): Promise<SearchSummary> {
  const ws = openWorkspace(opts.systemDir, { needTrain: true });
  const options = searchOptions(opts, env);
  const release = acquireLock(ws, "run", ui.notice);
  try {
    const previous = readSearch(ws);
    if (previous?.status === "paused") ui.notice(`leaving the paused search ${previous.thread_id} unanswered; starting a new one`);
    await checkConfig(ws, env);
    const threadId = newSearchId();
    const start = startConfigPath(ws, threadId);
    fs.mkdirSync(path.dirname(start), { recursive: true });
    fs.copyFileSync(ws.config, start);
    const now = new Date().toISOString();
    const rec: SearchRecord = { thread_id: threadId, started_at: now, updated_at: now, status: "running", options };
    writeSearch(ws, rec);
    ui.notice(`search ${threadId}: up to ${options.maxIterations} iterations in ${ws.dir}`);
    return await driveSearch(ws, rec, { start: initialState(rec) }, env);
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
  let planner = opts.planner;
  if (!planner) {
    planner = hasKey ? "llm" : "optuna";
    ui.notice(`planner: ${planner} (${hasKey ? "OPENROUTER_API_KEY is set" : "no OPENROUTER_API_KEY; pass --planner to choose"})`);
  }
  if (!(PLANNERS as readonly string[]).includes(planner)) {
    throw new UserError(`unknown --planner '${planner}'; use one of ${PLANNERS.join(", ")}`);
  }
  if (planner === "mock" && !opts.mockFile) throw new UserError("--planner mock needs --mock-file FILE (a JSON list of planner decisions)");
  if (opts.mockFile && !fs.existsSync(opts.mockFile)) throw new UserError(`--mock-file ${opts.mockFile} does not exist; pass the path of your mock script`);
  let evaluator = opts.evaluator;
  if (!evaluator) {
    evaluator = hasKey ? "llm" : "rules";
    ui.notice(`evaluator: ${evaluator} (${hasKey ? "LLM on borderline runs" : "rules only; no OPENROUTER_API_KEY"})`);
  }
  if (evaluator !== "llm" && evaluator !== "rules") throw new UserError(`unknown --evaluator '${evaluator}'; use llm or rules`);
  positiveInt("--max-iterations", opts.maxIterations);
  if (opts.maxEpochs !== undefined) positiveInt("--max-epochs", opts.maxEpochs);
  if (opts.runTimeout !== undefined && !(opts.runTimeout > 0)) throw new UserError("--run-timeout must be a positive number of seconds");
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
    thresholds: {
      acceptAbove: opts.acceptAbove,
      rejectBelow: opts.rejectBelow,
      maxGap: opts.maxGap,
      minBestEpoch: opts.minBestEpoch,
    },
  };
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new UserError(`${name} must be a positive integer (got ${v})`);
}

export function initialState(rec: SearchRecord) {
  const o = rec.options;
  return {
    search_id: rec.thread_id,
    iteration: 0,
    max_iterations: o.maxIterations,
    options: {
      target_val_mse: o.targetValMse,
      max_epochs: o.maxEpochs,
      run_timeout_s: o.runTimeoutS,
      review: o.review,
      seed: o.seed,
    },
  };
}
