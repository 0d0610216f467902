/**
 * The search graph for LangGraph Studio: `langgraph.json` points here (`graph`). It is the
 * graph `nas-graph run` drives, compiled without a checkpointer (the LangGraph server brings
 * its own), with its collaborators chosen as the CLI's defaults from the environment:
 * - NAS_SYSTEM_DIR: the workspace (default <repo>/nas_system);
 * - planner and evaluator: llm with OPENROUTER_API_KEY, else optuna and rules;
 * - the other search options: `nas-graph run`'s defaults (src/run-defaults.ts);
 * - .env in the current directory is read, as the CLI does (langgraph.json names no env file,
 *   so the server starts without one).
 * Studio shows the graph and its state; a search with the lock, the start snapshot and
 * search.json is started with `nas-graph run` (a Studio run's input is the state, e.g.
 * {"search_id": "studio", "max_iterations": 2, "baseline_needed": true,
 * "baseline_seeds": [42, 43, 44]}).
 */
import path from "node:path";
import dotenv from "dotenv";
import { createEvaluator } from "../evaluation/evaluate.js";
import { llmConfigured } from "../llm/settings.js";
import { createPlanner } from "../planners/index.js";
import { RUN_DEFAULTS } from "../run-defaults.js";
import { searchOptions } from "../commands/search-options.js";
import { LocalExecutor } from "../executors/local.js";
import { agent, REPO_ROOT } from "../python.js";
import type { SearchSpace } from "../contracts.js";
import { ui } from "../ui.js";
import { workspacePaths } from "../workspace.js";
import { buildGraph } from "./graph.js";

function studioGraph(env: NodeJS.ProcessEnv) {
  const systemDir = path.resolve(env.NAS_SYSTEM_DIR || path.join(REPO_ROOT, "nas_system"));
  const py = { ws: workspacePaths(systemDir), env };
  const llm = llmConfigured(env);
  const options = { ...searchOptions({ ...RUN_DEFAULTS, systemDir, planner: llm ? "llm" : "optuna", evaluator: llm ? "llm" : "rules" }, env), baselineSeeds: RUN_DEFAULTS.baselineSeeds };
  let space: Promise<SearchSpace> | null = null;
  return buildGraph({
    options,
    py,
    planner: createPlanner(llm ? "llm" : "optuna", { env }),
    evaluate: createEvaluator({ mode: llm ? "llm" : "rules", env }),
    evaluatorUsesHistory: llm,
    executor: new LocalExecutor(py, { gpus: null, parallel: options.parallel }),
    ui,
    signal: new AbortController().signal,
    searchSpace: () => (space ??= agent<{ space: SearchSpace }>(py, ["space"]).then((r) => r.space)),
  });
}

dotenv.config({ quiet: true });
export const graph = studioGraph(process.env);
