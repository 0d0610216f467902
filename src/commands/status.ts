/**
 * `nas-graph status`: one fidelity at a time (the current one, or `--fidelity`: a recorded key or
 * an epoch cap): the runs table (val MSE as mean ± sd over a config's seeds, held-out test MSE,
 * Δ against the best, the verdict, the plan), the best config, totals (trainings, training time,
 * tokens, cost: the shown fidelity's, and over all fidelities when there are several), the naive baselines and the measured noise when recorded. `--json` gives the
 * same data. The verdict labels, the fidelity's incumbent and persistence come from the helper
 * (`nas_agent standing`); this file only prints them. Δ has the verdicts' sign: the gain over the
 * best config's mean, + when lower. Fields that an older agent_state.json lacks are left out,
 * never guessed.
 */
import fs from "node:fs";
import path from "node:path";
import pc from "picocolors";
import type { AgentStateFile, EnsembleRecord, LlmUsage, NaiveBaselines, RunInfo, RunLabel } from "../contracts.js";
import { ensembleLine } from "../ensemble.js";
import { readDecisions, type DecisionEntry } from "../decision-log.js";
import { configStats, finite, type ConfigStats } from "../runs-view.js";
import { agent } from "../python.js";
import { fmt, ui } from "../ui.js";
import { openWorkspace, readAgentState, readJson, readSearch, type Workspace } from "../workspace.js";

export interface StatusOptions {
  systemDir: string;
  json?: boolean;
  /** The fidelity shown: a recorded key or an epoch cap N (default: the current one). */
  fidelity?: string;
}

/** What the helper derives for a view (nas_agent/standing.py). */
export interface Standing {
  fidelity: string | null;
  current_fidelity: string | null;
  fidelities: Array<{ fidelity: string; runs: number }>;
  best_run_id: string | null;
  verdicts: Record<string, RunLabel>;
  persistence_val_mse: number | null;
}

export interface StatusRow {
  run_id: string;
  step_type: string | null;
  kind: string | null;
  planner: string | null;
  seed: number | null;
  status: string;
  accepted: boolean;
  verdict: RunLabel;
  overridden: boolean;
  val_mse: number | null;
  /** The run's config over its seeds (runs sharing config_id); n = finished runs. */
  config: { key: string; n: number; mean: number | null; sd: number | null; run_ids: string[] };
  /** (best config mean - config mean) / best config mean, in percent: the verdicts' sign (+ = lower val_mse). */
  delta_pct: number | null;
  /** Held out: never used for selection. */
  test_mse: number | null;
  best_config: boolean;
  fidelity: string | null;
  plan: string;
}

export interface StatusData {
  system_dir: string;
  /** The fidelity shown (runs of others are counted in `other_fidelities`, never mixed in). */
  fidelity: string | null;
  other_fidelities: Array<{ fidelity: string; runs: number }>;
  /** Persistence (repeat the last value) on the shown fidelity's task, validation MSE. */
  persistence_val_mse: number | null;
  runs: StatusRow[];
  best: {
    run_id: string;
    val_mse: number | null;
    val_mse_mean: number | null;
    val_mse_sd: number | null;
    n_seeds: number;
    run_ids: string[];
    /** Held out, mean over the best config's runs. */
    test_mse: number | null;
    config: string;
  } | null;
  /** Over every fidelity (all the workspace's runs and searches). */
  totals: Totals;
  /**
   * The shown fidelity's own, when runs of other fidelities exist: its runs, and the LLM usage of
   * the rounds that trained them (each run's share, decisions.jsonl `usage_run`; null for a log without it).
   */
  fidelity_totals?: Omit<Totals, "llm_calls" | "input_tokens" | "output_tokens" | "cost_usd"> & { fidelity: string | null; usage: LlmUsage | null };
  usage: LlmUsage | null;
  baselines?: unknown;
  noise?: unknown;
  /** The current fidelity's ensemble (weights chosen on val; its test_mse held out), when selected. */
  ensemble?: EnsembleRecord;
  /** The Optuna study mirroring agent_state.json (nas_agent.study), when written. */
  study?: { path: string; trials: number | null; error: string | null };
  search: { search_id: string; status: string; started_at: string; options: unknown } | null;
}

export interface Totals { trainings: number; failed: number; training_time_s: number; llm_calls: number; input_tokens: number; output_tokens: number; cost_usd: number }

export async function statusCommand(opts: StatusOptions, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const ws = openWorkspace(opts.systemDir);
  const standing = await agent<Standing>({ ws, env }, ["standing", ...(opts.fidelity ? ["--fidelity", opts.fidelity] : [])]);
  const data = statusData(ws, standing);
  if (opts.json) {
    process.stdout.write(JSON.stringify(data, null, 2) + "\n");
    return;
  }
  const colors = pc.createColors(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb");
  process.stdout.write(renderStatus(data, colors) + "\n");
}

export function statusData(ws: Workspace, standing: Standing): StatusData {
  const state = readAgentState(ws);
  const decisions = readDecisions(ws.decisions, ui.warn);
  const groups = configStats(state);
  const shown = state.runs.filter((r) => (r.fidelity ?? null) === standing.fidelity);
  const bestRun = state.runs.find((r) => r.run_id === standing.best_run_id) ?? null;
  const bestGroup = bestRun ? (groups.get(bestRun.run_id) ?? null) : null;
  const bestMean = bestGroup?.mean ?? (bestRun && finite(bestRun.val_mse) ? bestRun.val_mse : null);
  const rows = shown.map((r) => toRow(r, groups.get(r.run_id)!, bestGroup, bestMean, standing.verdicts[r.run_id]));
  const search = readSearch(ws);
  const usage = usageTotals(decisions);
  const data: StatusData = {
    system_dir: ws.dir,
    fidelity: standing.fidelity,
    other_fidelities: standing.fidelities.filter((f) => f.fidelity !== standing.fidelity),
    persistence_val_mse: standing.persistence_val_mse,
    runs: rows,
    best: bestRun ? bestOf(state, bestRun, bestGroup) : null,
    totals: totals(state.runs, decisions, usage),
    usage,
    search: search ? { search_id: search.thread_id, status: search.status, started_at: search.started_at, options: search.options } : null,
  };
  if (data.other_fidelities.length > 0) {
    const { trainings, failed, training_time_s } = totals(shown, decisions, null);
    data.fidelity_totals = { fidelity: standing.fidelity, trainings, failed, training_time_s, usage: runsUsage(decisions, shown) };
  }
  const some = (x: unknown) => x !== undefined && x !== null && (typeof x !== "object" || Object.keys(x as object).length > 0);
  const task = standing.fidelity?.replace(/ @[^ ]+ep$/, "") ?? null;
  const baselines = task && state.baselines?.[task] ? { [task]: state.baselines[task] } : standing.fidelity ? null : state.baselines;
  if (some(baselines)) data.baselines = baselines;
  const noise = standing.fidelity && state.noise?.[standing.fidelity] ? { [standing.fidelity]: state.noise[standing.fidelity] } : standing.fidelity ? null : state.noise;
  if (some(noise)) data.noise = noise;
  const ensemble = ensembleOf(state, standing.fidelity);
  if (ensemble) data.ensemble = ensemble;
  const study = studyOf(ws);
  if (study) data.study = study;
  return data;
}

/** The ensemble of the shown fidelity, as `nas-graph ensemble` recorded it. */
function ensembleOf(state: AgentStateFile, fidelity: string | null): EnsembleRecord | null {
  return (fidelity && state.ensembles?.[fidelity]) || null;
}

function studyOf(ws: Workspace): StatusData["study"] | null {
  const db = path.join(ws.meta, "optuna.db");
  let last: { ok?: boolean; error?: string; trials?: number } | null = null;
  try {
    last = readJson(path.join(ws.meta, "optuna.status.json"));
  } catch {
    last = null; // a torn status file: only the database itself matters
  }
  if (!fs.existsSync(db) && !last) return null;
  return { path: db, trials: last?.ok && typeof last.trials === "number" ? last.trials : null, error: last?.ok === false ? String(last.error) : null };
}

function toRow(r: RunInfo, g: ConfigStats, best: ConfigStats | null, bestMean: number | null, verdict: RunLabel): StatusRow {
  const own = finite(r.val_mse) && (r.status ?? "ok") === "ok" ? r.val_mse : null;
  const value = g.n > 1 ? g.mean : own;
  return {
    run_id: r.run_id,
    step_type: r.step_type ?? null,
    kind: typeof r.kind === "string" ? r.kind : null,
    planner: r.planner ?? null,
    seed: finite(r.seed) ? r.seed : null,
    status: String(r.status ?? "ok"),
    accepted: Boolean(r.accepted),
    verdict,
    overridden: r.override != null,
    val_mse: own,
    config: { key: g.key, n: g.n, mean: g.mean, sd: g.sd, run_ids: g.run_ids },
    // the gain over the best config's mean, as the verdicts state it (+ = lower val_mse); one fidelity only
    delta_pct: value !== null && bestMean ? ((bestMean - value) / bestMean) * 100 : null,
    test_mse: finite(r.test_mse) ? r.test_mse : null,
    best_config: best !== null && g.key === best.key,
    fidelity: typeof r.fidelity === "string" ? r.fidelity : null,
    plan: String(r.plan ?? "").replace(/\s+/g, " ").trim(),
  };
}

function bestOf(state: AgentStateFile, run: RunInfo, g: ConfigStats | null): NonNullable<StatusData["best"]> {
  const ids = g?.run_ids ?? [run.run_id];
  const tests = state.runs.filter((r) => ids.includes(r.run_id) && (r.status ?? "ok") === "ok" && finite(r.test_mse)).map((r) => r.test_mse as number);
  return {
    run_id: run.run_id,
    val_mse: finite(run.val_mse) ? run.val_mse : null,
    val_mse_mean: g?.mean ?? null,
    val_mse_sd: g?.sd ?? null,
    n_seeds: g?.n ?? 1,
    run_ids: ids,
    test_mse: tests.length ? tests.reduce((a, b) => a + b, 0) / tests.length : null,
    config: path.join("runs", run.run_id, "config_used.py"),
  };
}

/** Trainings: runs that started train.py (an invalid change never does). Time: train.py wall time. */
function totals(runs: RunInfo[], decisions: DecisionEntry[], usage: LlmUsage | null): StatusData["totals"] {
  const wall = new Map<string, number>();
  for (const d of decisions) {
    const s = d.timings?.train_s;
    if (d.run_id && typeof s === "number") wall.set(d.run_id, s);
  }
  let time = 0;
  for (const r of runs) time += wall.get(r.run_id) ?? (finite(r.train_time_s) ? r.train_time_s : 0);
  const trained = runs.filter((r) => r.status !== "invalid");
  return {
    trainings: trained.length,
    failed: trained.filter((r) => (r.status ?? "ok") !== "ok").length,
    training_time_s: Math.round(time * 10) / 10,
    llm_calls: usage?.calls ?? 0,
    input_tokens: usage?.input_tokens ?? 0,
    output_tokens: usage?.output_tokens ?? 0,
    cost_usd: usage?.cost_usd ?? 0,
  };
}

/** The LLM usage of these runs' rounds: the sum of each run's share; null unless every run that trained has one logged. */
function runsUsage(decisions: DecisionEntry[], runs: RunInfo[]): LlmUsage | null {
  const share = new Map<string, Record<string, number>>();
  for (const d of decisions) if (d.run_id && d.usage_run) share.set(d.run_id, d.usage_run);
  const trained = runs.filter((r) => r.status !== "invalid");
  if (trained.length === 0 || trained.some((r) => !share.has(r.run_id))) return null;
  const total: LlmUsage = { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
  for (const r of trained) {
    const u = share.get(r.run_id)!;
    total.calls += u.calls ?? 0;
    total.input_tokens += u.input_tokens ?? 0;
    total.output_tokens += u.output_tokens ?? 0;
    total.cost_usd += u.cost_usd ?? 0;
  }
  return total;
}

/** Totals over all searches: the last running total logged by each search. */
function usageTotals(decisions: DecisionEntry[]): LlmUsage | null {
  const last = new Map<string, Record<string, number>>();
  for (const e of decisions) last.set(e.search_id, e.usage_total);
  if (last.size === 0) return null;
  const total: LlmUsage = { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
  for (const u of last.values()) {
    total.calls += u.calls ?? 0;
    total.input_tokens += u.input_tokens ?? 0;
    total.output_tokens += u.output_tokens ?? 0;
    total.cost_usd += u.cost_usd ?? 0;
  }
  return total;
}

// ---- text ------------------------------------------------------------------------------------

type Colors = ReturnType<typeof pc.createColors>;

function duration(s: number): string {
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m` : `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

function cut(text: string, n: number): string {
  return text.length > n ? text.slice(0, n - 3) + "..." : text;
}

export function renderStatus(d: StatusData, c: Colors): string {
  const out: string[] = [];
  if (d.fidelity) out.push(c.bold(`fidelity ${d.fidelity}`));
  if (d.runs.length === 0) out.push("no runs yet");
  else out.push(table(d.runs, c));
  if (d.best) {
    const b = d.best;
    const val = b.n_seeds > 1 ? `val_mse ${fmt(b.val_mse_mean)} ± ${fmt(b.val_mse_sd)} over ${b.n_seeds} seeds` : `val_mse ${fmt(b.val_mse)}`;
    out.push(c.bold(c.green(`best: ${b.run_id} ${val}`)) + `; test_mse (held out) ${fmt(b.test_mse)}; config: ${b.config}`);
  } else out.push("best: none yet");
  if (d.ensemble) out.push(`${ensembleLine(d.ensemble)} (nas-graph ensemble --forecast-csv PATH writes its test forecast)`);
  const t = d.totals;
  const llm = t.llm_calls > 0 ? `${t.llm_calls} LLM calls, ${t.input_tokens} in / ${t.output_tokens} out tokens, $${t.cost_usd.toFixed(4)}` : "no LLM calls";
  const f = d.fidelity_totals;
  if (f) {
    // runs of several fidelities: this one's own totals, then the workspace's, each saying what it covers
    const u = f.usage;
    const share = u === null ? "LLM share not logged" : u.cost_usd > 0 || u.calls > 0 ? `$${u.cost_usd.toFixed(4)} of LLM cost (its rounds' share)` : "no LLM calls";
    out.push(`totals at this fidelity: ${f.trainings} trainings (${f.failed} failed), ${duration(f.training_time_s)} training; ${share}`);
    out.push(`totals over all fidelities: ${t.trainings} trainings (${t.failed} failed), ${duration(t.training_time_s)} training; ${llm}`);
  } else out.push(`totals: ${t.trainings} trainings (${t.failed} failed), ${duration(t.training_time_s)} training; ${llm}`);
  out.push(...noiseLines(d.noise), ...baselineLines(d.baselines));
  if (d.study) {
    const s = d.study;
    out.push(s.error ? c.yellow(`optuna study: the last update failed (${s.error}); rebuild it with 'python -m nas_agent --system-dir ${d.system_dir} study'`)
      : `optuna study${s.trials !== null ? ` (${s.trials} trials)` : ""}: optuna-dashboard sqlite:///${s.path}`);
  }
  const cap = (d.search?.options as { maxCostUsd?: number | null } | undefined)?.maxCostUsd;
  out.push(d.search ? `last search: ${d.search.search_id} (${d.search.status})${cap != null ? `, LLM cost cap $${cap}` : ""}` : "no search yet: start one with 'nas-graph run'");
  if (d.persistence_val_mse !== null) out.push(`persistence (repeat the last value) on this task: val_mse ${fmt(d.persistence_val_mse)}`);
  if (d.other_fidelities.length > 0) {
    out.push(c.dim(`not shown (another task or epoch cap, not comparable): ${d.other_fidelities.map((f) => `${f.runs} run(s) at ${f.fidelity}`).join("; ")}; pick one with --fidelity N (its epoch cap)`));
  }
  out.push(c.dim("Δ best: the gain over the best config's mean val_mse, as the verdicts state it (+ = lower)."));
  out.push(c.dim("test_mse is held out: recorded and shown, never used to choose a run."));
  return out.join("\n");
}

function table(rows: StatusRow[], c: Colors): string {
  const seeded = rows.some((r) => r.config.n > 1);
  const head = ["run", "step", "planner", "val_mse", ...(seeded ? ["mean ± sd (n)"] : []), "Δ best", "test_mse (held out)", "verdict", "plan"];
  const body = rows.map((r) => {
    const group = r.config.n > 1 ? `${fmt(r.config.mean)} ± ${fmt(r.config.sd)} (${r.config.n})` : "";
    const delta = r.delta_pct === null ? "-" : r.best_config ? "best" : `${r.delta_pct >= 0 ? "+" : ""}${r.delta_pct.toFixed(1)}%`;
    const step = r.kind === "repeat" ? `repeat${r.seed !== null ? ` s${r.seed}` : ""}` : (r.step_type ?? "-");
    const verdict = r.verdict === "failed" ? `failed (${r.status})` : r.verdict + (r.overridden ? " (override)" : "");
    return [(r.best_config ? "*" : " ") + r.run_id, step, r.planner ?? "-", fmt(r.val_mse), ...(seeded ? [group] : []), delta, fmt(r.test_mse), verdict, cut(r.plan, 60)];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd();
  const paint = (r: StatusRow, text: string) => (r.best_config ? c.bold(c.green(text)) : r.verdict === "failed" ? c.red(text) : text);
  return [c.bold(line(head)), ...body.map((b, i) => paint(rows[i], line(b)))].join("\n");
}

function noiseLines(noise: unknown): string[] {
  if (!noise || typeof noise !== "object") return [];
  return Object.entries(noise as Record<string, Record<string, unknown>>).map(([fid, n]) => {
    const rel = finite(n?.rel_sd) ? ` (relative ${(n.rel_sd * 100).toFixed(1)}%, mean ${fmt(n.mean as number)})` : "";
    return `noise [${fid}]: val_mse sd ${fmt(n?.sd as number)}${rel} over ${n?.n ?? "?"} seeds`;
  });
}

/** One line per task: the naive forecasts a model must beat (test MSE labelled as held out). */
function baselineLines(baselines: unknown): string[] {
  if (!baselines || typeof baselines !== "object") return [];
  return Object.entries(baselines as Record<string, NaiveBaselines>).map(
    ([task, b]) =>
      `naive baselines on ${task}: persistence val_mse=${fmt(b.persistence?.val_mse)} (held-out test_mse=${fmt(b.persistence?.test_mse)}); ` +
      `seasonal naive${b.period ? `, period ${b.period}` : ""}: val_mse=${fmt(b.seasonal_naive?.val_mse)} (held-out test_mse=${fmt(b.seasonal_naive?.test_mse)})`,
  );
}
