/**
 * The Optuna study's mirror warnings and its sync on its own: what update_state (a round's
 * request syncs it), `override` and `rebuild` share.
 */
import { agent, AgentError } from "../python.js";
import type { GraphDeps } from "./deps.js";

/** The Optuna study (.nas-graph/optuna.db, for optuna-dashboard) is a mirror: agent_state.json stays the source of truth, a failed sync warns. */
export function studyWarning(error: string): string {
  return `the Optuna study (.nas-graph/optuna.db) was not updated: ${error}`;
}

/** The study brought up to date on its own (`rebuild`; a round and `override` sync it in their own request). */
export async function mirrorStudy(deps: Pick<GraphDeps, "py" | "ui">): Promise<void> {
  try {
    await agent(deps.py, ["study"]);
  } catch (err) {
    if (!(err instanceof AgentError)) throw err;
    deps.ui.warn(studyWarning(err.message));
  }
}
