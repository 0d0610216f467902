/**
 * What the graph's nodes get besides their state: the planner, the evaluator, the Python bridge,
 * the executor and the UI. A node imports this and its state (./state.ts), never the graph
 * that wires it (./graph.ts), so a node can be run alone with fake collaborators (test/nodes/).
 */
import type { EnsembleRecord, EvaluationInput, EvaluationResult, Planner, SearchSpace } from "../contracts.js";
import type { Executor } from "../executors/types.js";
import type { CostBudget } from "../llm/budget.js";
import type { PyContext } from "../python.js";
import type { Ui } from "../ui.js";
import type { SearchOptions } from "../workspace.js";

export interface GraphDeps {
  /** The search's options as search.json records them (the CLI's, checked and resolved; resume may change some). */
  options: SearchOptions;
  py: PyContext;
  planner: Planner;
  evaluate: (input: EvaluationInput) => Promise<EvaluationResult>;
  /** Only the LLM evaluator reads the run's history summary (saves a helper call per trial). */
  evaluatorUsesHistory: boolean;
  /** Trains a trial: local train.py children or Slurm jobs (--executor). */
  executor: Executor;
  ui: Ui;
  /** Aborted on Ctrl-C: cancels training and LLM calls. */
  signal: AbortSignal;
  /** The resolved search space (nas_agent space), fetched once per process. */
  searchSpace: () => Promise<SearchSpace>;
  /** The LLM cost cap (--max-cost-usd), shown in the iteration header; the LLM callers enforce it. */
  budget?: CostBudget | null;
  /**
   * The next free run ids as the helper last reported them (begin-search, finish-round), so the
   * planner need not ask; held for one invoke only, under the workspace lock, and used once.
   */
  runIds?: { next: string[] | null };
  /**
   * The search's closing (standing and ensemble) when its last round's finish-round brought it
   * (update_state, when the search ends after that round whatever the helper answers); the session
   * reads it instead of asking again. Held for one invoke only.
   */
  closing?: { value: SearchClosing | null };
}

/** finish-round --close: the end of a search in its last round's request. */
export interface SearchClosing {
  standing: { persistence_val_mse: number | null };
  ensemble?: EnsembleRecord;
  ensemble_error?: string;
}

/** --max-rise, the helper's overfitting rule (nas_agent/curve.py) for verdicts and history summaries. */
export function maxRiseArgs(deps: Pick<GraphDeps, "options">): string[] {
  return ["--max-rise", String(deps.options.thresholds.maxRise)];
}
