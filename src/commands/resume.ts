/** `nas-graph resume`: continue the last search where it stopped, or answer its review pause. */
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline/promises";
import { UserError } from "../errors.js";
import { configureUi, ui, fmt } from "../ui.js";
import { preflight } from "../preflight.js";
import { ensembleLine } from "../ensemble.js";
import { llmConfigured } from "../llm/settings.js";
import { acquireLock, openWorkspace, readSearch, writeSearch, type SearchOptions } from "../workspace.js";
import { checkCostCap, checkMaxLlmFailures, PLANNERS } from "./search-options.js";
import { driveSearch, searchPosition, type SearchInput, type SearchPosition, type SearchSummary } from "../graph/session.js";
import type { RepeatRequest, ReviewAnswer, ReviewPayload } from "../graph/state.js";
import { agent } from "../python.js";
import type { SearchRecord, Workspace } from "../workspace.js";

export interface ResumeOptions {
  systemDir: string;
  accept?: boolean;
  reject?: boolean;
  repeat?: boolean;
  /** A larger training budget for a finished search (all its trainings, those done included). */
  maxIterations?: number;
  maxCostUsd?: number;
  maxLlmFailures?: number;
  planner?: string;
  mockFile?: string;
  evaluator?: string;
  json?: boolean;
}

export async function resumeCommand(opts: ResumeOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if ([opts.accept, opts.reject, opts.repeat].filter(Boolean).length > 1) throw new UserError("pass only one of --accept, --reject and --repeat");
  checkCostCap(opts.maxCostUsd);
  checkMaxLlmFailures(opts.maxLlmFailures);
  checkDecisionMakers(opts);
  configureUi({ json: opts.json });
  const ws = openWorkspace(opts.systemDir, { needTrain: true });
  const release = acquireLock(ws, "resume", ui.notice);
  try {
    const found = readSearch(ws);
    if (!found) throw new UserError(`no search to resume in ${ws.dir}; start one with 'nas-graph run'`);
    let rec = found;
    const pos = await searchPosition(ws, rec);
    const answering = opts.accept || opts.reject || opts.repeat;
    if (opts.maxIterations !== undefined) checkBudget(opts.maxIterations, pos);
    if (pos.state === "finished" && opts.maxIterations === undefined) {
      ui.notice(`nothing to resume: the last search ${rec.thread_id} has finished; start a new one with 'nas-graph run'`);
      if (opts.json) process.stdout.write(JSON.stringify({ search_id: rec.thread_id, status: "finished", resumed: false }) + "\n");
      return;
    }
    if (pos.state !== "paused" && answering) {
      throw new UserError("nothing is waiting for review; run 'nas-graph resume' without --accept/--reject/--repeat");
    }
    if (pos.state === "none") {
      throw new UserError(`the search ${rec.thread_id} has no checkpoint yet (it stopped before its first step); start again with 'nas-graph run'`);
    }
    if (pos.state === "paused" && opts.accept) checkAcceptable(pos.review);
    if (pos.state === "paused" && opts.repeat) checkRepeatable(pos.review);
    const switched = switchDecisionMakers(rec.options, opts, env);
    const space = await preflight({ ws, env }); // before the cost cap or any step is recorded
    let input: SearchInput = pos.state === "paused" ? { answer: answering ? given(opts) : await ask(pos.review) } : { resume: true };
    if (opts.maxIterations !== undefined) {
      rec = { ...rec, options: { ...rec.options, maxIterations: opts.maxIterations } };
      writeSearch(ws, rec);
      ui.notice(`training budget of this search: ${opts.maxIterations} trainings (${pos.iteration ?? 0} done)`);
      input = { extend: { max_iterations: opts.maxIterations, repeats: await promisingRepeats({ ws, env }, rec) } };
    }
    if (opts.maxCostUsd !== undefined) {
      rec = { ...rec, options: { ...rec.options, maxCostUsd: opts.maxCostUsd } };
      writeSearch(ws, rec);
      ui.notice(`LLM cost cap of this search: $${opts.maxCostUsd}`);
    }
    if (opts.maxLlmFailures !== undefined) {
      rec = { ...rec, options: { ...rec.options, maxLlmFailures: opts.maxLlmFailures } };
      writeSearch(ws, rec);
    }
    if (switched.changed.length > 0) {
      // only the decision-makers: the budget, cap and failure limit set above stay
      rec = { ...rec, options: { ...rec.options, planner: switched.options.planner, evaluator: switched.options.evaluator, mockFile: switched.options.mockFile } };
      writeSearch(ws, rec);
      for (const line of switched.changed) ui.notice(`${line} for the rest of the search`);
    }
    ui.notice(`resuming search ${rec.thread_id}${pos.next.length ? ` at ${pos.next.join(", ")}` : ""}`);
    const summary = await driveSearch(ws, rec, input, env, space);
    printSummary(summary, Boolean(opts.json));
  } finally {
    release();
  }
}

/** --planner, --mock-file and --evaluator of resume, checked for form before anything else is printed. */
function checkDecisionMakers(opts: ResumeOptions): void {
  if (opts.planner !== undefined && !(PLANNERS as readonly string[]).includes(opts.planner)) {
    throw new UserError(`unknown --planner '${opts.planner}'; use one of ${PLANNERS.join(", ")}`);
  }
  if (opts.mockFile !== undefined && !fs.existsSync(opts.mockFile)) throw new UserError(`--mock-file ${opts.mockFile} does not exist; pass the path of your mock script`);
  if (opts.evaluator !== undefined && opts.evaluator !== "llm" && opts.evaluator !== "rules") {
    throw new UserError(`unknown --evaluator '${opts.evaluator}'; use llm or rules`);
  }
}

/**
 * The search's planner and evaluator for the rest of the search (the recorded ones unless
 * --planner/--evaluator change them), and one line per change. A planner or evaluator that needs
 * the LLM without OPENROUTER_API_KEY is refused here, naming the resume that works without one.
 */
function switchDecisionMakers(o: SearchOptions, opts: ResumeOptions, env: NodeJS.ProcessEnv): { options: SearchOptions; changed: string[] } {
  const planner = opts.planner ?? o.planner;
  const evaluator = (opts.evaluator ?? o.evaluator) as "llm" | "rules";
  const mockFile = opts.mockFile ? path.resolve(opts.mockFile) : planner === "mock" ? o.mockFile : null;
  if (planner === "mock" && !mockFile) throw new UserError("--planner mock needs --mock-file FILE (a JSON list of planner decisions)");
  if (opts.mockFile && planner !== "mock") throw new UserError("--mock-file is for --planner mock");
  const needs = [planner.startsWith("llm") ? `planner ${planner}` : null, evaluator === "llm" ? "evaluator llm" : null].filter(Boolean);
  if (needs.length > 0 && !llmConfigured(env)) {
    throw new UserError(
      `this search uses the ${needs.join(" and the ")}, which need${needs.length === 1 ? "s" : ""} OPENROUTER_API_KEY (not set); put it in .env, or continue without an LLM: nas-graph resume --planner optuna --evaluator rules`,
    );
  }
  const changed: string[] = [];
  if (planner !== o.planner || (planner === "mock" && mockFile !== o.mockFile)) changed.push(`planner: ${planner} (was ${o.planner})`);
  if (evaluator !== o.evaluator) changed.push(`evaluator: ${evaluator} (was ${o.evaluator})`);
  return { options: { ...o, planner, evaluator, mockFile }, changed };
}

/** Only a run that trained (status ok) can be accepted; the pause stays, waiting for --reject. */
function checkAcceptable(review: ReviewPayload | null): void {
  const status = review?.verdict.status;
  if (review && status && status !== "ok") {
    throw new UserError(`cannot accept ${review.run_id}: its training ended with status ${status}; answer with 'nas-graph resume --reject'`);
  }
}

/** --max-iterations raises the budget of a finished search, above the trainings it has done. */
function checkBudget(n: number, pos: SearchPosition): void {
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--max-iterations must be a positive integer (got ${n})`);
  if (pos.state !== "finished") {
    throw new UserError(`--max-iterations raises the budget of a finished search; this one is ${pos.state === "paused" ? "paused for review" : "not finished"}: continue it with 'nas-graph resume' first`);
  }
  const done = pos.iteration ?? 0;
  if (n <= done) throw new UserError(`--max-iterations ${n} leaves no training: the search has done ${done}; pass a larger budget, e.g. --max-iterations ${done + 3}`);
}

/** Another seed for each promising, unconfirmed config of the search's fidelity that --max-repeats still allows. */
async function promisingRepeats(py: { ws: Workspace; env: NodeJS.ProcessEnv }, rec: SearchRecord): Promise<RepeatRequest[]> {
  const res = await agent<{ configs: Array<{ root_run_id: string; next_seed: number; n: number }> }>(py, ["promising", "--max-repeats", String(rec.options.maxRepeats)]);
  if (res.configs.length > 0) ui.notice(`promising, unconfirmed: ${res.configs.map((c) => c.root_run_id).join(", ")}; each gets another seed first`);
  return res.configs.map((c) => ({
    root_run_id: c.root_run_id,
    seed: c.next_seed,
    kind: "repeat",
    plan: `Repeat ${c.root_run_id}'s config with seed ${c.next_seed} (seed ${c.n + 1}): promising, unconfirmed; the larger budget may confirm it`,
  }));
}

/** A repeat needs a run that trained and a training left in the search's budget. */
function checkRepeatable(review: ReviewPayload | null): void {
  if (!review) return;
  const status = review.verdict.status;
  if (status && status !== "ok") {
    throw new UserError(`cannot repeat ${review.run_id}: its training ended with status ${status}; answer with 'nas-graph resume --reject'`);
  }
  if (!((review.repeats_left ?? 0) > 0)) {
    throw new UserError(`cannot repeat ${review.run_id}: the search's training budget has no training left; answer with 'nas-graph resume --accept' or '--reject'`);
  }
}

function given(opts: ResumeOptions): ReviewAnswer {
  return opts.repeat ? { repeat: true } : { accept: Boolean(opts.accept) };
}

/** What the evaluator said, in one word. */
export function verdictWord(v: ReviewPayload["verdict"]): string {
  return v.accept ? "accept" : v.repeat ? "repeat" : "reject";
}

/** The answers a pause takes, as resume flags. */
function answerFlags(review: ReviewPayload | null): string {
  return (review?.repeats_left ?? 0) > 0
    ? "'nas-graph resume --accept', '--reject' or '--repeat' (train it again with a new seed)"
    : "'nas-graph resume --accept' or 'nas-graph resume --reject'";
}

/** Ask y/n (r: repeat, when the budget allows one) on a terminal; without one, fail with the flags to use. */
async function ask(review: ReviewPayload | null): Promise<ReviewAnswer> {
  const runId = review?.run_id ?? "the last run";
  if (!process.stdin.isTTY) {
    throw new UserError(`${runId} is waiting for review; answer with ${answerFlags(review)}`);
  }
  const verdict = review?.verdict;
  if (verdict) ui.notice(`evaluator on ${runId}: ${verdictWord(verdict)} (${verdict.reason})`);
  const canRepeat = (review?.repeats_left ?? 0) > 0;
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    for (;;) {
      const a = (await rl.question(`accept ${runId}? [y/n${canRepeat ? "/r = train it again with a new seed" : ""}] `)).trim().toLowerCase();
      if (a === "y" || a === "yes") {
        if (verdict?.status && verdict.status !== "ok") {
          ui.warn(`${runId} cannot be accepted: its training ended with status ${verdict.status}`);
          continue;
        }
        return { accept: true };
      }
      if (a === "n" || a === "no") return { accept: false };
      if (canRepeat && (a === "r" || a === "repeat")) return { repeat: true };
    }
  } finally {
    rl.close();
  }
}

/** Final report: JSON on stdout with --json, else a short human summary on stderr. */
/** One line: the incumbent against persistence on validation, e.g. "best 0.121 ± 0.002, 35% below persistence 0.185". */
export function persistenceLine(best: number | null, sd: number | null, persistence: number | null): string | null {
  if (best == null || persistence == null || !(persistence > 0)) return null;
  const pct = Math.round((Math.abs(best - persistence) / persistence) * 100);
  const score = `best val_mse ${fmt(best)}${sd != null ? ` ± ${fmt(sd)}` : ""}`;
  return best < persistence
    ? `${score}, ${pct}% below persistence ${fmt(persistence)} (repeating the last value) on validation`
    : `${score}, ${pct}% above persistence ${fmt(persistence)} on validation: the model is worse than repeating the last value`;
}

export function printSummary(s: SearchSummary, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(s) + "\n");
    return;
  }
  process.stderr.write("\n");
  if (s.status === "stopped" && s.stop_kind === "llm_failures") {
    ui.notice(`${s.stop_reason} (the search is saved)`);
  } else if (s.status === "stopped") {
    ui.notice(`${s.stop_reason}; the search is saved: raise the cap with 'nas-graph resume --max-cost-usd X'`);
  } else if (s.status === "paused" && s.pending_review) {
    const v = s.pending_review.verdict;
    ui.notice(`paused for review of ${s.pending_review.run_id} (evaluator: ${verdictWord(v)}, ${v.reason}); answer with ${answerFlags(s.pending_review)}`);
  } else {
    const t = s.trainings;
    ui.notice(`search ${s.search_id} finished after ${s.iterations} training(s): ${t.baseline} baseline, ${t.proposals} proposal(s), ${t.repeats} repeat(s)`);
  }
  ui.best(s.best_run_id, s.best_val_mse, s.n_runs, s.best_val_sd, s.best_seeds);
  if (s.best_config) ui.notice(`best config: ${s.best_config}`); // its score is on the best line above
  const naive = persistenceLine(s.best_val_mse, s.best_val_sd, s.persistence_val_mse);
  if (naive) ui.notice(naive);
  if (s.ensemble) ui.notice(ensembleLine(s.ensemble));
  ui.usage(s.usage, s.max_cost_usd, { once: true }); // the last round showed it already unless it changed since
}
