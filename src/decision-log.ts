/**
 * The JSONL decision log (`.nas-graph/decisions.jsonl`): one line per finished iteration with
 * the decision, verdict, node timings, prompt size and LLM usage. Appending is idempotent:
 * a re-run of update_state after a crash does not write the same iteration twice.
 */
import fs from "node:fs";
import path from "node:path";

export interface DecisionEntry {
  search_id: string;
  /** The training's number in its search (baseline seeds and repeats count). */
  iteration: number;
  round: number;
  run_id: string | null;
  kind: string;
  step_type: string | null;
  planner: string | null;
  fallback: string | null;
  changes: Array<{ key: string; value: unknown }>;
  seed: number | null;
  run_status: string | null;
  accepted: boolean;
  repeat: boolean;
  evaluation_source: string | null;
  evaluation_reason: string;
  best_run_id: string | null;
  best_val_mse: number | null;
  timings: Record<string, unknown>;
  usage_total: Record<string, number>;
  at: string;
}

export function appendDecision(file: string, entry: DecisionEntry): void {
  if (readDecisions(file).some((e) => e.search_id === entry.search_id && e.iteration === entry.iteration)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, JSON.stringify(entry) + "\n");
}

export function readDecisions(file: string): DecisionEntry[] {
  let text = "";
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out: DecisionEntry[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as DecisionEntry);
    } catch {
      // a torn last line from a killed process: skip it
    }
  }
  return out;
}
