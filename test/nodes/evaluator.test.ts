/** The evaluator node alone: a fake helper answering record-runs, an `evaluate` of fixed verdicts. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evidenceOf, type ConfigRecord } from "../../src/contracts.js";
import { evaluatorNode } from "../../src/graph/nodes/evaluator.js";
import type { GraphState, Trial, TrialResult } from "../../src/graph/state.js";
import type { Workspace } from "../../src/workspace-paths.js";
import { configRecord, fakeDeps, fakeEvaluate, fakeHelper, graphState, searchOpts, metrics, opt, silentUi, tempWorkspaces, trial, update } from "./fakes.js";

const workspace = tempWorkspaces();

const INCUMBENT = configRecord("run_0001", [0.3, 0.31, 0.29], { run_ids: ["run_0001", "run_0002", "run_0003"], accepted: true });

/** A finished trial: its result in the state and, when ok, its metrics.json on disk. */
function finished(ws: Workspace, t: Trial, val: number | null, error = "OOM"): [Trial, TrialResult] {
  if (val !== null) {
    fs.mkdirSync(path.join(ws.runs, t.run_id), { recursive: true });
    fs.writeFileSync(path.join(ws.runs, t.run_id, "metrics.json"), JSON.stringify(metrics(val)));
  }
  const ok = val !== null;
  return [t, { run_id: t.run_id, run_status: ok ? "ok" : "crashed", run_error: ok ? null : error, training_success: ok, diff: "", train_s: 1, trial_s: 1 }];
}

function round(over: Partial<GraphState>, done: Array<[Trial, TrialResult]>): GraphState {
  return graphState({ ...over, trials: done.map(([t]) => t), results: Object.fromEntries(done.map(([t, r]) => [t.run_id, r])) });
}

/** record-runs answering each run with `recordOf(run_id)`, the incumbent as `incumbent`, and the run's task baselines and curve. */
function recordRuns(recordOf: (runId: string) => ConfigRecord | null, incumbent: ConfigRecord | null) {
  return (args: string[]) => ({
    records: (JSON.parse(opt(args, "--runs")!) as Array<{ run_id: string }>).map(({ run_id }) => ({
      run: { history_summary: `summary of ${run_id}` },
      config: recordOf(run_id),
      baselines: { period: 24, persistence: { val_mse: 0.5, test_mse: 0.6 }, seasonal_naive: { val_mse: 0.7, test_mse: 0.8 } },
      curve: { best_epoch: 2, epochs_run: 2, max_epochs: 2, stopped_early: false, rise_pct: 0, overfitting: null, early_peak: null, statement: `curve of ${run_id}` },
      incumbent,
    })),
  });
}

describe("evaluator node", () => {
  it("records the round in one request, then judges repeats before proposals, each against the incumbent as recorded", async () => {
    const ws = workspace();
    const state = round({ iteration: 3, incumbent: evidenceOf(INCUMBENT), best_run_id: "run_0001", baseline_done: true }, [
      finished(ws, trial("run_0006"), 0.25),
      finished(ws, trial("run_0005"), 0.26),
      finished(ws, trial("run_0007"), null),
      finished(ws, trial("run_0004", { kind: "repeat", repeat_of: "run_0002", seed: 43, config_changes: [] }), 0.28),
    ]);
    // the incumbent as the helper records it with this round's runs: a fourth seed, a larger noise pool
    const recorded = { ...INCUMBENT, val_values: [0.3, 0.31, 0.29, 0.3], n: 4, run_ids: [...INCUMBENT.run_ids, "run_0008"] };
    const recs: Record<string, ConfigRecord> = {
      run_0004: configRecord("run_0002", [0.29, 0.28], { repeats_left: 1 }),
      run_0005: configRecord("run_0005", [0.26], { repeats_left: 2 }),
      run_0006: configRecord("run_0006", [0.25], { repeats_left: 2 }),
      run_0007: configRecord("run_0007", [], { repeats_left: 2 }),
    };
    const { py, calls } = fakeHelper(ws, { "record-runs": recordRuns((id) => recs[id], recorded) });
    const { evaluate, inputs } = fakeEvaluate({
      run_0004: { accept: false, reason: "no gain" },
      run_0005: { accept: false, repeat: true, reason: "inside the noise" },
      run_0006: { accept: true, reason: "beats it", improvement_pct: 16.7, usage: { calls: 1, input_tokens: 100, output_tokens: 10, cost_usd: 0.01 }, transcript: [{ raw: "{}", error: null, usage: { calls: 1, input_tokens: 100, output_tokens: 10, cost_usd: 0.01 } }] },
      run_0007: { accept: false, reason: "run crashed", source: "failure" },
    });
    const out = await update(evaluatorNode(state, fakeDeps(py, silentUi().ui, { evaluate, options: { thresholds: { ...searchOpts().thresholds, maxRise: 30 } } })));

    expect(calls.map((c) => c.command)).toEqual(["record-runs"]);
    const args = calls[0].args;
    expect([opt(args, "--baseline-seeds"), opt(args, "--max-repeats"), opt(args, "--max-rise")]).toEqual(["3", "2", "30"]);
    const sent = JSON.parse(opt(args, "--runs")!) as Array<{ run_id: string; info: Record<string, unknown> }>;
    expect(sent.map((r) => [r.run_id, r.info.status, r.info.kind, r.info.error])).toEqual([
      ["run_0004", "ok", "repeat", null],
      ["run_0005", "ok", "proposal", null],
      ["run_0006", "ok", "proposal", null],
      ["run_0007", "crashed", "proposal", "OOM"],
    ]);
    expect(sent[0].info).toMatchObject({ repeat_of: "run_0002", seed: 43, evaluation_reason: "verdict pending", search_id: "s-test" });
    expect(sent[1].info.config_changes).toEqual({ "training.optimizer_params.lr": 0.002 });

    expect(inputs.map((i) => i.runId)).toEqual(["run_0004", "run_0005", "run_0006", "run_0007"]);
    expect(inputs[1]).toMatchObject({ metrics: metrics(0.26), failure: null, candidate: evidenceOf(recs.run_0005), incumbent: evidenceOf(recorded), repeatsLeft: 2, persistenceValMse: 0.5, historySummary: "" });
    expect(inputs[1].curve?.statement).toBe("curve of run_0005");
    expect(inputs[3]).toMatchObject({ metrics: null, failure: "run crashed: OOM", candidate: null, curve: null, persistenceValMse: null });

    expect(out.verdicts!.map((v) => [v.run_id, v.accept, v.repeat, v.source, v.improvement_pct])).toEqual([
      ["run_0004", false, false, "fake", null],
      ["run_0005", false, true, "fake", null],
      ["run_0006", true, false, "fake", 16.7],
      ["run_0007", false, false, "failure", null],
    ]);
    expect(out.usage).toEqual({ calls: 1, input_tokens: 100, output_tokens: 10, cost_usd: 0.01 });
    expect(out.llm_max_call_usd).toBe(0.01);
    expect(out.timings!.round_usage).toEqual(out.usage);
  });

  it("hands the recorded history summary to an evaluator that reads it", async () => {
    const ws = workspace();
    const state = round({ incumbent: evidenceOf(INCUMBENT), baseline_done: true }, [finished(ws, trial("run_0004"), 0.3)]);
    const { py } = fakeHelper(ws, { "record-runs": recordRuns((id) => configRecord(id, [0.3]), INCUMBENT) });
    const { evaluate, inputs } = fakeEvaluate({ run_0004: { accept: false } });
    await evaluatorNode(state, fakeDeps(py, silentUi().ui, { evaluate, evaluatorUsesHistory: true }));
    expect(inputs[0].historySummary).toBe("summary of run_0004");
  });

  it("offers a repeat only while the training budget has room: a repeat verdict uses it up", async () => {
    const ws = workspace();
    const state = round({ iteration: 5, max_iterations: 8, incumbent: evidenceOf(INCUMBENT), baseline_done: true }, [
      finished(ws, trial("run_0006"), 0.28),
      finished(ws, trial("run_0007"), 0.27),
    ]);
    const { py } = fakeHelper(ws, { "record-runs": recordRuns((id) => configRecord(id, [0.28], { repeats_left: 2 }), INCUMBENT) });
    const { evaluate, inputs } = fakeEvaluate({ run_0006: { accept: false, repeat: true }, run_0007: { accept: false } });
    await evaluatorNode(state, fakeDeps(py, silentUi().ui, { evaluate }));
    // 8 - 5 - 2 = 1 training left: the first candidate may have it, and takes it
    expect(inputs.map((i) => i.repeatsLeft)).toEqual([1, 0]);
  });

  it("judges the later seeds of a round's baseline against the baseline that round established", async () => {
    const ws = workspace();
    const base = { kind: "baseline" as const, config_changes: [], step_type: "baseline" };
    const state = round({}, [
      finished(ws, trial("run_0001", { ...base, seed: 41 }), 0.3),
      finished(ws, trial("run_0002", { ...base, seed: 42, repeat_of: "run_0001" }), 0.31),
      finished(ws, trial("run_0003", { ...base, seed: 43, repeat_of: "run_0001" }), 0.29),
    ]);
    const vals: Record<string, number[]> = { run_0001: [0.3], run_0002: [0.3, 0.31], run_0003: [0.3, 0.31, 0.29] };
    const { py } = fakeHelper(ws, { "record-runs": recordRuns((id) => configRecord("run_0001", vals[id]), null) });
    const { evaluate, inputs } = fakeEvaluate({ run_0001: { accept: true, source: "baseline" }, run_0002: { accept: true }, run_0003: { accept: true } });
    const out = await update(evaluatorNode(state, fakeDeps(py, silentUi().ui, { evaluate })));
    expect(inputs[0].incumbent).toBeNull();
    expect(inputs[1].incumbent).toMatchObject({ root_run_id: "run_0001", n: 3 });
    expect(inputs.map((i) => i.baselineSeedsLeft)).toEqual([0, 0, 0]);
    expect(out.verdicts!.every((v) => v.accept)).toBe(true);
  });

  it("a proposal that becomes the first incumbent (every baseline seed failed) is offered the baseline seeds it lacks", async () => {
    const ws = workspace();
    const state = round({ max_iterations: 4 }, [
      finished(ws, trial("run_0001", { kind: "baseline", config_changes: [], step_type: "baseline" }), null),
      finished(ws, trial("run_0002"), 0.3),
    ]);
    const recs: Record<string, ConfigRecord> = {
      run_0001: configRecord("run_0001", []),
      run_0002: configRecord("run_0002", [0.3], { baseline_seeds_left: 2, repeats_left: 2 }),
    };
    const { py } = fakeHelper(ws, { "record-runs": recordRuns((id) => recs[id], null) });
    const { evaluate, inputs } = fakeEvaluate({ run_0001: { accept: false, source: "failure" }, run_0002: { accept: true, baseline_seeds: 2 } });
    const out = await update(evaluatorNode(state, fakeDeps(py, silentUi().ui, { evaluate })));
    expect(inputs[1]).toMatchObject({ incumbent: null, baselineSeedsLeft: 2 });
    expect(out.verdicts![1]).toMatchObject({ run_id: "run_0002", accept: true, baseline_seeds: 2 });
    expect(out.verdicts![0]).not.toHaveProperty("baseline_seeds");
  });
});
