/**
 * The defaults of `nas-graph run`'s search options, listed once: the CLI shows them in --help
 * (./cli.ts, which imports this file on its fast start, so it imports nothing); the rules'
 * thresholds (./evaluation/rules.ts), the noise test's (./evaluation/noise.ts), the planner's
 * --max-llm-failures, run's baseline seeds and an older search.json's missing values are these;
 * LangGraph Studio's graph (./graph/studio.ts) runs with them. The Python helper's own
 * --max-rise default (nas_agent/curve.py MAX_RISE_PCT) is checked equal by test/agent-server.test.ts.
 * `nas-graph demo` sets its own values on purpose (src/commands/demo.ts).
 */
export const RUN_DEFAULTS = {
  maxIterations: 20,
  parallel: 1,
  executor: "local",
  acceptance: "noise",
  /** Seeds of a baseline that measures the seed noise (no --baseline-seeds: 1 once the noise is measured, or with --acceptance fixed). */
  baselineSeeds: 3,
  maxRepeats: 2,
  portfolio: "on",
  alpha: 0.025,
  defaultRelSd: 0.1,
  maxRise: 25,
  acceptAbove: 2,
  rejectBelow: -0.5,
  minBestEpoch: 3,
  /** LLM planner rounds in a row that may fall back to the optimizer before the search stops. */
  maxLlmFailures: 3,
} as const;
