/**
 * The search's LLM cost cap (`--max-cost-usd`). Before every LLM call (re-asks included) the
 * next call's cost is estimated as the largest single call of this search so far (0 before the
 * first); the call is not made when `spent + estimate` would pass the cap, or when the spend
 * has reached it. Then CostCapReached stops the search cleanly: the node that would have
 * called the LLM has not run, so `resume` (with a higher cap) continues from there.
 */
import type { LlmUsage } from "../contracts.js";

export class CostCapReached extends Error {
  constructor(
    readonly capUsd: number,
    readonly spentUsd: number,
    readonly nextUsd: number,
  ) {
    super(
      `stopped before an LLM call: $${spentUsd.toFixed(4)} spent and the next call may cost $${nextUsd.toFixed(4)} (the largest call so far), which would pass --max-cost-usd ${capUsd}`,
    );
    this.name = "CostCapReached";
  }
}

/** Float noise must not tip a call that lands exactly on the cap. */
const EPS = 1e-9;

export class CostBudget {
  spentUsd = 0;
  maxCallUsd = 0;

  constructor(readonly capUsd: number | null) {}

  /** Continue a search: what its checkpoint says was spent, and its largest call. */
  start(spentUsd: number, maxCallUsd: number): void {
    this.spentUsd = spentUsd;
    this.maxCallUsd = maxCallUsd;
  }

  /** Throws CostCapReached when the next call could pass the cap. */
  beforeCall(): void {
    const cap = this.capUsd;
    if (cap === null) return;
    if (this.spentUsd + this.maxCallUsd > cap + EPS || this.spentUsd >= cap - EPS) {
      throw new CostCapReached(cap, this.spentUsd, this.maxCallUsd);
    }
  }

  /** Account for one answered call. */
  record(call: LlmUsage): void {
    this.spentUsd += call.cost_usd;
    this.maxCallUsd = Math.max(this.maxCallUsd, call.cost_usd);
  }
}

/** The largest single call among attempts (what the state keeps for the next estimate). */
export function largestCall(attempts: Array<{ usage: LlmUsage }> | null | undefined, before = 0): number {
  return Math.max(before, ...(attempts ?? []).map((a) => a.usage.cost_usd));
}
