/**
 * The graph state: plain JSON only (it is checkpointed to SQLite). Never put env, keys or
 * class instances here; large data lives in files (agent_state.json, runs/).
 *
 * One round = planner -> trial x K (LangGraph Send fan-out, one checkpointed task per trial)
 * -> evaluator -> [review] -> update_state. A round trains up to --parallel K trials: repeats
 * of configs whose verdict waits for more seeds first, then the baseline's seeds, then new
 * proposals. Every training counts against max_iterations (the training budget).
 *
 * | field              | set by        | meaning |
 * | ------------------ | ------------- | ------- |
 * | search_id          | run command   | thread id of this search (also recorded per run) |
 * | max_iterations     | run command   | the budget: trainings in this search, baseline seeds and repeats included |
 * | fidelity           | run command   | the comparability key of this search's runs (nas_agent begin-search) |
 * | baseline_seeds     | run command   | the planned baseline's seeds in training order (begin-search's: the helper owns which seeds come next); [] with no baseline to plan |
 * | baseline_needed    | run command   | config.py is not the incumbent at this fidelity: train it first |
 * | iteration          | update_state  | trainings finished in this search |
 * | round              | planner       | rounds planned so far |
 * | planner_call       | planner       | proposals asked of the planner so far (the mock replays by it) |
 * | baseline_done      | planner       | the baseline config's trials have been planned |
 * | trials             | planner       | this round's trials (Trial), run ids reserved up front |
 * | stop_requested     | planner       | the planner answered stop: end after this round |
 * | repeat_queue       | update_state  | configs waiting for another seed before their verdict |
 * | results            | trial         | run_id -> TrialResult (merged; a re-run overwrites its own key) |
 * | verdicts           | evaluator/review | this round's verdicts, in evaluation order |
 * | incumbent          | update_state  | the incumbent config's seeds (ConfigEvidence), carried so nodes need not re-derive it |
 * | best_run_id, n_runs | update_state | compact view of agent_state.json (the best mean val_mse is incumbent.val_mean) |
 * | usage              | planner/evaluator | LLM token and cost totals of this search |
 * | llm_max_call_usd   | planner/evaluator | cost of the largest single LLM call of this search (the cost cap's estimate) |
 * | llm_fallbacks      | planner       | planner rounds of this search that fell back to the optimizer because the LLM failed |
 * | llm_failures_in_row | planner      | such rounds in a row (reset by an LLM answer); --max-llm-failures stops the search |
 * | timings            | each node     | seconds spent per node in the current round |
 *
 * The search's options are not state: they are search.json's (SearchOptions, src/workspace.ts),
 * the one shape from the CLI to the nodes, which read them from GraphDeps.options (./deps.ts).
 * A checkpoint of an older version holds an `options` channel of its own: it is ignored.
 */
import { Annotation } from "@langchain/langgraph";
import type { ConfigChange, ConfigEvidence, LlmUsage } from "../contracts.js";

export type TrialKind = "baseline" | "proposal" | "repeat";

/** One training of a round. Paths are relative to the workspace. */
export interface Trial {
  run_id: string;
  kind: TrialKind;
  /** The config's first run, for seeds after the first (baseline seeds and repeats). */
  repeat_of: string | null;
  /** train.py --seed; null trains the config's own seed. */
  seed: number | null;
  /** The config file the changes apply to (a repeat copies it as is). */
  base: string;
  config_changes: ConfigChange[];
  step_type: string;
  plan: string;
  reason: string;
  planner_name: string | null;
  fallback: string | null;
  advice: string | null;
  /** The trial's config as the helper rendered it while planning (base + changes): the trial writes it as is, no request. */
  rendered?: RenderedConfig | null;
}

/** A config file the helper rendered (config-apply --dry-run --with-text, suggest --render-base). */
export interface RenderedConfig {
  text: string;
  diff: string;
}

export interface TrialResult {
  run_id: string;
  /** ok / diverged / crashed / interrupted / timeout / invalid */
  run_status: string;
  run_error: string | null;
  training_success: boolean;
  diff: string;
  train_s: number;
  trial_s: number;
}

export interface Verdict {
  run_id: string;
  accept: boolean;
  /** Train the config again with a new seed before deciding. */
  repeat: boolean;
  /** Inside the noise, unconfirmed: recorded as promising, never the incumbent. */
  promising?: boolean;
  /** A proposal became the first incumbent: this many more seeds of it train next, as a baseline's. */
  baseline_seeds?: number;
  reason: string;
  feedback: string;
  source: string;
  improvement_pct: number | null;
}

/** What a review pause (run --review) shows: the interrupt's value, kept in the checkpoint. */
export interface ReviewPayload {
  run_id: string;
  metrics: Record<string, unknown> | null;
  verdict: { accept: boolean; repeat: boolean; reason: string; status: string | null };
  /** Trainings the budget has left for a repeat of this run's config (0: accept or reject only; absent in older checkpoints). */
  repeats_left?: number;
}

/** The human's answer to a review pause (resume --accept / --reject / --repeat): the resume value. */
export interface ReviewAnswer {
  accept?: unknown;
  repeat?: unknown;
}

export interface RepeatRequest {
  /** The config's first run: its config_used.py is trained again. */
  root_run_id: string;
  seed: number;
  kind: TrialKind;
  plan: string;
}

export interface RoundTimings {
  planner_s?: number;
  planner_llm_s?: number;
  train_s?: number;
  evaluator_s?: number;
  evaluator_llm_s?: number;
  review_s?: number;
  update_s?: number;
  prompt_chars?: number;
  llm_attempts?: number;
  round_usage?: LlmUsage;
}

export const ZERO_USAGE: LlmUsage = { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 };

export function addUsage(a: LlmUsage, b: LlmUsage | undefined | null): LlmUsage {
  if (!b) return a;
  return {
    calls: a.calls + (b.calls ?? 0),
    input_tokens: a.input_tokens + (b.input_tokens ?? 0),
    output_tokens: a.output_tokens + (b.output_tokens ?? 0),
    cost_usd: a.cost_usd + (b.cost_usd ?? 0),
  };
}

/** Last-write-wins channel with a default. */
function field<T>(init: () => T) {
  return Annotation<T>({ reducer: (_old: T, next: T) => next, default: init });
}

export const GraphStateAnnotation = Annotation.Root({
  search_id: field<string>(() => ""),
  max_iterations: field<number>(() => 20),
  fidelity: field<string | null>(() => null),
  baseline_seeds: field<number[]>(() => []),
  baseline_needed: field<boolean>(() => true),
  iteration: field<number>(() => 0),
  round: field<number>(() => 0),
  planner_call: field<number>(() => 0),
  baseline_done: field<boolean>(() => false),
  trials: field<Trial[]>(() => []),
  stop_requested: field<boolean>(() => false),
  repeat_queue: field<RepeatRequest[]>(() => []),
  // Each trial task writes its own key, so parallel tasks merge and a re-run overwrites itself.
  results: Annotation<Record<string, TrialResult>>({
    reducer: (old: Record<string, TrialResult>, next: Record<string, TrialResult>) => ({ ...old, ...next }),
    default: () => ({}),
  }),
  verdicts: field<Verdict[]>(() => []),
  incumbent: field<ConfigEvidence | null>(() => null),
  best_run_id: field<string | null>(() => null),
  n_runs: field<number>(() => 0),
  usage: field<LlmUsage>(() => ({ ...ZERO_USAGE })),
  llm_max_call_usd: field<number>(() => 0),
  llm_fallbacks: field<number>(() => 0),
  llm_failures_in_row: field<number>(() => 0),
  timings: field<RoundTimings>(() => ({})),
});

export type GraphState = typeof GraphStateAnnotation.State;
export type GraphUpdate = typeof GraphStateAnnotation.Update;

/** What a trial task receives through Send: the trial and what it needs of the state. */
export interface TrialInput {
  trial: Trial;
  search_id: string;
  /** 0-based index among the round's trials (GPU round-robin, thread split). */
  slot: number;
}
