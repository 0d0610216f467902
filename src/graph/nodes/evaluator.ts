/**
 * evaluator: record the round's runs in agent_state.json in one helper request (verdict pending:
 * a finished run is on file before anything else can go wrong), then judge each one in a fixed order: the
 * baseline's seeds, then repeats, then proposals, each by run id. Every run is judged as part
 * of its config (all the config's seeds so far) against the incumbent at the start of the
 * round, or the baseline this round established; several candidates may be accepted, and the
 * one with the lowest mean becomes the incumbent (agent_state derives it). The incumbent is
 * taken as the helper recorded it with each run: its seeds and its noise estimate pooled over
 * every config measured so far (never the figures of the round that made it the incumbent).
 */
import path from "node:path";
import { evidenceOf, type ConfigEvidence, type ConfigRecord, type CurveSignals, type EvaluationInput, type NaiveBaselines, type RunMetrics } from "../../contracts.js";
import { largestCall } from "../../llm/budget.js";
import { agent, type HelperArgs } from "../../python.js";
import { readJson, runDir } from "../../workspace.js";
import { addUsage, ZERO_USAGE, type GraphState, type GraphUpdate, type Trial, type Verdict } from "../state.js";
import { maxRiseArgs, type GraphDeps } from "../deps.js";
import { killPoint } from "../../test-hooks.js";

const ORDER = { baseline: 0, repeat: 1, proposal: 2 } as const;

export async function evaluatorNode(state: GraphState, deps: GraphDeps): Promise<GraphUpdate> {
  const started = performance.now();
  const trials = [...state.trials].sort((a, b) => ORDER[a.kind] - ORDER[b.kind] || a.run_id.localeCompare(b.run_id));
  const records = new Map<string, ConfigRecord | null>();
  const persistence = new Map<string, number | null>();
  const curves = new Map<string, CurveSignals | null>();
  const summaries = new Map<string, unknown>();
  for (const _ of trials) killPoint("evaluator"); // the fault suite: before the round's runs are recorded
  // one request for the round: each run recorded in this order, each answer sees the runs before it
  const recorded = await recordPending(state, deps, trials);
  const incumbents = new Map<string, ConfigRecord | null>();
  for (const [i, t] of trials.entries()) {
    const rec = recorded[i];
    records.set(t.run_id, rec.config);
    incumbents.set(t.run_id, rec.incumbent ?? null);
    persistence.set(t.run_id, rec.baselines?.persistence?.val_mse ?? null);
    curves.set(t.run_id, rec.curve ?? null);
    summaries.set(t.run_id, rec.run?.history_summary ?? "");
  }

  let incumbent = state.incumbent;
  let budget = state.max_iterations - state.iteration - trials.length;
  let usage = { ...ZERO_USAGE };
  let maxCall = state.llm_max_call_usd;
  let llmS = 0;
  const verdicts: Verdict[] = [];
  for (const t of trials) {
    const record = records.get(t.run_id) ?? null;
    const candidate = evidenceOf(record);
    incumbent = current(incumbent, incumbents.get(t.run_id) ?? null);
    const input = evaluationInput(state, deps, t, candidate, incumbent, repeatsLeft(record, budget), persistence.get(t.run_id) ?? null, curves.get(t.run_id) ?? null, summaries.get(t.run_id));
    input.baselineSeedsLeft = baselineSeedsLeft(t, record, budget);
    const asked = performance.now();
    const res = await deps.evaluate(input);
    if (res.usage.calls > 0 || (res.transcript?.length ?? 0) > 0) llmS += (performance.now() - asked) / 1000;
    usage = addUsage(usage, res.usage);
    maxCall = largestCall(res.transcript, maxCall);
    if (res.repeat) budget -= 1;
    const seeds = res.accept ? (res.baseline_seeds ?? 0) : 0;
    budget -= seeds;
    // The baseline this round established is what later trials of the round are judged against.
    if (res.accept && incumbent === null && candidate) incumbent = latest(records, candidate.root_run_id) ?? candidate;
    verdicts.push({
      run_id: t.run_id,
      accept: res.accept,
      repeat: Boolean(res.repeat),
      promising: Boolean(res.promising),
      ...(seeds > 0 ? { baseline_seeds: seeds } : {}),
      reason: res.reason,
      feedback: res.feedback,
      source: res.source,
      improvement_pct: res.improvement_pct ?? null,
    });
  }
  return {
    verdicts,
    usage: addUsage(state.usage, usage),
    llm_max_call_usd: maxCall,
    timings: {
      ...state.timings,
      evaluator_s: (performance.now() - started) / 1000,
      evaluator_llm_s: llmS,
      round_usage: addUsage(state.timings.round_usage ?? { ...ZERO_USAGE }, usage),
    },
  };
}

interface Pending {
  run: { history_summary?: unknown } | null;
  config: ConfigRecord | null;
  baselines: NaiveBaselines | null;
  /** The run's val curve read by the helper's overfitting rule (nas_agent/curve.py); null without one. */
  curve?: CurveSignals | null;
  /** The incumbent as of this record: its seeds and its noise pooled over the runs recorded so far. */
  incumbent?: ConfigRecord | null;
}

/**
 * Record the round's finished trials with their decision fields (verdict pending), in one helper
 * request; per trial its config's statistics, its task's naive baselines, its val curve and its
 * history summary (what the LLM evaluator reads: no second request).
 */
async function recordPending(state: GraphState, deps: GraphDeps, trials: Trial[]): Promise<Pending[]> {
  const runs = trials.map((t) => {
    const r = state.results[t.run_id];
    const info = {
      status: r?.run_status ?? "crashed",
      kind: t.kind,
      repeat_of: t.repeat_of,
      seed: t.seed, // a failed run writes no metrics: its seed counts as used all the same
      step_type: t.step_type,
      plan: t.plan,
      reason: t.reason,
      config_changes: Object.fromEntries(t.config_changes.map((c) => [c.key, c.value])),
      planner: t.planner_name,
      fallback: t.fallback,
      advice: t.advice,
      error: r?.run_error ?? null,
      search_id: state.search_id,
      max_epochs_cap: deps.options.maxEpochs,
      evaluation_reason: "verdict pending",
    };
    return { run_id: t.run_id, info };
  });
  if (runs.length === 0) return [];
  const limits = ["--baseline-seeds", String(deps.options.baselineSeeds), "--max-repeats", String(deps.options.maxRepeats)];
  const args: HelperArgs = ["record-runs", "--runs", JSON.stringify(runs), ...limits, ...maxRiseArgs(deps)];
  return (await agent<{ records: Pending[] }>(deps.py, args)).records;
}

/** The last record of a config in this round (it holds all the seeds recorded so far). */
function latest(records: Map<string, ConfigRecord | null>, root: string): ConfigEvidence | null {
  let found: ConfigRecord | null = null;
  for (const rec of records.values()) if (rec?.root_run_id === root && (!found || rec.n >= found.n)) found = rec;
  return evidenceOf(found);
}

/** The incumbent's evidence as recorded with this run (more seeds, a larger noise pool), when it is the same config. */
function current(incumbent: ConfigEvidence | null, recorded: ConfigRecord | null): ConfigEvidence | null {
  if (incumbent === null || recorded?.root_run_id !== incumbent.root_run_id) return incumbent;
  return evidenceOf(recorded) ?? incumbent;
}

/**
 * Seeds a proposal lacks to be measured like a baseline (its record's baseline_seeds_left: the
 * helper counts them against --baseline-seeds), within the budget left, should it become the
 * first incumbent; the planned baseline's own seeds are planned already.
 */
function baselineSeedsLeft(t: Trial, record: ConfigRecord | null, budget: number): number {
  if (t.kind === "baseline" || !record) return 0;
  return Math.max(0, Math.min(record.baseline_seeds_left ?? 0, budget));
}

/** Further seeds the config may get: its record's repeats_left (the helper counts its repeats against --max-repeats), within the budget left. */
function repeatsLeft(record: ConfigRecord | null, budget: number): number {
  if (!record) return 0;
  return Math.max(0, Math.min(record.repeats_left ?? 0, budget));
}

function evaluationInput(
  state: GraphState,
  deps: GraphDeps,
  t: Trial,
  candidate: ConfigEvidence | null,
  incumbent: ConfigEvidence | null,
  left: number,
  persistence: number | null,
  curve: CurveSignals | null,
  recordedSummary: unknown,
): EvaluationInput {
  const r = state.results[t.run_id];
  const dir = runDir(deps.py.ws, t.run_id);
  const metrics = r?.training_success ? readJson<RunMetrics>(path.join(dir, "metrics.json")) : null;
  const failure = metrics ? null : `run ${r?.run_status ?? "failed"}: ${r?.run_error ?? "no metrics.json"}`;
  // the history summary record-runs just wrote (the LLM evaluator reads it; the rules do not)
  const summary = metrics && deps.evaluatorUsesHistory ? (recordedSummary ?? "") : "";
  return {
    runId: t.run_id,
    metrics,
    failure,
    candidate,
    incumbent,
    curve: metrics ? curve : null,
    repeatsLeft: left,
    changes: t.config_changes,
    historySummary: typeof summary === "string" ? summary : JSON.stringify(summary),
    persistenceValMse: metrics ? persistence : null,
    signal: deps.signal,
  };
}
