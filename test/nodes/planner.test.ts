/** The planner node alone: hand-built state, a fake planner and a fake helper (no Python). */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evidenceOf, type PlannerResult, type SearchSpace } from "../../src/contracts.js";
import { BASELINE_PLAN, plannerNode } from "../../src/graph/nodes/planner.js";
import { LlmFailuresStop } from "../../src/llm/errors.js";
import type { SearchOptions } from "../../src/workspace.js";
import { runConfigRel, startConfigRel } from "../../src/workspace-paths.js";
import { configRecord, fakeDeps, fakeHelper, fakePlanner, graphState, opt, refusal, SEARCH_ID, silentUi, tempWorkspaces, update } from "./fakes.js";

const workspace = tempWorkspaces();
const usage = (calls: number, cost_usd = 0) => ({ calls, input_tokens: 10 * calls, output_tokens: calls, cost_usd });
const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `run_${String(from + i).padStart(4, "0")}`);

/** A workspace whose incumbent is run_0001 (its config_used.py on disk), with the baseline done. */
function withIncumbent() {
  const ws = workspace();
  fs.mkdirSync(path.join(ws.runs, "run_0001"), { recursive: true });
  fs.writeFileSync(path.join(ws.dir, runConfigRel("run_0001")), "seed = 41\nlr = 0.003\n");
  const state = graphState({
    iteration: 3,
    round: 2,
    planner_call: 5,
    baseline_done: true,
    incumbent: evidenceOf(configRecord("run_0001", [0.3, 0.31, 0.29])),
    best_run_id: "run_0001",
  });
  // the search's options (GraphDeps.options), as a test may change them before planning
  const options: Partial<SearchOptions> = { portfolio: false, parallel: 2 };
  return { ws, state, options };
}

describe("planner node", () => {
  it("plans the baseline and its seeds first, without asking the planner: one request reserves their ids", async () => {
    const ws = workspace();
    const { py, calls } = fakeHelper(ws, { "next-run-id": (a) => ({ run_ids: ids(Number(opt(a, "--count"))) }) });
    const { ui, of } = silentUi();
    const out = await update(plannerNode(graphState(), fakeDeps(py, ui, { options: { parallel: 2, baselineSeeds: 3 } })));

    expect(calls).toEqual([{ command: "next-run-id", args: ["--count", "2"] }]);
    expect(out.trials!.map((t) => [t.run_id, t.kind, t.repeat_of, t.seed, t.base])).toEqual([
      ["run_0001", "baseline", null, 41, startConfigRel(SEARCH_ID)],
      ["run_0002", "baseline", "run_0001", 42, startConfigRel(SEARCH_ID)],
    ]);
    expect(out.trials![0].plan).toBe(BASELINE_PLAN);
    // the third seed waits for the next round, in front of the queue
    expect(out.repeat_queue).toEqual([{ root_run_id: "run_0001", seed: 43, kind: "baseline", plan: "Baseline seed 3 of 3: measure the seed noise" }]);
    expect(out).toMatchObject({ baseline_done: true, round: 1, planner_call: 0, stop_requested: false, verdicts: [] });
    expect(of("iteration").map(([h]) => (h as { n: number; runId: string }).n)).toEqual([1, 2]);
  });

  it("refuses in one line a checkpoint of an older version saved before its first round (no baseline seeds in the state), asking nothing", async () => {
    const ws = workspace();
    const { py, calls } = fakeHelper(ws, {});
    await expect(plannerNode(graphState({ baseline_seeds: [] }), fakeDeps(py, silentUi().ui))).rejects.toThrow(
      "this search was saved by an older nas-graph before its first training; start it again with 'nas-graph run'",
    );
    expect(calls).toEqual([]);
  });

  it("with room to spare, trains all the baseline's seeds at once and fills the rest with proposals on the start config", async () => {
    const ws = workspace();
    const { py, calls } = fakeHelper(ws, { "next-run-id": (a) => ({ run_ids: ids(Number(opt(a, "--count"))) }) });
    const { planner, asked } = fakePlanner(() => ({
      proposals: [{ decision: { step_type: "small", plan: "idea", reason: "r", config_changes: [{ key: "lr", value: 0.01 }] }, planner: "mock" }],
      usage: usage(0),
      attempts: 1,
    }));
    const out = await update(plannerNode(graphState(), fakeDeps(py, silentUi().ui, { planner, options: { parallel: 4, baselineSeeds: 3, portfolio: false } })));
    expect(asked.map((c) => [c.batchSize, c.incumbent, c.configText])).toEqual([[1, null, "seed = 41\nlr = 0.001\n"]]);
    expect(opt(calls[0].args, "--count")).toBe("4");
    // ids in trial order: the baseline, its seeds, then the proposals
    expect(out.trials!.map((t) => [t.run_id, t.kind, t.repeat_of, t.seed, t.base])).toEqual([
      ["run_0001", "baseline", null, 41, startConfigRel(SEARCH_ID)],
      ["run_0002", "baseline", "run_0001", 42, startConfigRel(SEARCH_ID)],
      ["run_0003", "baseline", "run_0001", 43, startConfigRel(SEARCH_ID)],
      ["run_0004", "proposal", null, null, startConfigRel(SEARCH_ID)],
    ]);
    expect(out.repeat_queue).toEqual([]);
    expect(out.planner_call).toBe(1);
  });

  it("takes the run ids the last helper answer reported, once, instead of asking", async () => {
    const ws = workspace();
    const { py, calls } = fakeHelper(ws, {});
    const runIds = { next: ["run_0007", "run_0008"] };
    const out = await update(plannerNode(graphState(), fakeDeps(py, silentUi().ui, { runIds, options: { parallel: 1 } })));
    expect(calls).toEqual([]);
    expect(out.trials!.map((t) => t.run_id)).toEqual(["run_0007"]);
    expect(runIds.next).toBeNull();
  });

  it("fills the round with queued repeats first, then the planner's proposals on the incumbent's config", async () => {
    const { ws, state, options } = withIncumbent();
    options.parallel = 3;
    state.repeat_queue = [{ root_run_id: "run_0003", seed: 44, kind: "repeat", plan: "repeat run_0003" }];
    const { py, calls } = fakeHelper(ws, {
      "next-run-id": (a) => ({ run_ids: ids(Number(opt(a, "--count")), 5) }),
      suggest: { decisions: [{ step_type: "small", plan: "tpe a", reason: "r", config_changes: [{ key: "lr", value: 0.002 }] }, { step_type: "small", plan: "tpe b", reason: "r", config_changes: [{ key: "lr", value: 0.004 }] }], rendered: [{ text: "lr = 0.002\n", diff: "-lr\n+lr a" }, null] },
    });
    // a planner that asks the optimizer through the context, as the Optuna planner does
    const { planner, asked } = fakePlanner(async (ctx) => ({
      proposals: (await ctx.suggest("tpe", ctx.batchSize)).map((decision) => ({ decision, planner: "optuna" })),
      usage: usage(0),
      attempts: 0,
    }));
    const out = await update(plannerNode(state, fakeDeps(py, silentUi().ui, { options, planner })));

    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ batchSize: 2, iteration: 4, plannerCall: 5, incumbent: state.incumbent, configText: "seed = 41\nlr = 0.003\n" });
    const base = path.join(ws.dir, runConfigRel("run_0001"));
    expect(calls.map((c) => c.command)).toEqual(["suggest", "next-run-id"]);
    expect(calls[0].args).toEqual(["--sampler", "tpe", "--seed", "0", "--render-base", base, "--count", "2"]);
    expect(opt(calls[1].args, "--count")).toBe("3");
    expect(out.trials!.map((t) => [t.run_id, t.kind, t.repeat_of, t.seed, t.base, t.planner_name])).toEqual([
      ["run_0005", "repeat", "run_0003", 44, runConfigRel("run_0003"), "evaluator"],
      ["run_0006", "proposal", null, null, runConfigRel("run_0001"), "optuna"],
      ["run_0007", "proposal", null, null, runConfigRel("run_0001"), "optuna"],
    ]);
    // the config the helper rendered while planning travels with its trial (no request at training)
    expect(out.trials![1].rendered).toEqual({ text: "lr = 0.002\n", diff: "-lr\n+lr a" });
    expect(out.trials![2].rendered).toBeNull();
    expect(out).toMatchObject({ repeat_queue: [], planner_call: 7, round: 3, baseline_done: true });
  });

  it("puts the portfolio's untried families before the planner's proposals; a family the helper refuses is skipped", async () => {
    const { ws, state, options } = withIncumbent();
    options.portfolio = true;
    const space: SearchSpace = {
      params: { "model.family": { type: "str", choices: ["informer", "dlinear", "patchtst"], step: "radical" } },
      class_defaults: {},
      recipes: { dlinear: { source: "paper A", values: {} }, patchtst: { source: "paper B", values: {} } },
      constraints: [],
    };
    const { py, calls } = fakeHelper(ws, {
      "config-apply": (a) => {
        const changes = JSON.parse(opt(a, "--changes")!) as Array<{ value: string }>;
        if (changes.length === 0) return { config_id: "cfg-incumbent" };
        if (changes[0].value === "patchtst") return refusal("patchtst needs seq_len >= 16", ["model.seq_len too short"]);
        return { config_id: "cfg-dlinear", text: "family = 'dlinear'\n", diff: "+dlinear" };
      },
      "next-run-id": { run_ids: ["run_0005", "run_0006"] },
    });
    const { planner, asked } = fakePlanner(() => ({
      proposals: [{ decision: { step_type: "medium", plan: "llm idea", reason: "r", config_changes: [{ key: "lr", value: 0.01 }] }, planner: "llm" }],
      usage: usage(1, 0.002),
      attempts: 1,
      transcript: [{ raw: "{}", error: null, usage: usage(1, 0.002) }],
    }));
    const out = await update(plannerNode(state, fakeDeps(py, silentUi().ui, { options, planner, searchSpace: async () => space })));

    expect(calls.filter((c) => c.command === "config-apply").every((c) => c.args[0] === "--dry-run" && opt(c.args, "--base") === path.join(ws.dir, runConfigRel("run_0001")))).toBe(true);
    expect(asked[0].batchSize).toBe(1);
    expect(out.trials!.map((t) => [t.planner_name, t.plan])).toEqual([
      ["portfolio", "Portfolio: model family dlinear at its published training recipe"],
      ["llm", "llm idea"],
    ]);
    expect(out.trials![0].rendered).toEqual({ text: "family = 'dlinear'\n", diff: "+dlinear" });
    // only the planner's proposals count as planner calls; its LLM usage is added to the search's
    expect(out.planner_call).toBe(6);
    expect(out.usage).toEqual(usage(1, 0.002));
    expect(out.llm_max_call_usd).toBe(0.002);
    expect(out.llm_failures_in_row).toBe(0);
  });

  it("a stop answer plans nothing, reserves no id and asks to end the search", async () => {
    const { ws, state, options } = withIncumbent();
    const { py, calls } = fakeHelper(ws, {});
    const { planner } = fakePlanner(() => ({
      proposals: [{ decision: { step_type: "stop", plan: "done", reason: "converged", config_changes: [] }, planner: "llm" }],
      usage: usage(1),
      attempts: 1,
    }));
    const { ui, of } = silentUi();
    const out = await update(plannerNode(state, fakeDeps(py, ui, { options, planner })));
    expect(calls).toEqual([]);
    expect(out).toMatchObject({ trials: [], stop_requested: true, planner_call: 5 });
    expect(of("plan")).toEqual([["stop", "done", "converged", "llm", null]]);
  });

  it("a planner round that fell back to the optimizer is counted, said once, and resets on the next LLM answer", async () => {
    const { ws, state, options } = withIncumbent();
    state.llm_fallbacks = 1;
    state.llm_failures_in_row = 1;
    const { py } = fakeHelper(ws, { "next-run-id": { run_ids: ["run_0005", "run_0006"] } });
    const fallback: PlannerResult = {
      proposals: ["a", "b"].map((p) => ({ decision: { step_type: "small", plan: p, reason: "r", config_changes: [] }, planner: "optuna (fallback)", fallback: "timeout" })),
      usage: usage(0),
      attempts: 2,
      llm_failure: "the LLM timed out",
    };
    const { ui, of } = silentUi();
    const out = await update(plannerNode(state, fakeDeps(py, ui, { options, planner: fakePlanner(() => fallback).planner })));
    expect(out).toMatchObject({ llm_fallbacks: 2, llm_failures_in_row: 2 });
    expect(of("llmFallback")).toEqual([["the LLM timed out", 2, 3]]);
    expect(out.trials!.map((t) => t.fallback)).toEqual(["timeout", "timeout"]);

    const answered: PlannerResult = { ...fallback, usage: usage(1), llm_failure: null };
    const next = await update(plannerNode({ ...state, llm_fallbacks: 2, llm_failures_in_row: 2 }, fakeDeps(py, silentUi().ui, { options, planner: fakePlanner(() => answered).planner, runIds: { next: ["run_0007", "run_0008"] } })));
    expect(next).toMatchObject({ llm_fallbacks: 2, llm_failures_in_row: 0 });
  });

  it("stops the search at --max-llm-failures fallback rounds in a row, before reserving any id", async () => {
    const { ws, state, options } = withIncumbent();
    state.llm_failures_in_row = 1;
    const { py, calls } = fakeHelper(ws, {});
    const planner = fakePlanner(() => ({ proposals: [], usage: usage(0), attempts: 1, llm_failure: "401 unauthorized" })).planner;
    const run = update(plannerNode(state, fakeDeps(py, silentUi().ui, { planner, options: { ...options, maxLlmFailures: 2 } })));
    await expect(run).rejects.toBeInstanceOf(LlmFailuresStop);
    await expect(run).rejects.toThrow(/2 LLM planner rounds in a row.*401 unauthorized/);
    expect(calls).toEqual([]);
  });

  it("a planner that fails fails the node, with no run id reserved", async () => {
    const { ws, state, options } = withIncumbent();
    const { py, calls } = fakeHelper(ws, {});
    const planner = fakePlanner(() => Promise.reject(new Error("planner exploded"))).planner;
    await expect(plannerNode(state, fakeDeps(py, silentUi().ui, { options, planner }))).rejects.toThrow("planner exploded");
    expect(calls).toEqual([]);
  });

  it("plans no more trials than the training budget has left", async () => {
    const { ws, state, options } = withIncumbent();
    state.max_iterations = 4; // iteration 3: one training left though --parallel 2
    const { py, calls } = fakeHelper(ws, { "next-run-id": { run_ids: ["run_0005"] } });
    const { planner, asked } = fakePlanner((ctx) => ({
      proposals: Array.from({ length: ctx.batchSize }, (_, i) => ({ decision: { step_type: "small" as const, plan: `p${i}`, reason: "r", config_changes: [] }, planner: "mock" })),
      usage: usage(0),
      attempts: 1,
    }));
    const out = await update(plannerNode(state, fakeDeps(py, silentUi().ui, { options, planner })));
    expect(asked[0].batchSize).toBe(1);
    expect(opt(calls[0].args, "--count")).toBe("1");
    expect(out.trials).toHaveLength(1);
  });
});
