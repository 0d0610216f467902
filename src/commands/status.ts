/** `nas-graph status`: the runs table, the best run and where its config is, LLM usage totals. */
import path from "node:path";
import type { LlmUsage, NaiveBaselines, RunInfo } from "../contracts.js";
import { readDecisions } from "../decision-log.js";
import { fmt } from "../ui.js";
import { openWorkspace, readAgentState, readSearch } from "../workspace.js";

export interface StatusOptions {
  systemDir: string;
  json?: boolean;
}

interface Row {
  run_id: string;
  val_mse: number | null;
  test_mse: number | null;
  accepted: boolean;
  status: string;
  step_type: string | null;
  plan: string;
}

export async function statusCommand(opts: StatusOptions): Promise<void> {
  const ws = openWorkspace(opts.systemDir);
  const state = readAgentState(ws);
  const rows = state.runs.map(toRow);
  const best = state.runs.find((r) => r.run_id === state.best_run_id) ?? null;
  const search = readSearch(ws);
  const report = {
    system_dir: ws.dir,
    runs: rows,
    best: best
      ? { run_id: best.run_id, val_mse: best.val_mse, test_mse: best.test_mse, config: path.join("runs", best.run_id, "config_used.py") }
      : null,
    search: search ? { search_id: search.thread_id, status: search.status, started_at: search.started_at, options: search.options } : null,
    usage: usageTotals(ws.decisions),
    baselines: state.baselines ?? {},
  };
  if (opts.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    return;
  }
  process.stdout.write(table(rows, state.best_run_id) + "\n");
  const lines = [
    best ? `best: ${best.run_id} val_mse=${fmt(best.val_mse)} test_mse=${fmt(best.test_mse)}; config: ${report.best!.config}` : "best: none yet",
    search ? `last search: ${search.thread_id} (${search.status})` : "no search yet: start one with 'nas-graph run'",
    ...baselineLines(report.baselines),
  ];
  if (report.usage) {
    const u = report.usage;
    lines.push(`LLM usage: ${u.calls} calls, ${u.input_tokens} in / ${u.output_tokens} out tokens, $${u.cost_usd.toFixed(4)}`);
  }
  process.stdout.write(lines.join("\n") + "\n");
}

function toRow(r: RunInfo): Row {
  const plan = String(r.plan ?? "").replace(/\s+/g, " ");
  return {
    run_id: r.run_id,
    val_mse: r.val_mse,
    test_mse: r.test_mse,
    accepted: Boolean(r.accepted),
    status: String(r.status ?? "ok"),
    step_type: r.step_type ?? null,
    plan: plan.length > 60 ? plan.slice(0, 57) + "..." : plan,
  };
}

function table(rows: Row[], bestId: string | null): string {
  if (rows.length === 0) return "no runs yet";
  const head = ["run", "val_mse", "test_mse", "acc", "status", "step", "plan"];
  const body = rows.map((r) => [
    (r.run_id === bestId ? "*" : " ") + r.run_id,
    fmt(r.val_mse),
    fmt(r.test_mse),
    r.accepted ? "yes" : "no",
    r.status,
    r.step_type ?? "-",
    r.plan,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  return [line(head), ...body.map(line)].join("\n");
}

/** Totals over all searches: the last running total logged by each search. */
function usageTotals(file: string): LlmUsage | null {
  const last = new Map<string, Record<string, number>>();
  for (const e of readDecisions(file)) last.set(e.search_id, e.usage_total);
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

/** One line per task: the naive forecasts a model must beat (test MSE labelled as held out). */
function baselineLines(baselines: Record<string, NaiveBaselines>): string[] {
  return Object.entries(baselines).map(
    ([task, b]) =>
      `naive baselines on ${task}: persistence val_mse=${fmt(b.persistence.val_mse)} (held-out test_mse=${fmt(b.persistence.test_mse)}); ` +
      `seasonal naive, period ${b.period}: val_mse=${fmt(b.seasonal_naive.val_mse)} (held-out test_mse=${fmt(b.seasonal_naive.test_mse)})`,
  );
}
