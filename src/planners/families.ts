/**
 * Model families in the search space: `model.family` picks the family, and a key with
 * `when: {"model.family": [...]}` applies only to those families (nas_agent/search_space.py
 * is the reference; this mirrors it for prompts and checks, and never edits a config).
 */
import type { ParamSpec, RunInfo, SearchSpace } from "../contracts.js";

export const FAMILY_KEY = "model.family";
/** The family of a config that does not set model.family (config_check's default). */
export const IMPLICIT_FAMILY = "informer"; // nas_agent's DEFAULT_FAMILY (config_check.py), checked by test/agent-server.test.ts

/** Does a key apply to a config with these values? */
export function isActive(spec: ParamSpec, values: Record<string, unknown>): boolean {
  return Object.entries(spec.when ?? {}).every(([key, allowed]) => {
    const now = key in values ? values[key] : key === FAMILY_KEY ? IMPLICIT_FAMILY : undefined;
    return allowed.some((a) => a === now);
  });
}

/** The model family of these values, or null when the space has no model.family key. */
export function familyOf(space: SearchSpace, values: Record<string, unknown> | null | undefined): string | null {
  if (!(FAMILY_KEY in space.params)) return null;
  const v = values?.[FAMILY_KEY];
  return typeof v === "string" ? v : IMPLICIT_FAMILY;
}

/** The incumbent's params (the best run's), for the current family. */
export function incumbentParams(runs: RunInfo[], bestId: string | null): Record<string, unknown> | null {
  return runs.find((r) => r.run_id === bestId)?.params ?? null;
}
