/** Human-readable progress on stderr (stdout is kept for --json summaries). */
import type { LlmUsage } from "./contracts.js";

const isTty = Boolean(process.stderr.isTTY) && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (isTty ? `\u001b[${code}m${s}\u001b[0m` : s);
const bold = paint("1");
const dim = paint("2");
const green = paint("32");
const red = paint("31");
const yellow = paint("33");

function say(line: string): void {
  process.stderr.write(line + "\n");
}

export const ui = {
  notice(msg: string): void {
    say(dim(`nas-graph: ${msg}`));
  },
  warn(msg: string): void {
    say(yellow(`warning: ${msg}`));
  },
  iteration(n: number, max: number, runId: string | null, cost?: { costUsd: number; capUsd: number | null }): void {
    say("");
    const spent = cost && (cost.capUsd !== null || cost.costUsd > 0) ? `  LLM $${cost.costUsd.toFixed(4)}${capText(cost.capUsd)}` : "";
    say(bold(`== iteration ${n}/${max}${runId ? `  (${runId})` : ""}${spent} ==`));
  },
  plan(stepType: string, plan: string, reason: string, planner: string | null, fallback: string | null): void {
    say(`${bold("plan")} [${stepType}${planner && planner !== stepType ? `, ${planner}` : ""}] ${plan}`);
    if (reason) say(dim(`  why: ${reason}`));
    if (fallback) say(yellow(`  LLM planner failed (${fallback}); used the offline suggestion`));
  },
  diff(diff: string): void {
    for (const line of diff.split("\n").filter(Boolean)) {
      if (line.startsWith("+") && !line.startsWith("+++")) say(green(`  ${line}`));
      else if (line.startsWith("-") && !line.startsWith("---")) say(red(`  ${line}`));
      else say(dim(`  ${line}`));
    }
  },
  trainLine(runId: string, line: string): void {
    say(dim(`  [${runId}] `) + line);
  },
  verdict(runId: string, accept: boolean, status: string | null, reason: string, repeat = false): void {
    const tag = repeat ? yellow("ANOTHER SEED") : accept ? green("ACCEPTED") : red("REJECTED");
    say(`${bold("verdict")} ${runId} ${tag}${status && status !== "ok" ? ` (${status})` : ""}: ${reason}`);
  },
  best(bestRunId: string | null, bestValMse: number | null, nRuns: number, sd: number | null = null, seeds = 1): void {
    const spread = sd != null && seeds >= 2 ? ` ± ${fmt(sd)}` : "";
    const best = bestRunId ? `${bestRunId} val_mse=${fmt(bestValMse)}${spread} (mean of ${seeds} seed${seeds === 1 ? "" : "s"})` : "none yet";
    say(`${bold("best")} ${best}  (${nRuns} runs recorded)`);
  },
  usage(u: LlmUsage, capUsd: number | null = null): void {
    if (u.calls === 0) return;
    say(dim(`  LLM: ${u.calls} calls, ${u.input_tokens} in / ${u.output_tokens} out tokens, $${u.cost_usd.toFixed(4)}${capText(capUsd)}`));
  },
};

/** " of $X cap" for a --max-cost-usd cap, else "". */
export function capText(capUsd: number | null | undefined): string {
  return capUsd != null ? ` of $${capUsd} cap` : "";
}

export function fmt(x: number | null | undefined, digits = 4): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "-";
}

export type Ui = typeof ui;
