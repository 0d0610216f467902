/**
 * `nas-graph demo`: the whole loop on a laptop CPU in a few minutes. Creates a demo workspace
 * (our train.py, model code and nas_agent, plus demo/config.py, a CPU-sized Informer, and
 * demo/search_space.json, whose every trial stays CPU-sized), runs a real search on it (a
 * baseline, then Optuna's proposals, accepted and rejected by the rules), writes the report
 * and prints its path. The users' nas_system/config.py stays the default for their GPU runs.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import { PreflightError } from "../preflight.js";
import { REPO_ROOT } from "../python.js";
import { configureUi, ui } from "../ui.js";
import { workspacePaths } from "../workspace.js";
import { writeReport } from "./report.js";
import { printSummary } from "./resume.js";
import { llmConfigured, noLlmError } from "../llm/settings.js";
import { startSearch, type RunOptions } from "./run.js";
import { PLANNERS } from "./search-options.js";
import { RUN_DEFAULTS } from "../run-defaults.js";

export interface DemoOptions {
  dir: string;
  maxIterations: number;
  maxEpochs?: number;
  planner?: string;
  json?: boolean;
}

const CODE = ["train.py", "model.py", "models", "data.py", "nas_agent"];
const DEMO_FILES = ["config.py", "search_space.json"];

export async function demoCommand(opts: DemoOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  checkDemoUsage(opts, env); // every usage error before any other output, and before the folder exists
  configureUi({ json: opts.json });
  const started = performance.now();
  const dir = path.resolve(opts.dir);
  createDemoWorkspace(dir, opts.dir);
  // One torch thread per training: on a small or busy CPU, two threads contend (measured here
  // 20x slower on 2 shared cores); a tiny model gains nothing from more.
  const childEnv: NodeJS.ProcessEnv = env.OMP_NUM_THREADS ? env : { ...env, OMP_NUM_THREADS: "1" };
  ui.notice(`demo workspace ${opts.dir}: ETTh1, 48 -> 24 steps, from a CPU-sized Informer; the search may switch to DLinear or NLinear at their papers' recipes (up to 3 epochs per training), ${opts.maxIterations} trainings, torch threads ${childEnv.OMP_NUM_THREADS}`);
  // The verdicts of every search (run's defaults: noise-aware, its test and thresholds); the demo's
  // budget is explicit, so it does not move with run's defaults: 3 seeds of the baseline measure
  // the noise, a candidate inside the noise margin gets one more seed before its verdict.
  const run: RunOptions = {
    ...RUN_DEFAULTS,
    systemDir: dir,
    maxIterations: opts.maxIterations,
    planner: opts.planner ?? "optuna",
    evaluator: "rules",
    seed: 0,
    maxEpochs: opts.maxEpochs,
    runTimeout: 300,
    parallel: 1,
    acceptance: "noise",
    baselineSeeds: 3,
    maxRepeats: 1,
    json: opts.json,
  };
  let summary;
  try {
    summary = await startSearch(run, childEnv);
  } catch (err) {
    // stopped before anything was recorded: the folder is ours and empty of results, so `demo` can run again
    if (err instanceof PreflightError) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const report = await writeReport(workspacePaths(dir), childEnv);
  const seconds = (performance.now() - started) / 1000;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ demo_dir: dir, seconds, search: summary, report }) + "\n");
    return;
  }
  printSummary(summary, false);
  ui.notice(`demo done in ${Math.round(seconds)} s; see the runs with 'nas-graph status --system-dir ${opts.dir}' (npx nas-graph from the checkout)`);
  process.stdout.write(`report: ${report.html}\n`);
}

function checkDemoUsage(opts: DemoOptions, env: NodeJS.ProcessEnv): void {
  const planner = opts.planner ?? "optuna";
  const usable = PLANNERS.filter((p) => p !== "mock");
  if (!(usable as readonly string[]).includes(planner)) throw new UserError(`unknown --planner '${planner}' for the demo; use one of ${usable.join(", ")}`);
  if (planner.startsWith("llm") && !llmConfigured(env)) throw noLlmError();
  if (!Number.isInteger(opts.maxIterations) || opts.maxIterations < 1) throw new UserError(`--max-iterations must be a positive integer (got ${opts.maxIterations})`);
  if (opts.maxEpochs !== undefined && !(Number.isInteger(opts.maxEpochs) && opts.maxEpochs >= 1)) throw new UserError(`--max-epochs must be a positive integer (got ${opts.maxEpochs})`);
}

/** A fresh workspace: our code files and the demo's config and search space. */
function createDemoWorkspace(dir: string, shown: string): void {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
    throw new UserError(`${shown} already exists; remove it (rm -rf ${shown}) or pass --dir NEW_DIR`);
  }
  fs.mkdirSync(dir, { recursive: true });
  for (const name of CODE) {
    fs.cpSync(path.join(REPO_ROOT, "nas_system", name), path.join(dir, name), { recursive: true, filter: (src) => !src.includes("__pycache__") });
  }
  for (const name of DEMO_FILES) fs.copyFileSync(path.join(REPO_ROOT, "demo", name), path.join(dir, name));
}
