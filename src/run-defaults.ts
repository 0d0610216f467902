/**
 * The defaults of `nas-graph run`'s search options, listed once: the CLI shows them in --help
 * (./cli.ts, which imports this file on its fast start, so it imports nothing), the rules take
 * their default thresholds from here (./evaluation/rules.ts), and LangGraph Studio's graph
 * (./graph/studio.ts) runs with them.
 */
export const RUN_DEFAULTS = {
  maxIterations: 20,
  parallel: 1,
  executor: "local",
  acceptance: "noise",
  maxRepeats: 2,
  portfolio: "on",
  alpha: 0.025,
  defaultRelSd: 0.1,
  maxRise: 25,
  acceptAbove: 2,
  rejectBelow: -0.5,
  minBestEpoch: 3,
} as const;
