/**
 * update_state: record each verdict in agent_state.json (a verdict applies to every seed of the
 * run's config), queue another seed for a config whose verdict waits on the noise, put config.py
 * on the incumbent when the incumbent changed and sync the Optuna study (all in one helper
 * request), log one decision line per trial, and print the verdicts and the running best (a
 * mean over the incumbent's seeds). A run that timed out drops its config's queued seeds (its
 * baseline's further seeds, say): any seed of that config would run as long.
 */
import path from "node:path";
import { evidenceOf, type ConfigRecord, type LlmUsage } from "../../contracts.js";
import { appendDecision } from "../../decision-log.js";
import { agent, type HelperArgs } from "../../python.js";
import { startConfigRel } from "../../workspace.js";
import { ZERO_USAGE, type GraphState, type GraphUpdate, type RepeatRequest, type Trial, type Verdict } from "../state.js";
import { maxRiseArgs, type GraphDeps, type SearchClosing } from "../deps.js";
import { END } from "@langchain/langgraph";
import { baselineRejected, shouldContinue } from "../should-continue.js";
import { baselineSeedsOf } from "../seeds.js";
import { studyWarning } from "../study.js";
import { killPoint } from "../../test-hooks.js";

interface Recorded {
  config: ConfigRecord | null;
  incumbent: ConfigRecord | null;
}

/** finish-round's answer: the round's records, the incumbent, config.py's and the study's fate, the next run ids. */
export interface RoundEnd {
  records: Recorded[];
  best_run_id: string | null;
  n_runs: number;
  config_restored_from?: string | null;
  restore_warning?: string;
  study_error?: string;
  next_run_ids: string[];
  closing?: SearchClosing;
}

export async function updateStateNode(state: GraphState, deps: GraphDeps): Promise<GraphUpdate> {
  killPoint("update-state");
  const started = performance.now();
  const byId = new Map(state.trials.map((t) => [t.run_id, t]));
  const queue = [...state.repeat_queue];
  // One helper request: record each verdict, put config.py on the incumbent when it changed
  // (nas_agent owns that rule, for `override` too), sync the Optuna study, reserve the next ids.
  const runs = state.verdicts.map((v) => ({ run_id: v.run_id, info: verdictInfo(v, state.results[v.run_id]?.run_status === "ok") }));
  const args: HelperArgs = ["finish-round", "--runs", JSON.stringify(runs), "--known-best", state.best_run_id ?? "", ...maxRiseArgs(deps)];
  args.push("--fallback", path.join(deps.py.ws.dir, startConfigRel(state.search_id)), "--reserve", String(deps.options.parallel));
  args.push("--baseline-seeds", String(deps.options.baselineSeeds));
  const closes = deps.closing !== undefined && lastRound(state, queue, deps);
  if (closes) args.push("--close");
  const end = await agent<RoundEnd>(deps.py, args);
  if (deps.closing) deps.closing.value = closes ? (end.closing ?? null) : null;
  for (const [i, v] of state.verdicts.entries()) {
    const config = end.records[i]?.config;
    if (v.repeat && config) queue.push(repeatOf(config, v));
  }
  // a config that ran past --run-timeout would on any seed: its queued seeds are dropped
  const slow = new Set(state.verdicts.filter((v) => state.results[v.run_id]?.run_status === "timeout").map((v) => byId.get(v.run_id)?.repeat_of ?? v.run_id));
  const dropped = queue.filter((r) => slow.has(r.root_run_id));
  if (dropped.length > 0) {
    queue.splice(0, queue.length, ...queue.filter((r) => !slow.has(r.root_run_id)));
    deps.ui.notice(`${[...new Set(dropped.map((r) => r.root_run_id))].join(", ")} ran past --run-timeout: its ${dropped.length} queued seed${dropped.length === 1 ? "" : "s"} would too, and are not trained`);
  }
  // a proposal became the first incumbent: the round's incumbent (it, or a config of the same
  // round that beat it) gets its missing baseline seeds first
  // (the seeds are the helper's, its record's missing_seeds; the loop only caps how many, by the budget the verdict saw)
  const wanted = Math.max(0, ...state.verdicts.map((v) => (v.accept ? (v.baseline_seeds ?? 0) : 0)));
  const first = end.records.at(-1)?.incumbent;
  const seeds = first && wanted > 0 ? (first.missing_seeds ?? []).slice(0, wanted) : [];
  if (first && seeds.length > 0) queue.unshift(...baselineSeedsOf(first, seeds, deps.options.baselineSeeds));
  if (deps.runIds) deps.runIds.next = end.next_run_ids;
  if (end.restore_warning) deps.ui.warn(end.restore_warning);
  if (end.study_error) deps.ui.warn(studyWarning(end.study_error));
  const last = end.records.at(-1) ?? null;
  const incumbent = evidenceOf(last?.incumbent);
  const bestRunId = last ? end.best_run_id : state.best_run_id;
  const timings = { ...state.timings, update_s: (performance.now() - started) / 1000 };
  const nRuns = last ? end.n_runs : state.n_runs;
  const share = usageShare(state.timings.round_usage, state.verdicts.length);
  for (const [i, v] of state.verdicts.entries()) {
    const t = byId.get(v.run_id) as Trial;
    const r = state.results[v.run_id];
    appendDecision(deps.py.ws.decisions, {
      search_id: state.search_id,
      iteration: state.iteration + i + 1,
      round: state.round,
      run_id: v.run_id,
      kind: t.kind,
      step_type: t.step_type,
      planner: t.planner_name,
      fallback: t.fallback,
      changes: t.config_changes,
      seed: t.seed,
      run_status: r?.run_status ?? null,
      accepted: v.accept,
      repeat: v.repeat,
      evaluation_source: v.source,
      evaluation_reason: v.reason,
      plan: t.plan,
      reason: t.reason,
      repeat_of: t.repeat_of,
      feedback: v.feedback,
      promising: Boolean(v.promising && r?.run_status === "ok" && !v.accept),
      error: r?.run_error ?? null,
      advice: t.advice,
      max_epochs_cap: deps.options.maxEpochs,
      max_rise_pct: deps.options.thresholds.maxRise,
      best_run_id: bestRunId,
      best_val_mse: incumbent?.val_mean ?? null,
      timings: { ...timings, train_s: r?.train_s ?? 0, trial_s: r?.trial_s ?? 0 },
      usage_total: { ...state.usage },
      usage_run: { ...share },
      at: new Date().toISOString(),
    }, deps.ui.warn);
    deps.ui.verdict(v.run_id, v.accept, r?.run_status ?? null, v.reason, v.repeat);
  }
  deps.ui.best(bestRunId, incumbent?.val_mean ?? null, nRuns, incumbent?.val_sd ?? null, incumbent?.n ?? 0);
  deps.ui.usage(state.usage, deps.budget?.capUsd ?? null);
  return {
    iteration: state.iteration + state.trials.length,
    repeat_queue: queue,
    incumbent,
    best_run_id: bestRunId,
    n_runs: nRuns,
    timings,
  };
}

/**
 * The search ends after this round whatever the helper answers (the budget is spent or a stop was
 * asked; the incumbent, hence the target, is only known from the answer): its request also
 * brings the search's closing. A rejected baseline ends the search with an error, no closing.
 */
function lastRound(state: GraphState, queue: RepeatRequest[], deps: GraphDeps): boolean {
  if (baselineRejected(state)) return false;
  return shouldContinue({ ...state, iteration: state.iteration + state.trials.length, repeat_queue: queue, incumbent: null }, deps.options) === END;
}

/**
 * Each run's share of its round's LLM usage (the planner's batch call and the evaluator's calls
 * serve the K trials of the round alike): an equal split, so that the shares add up to the round.
 */
function usageShare(round: LlmUsage | undefined, n: number): LlmUsage {
  const u = round ?? ZERO_USAGE;
  const k = Math.max(1, n);
  return { calls: u.calls / k, input_tokens: u.input_tokens / k, output_tokens: u.output_tokens / k, cost_usd: u.cost_usd / k };
}

function verdictInfo(v: Verdict, ok: boolean): Record<string, unknown> {
  return {
    // only a run that trained can be accepted (record-run refuses otherwise)
    accepted: v.accept && ok,
    // inside the noise and unconfirmed: shown as promising, never the incumbent
    ...(v.promising && ok && !v.accept ? { promising: true } : {}),
    evaluation_reason: v.repeat ? `pending: ${v.reason}` : v.reason,
    feedback: v.feedback,
    evaluation_source: v.source,
  };
}

/** Another seed of the verdict's config: the one its record names (the helper's rule: a config never gets a seed it has). */
function repeatOf(config: ConfigRecord, v: Verdict): RepeatRequest {
  const seed = config.next_seed;
  return {
    root_run_id: config.root_run_id,
    seed,
    kind: "repeat",
    plan: `Repeat ${config.root_run_id}'s config with seed ${seed} (seed ${config.run_ids.length + 1}): its gain over the incumbent is inside the seed noise (from ${v.run_id})`,
  };
}
