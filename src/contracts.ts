/**
 * The seams between the graph (src/graph, src/commands) and the decision makers
 * (src/planners, src/evaluation). Plain JSON types plus the zod schemas the LLM answers in.
 * See docs/contracts.md for the Python side.
 */
import { z } from "zod";

export const STEP_TYPES = ["small", "medium", "radical", "stop"] as const;
export type StepType = (typeof STEP_TYPES)[number];

export const ConfigChangeSchema = z.object({
  key: z
    .string()
    .describe('Dotted config key from the search space, e.g. "training.optimizer_params.lr" or "model.d_model"'),
  value: z
    .union([z.number(), z.string(), z.boolean()])
    .describe('New literal value; class keys take an allowed class name such as "optim.AdamW"'),
});
export type ConfigChange = z.infer<typeof ConfigChangeSchema>;

export const PlannerDecisionSchema = z.object({
  step_type: z
    .enum(STEP_TYPES)
    .describe("small: tune lr/batch/dropout/clip; medium: architecture; radical: optimizer/scheduler/loss/lengths; stop: end the search"),
  plan: z.string().describe("What to try next, in one or two human-readable sentences"),
  reason: z.string().describe("Why this should help, citing the run history"),
  config_changes: z
    .array(ConfigChangeSchema)
    .describe("The changes to apply to config.py, relative to the best run's config; empty only for stop"),
});
export type PlannerDecision = z.infer<typeof PlannerDecisionSchema>;

export const EvaluatorDecisionSchema = z.object({
  accept: z.boolean().describe("true to make this run the new incumbent"),
  reason: z.string().describe("Justification for accept/reject"),
  feedback: z.string().describe("Suggestions for the next iteration"),
});
export type EvaluatorDecision = z.infer<typeof EvaluatorDecisionSchema>;

/** Token and cost totals; summed across calls. */
export interface LlmUsage {
  calls: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

/** One entry of agent_state.json's runs (Python owns the file; unknown fields are kept). */
export interface RunInfo {
  run_id: string;
  val_mse: number | null;
  test_mse: number | null;
  history_summary: string | null;
  accepted: boolean;
  config_changes: Record<string, number | string | boolean>;
  status?: string;
  step_type?: string;
  plan?: string;
  reason?: string;
  evaluation_reason?: string;
  feedback?: string;
  train_mse?: number | null;
  test_mae?: number | null;
  best_epoch?: number | null;
  epochs_run?: number | null;
  params?: Record<string, unknown>;
  planner?: string;
  error?: string | null;
  [extra: string]: unknown;
}

/** Naive forecasts of one task, scored like train.py scores a model (nas_agent/baselines.py). */
export interface NaiveBaselines {
  task?: Record<string, unknown>;
  /** Steps of the seasonal-naive period (one day: 24 for hourly data). */
  period: number;
  persistence: { val_mse: number; test_mse: number };
  seasonal_naive: { val_mse: number; test_mse: number };
}

export interface AgentStateFile {
  max_runs: number;
  best_run_id: string | null;
  runs: RunInfo[];
  /** Task key (e.g. "ETTh1.csv MS OT->96 8640/2880/2880") -> its naive baselines. */
  baselines?: Record<string, NaiveBaselines>;
  [extra: string]: unknown;
}

/** search_space.json, as declared (see docs/contracts.md). */
export interface ParamSpec {
  type: "float" | "int" | "bool" | "str" | "class";
  low?: number;
  high?: number;
  log?: boolean;
  choices?: Array<number | string>;
  step: "small" | "medium" | "radical";
  params_key?: string;
  /** Conditional key: applies only while each named key has one of the listed values. */
  when?: Record<string, Array<number | string | boolean>>;
  help?: string;
}
export interface SearchSpace {
  params: Record<string, ParamSpec>;
  class_defaults: Record<string, Record<string, unknown>>;
  /** Model family -> {dotted key: value} written when model.family switches to it. */
  family_defaults?: Record<string, Record<string, unknown>>;
  constraints: Array<{ rule: string; keys: string[]; help?: string }>;
}

/** One request/answer exchange with an LLM (raw answer text, why it was rejected, usage). */
export interface LlmAttempt {
  /** Raw answer text: the tool-call arguments, or the message text when there was no call. */
  raw: string;
  /** Why the answer was rejected (quoted in the re-ask); null for the accepted answer. */
  error: string | null;
  usage: LlmUsage;
}

/** What every planner receives. The graph builds it; planners never touch files. */
export interface PlannerContext {
  /** 1-based number of the iteration being planned (the baseline run is not planned). */
  iteration: number;
  maxIterations: number;
  /** 0-based count of planner calls in this search so far (the mock planner replays by it). */
  plannerCall: number;
  agentState: AgentStateFile;
  configText: string;
  searchSpace: SearchSpace;
  lastFeedback: string | null;
  targetValMse: number | null;
  /** Dry-run of the Python config helper: [] when the changes would apply cleanly. */
  validateChanges: (changes: ConfigChange[]) => Promise<string[]>;
  /** Optuna's proposal for this iteration (stateless, rebuilt from agent_state.json). */
  suggest: (sampler: "tpe" | "random") => Promise<PlannerDecision>;
  signal?: AbortSignal;
}

export interface PlannerResult {
  decision: PlannerDecision;
  /** Who decided: llm | mock | optuna | random | llm+optuna | optuna (fallback) ... */
  planner: string;
  usage: LlmUsage;
  attempts: number;
  /** Set when the LLM failed and an offline suggestion was used instead. */
  fallback?: string | null;
  /** Hybrid planner: what the LLM did with the TPE advice. */
  advice?: "adopted" | "modified" | "ignored" | null;
  /** Every LLM attempt of this decision (raw text, rejection reason, usage); null without LLM. */
  transcript?: LlmAttempt[] | null;
  /** Size of the prompt sent to the LLM, in characters (decision log); null without LLM. */
  prompt_chars?: number | null;
}

export type Planner = (ctx: PlannerContext) => Promise<PlannerResult>;

/** metrics.json of a finished run (see docs/contracts.md). */
export interface RunMetrics {
  val_mse: number;
  test_mse: number;
  test_mae: number;
  train_mse: number;
  best_epoch: number;
  epochs_run: number;
  max_epochs: number;
  [extra: string]: unknown;
}

export interface EvaluationInput {
  runId: string;
  /** null when training failed. */
  metrics: RunMetrics | null;
  failure: string | null;
  best: { run_id: string; val_mse: number; test_mse: number | null } | null;
  changes: ConfigChange[];
  historySummary: string;
  /** Persistence (repeat the last value) on this run's task, validation split; null if unknown. */
  persistenceValMse?: number | null;
  /** Aborts an LLM consultation (Ctrl-C). */
  signal?: AbortSignal;
}

export interface EvaluationResult {
  accept: boolean;
  reason: string;
  feedback: string;
  /** rules | llm | baseline | failure | rules (no LLM) | rules (LLM failed) */
  source: string;
  usage: LlmUsage;
  /** The val_mse improvement over the best run in percent; null for baselines and failures. */
  improvement_pct?: number | null;
  /** Every LLM attempt of this evaluation; null when no LLM was asked. */
  transcript?: LlmAttempt[] | null;
}
