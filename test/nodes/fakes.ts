/**
 * Fake collaborators for the node tests (test/nodes/*.test.ts): each graph node is called directly
 * with a hand-built GraphState and these GraphDeps. No Python, no training: the helper is a
 * recorder answering canned JSON (PyContext.request), the executor "trains" by writing the files
 * a finished train.py leaves (docs/contracts.md), the Ui records what it was told.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach } from "vitest";
import type { AgentAnswer, HelperCommand } from "../../src/agent-server.js";
import type { ConfigRecord, EvaluationInput, EvaluationResult, Planner, PlannerContext, PlannerResult, SearchSpace } from "../../src/contracts.js";
import type { PrepareResult, RunHooks, TrainOutcome, TrialJob, Executor } from "../../src/executors/types.js";
import type { GraphDeps } from "../../src/graph/deps.js";
import { RUN_DEFAULTS } from "../../src/run-defaults.js";
import { searchOptions } from "../../src/commands/search-options.js";
import { GraphStateAnnotation, ZERO_USAGE, type GraphState, type GraphUpdate, type Trial } from "../../src/graph/state.js";
import type { PyContext } from "../../src/python.js";
import type { Ui } from "../../src/ui.js";
import type { SearchOptions } from "../../src/workspace.js";
import { runDir, startConfigRel, workspacePaths, type Workspace } from "../../src/workspace-paths.js";

export const SEARCH_ID = "s-test";
export const START_CONFIG = "seed = 41\nlr = 0.001\n";

/** A test file's temp workspaces (config.py and the search's start snapshot only), removed after each test. */
export function tempWorkspaces(): () => Workspace {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-node-"));
    dirs.push(dir);
    const ws = workspacePaths(dir);
    fs.writeFileSync(ws.config, START_CONFIG);
    const start = path.join(dir, startConfigRel(SEARCH_ID));
    fs.mkdirSync(path.dirname(start), { recursive: true });
    fs.writeFileSync(start, START_CONFIG);
    return ws;
  };
}

/** One helper request as the node sent it: the command and its options (after `--system-dir DIR`). */
export interface HelperCall {
  command: HelperCommand;
  args: string[];
}

/** An answer of the helper: `{ok: true, ...}` (exit 0) or a refusal `{ok: false, error, errors}` (exit 2). */
export type Canned = Record<string, unknown> | AgentAnswer;
export type Answer = Canned | ((args: string[]) => Canned);

export const refusal = (error: string, errors: string[] = []): AgentAnswer => ({ exit: 2, result: { ok: false, error, errors } });

/** A Python bridge that answers each command from `answers` and records every request; an unexpected command fails the node. */
export function fakeHelper(ws: Workspace, answers: Partial<Record<HelperCommand, Answer>>) {
  const calls: HelperCall[] = [];
  const request = async (argv: string[], command: HelperCommand): Promise<AgentAnswer> => {
    if (argv[0] !== "--system-dir" || argv[1] !== ws.dir || argv[2] !== command) throw new Error(`malformed helper request: ${JSON.stringify(argv)}`);
    const args = argv.slice(3);
    calls.push({ command, args });
    const answer = answers[command];
    if (answer === undefined) throw new Error(`unexpected helper request: ${command} ${args.join(" ")}`);
    const canned = typeof answer === "function" ? answer(args) : answer;
    return "exit" in canned && "result" in canned ? (canned as AgentAnswer) : { exit: 0, result: { ok: true, ...canned } };
  };
  const py: PyContext = { ws, env: {}, request };
  return { py, calls };
}

/** The value of `--flag` in a request's options. */
export function opt(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/** A Ui that prints nothing and records each call: `[method, ...args]`. */
export function silentUi() {
  const said: Array<[string, ...unknown[]]> = [];
  const rec = (name: string) => (...args: unknown[]) => void said.push([name, ...args]);
  const ui: Ui = {
    notice: rec("notice"),
    warn: rec("warn"),
    iteration: rec("iteration"),
    plan: rec("plan"),
    llmFallback: rec("llmFallback"),
    diff: rec("diff"),
    training: async (runId: string) => {
      said.push(["training", runId]);
      return { event: () => {}, line: () => {}, end: () => said.push(["training-end", runId]) };
    },
    verdict: rec("verdict"),
    best: rec("best"),
    usage: rec("usage"),
  };
  const of = (name: string) => said.filter((s) => s[0] === name).map((s) => s.slice(1));
  return { ui, said, of };
}

/** What a fake training does: finish ok with this val_mse, fail as train.py does, time out, or be stopped by Ctrl-C. */
export type Training =
  | { ok: number }
  | { exit: number; failure?: { status: string; reason: string }; tail?: string[] }
  | { timeout: true }
  | { ctrlC: AbortController };

/** An executor whose trainings write the run files train.py leaves (config_used.py, history.json, metrics.json last; or failure.json). */
export function fakeExecutor(ws: Workspace, plan: (job: TrialJob) => Training, prepare: PrepareResult = { adopt: null, stale: false }) {
  const jobs: TrialJob[] = [];
  const prepared: string[] = [];
  const executor: Executor = {
    kind: "local",
    prepare: async (job) => {
      prepared.push(job.runId);
      return prepare;
    },
    run: async (job: TrialJob, hooks: RunHooks): Promise<TrainOutcome> => {
      jobs.push(job);
      hooks.onStart?.(Date.now());
      const dir = runDir(ws, job.runId);
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(path.join(ws.dir, job.configPath), path.join(dir, "config_used.py"));
      const how = plan(job);
      const base = { wallS: 1.5, tail: [] as string[], timedOut: false, canceled: false };
      if ("ok" in how) {
        fs.writeFileSync(path.join(dir, "history.json"), JSON.stringify({ val_mse: [how.ok * 1.1, how.ok] }));
        fs.writeFileSync(path.join(dir, "metrics.json"), JSON.stringify(metrics(how.ok)));
        return { ...base, exitCode: 0 };
      }
      if ("timeout" in how) {
        hooks.onStop?.({ verdict: "timeout", at_ms: Date.now() }); // the executor's verdict, then its SIGTERM
        return { ...base, exitCode: null, timedOut: true };
      }
      if ("ctrlC" in how) {
        how.ctrlC.abort(); // Ctrl-C while it trains: the executor's verdict, then train.py writes "interrupted" and stops
        hooks.onStop?.({ verdict: "interrupted", at_ms: Date.now() });
        fs.writeFileSync(path.join(dir, "failure.json"), JSON.stringify({ status: "interrupted", reason: "KeyboardInterrupt" }));
        return { ...base, exitCode: 130, canceled: true };
      }
      if (how.failure) fs.writeFileSync(path.join(dir, "failure.json"), JSON.stringify(how.failure));
      return { ...base, exitCode: how.exit, tail: how.tail ?? [] };
    },
  };
  return { executor, jobs, prepared };
}

export function metrics(val: number) {
  return { status: "ok", val_mse: val, val_mae: val, test_mse: val * 1.2, test_mae: val, train_mse: val * 0.5, best_epoch: 2, epochs_run: 2, max_epochs: 2 };
}

export const NO_PLANNER: Planner = async () => {
  throw new Error("the planner was not to be asked");
};
export const NO_EVALUATE = async (): Promise<EvaluationResult> => {
  throw new Error("the evaluator was not to be asked");
};

/** A planner that records each context it was given and answers `answer(ctx)`. */
export function fakePlanner(answer: (ctx: PlannerContext) => Promise<PlannerResult> | PlannerResult) {
  const asked: PlannerContext[] = [];
  const planner: Planner = async (ctx) => {
    asked.push(ctx);
    return answer(ctx);
  };
  return { planner, asked };
}

/** An evaluator that records each input and answers by run id. */
export function fakeEvaluate(byRun: Record<string, Partial<EvaluationResult>>) {
  const inputs: EvaluationInput[] = [];
  const evaluate = async (input: EvaluationInput): Promise<EvaluationResult> => {
    inputs.push(input);
    const v = byRun[input.runId];
    if (!v) throw new Error(`no canned verdict for ${input.runId}`);
    return { accept: false, reason: "canned", feedback: "", source: "fake", usage: { ...ZERO_USAGE }, ...v };
  };
  return { evaluate, inputs };
}

export const SPACE: SearchSpace = { params: {}, class_defaults: {}, constraints: [] };

/** The options `nas-graph run` checks and records by default (with optuna and rules), then `over`. */
export function searchOpts(over: Partial<SearchOptions> = {}): SearchOptions {
  const cli = searchOptions({ ...RUN_DEFAULTS, systemDir: ".", planner: "optuna", evaluator: "rules" }, {});
  return { ...cli, baselineSeeds: RUN_DEFAULTS.baselineSeeds, ...over };
}

/** GraphDeps of fakes; each test overrides what it drives (`options`: over run's defaults). */
export function fakeDeps(py: PyContext, ui: Ui, over: Omit<Partial<GraphDeps>, "options"> & { options?: Partial<SearchOptions> } = {}): GraphDeps {
  const { options, ...rest } = over;
  return {
    options: searchOpts(options),
    py,
    planner: NO_PLANNER,
    evaluate: NO_EVALUATE,
    evaluatorUsesHistory: false,
    executor: fakeExecutor(py.ws, () => {
      throw new Error("no training expected");
    }).executor,
    ui,
    signal: new AbortController().signal,
    searchSpace: async () => SPACE,
    ...rest,
  };
}

/** A node's partial update as plain values (the nodes never return LangGraph's Overwrite wrapper). */
export async function update(pending: Promise<GraphUpdate>): Promise<Partial<GraphState>> {
  return (await pending) as Partial<GraphState>;
}

/** A hand-built GraphState: the annotation's own defaults, this file's search (id, fidelity, the baseline's 3 seeds from config.py's 41), then `over`. */
export function graphState(over: Partial<GraphState> = {}): GraphState {
  const defaults = Object.fromEntries(Object.entries(GraphStateAnnotation.spec).map(([k, channel]) => [k, channel.fromCheckpoint().get()]));
  return { ...(defaults as GraphState), search_id: SEARCH_ID, fidelity: "fid-1", baseline_seeds: [41, 42, 43], ...over };
}

/** A trial of a round (a proposal on the start config unless `over` says otherwise). */
export function trial(run_id: string, over: Partial<Trial> = {}): Trial {
  return {
    run_id,
    kind: "proposal",
    repeat_of: null,
    seed: null,
    base: startConfigRel(SEARCH_ID),
    config_changes: [{ key: "training.optimizer_params.lr", value: 0.002 }],
    step_type: "small",
    plan: `plan of ${run_id}`,
    reason: `reason of ${run_id}`,
    planner_name: "fake",
    fallback: null,
    advice: null,
    ...over,
  };
}

/** A config's record as the helper derives it (agent_state.json `configs`). */
export function configRecord(root: string, vals: number[], over: Partial<ConfigRecord> = {}): ConfigRecord {
  const n = vals.length;
  const mean = n ? vals.reduce((a, b) => a + b, 0) / n : null;
  return {
    config_id: `cfg-${root}`,
    fidelity: "fid-1",
    root_run_id: root,
    family: "dlinear",
    run_ids: [root],
    seeds: [41],
    val_values: vals,
    test_values: vals.map((v) => v * 1.2),
    accepted: false,
    n,
    val_mean: mean,
    val_sd: n >= 2 ? 0.01 : null,
    test_mean: mean === null ? null : mean * 1.2,
    noise_sd: 0.01,
    noise_source: "pooled",
    next_seed: 42,
    ...over,
  };
}
