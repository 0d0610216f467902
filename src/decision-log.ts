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
  /** The fields `nas-graph rebuild` needs to restore the run's entry in agent_state.json (absent in older logs). */
  plan?: string | null;
  reason?: string | null;
  repeat_of?: string | null;
  feedback?: string | null;
  promising?: boolean;
  error?: string | null;
  advice?: string | null;
  max_epochs_cap?: number | null;
  /** --max-rise of the search (the history summary's overfitting rule); null: the default. */
  max_rise_pct?: number | null;
  best_run_id: string | null;
  best_val_mse: number | null;
  timings: Record<string, unknown>;
  usage_total: Record<string, number>;
  /** This run's equal share of its round's LLM usage (the round's K runs add up to it); the report's per-run cost. */
  usage_run?: Record<string, number>;
  at: string;
}

export function appendDecision(file: string, entry: DecisionEntry, warn?: (msg: string) => void): void {
  if (readDecisions(file, warn).some((e) => e.search_id === entry.search_id && e.iteration === entry.iteration)) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Each entry starts on a fresh line: a torn last line (a process killed mid-write) is closed
  // first, so it cannot swallow this entry.
  const lead = endsWithNewline(file) ? "" : "\n";
  fs.appendFileSync(file, lead + JSON.stringify(entry) + "\n");
}

function endsWithNewline(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return true; // no file yet
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    fs.readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    fs.closeSync(fd);
  }
}

/** Warned-about torn lines, once per file and line per process (readers run every iteration). */
const warned = new Set<string>();

/** The parsed entries; a torn line (a process killed mid-write) is skipped with a warning. */
export function readDecisions(file: string, warn?: (msg: string) => void): DecisionEntry[] {
  let text = "";
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out: DecisionEntry[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as DecisionEntry);
    } catch {
      const key = `${file}:${i + 1}`;
      if (warn && !warned.has(key)) warn(`skipped a torn line ${i + 1} of ${file} (a process was killed while writing it)`);
      warned.add(key);
    }
  });
  return out;
}
