/** `nas-graph run`: start a new search on the workspace. */
import fs from "node:fs";
import path from "node:path";
import { evidenceOf, type ConfigRecord, type NoiseRecord } from "../contracts.js";
import { agent, pythonBin } from "../python.js";
import { RUN_DEFAULTS } from "../run-defaults.js";
import { checkPreflight, type PreflightAnswer } from "../preflight.js";
import { openExecutor } from "../executors/index.js";
import { SlurmExecutor } from "../executors/slurm.js";
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
} from "../workspace.js";
import { driveSearch, type SearchSummary } from "../graph/session.js";
import type { GraphUpdate } from "../graph/state.js";
import { baselineSeedsOf } from "../graph/seeds.js";
import { printSummary } from "./resume.js";
import { searchOptions, type RequestedOptions, type RunOptions } from "./search-options.js";

export type { RunOptions } from "./search-options.js";

/** What `nas_agent begin-search` says about config.py at this search's fidelity. */
interface SearchStart {
  fidelity: string;
  baseline_needed: boolean;
  baseline_reason: string | null;
  /** config.py held what the tool wrote at another fidelity: put back on this fidelity's incumbent (from this file). */
  config_restored_from?: string | null;
  incumbent: ConfigRecord | null;
  noise: NoiseRecord | null;
  /**
   * The seeds config.py trains first, as a baseline's, in order (up to --baseline-seeds): the
   * planned baseline's when baseline_needed; else those the incumbent lacks when it was the first
   * successful run of its fidelity (a proposal accepted with nothing to compare it with) and an
   * earlier search's budget left them out; else none.
   */
  baseline_seeds: number[];
  /** The first round's free run ids (--reserve K, K = --parallel). */
  next_run_ids: string[];
  /** The pre-flight's checks, sent first in the same request (--preflight). */
  preflight: PreflightAnswer;
  /** false: a check failed and nothing was written. */
  begun: boolean;
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
    // one request: the pre-flight (packages, search space, config.py parses, train.py --check: config,
    // model and data as a training sees them), then, when all pass, the search's start; a failed check writes nothing
    const cap = options.maxEpochs ? ["--max-epochs-cap", String(options.maxEpochs)] : [];
    // the seeds that train first, counted against --baseline-seeds as if no noise were measured (the most a search asks)
    const seeds = ["--baseline-seeds", String(baselineSeeds(options, null))];
    const begin = await agent<SearchStart>({ ws, env }, ["begin-search", "--preflight", "--python", pythonBin(env), "--reserve", String(options.parallel), ...cap, ...seeds]);
    const space = checkPreflight({ ws, env }, begin.preflight);
    const threadId = newSearchId();
    // the jobs a killed search left queued or running are not this search's: never adopted, cancelled
    if (executor instanceof SlurmExecutor) await executor.cancelAbandoned(threadId, ui.notice);
    const start = startConfigPath(ws, threadId);
    fs.mkdirSync(path.dirname(start), { recursive: true });
    fs.copyFileSync(ws.config, start); // after begin-search: config.py may have been put back on this fidelity's incumbent
    const now = new Date().toISOString();
    const resolved: SearchOptions = { ...options, baselineSeeds: baselineSeeds(options, begin.noise) };
    const rec: SearchRecord = { thread_id: threadId, started_at: now, updated_at: now, status: "running", options: resolved };
    writeSearch(ws, rec);
    ui.notice(`search ${threadId}: up to ${options.maxIterations} trainings in ${ws.dir} (fidelity ${begin.fidelity})`);
    announce(begin, resolved);
    const first = initialState(rec, begin);
    if (first.repeat_queue.length > 0) {
      const n = first.repeat_queue.length;
      ui.notice(`the incumbent ${begin.incumbent!.root_run_id} was the first successful run (the baseline's seeds failed) and has no measured noise: ${n} more seed${n === 1 ? "" : "s"} of it train first, as a baseline's`);
    }
    return await driveSearch(ws, rec, { start: first, runIds: begin.next_run_ids }, env, space);
  } finally {
    release();
  }
}

/** --baseline-seeds, else 3 seeds measure the noise (run's default); 1 when it is already measured at this fidelity or the rules are fixed. */
function baselineSeeds(o: RequestedOptions, noise: NoiseRecord | null): number {
  if (o.baselineSeeds !== null) return o.baselineSeeds;
  return o.acceptance === "fixed" || noise ? 1 : RUN_DEFAULTS.baselineSeeds;
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
  } else if (o.baselineSeeds < 2) {
    ui.notice(`acceptance: means over seeds; no seed noise measured (--baseline-seeds 1): using the default relative sd ${(o.defaultRelSd * 100).toFixed(0)}% until repeats measure it`);
  } else {
    ui.notice(`acceptance: means over seeds; the baseline's ${o.baselineSeeds} seeds measure the seed noise`);
  }
}

/** The first state: the planned baseline's seeds, or the seeds the incumbent lacks queued first (begin-search's, up to the search's --baseline-seeds). */
export function initialState(rec: SearchRecord, begin: SearchStart) {
  const o = rec.options;
  const seeds = begin.baseline_seeds.slice(0, o.baselineSeeds);
  const incumbent = begin.baseline_needed ? null : evidenceOf(begin.incumbent);
  const unmeasured = !begin.baseline_needed && begin.incumbent ? baselineSeedsOf(begin.incumbent, seeds, o.baselineSeeds) : [];
  return {
    search_id: rec.thread_id,
    iteration: 0,
    max_iterations: o.maxIterations,
    fidelity: begin.fidelity,
    baseline_needed: begin.baseline_needed,
    baseline_seeds: begin.baseline_needed ? seeds : [],
    repeat_queue: unmeasured,
    incumbent,
    best_run_id: incumbent?.root_run_id ?? null,
  } satisfies GraphUpdate;
}
