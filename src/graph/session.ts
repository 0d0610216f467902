/**
 * Drive one search (run, resume, or answer a review pause) on the SQLite checkpointer:
 * build the planner/evaluator and the graph, invoke it, handle Ctrl-C, and record the
 * search status in `.nas-graph/search.json`.
 */
import fs from "node:fs";
import { Command as GraphCommand, GraphRecursionError } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import type { EnsembleRecord, LlmUsage, SearchSpace } from "../contracts.js";
import { selectEnsemble } from "../ensemble.js";
import { UserError, oneLine } from "../errors.js";
import { createEvaluator } from "../evaluation/evaluate.js";
import { CostBudget, CostCapReached } from "../llm/budget.js";
import { LlmFailuresStop } from "../llm/errors.js";
import { openExecutor } from "../executors/index.js";
import type { Executor } from "../executors/types.js";
import { createPlanner } from "../planners/index.js";
import { readDecisions } from "../decision-log.js";
import { logger, logToWorkspace } from "../log.js";
import { agent } from "../python.js";
import { ui } from "../ui.js";
import { writeSearch, type SearchRecord, type Workspace } from "../workspace.js";
import { baselineRejected, buildGraph, inertDeps, recursionLimitFor, type SearchGraph } from "./graph.js";
import type { GraphDeps, SearchClosing } from "./deps.js";
import type { GraphState, GraphUpdate, RepeatRequest, ReviewAnswer, ReviewPayload } from "./state.js";

export interface SearchSummary {
  search_id: string;
  /** stopped: the LLM cost cap stopped it before a call (resume, with a higher --max-cost-usd), or the LLM failed too many rounds in a row (resume once it is reachable) */
  status: "finished" | "paused" | "stopped";
  /** Trainings done in this search (baseline seeds and repeats included). */
  iterations: number;
  max_iterations: number;
  /** How the trainings split: baseline seeds, new proposals, repeats of candidates. */
  trainings: { baseline: number; proposals: number; repeats: number };
  best_run_id: string | null;
  /** Mean over the best config's seeds. */
  best_val_mse: number | null;
  best_val_sd: number | null;
  best_seeds: number;
  best_config: string | null;
  n_runs: number;
  usage: LlmUsage;
  max_cost_usd: number | null;
  pending_review: ReviewPayload | null;
  stop_reason: string | null;
  /** What stopped it: the cost cap, or --max-llm-failures rounds in a row without an LLM answer (null unless stopped). */
  stop_kind: "cost_cap" | "llm_failures" | null;
  /** The final ensemble, selected once when the search finishes (null otherwise, or when it could not be built). */
  ensemble: EnsembleRecord | null;
  /** Why the ensemble could not be built (one line; the search still finished). */
  ensemble_error: string | null;
  /** Persistence (repeat the last value) on this search's task, validation MSE: the bar a useful model must beat. */
  persistence_val_mse: number | null;
}

/**
 * start: the first state, and the first round's free run ids when begin-search reported them;
 * extend: a finished search gets a larger budget; its queued repeats (promising configs first) are trained before new proposals.
 */
export type SearchInput =
  | { start: GraphUpdate; runIds?: string[] }
  | { resume: true }
  | { answer: ReviewAnswer }
  | { extend: { max_iterations: number; repeats: RepeatRequest[] } };

/** space: the search space the pre-flight already read (else asked for when a planner first needs it). */
export async function driveSearch(ws: Workspace, rec: SearchRecord, input: SearchInput, env: NodeJS.ProcessEnv, space?: SearchSpace): Promise<SearchSummary> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    ui.notice("interrupt: stopping training and saving progress (Ctrl-C again to force quit)");
    controller.abort();
  };
  process.on("SIGINT", onSigint);
  const restoreLogs = logToWorkspace(ws.logFile, env);
  const checkpointer = SqliteSaver.fromConnString(ws.checkpoints);
  try {
    const budget = new CostBudget(rec.options.maxCostUsd ?? null);
    const executor = await openExecutor({ ws, env }, rec.options);
    const runIds = { next: "start" in input ? (input.runIds ?? null) : null };
    const closing: { value: SearchClosing | null } = { value: null };
    const graph = buildSearchGraph(ws, rec, env, controller.signal, checkpointer, budget, executor, { runIds, closing }, space);
    const config = { configurable: { thread_id: rec.thread_id }, recursionLimit: recursionLimitFor(rec.options.maxIterations) };
    const before = (await graph.getState(config)).values as Partial<GraphState>;
    budget.start(before.usage?.cost_usd ?? 0, before.llm_max_call_usd ?? 0);
    if ("extend" in input) {
      // as if update_state had just decided: should_continue sees the new budget and plans on
      const queued = before.repeat_queue ?? [];
      const fresh = input.extend.repeats.filter((r) => !queued.some((q) => q.root_run_id === r.root_run_id));
      await graph.updateState(config, { max_iterations: input.extend.max_iterations, repeat_queue: [...fresh, ...queued], stop_requested: false }, "update_state");
    }
    writeSearch(ws, { ...rec, status: "running" });
    logger.info({ thread_id: rec.thread_id, input: Object.keys(input)[0], options: rec.options }, "search invoke");
    let stop: Stop | null = null;
    try {
      await graph.invoke(graphInput(input), config);
    } catch (err) {
      if (err instanceof CostCapReached) stop = { reason: err.message, kind: "cost_cap" };
      else if (err instanceof LlmFailuresStop) stop = { reason: err.message, kind: "llm_failures" };
      else throw translate(err, controller.signal);
    }
    const snap = await graph.getState(config);
    // the last round's request brought the closing when the search ended after it; else ask now
    const closed = snap.next.length === 0 && stop === null ? closing.value : null;
    const standing = closed?.standing ?? (await agent<{ persistence_val_mse: number | null }>({ ws, env }, ["standing"]));
    const summary = summarize(snap, ws, rec, stop, standing.persistence_val_mse);
    writeSearch(ws, { ...rec, status: summary.status });
    const last = snap.values as GraphState;
    if (baselineRejected(last)) {
      const root = last.trials.find((t) => t.kind === "baseline" && t.repeat_of === null)!;
      throw new UserError(`the starting config.py cannot be trained (${root.run_id}): ${last.results[root.run_id]?.run_error}`);
    }
    if (summary.status === "finished") Object.assign(summary, closed ? closedEnsemble(closed) : await finalEnsemble(ws, env));
    return summary;
  } catch (err) {
    writeSearch(ws, { ...rec, status: controller.signal.aborted ? "interrupted" : "failed" });
    throw err;
  } finally {
    process.off("SIGINT", onSigint);
    restoreLogs();
    (checkpointer as unknown as { db?: { close?: () => void } }).db?.close?.();
  }
}

/** The end of a search: select and record its ensemble once. A failure (e.g. runs of an older train.py without saved forecasts) is one warning, never a failed search. */
async function finalEnsemble(ws: Workspace, env: NodeJS.ProcessEnv): Promise<Pick<SearchSummary, "ensemble" | "ensemble_error">> {
  try {
    return { ensemble: await selectEnsemble({ ws, env }), ensemble_error: null };
  } catch (err) {
    const reason = oneLine(err);
    ui.warn(`no ensemble: ${reason}`);
    return { ensemble: null, ensemble_error: reason };
  }
}

/** The ensemble the last round's request selected (or why it could not), worded as finalEnsemble does. */
function closedEnsemble(c: SearchClosing): Pick<SearchSummary, "ensemble" | "ensemble_error"> {
  if (c.ensemble) return { ensemble: c.ensemble, ensemble_error: null };
  const reason = c.ensemble_error ?? "the helper sent no ensemble";
  ui.warn(`no ensemble: ${reason}`);
  return { ensemble: null, ensemble_error: reason };
}

type InvokeInput = Parameters<SearchGraph["invoke"]>[0];

function graphInput(input: SearchInput): InvokeInput {
  if ("start" in input) return input.start;
  if ("answer" in input) return new GraphCommand({ resume: input.answer }) as unknown as InvokeInput;
  if ("extend" in input) return null;
  return null;
}

function buildSearchGraph(
  ws: Workspace,
  rec: SearchRecord,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  saver: SqliteSaver,
  budget: CostBudget,
  executor: Executor,
  held: Pick<GraphDeps, "runIds" | "closing">,
  known?: SearchSpace,
): SearchGraph {
  const o = rec.options;
  const py = { ws, env };
  let space: Promise<SearchSpace> | null = known ? Promise.resolve(known) : null;
  return buildGraph(
    {
      options: o,
      py,
      planner: createPlanner(o.planner as Parameters<typeof createPlanner>[0], { env, mockFile: o.mockFile ?? undefined, budget }),
      evaluate: createEvaluator({
        mode: o.evaluator,
        acceptance: o.acceptance,
        thresholds: o.thresholds,
        noise: { alpha: o.alpha, defaultRelSd: o.defaultRelSd, maxLooks: 1 + o.maxRepeats },
        env,
        budget,
      }),
      evaluatorUsesHistory: o.evaluator === "llm",
      executor,
      ui,
      signal,
      searchSpace: () => (space ??= agent<{ space: SearchSpace }>(py, ["space"]).then((r) => r.space)),
      budget,
      ...held,
    },
    saver,
  );
}

function translate(err: unknown, signal: AbortSignal): unknown {
  if (signal.aborted) return new UserError("interrupted; progress is saved: continue with 'nas-graph resume'", 130);
  if (err instanceof GraphRecursionError) {
    return new UserError("the search exceeded its step limit; continue with 'nas-graph resume' or raise --max-iterations", 1);
  }
  return err;
}

type Snapshot = Awaited<ReturnType<SearchGraph["getState"]>>;

type Stop = { reason: string; kind: NonNullable<SearchSummary["stop_kind"]> };

function summarize(snap: Snapshot, ws: Workspace, rec: SearchRecord, stop: Stop | null, persistence: number | null): SearchSummary {
  const pending = snap.tasks.flatMap((t) => t.interrupts ?? []);
  const v = snap.values as GraphState;
  const kinds = readDecisions(ws.decisions).filter((e) => e.search_id === rec.thread_id).map((e) => e.kind);
  const count = (k: string) => kinds.filter((x) => x === k).length;
  return {
    search_id: rec.thread_id,
    status: stop ? "stopped" : pending.length > 0 ? "paused" : "finished",
    iterations: v.iteration ?? 0,
    max_iterations: rec.options.maxIterations,
    trainings: { baseline: count("baseline"), proposals: count("proposal"), repeats: count("repeat") },
    best_run_id: v.best_run_id ?? null,
    best_val_mse: v.incumbent?.val_mean ?? null,
    best_val_sd: v.incumbent?.val_sd ?? null,
    best_seeds: v.incumbent?.n ?? 0,
    best_config: v.best_run_id ? `runs/${v.best_run_id}/config_used.py` : null,
    n_runs: v.n_runs ?? 0,
    usage: v.usage ?? { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 },
    max_cost_usd: rec.options.maxCostUsd ?? null,
    pending_review: pending.length > 0 ? (pending[0].value as ReviewPayload) : null,
    stop_reason: stop?.reason ?? null,
    stop_kind: stop?.kind ?? null,
    ensemble: null,
    ensemble_error: null,
    persistence_val_mse: persistence, // the helper's (nas_agent standing), on the search's task
  };
}


export interface SearchPosition {
  /** none: no checkpoint; finished: graph reached END; paused: waiting for a review answer; stopped: crashed or interrupted mid-way. */
  state: "none" | "finished" | "paused" | "stopped";
  next: string[];
  review: ReviewPayload | null;
  /** Trainings the search has done (0 without a checkpoint). */
  iteration?: number;
}

/** Inspect the last checkpoint of a search without running anything. */
export async function searchPosition(ws: Workspace, rec: SearchRecord): Promise<SearchPosition> {
  if (!fs.existsSync(ws.checkpoints)) return { state: "none", next: [], review: null };
  const saver = SqliteSaver.fromConnString(ws.checkpoints);
  try {
    const graph = buildGraph(inertDeps({ ws, env: {} }, ui), saver);
    const snap = await graph.getState({ configurable: { thread_id: rec.thread_id } });
    const next = [...snap.next];
    const interrupts = snap.tasks.flatMap((t) => t.interrupts ?? []);
    if (!snap.createdAt) return { state: "none", next, review: null };
    const iteration = (snap.values as Partial<GraphState>).iteration ?? 0;
    if (interrupts.length > 0) return { state: "paused", next, review: interrupts[0].value as ReviewPayload, iteration };
    // No next task but finished tasks with saved writes: the CLI died after a step's tasks ended and
    // before the following checkpoint was written; resuming applies the writes and goes on. Only a
    // checkpoint with neither is the graph's end.
    const ended = next.length === 0 && snap.tasks.length === 0;
    return { state: ended ? "finished" : "stopped", next, review: null, iteration };
  } catch (err) {
    throw new UserError(`cannot read ${ws.checkpoints}: ${oneLine(err)}; move it aside to start a fresh search`);
  } finally {
    (saver as unknown as { db?: { close?: () => void } }).db?.close?.();
  }
}
