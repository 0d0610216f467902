/**
 * Queued seeds of a config (the graph state's repeat_queue): what a search start (`run`) and a
 * round's end (update_state) both queue. The seeds themselves are the helper's (its config
 * record's missing_seeds, begin-search's baseline_seeds).
 */
import type { ConfigRecord } from "../contracts.js";
import type { RepeatRequest } from "./state.js";

/** Further seeds (the helper's) of a config that became the first incumbent, queued as a baseline's. */
export function baselineSeedsOf(config: Pick<ConfigRecord, "root_run_id" | "run_ids">, seeds: number[], total: number): RepeatRequest[] {
  return seeds.map((seed, i) => ({
    root_run_id: config.root_run_id,
    seed,
    kind: "baseline",
    plan: `Baseline seed ${config.run_ids.length + i + 1} of ${total} for ${config.root_run_id} (the first successful run, as every seed of the planned baseline failed): measure the seed noise`,
  }));
}
