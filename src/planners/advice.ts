/** Hybrid planner: what the LLM did with the TPE sampler's advice. */
import type { ConfigChange } from "../contracts.js";

export type AdviceUse = "adopted" | "modified" | "ignored";

/**
 * adopted: the same changes (same keys, equal values); modified: at least one key in
 * common; ignored: no key in common.
 */
export function classifyAdvice(advice: ConfigChange[], answer: ConfigChange[]): AdviceUse {
  const advised = new Map(advice.map((c) => [c.key, c.value]));
  if (advice.length === 0) return answer.length === 0 ? "adopted" : "ignored";
  const same =
    answer.length === advice.length && answer.every((c) => advised.has(c.key) && sameValue(advised.get(c.key), c.value));
  if (same) return "adopted";
  return answer.some((c) => advised.has(c.key)) ? "modified" : "ignored";
}

function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") {
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  }
  return a === b;
}
