/** `nas-graph resume`: continue the last search where it stopped, or answer its review pause. */
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline/promises";
import { UserError } from "../errors.js";
import { configureUi, ui, fmt } from "../ui.js";
import { checkPythonEnv } from "../python.js";
import { preflight } from "../preflight.js";
import { ensembleLine } from "../ensemble.js";
import { llmConfigured } from "../llm/settings.js";
import { acquireLock, openWorkspace, readSearch, writeSearch, type SearchOptions } from "../workspace.js";
import { checkCostCap, checkMaxLlmFailures, PLANNERS } from "./run.js";
import { driveSearch, searchPosition, type SearchSummary } from "../graph/session.js";
import type { ReviewPayload } from "../graph/nodes/review.js";

export interface ResumeOptions {
  systemDir: string;
  accept?: boolean;
  reject?: boolean;
  maxCostUsd?: number;
  maxLlmFailures?: number;
  planner?: string;
  mockFile?: string;
  evaluator?: string;
  json?: boolean;
}

export async function resumeCommand(opts: ResumeOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (opts.accept && opts.reject) throw new UserError("pass only one of --accept and --reject");
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
    const answering = opts.accept || opts.reject;
    if (pos.state === "finished") {
      ui.notice(`nothing to resume: the last search ${rec.thread_id} has finished; start a new one with 'nas-graph run'`);
      if (opts.json) process.stdout.write(JSON.stringify({ search_id: rec.thread_id, status: "finished", resumed: false }) + "\n");
      return;
    }
    if (pos.state !== "paused" && answering) {
      throw new UserError("nothing is waiting for review; run 'nas-graph resume' without --accept/--reject");
    }
    if (pos.state === "none") {
      throw new UserError(`the search ${rec.thread_id} has no checkpoint yet (it stopped before its first step); start again with 'nas-graph run'`);
    }
    if (pos.state === "paused" && opts.accept) checkAcceptable(pos.review);
    const switched = switchDecisionMakers(rec.options, opts, env);
    await checkPythonEnv({ ws, env });
    await preflight({ ws, env }); // before the cost cap or any step is recorded
    const input =
      pos.state === "paused" ? { answer: { accept: opts.accept ?? (opts.reject ? false : await ask(pos.review)) } } : ({ resume: true } as const);
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
      rec = { ...rec, options: switched.options };
      writeSearch(ws, rec);
      for (const line of switched.changed) ui.notice(`${line} for the rest of the search`);
    }
    ui.notice(`resuming search ${rec.thread_id}${pos.next.length ? ` at ${pos.next.join(", ")}` : ""}`);
    const summary = await driveSearch(ws, rec, input, env);
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

/** Ask y/n on a terminal; without one, fail with the flags to use. */
async function ask(review: ReviewPayload | null): Promise<boolean> {
  const runId = review?.run_id ?? "the last run";
  if (!process.stdin.isTTY) {
    throw new UserError(`${runId} is waiting for review; answer with 'nas-graph resume --accept' or 'nas-graph resume --reject'`);
  }
  const verdict = review?.verdict;
  if (verdict) ui.notice(`evaluator on ${runId}: ${verdict.accept ? "accept" : "reject"} (${verdict.reason})`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    for (;;) {
      const a = (await rl.question(`accept ${runId}? [y/n] `)).trim().toLowerCase();
      if (a === "y" || a === "yes") {
        if (verdict?.status && verdict.status !== "ok") {
          ui.warn(`${runId} cannot be accepted: its training ended with status ${verdict.status}`);
          continue;
        }
        return true;
      }
      if (a === "n" || a === "no") return false;
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
    ui.notice(
      `paused for review of ${s.pending_review.run_id} (evaluator: ${v.accept ? "accept" : "reject"}, ${v.reason}); answer with 'nas-graph resume --accept' or '--reject'`,
    );
  } else {
    const t = s.trainings;
    ui.notice(`search ${s.search_id} finished after ${s.iterations} training(s): ${t.baseline} baseline, ${t.proposals} proposal(s), ${t.repeats} repeat(s)`);
  }
  ui.best(s.best_run_id, s.best_val_mse, s.n_runs, s.best_val_sd, s.best_seeds);
  if (s.best_config) ui.notice(`best config: ${s.best_config} (val_mse ${fmt(s.best_val_mse)})`);
  const naive = persistenceLine(s.best_val_mse, s.best_val_sd, s.persistence_val_mse);
  if (naive) ui.notice(naive);
  if (s.ensemble) ui.notice(ensembleLine(s.ensemble));
  ui.usage(s.usage, s.max_cost_usd, { once: true }); // the last round showed it already unless it changed since
}
