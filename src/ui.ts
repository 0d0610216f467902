/**
 * Human-readable progress on stderr (stdout is kept for --json summaries). Colours come from
 * picocolors (on when stderr is a terminal, off with NO_COLOR; FORCE_COLOR forces them);
 * training bars from src/progress.ts, live only on an interactive stderr without --json.
 */
import pc from "picocolors";
import type { LlmUsage } from "./contracts.js";
import { BarRenderer, clock, PlainRenderer, type Renderer, type TrainingView } from "./progress.js";
import { formatBest, type BestSummary } from "./runs-view.js";

function colorsOn(): boolean {
  const env = process.env;
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return true;
  return Boolean(process.stderr.isTTY) && env.TERM !== "dumb";
}

const c = pc.createColors(colorsOn());
const write = (line: string) => void process.stderr.write(line + "\n");
let interactive = Boolean(process.stderr.isTTY) && process.env.TERM !== "dumb";
let renderer: Renderer = new PlainRenderer(write, c);
let bars: Promise<Renderer> | null = null;
const started = performance.now();

/** --json (or any caller that wants a log): plain lines, no animation. */
export function configureUi(opts: { json?: boolean }): void {
  if (opts.json) interactive = false;
}

function say(line: string): void {
  renderer.log(line);
}

/** The bar renderer, loaded on first use (cli-progress is not needed outside a terminal). */
async function liveRenderer(): Promise<Renderer> {
  bars ??= import("cli-progress").then((m) => {
    renderer = new BarRenderer((m.default ?? m) as typeof import("cli-progress"), process.stderr, c);
    return renderer;
  });
  return bars;
}

export interface IterationHeader {
  n: number;
  max: number;
  runId: string | null;
  planner: string | null;
  /** baseline | repeat | proposal: a baseline seed or a repeat is labelled as such, with its seed, not by a planner. */
  kind?: string;
  repeatOf?: string | null;
  seed?: number | null;
  best: BestSummary | null;
  costUsd: number;
  /** The search's cost cap, shown beside the cost when set. */
  maxCostUsd?: number | null;
  /** Planner rounds of this search that fell back to the optimizer because the LLM failed. */
  llmFallbacks?: number;
}

export const ui = {
  notice(msg: string): void {
    say(c.dim(`nas-graph: ${msg}`));
  },
  warn(msg: string): void {
    say(c.yellow(`warning: ${msg}`));
  },
  /** `iteration 4/20 · run_0005 · planner optuna · best 0.1812 ± 0.0040 (run_0002, 3 seeds) · $0.031 of $5 cap · 41:05` */
  iteration(h: IterationHeader): void {
    const parts = [c.bold(`iteration ${h.n}/${h.max}`)];
    if (h.runId) parts.push(h.runId);
    const seed = h.seed != null ? ` (seed ${h.seed})` : "";
    if (h.kind === "repeat") parts.push(`repeat of ${h.repeatOf ?? "a candidate"}${seed}`);
    else if (h.kind === "baseline") parts.push(`baseline${seed}`);
    else if (h.planner) parts.push(`planner ${h.planner}`);
    if (h.llmFallbacks) parts.push(c.yellow(`${h.llmFallbacks} LLM fallback${h.llmFallbacks === 1 ? "" : "s"}`));
    parts.push(`best ${formatBest(h.best)}`);
    parts.push(`${usd(h.costUsd)}${capText(h.maxCostUsd)}`);
    parts.push(clock((performance.now() - started) / 1000));
    say("");
    say(parts.join(c.dim(" · ")));
  },
  plan(stepType: string, plan: string, reason: string, planner: string | null, fallback: string | null): void {
    // a baseline seed or a repeat is no planner's proposal: no planner beside it
    const by = planner && planner !== stepType && stepType !== "repeat" && stepType !== "baseline" ? `, ${planner}` : "";
    say(`${c.bold("plan")} [${stepType}${by}] ${plan}`);
    if (reason) say(c.dim(`  why: ${reason}`));
  },
  /** The one line of a planner round whose LLM call failed: the cause, and that the optimizer planned it. */
  llmFallback(cause: string, inRow: number, maxInRow: number): void {
    const short = cause.length > 200 ? `${cause.slice(0, 197)}...` : cause;
    say(c.yellow(`LLM planner failed (${short}); this round uses the optimizer (optuna TPE) instead [${inRow} of ${maxInRow} failed rounds in a row allowed, --max-llm-failures]`));
  },
  diff(diff: string): void {
    for (const line of diff.split("\n").filter(Boolean)) {
      if (line.startsWith("+") && !line.startsWith("+++")) say(c.green(`  ${line}`));
      else if (line.startsWith("-") && !line.startsWith("---")) say(c.red(`  ${line}`));
      else say(c.dim(`  ${line}`));
    }
  },
  /** The view of one training (a live bar on a terminal, plain lines otherwise). */
  async training(runId: string): Promise<TrainingView> {
    return (interactive ? await liveRenderer() : renderer).training(runId);
  },
  verdict(runId: string, accept: boolean, status: string | null, reason: string, repeat = false): void {
    const tag = repeat
      ? c.yellow("ANOTHER SEED")
      : accept
        ? c.green("ACCEPTED")
        : status && status !== "ok"
          ? c.red("FAILED")
          : c.red("REJECTED");
    say(`${c.bold("verdict")} ${runId} ${tag}${status && status !== "ok" ? ` (${status})` : ""}: ${reason}`);
  },
  best(bestRunId: string | null, bestValMse: number | null, nRuns: number, sd: number | null = null, seeds = 1): void {
    const spread = sd != null && seeds >= 2 ? ` ± ${fmt(sd)}` : "";
    const best = bestRunId ? `${bestRunId} val_mse=${fmt(bestValMse)}${spread} (mean of ${seeds} seed${seeds === 1 ? "" : "s"})` : "none yet";
    say(`${c.bold("best")} ${best}  (${nRuns} run${nRuns === 1 ? "" : "s"} recorded)`);
  },
  /** The LLM usage so far; with `once`, not again when the same line was the last usage shown (the final summary after the last round). */
  usage(u: LlmUsage, capUsd: number | null = null, opts: { once?: boolean } = {}): void {
    if (u.calls === 0) return;
    const line = `  LLM: ${u.calls} call${u.calls === 1 ? "" : "s"}, ${u.input_tokens} in / ${u.output_tokens} out tokens, ${usd(u.cost_usd, 4)}${capText(capUsd)}`;
    if (opts.once && line === lastUsage) return;
    lastUsage = line;
    say(c.dim(line));
  },
};

let lastUsage: string | null = null;

/** A cost in US dollars with `digits` decimals, and enough more for a small non-zero amount: $0.031, $0.0002, <$0.0001. */
export function usd(x: number, digits = 3): string {
  if (x > 0 && x < 0.0001) return "<$0.0001";
  if (x > 0 && x < 10 ** -digits) return `$${x.toFixed(4)}`;
  return `$${x.toFixed(digits)}`;
}

/** " of $X cap" for a --max-cost-usd cap, else "". */
export function capText(capUsd: number | null | undefined): string {
  return capUsd != null ? ` of $${capUsd} cap` : "";
}

export function fmt(x: number | null | undefined, digits = 4): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "-";
}

export type Ui = typeof ui;
