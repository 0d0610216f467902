/** `nas-graph resume`: continue the last search where it stopped, or answer its review pause. */
import readline from "node:readline/promises";
import { UserError } from "../errors.js";
import { configureUi, ui, fmt } from "../ui.js";
import { acquireLock, openWorkspace, readSearch } from "../workspace.js";
import { driveSearch, searchPosition, type SearchSummary } from "../graph/session.js";
import type { ReviewPayload } from "../graph/nodes/review.js";

export interface ResumeOptions {
  systemDir: string;
  accept?: boolean;
  reject?: boolean;
  json?: boolean;
}

export async function resumeCommand(opts: ResumeOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (opts.accept && opts.reject) throw new UserError("pass only one of --accept and --reject");
  configureUi({ json: opts.json });
  const ws = openWorkspace(opts.systemDir, { needTrain: true });
  const release = acquireLock(ws, "resume", ui.notice);
  try {
    const rec = readSearch(ws);
    if (!rec) throw new UserError(`no search to resume in ${ws.dir}; start one with 'nas-graph run'`);
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
    const input =
      pos.state === "paused" ? { answer: { accept: opts.accept ?? (opts.reject ? false : await ask(pos.review)) } } : ({ resume: true } as const);
    ui.notice(`resuming search ${rec.thread_id}${pos.next.length ? ` at ${pos.next.join(", ")}` : ""}`);
    const summary = await driveSearch(ws, rec, input, env);
    printSummary(summary, Boolean(opts.json));
  } finally {
    release();
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
      if (a === "y" || a === "yes") return true;
      if (a === "n" || a === "no") return false;
    }
  } finally {
    rl.close();
  }
}

/** Final report: JSON on stdout with --json, else a short human summary on stderr. */
export function printSummary(s: SearchSummary, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(s) + "\n");
    return;
  }
  process.stderr.write("\n");
  if (s.status === "paused" && s.pending_review) {
    const v = s.pending_review.verdict;
    ui.notice(
      `paused for review of ${s.pending_review.run_id} (evaluator: ${v.accept ? "accept" : "reject"}, ${v.reason}); answer with 'nas-graph resume --accept' or '--reject'`,
    );
  } else {
    ui.notice(`search ${s.search_id} finished after ${s.iterations} iteration(s)`);
  }
  ui.best(s.best_run_id, s.best_val_mse, s.n_runs);
  if (s.best_config) ui.notice(`best config: ${s.best_config} (val_mse ${fmt(s.best_val_mse)})`);
  ui.usage(s.usage);
}
