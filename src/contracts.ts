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

/** The LLM's answer when a round has room for several trials (--parallel K > 1). */
export const PlannerBatchSchema = z.object({
  proposals: z
    .array(PlannerDecisionSchema)
    .describe("The proposals of this round: as many distinct configs as asked for, each with its own plan and reason; or one stop decision alone"),
});
export type PlannerBatch = z.infer<typeof PlannerBatchSchema>;

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
  config_id?: string | null;
  repeat_of?: string | null;
  seed?: number | null;
  kind?: "baseline" | "proposal" | "repeat" | null;
  fidelity?: string | null;
  [extra: string]: unknown;
}

/** One config's seeds at one fidelity (agent_state.json `configs`, derived by Python). */
export interface ConfigRecord {
  config_id: string | null;
  fidelity: string | null;
  root_run_id: string;
  family: string;
  run_ids: string[];
  seeds: Array<number | null>;
  val_values: number[];
  /** Held out: reported, never used for a decision. */
  test_values: number[];
  accepted: boolean;
  n: number;
  val_mean: number | null;
  val_sd: number | null;
  test_mean: number | null;
  noise_sd: number | null;
  noise_source: string | null;
  /** Degrees of freedom of the pooled sd behind noise_sd (absent in older states). */
  noise_dof?: number | null;
  /** Whose runs that sd pools: "family" (its family's alone) or "all" (every family's). */
  noise_pool?: "family" | "all" | null;
  /** The seed its next run trains: one past the largest seed any of its runs used (the helper's rule, config_stats.next_seed). */
  next_seed: number;
  /** With the search's --baseline-seeds in the request: the seeds it lacks to be measured like a baseline (that many minus the seeds it tried). */
  baseline_seeds_left?: number;
  /** With --baseline-seeds: those missing seeds themselves, in the order they train (the helper's rule, config_stats.missing_seeds). */
  missing_seeds?: number[];
  /** With the search's --max-repeats in the request: the further seeds it allows (that many minus the config's runs after its first). */
  repeats_left?: number;
}

/** The seed-to-seed spread of val_mse at one fidelity (agent_state.json `noise`). */
export interface NoiseRecord {
  sd: number;
  rel_sd: number | null;
  dof: number;
  n: number;
  mean: number;
  run_ids: string[];
  config_ids: Array<string | null>;
  by_family: Record<string, Omit<NoiseRecord, "by_family">>;
}

/** Naive forecasts of one task, scored like train.py scores a model (nas_agent/baselines.py). */
export interface NaiveBaselines {
  task?: Record<string, unknown>;
  /** Steps of the seasonal-naive period (one day: 24 for hourly data). */
  period: number;
  persistence: { val_mse: number; test_mse: number };
  seasonal_naive: { val_mse: number; test_mse: number };
}

/** The ensemble of one fidelity (agent_state.json `ensembles`, nas_agent/ensemble.py): weights chosen on val MSE only. */
export interface EnsembleRecord {
  fidelity: string;
  task_key: string;
  method: string;
  /** Weight = times added / steps; heaviest first. */
  members: Array<{ run_id: string; weight: number; count: number }>;
  steps: number;
  max_steps: number;
  val_mse: number;
  /** Held out: computed after the weights were fixed, never used to choose. */
  test_mse: number;
  /** The lowest-val single run of the library (its first greedy pick). */
  best_single: { run_id: string; val_mse: number; test_mse: number };
  n_candidates: number;
  /** Finished runs left out of the library (no or unusable predictions.npz). */
  skipped: Array<{ run_id: string; reason: string }>;
  created_at: string;
}

export interface AgentStateFile {
  max_runs: number;
  best_run_id: string | null;
  /** The current search's fidelity: best_run_id is chosen among its runs. */
  fidelity?: string | null;
  runs: RunInfo[];
  configs?: ConfigRecord[];
  noise?: Record<string, NoiseRecord>;
  /** Task key (e.g. "ETTh1.csv MS OT->96 8640/2880/2880") -> its naive baselines. */
  baselines?: Record<string, NaiveBaselines>;
  /** Fidelity -> the last ensemble selected at it (never a run: no reader of `runs` sees it). */
  ensembles?: Record<string, EnsembleRecord>;
  /** run_id -> its verdict label, the helper's one rule (config_stats.run_labels); written with every state. */
  verdicts?: Record<string, RunLabel>;
  [extra: string]: unknown;
}

/** A run's verdict label: failed (it did not train), accepted (its config is), promising (a gain inside the seed noise, unconfirmed) or rejected. */
export type RunLabel = "failed" | "accepted" | "promising" | "rejected";

/** A config record as evaluation evidence (null when it has no ok seed). */
export function evidenceOf(rec: ConfigRecord | null | undefined): ConfigEvidence | null {
  if (!rec || rec.n === 0 || rec.val_mean === null) return null;
  return {
    root_run_id: rec.root_run_id,
    val_values: rec.val_values,
    n: rec.n,
    val_mean: rec.val_mean,
    val_sd: rec.val_sd,
    noise_sd: rec.noise_sd,
    noise_source: rec.noise_source,
    noise_dof: rec.noise_dof ?? null,
    noise_pool: rec.noise_pool ?? null,
    family: rec.family,
  };
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
/** A family's training recipe from its paper or official scripts (search_space.json `recipes`). */
export interface FamilyRecipe {
  source: string;
  /** The epochs the source trains for (shown only: the search's epoch budget is its fidelity). */
  epochs?: number | null;
  values: Record<string, unknown>;
}
export interface SearchSpace {
  params: Record<string, ParamSpec>;
  class_defaults: Record<string, Record<string, unknown>>;
  /** Model family -> {dotted key: value} written when model.family switches to it. */
  family_defaults?: Record<string, Record<string, unknown>>;
  /** Model family -> its published training recipe, also written when model.family switches to it. */
  recipes?: Record<string, FamilyRecipe>;
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

/** The result of checking changes against the incumbent (a dry run of the Python config helper). */
export interface ChangeCheck {
  /** [] when the changes apply cleanly. */
  errors: string[];
  /** config_id of the resulting config (null when the changes do not apply). */
  configId: string | null;
}

/** What every planner receives. The graph builds it; planners never touch files. */
export interface PlannerContext {
  /** 1-based number of the next training (baseline seeds and repeats count too). */
  iteration: number;
  maxIterations: number;
  /** 0-based count of proposals asked of the planner in this search so far (the mock replays by it). */
  plannerCall: number;
  /** How many distinct proposals to return (--parallel fills a round with up to K trials). */
  batchSize: number;
  agentState: AgentStateFile;
  /** The fidelity of this search: prompts show only its runs. */
  fidelity: string | null;
  /** The incumbent config's seeds, or null before the baseline finished. */
  incumbent: ConfigEvidence | null;
  configText: string;
  searchSpace: SearchSpace;
  lastFeedback: string | null;
  targetValMse: number | null;
  /** Dry-run of the Python config helper against the incumbent's config. */
  checkChanges: (changes: ConfigChange[]) => Promise<ChangeCheck>;
  /** config_id -> the first run of every config already trained at this fidelity. */
  knownConfigs: Record<string, string>;
  /** Optuna's proposals for this round (stateless, rebuilt from agent_state.json). */
  suggest: (sampler: "tpe" | "random", count: number) => Promise<PlannerDecision[]>;
  signal?: AbortSignal;
}

/** One proposed training and who proposed it. */
export interface Proposal {
  decision: PlannerDecision;
  /** Who decided: llm | mock | optuna | random | llm+optuna | optuna (fallback) ... */
  planner: string;
  /** Set when the LLM failed and an offline suggestion was used instead. */
  fallback?: string | null;
  /** Hybrid planner: what the LLM did with the TPE advice. */
  advice?: "adopted" | "modified" | "ignored" | null;
}

export interface PlannerResult {
  /** Up to ctx.batchSize proposals; a single stop decision ends the search. */
  proposals: Proposal[];
  usage: LlmUsage;
  attempts: number;
  /** Every LLM attempt of this decision (raw text, rejection reason, usage); null without LLM. */
  transcript?: LlmAttempt[] | null;
  /** Size of the prompt sent to the LLM, in characters (decision log); null without LLM. */
  prompt_chars?: number | null;
  /** Why the LLM gave no usable answer this round (the proposals are the optimizer's fallback); null/absent otherwise. */
  llm_failure?: string | null;
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

/** A config's seeds at this fidelity (agent_state.json `configs`, written by Python). */
export interface ConfigEvidence {
  /** The config's first run: its id names the config. */
  root_run_id: string;
  /** val_mse of each ok seed, in run order. */
  val_values: number[];
  n: number;
  val_mean: number;
  /** Sample sd of val_values (null below 2 seeds). */
  val_sd: number | null;
  /** The seed-noise estimate used for this config (its family's pool, else the fidelity's); null if unmeasured. */
  noise_sd: number | null;
  noise_source: string | null;
  /** Degrees of freedom of that estimate: the t quantile's (null: unmeasured or unknown). */
  noise_dof?: number | null;
  /** "family": the sd pools its family's runs alone; "all": every family's (so it overlaps any family's). */
  noise_pool?: "family" | "all" | null;
  family?: string;
}

/** What the validation curve of one run says: the helper's rule (nas_agent/curve.py, returned by record-run as `curve`). */
export interface CurveSignals {
  best_epoch: number;
  epochs_run: number;
  max_epochs: number;
  stopped_early: boolean;
  /** How far val_mse rose after its best epoch, in % of the best. */
  rise_pct: number;
  /** One line when val_mse rose more than --max-rise after its best epoch; else null. */
  overfitting: string | null;
  /** One line when early stopping fired and the best epoch came in the first third; else null. */
  early_peak: string | null;
  /** The overfitting statement, word for word the line the history summary carries. */
  statement: string;
}

export interface EvaluationInput {
  runId: string;
  /** null when training failed. */
  metrics: RunMetrics | null;
  failure: string | null;
  /** This run's config: this run and the earlier seeds of the same config; null when it failed. */
  candidate: ConfigEvidence | null;
  /** The incumbent config; null when there is none yet (the run is a baseline). */
  incumbent: ConfigEvidence | null;
  curve: CurveSignals | null;
  /** How many more trainings the candidate may get before its verdict (--max-repeats, budget). */
  repeatsLeft: number;
  /**
   * Seeds a proposal still lacks to be measured like a baseline (--baseline-seeds, within the
   * budget), should it become the first incumbent of its fidelity (every baseline seed failed); 0 otherwise.
   */
  baselineSeedsLeft?: number;
  changes: ConfigChange[];
  historySummary: string;
  /** Persistence (repeat the last value) on this run's task, validation split; null if unknown. */
  persistenceValMse?: number | null;
  /** Aborts an LLM consultation (Ctrl-C). */
  signal?: AbortSignal;
}

export interface EvaluationResult {
  accept: boolean;
  /** Not decided yet: train the candidate's config again with a new seed (noise-aware mode). */
  repeat?: boolean;
  /** A gain inside the noise with no repeat left (or one the LLM favours): promising, unconfirmed, never the incumbent. */
  promising?: boolean;
  /** The first incumbent came from a proposal: train this many more seeds of it, as a baseline's, before other verdicts. */
  baseline_seeds?: number;
  reason: string;
  feedback: string;
  /** noise | rules | llm | baseline | failure | ... (no LLM) | ... (LLM failed) */
  source: string;
  usage: LlmUsage;
  /** The val_mse improvement over the incumbent in percent; null for baselines and failures. */
  improvement_pct?: number | null;
  /** Every LLM attempt of this evaluation; null when no LLM was asked. */
  transcript?: LlmAttempt[] | null;
}
