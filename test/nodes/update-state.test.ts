/** The update_state node alone: a fake helper answering finish-round; the decision log it writes; the queue it leaves. */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { evidenceOf } from "../../src/contracts.js";
import type { SearchClosing } from "../../src/graph/deps.js";
import { updateStateNode, type RoundEnd } from "../../src/graph/nodes/update-state.js";
import type { GraphState, RepeatRequest, Trial, Verdict } from "../../src/graph/state.js";
import { startConfigRel, type Workspace } from "../../src/workspace-paths.js";
import { configRecord, fakeDeps, fakeHelper, graphState, searchOpts, opt, SEARCH_ID, silentUi, tempWorkspaces, trial, update } from "./fakes.js";

const workspace = tempWorkspaces();

const INCUMBENT = configRecord("run_0001", [0.3, 0.31, 0.29], { run_ids: ["run_0001", "run_0002", "run_0003"], accepted: true, next_seed: 44 });

const verdict = (run_id: string, over: Partial<Verdict> = {}): Verdict => ({ run_id, accept: false, repeat: false, promising: false, reason: `reason ${run_id}`, feedback: `feedback ${run_id}`, source: "noise", improvement_pct: null, ...over });

/** A round of these trials (status by run id, "ok" unless given) and verdicts. */
function round(over: Partial<GraphState>, trials: Trial[], verdicts: Verdict[], status: Record<string, string> = {}): GraphState {
  const results = Object.fromEntries(trials.map((t) => {
    const s = status[t.run_id] ?? "ok";
    return [t.run_id, { run_id: t.run_id, run_status: s, run_error: s === "ok" ? null : `${s}!`, training_success: s === "ok", diff: "", train_s: 2, trial_s: 3 }];
  }));
  return graphState({ baseline_done: true, ...over, trials, results, verdicts });
}

/** finish-round answering `end` (records and the rest), recorded. */
function finishRound(ws: Workspace, end: Partial<RoundEnd>) {
  return fakeHelper(ws, { "finish-round": { records: [], best_run_id: null, n_runs: 0, next_run_ids: [], ...end } });
}

const decisions = (ws: Workspace) => fs.readFileSync(ws.decisions, "utf8").trim().split("\n").map((l) => JSON.parse(l));

describe("update_state node", () => {
  it("records the verdicts in one request; an accepted run becomes the incumbent; the decision log gets a line per trial", async () => {
    const ws = workspace();
    const rec4 = configRecord("run_0004", [0.25], { accepted: true });
    const rec5 = configRecord("run_0005", [0.28]);
    const state = round({ iteration: 3, round: 2, incumbent: evidenceOf(INCUMBENT), best_run_id: "run_0001", n_runs: 3 }, [trial("run_0004"), trial("run_0005")], [
      verdict("run_0004", { accept: true, reason: "beats the incumbent by 17%" }),
      verdict("run_0005", { promising: true, reason: "inside the noise" }),
    ]);
    const { py, calls } = finishRound(ws, { records: [{ config: rec4, incumbent: rec4 }, { config: rec5, incumbent: rec4 }], best_run_id: "run_0004", n_runs: 5, next_run_ids: ["run_0006"] });
    const { ui, of } = silentUi();
    const runIds = { next: null as string[] | null };
    const out = await update(updateStateNode(state, fakeDeps(py, ui, { runIds })));

    expect(calls.map((c) => c.command)).toEqual(["finish-round"]);
    const args = calls[0].args;
    expect(JSON.parse(opt(args, "--runs")!)).toEqual([
      { run_id: "run_0004", info: { accepted: true, evaluation_reason: "beats the incumbent by 17%", feedback: "feedback run_0004", evaluation_source: "noise" } },
      { run_id: "run_0005", info: { accepted: false, promising: true, evaluation_reason: "inside the noise", feedback: "feedback run_0005", evaluation_source: "noise" } },
    ]);
    expect([opt(args, "--known-best"), opt(args, "--fallback"), opt(args, "--reserve"), opt(args, "--baseline-seeds")]).toEqual(["run_0001", path.join(ws.dir, startConfigRel(SEARCH_ID)), "1", "3"]);
    expect(args).not.toContain("--close");
    expect(opt(args, "--max-rise")).toBe("25"); // the search's --max-rise (its default)

    expect(out).toMatchObject({ iteration: 5, incumbent: evidenceOf(rec4), best_run_id: "run_0004", n_runs: 5, repeat_queue: [] });
    expect(runIds.next).toEqual(["run_0006"]);
    expect(decisions(ws).map((d) => [d.iteration, d.round, d.run_id, d.accepted, d.promising, d.best_run_id, d.best_val_mse, d.run_status])).toEqual([
      [4, 2, "run_0004", true, false, "run_0004", 0.25, "ok"],
      [5, 2, "run_0005", false, true, "run_0004", 0.25, "ok"],
    ]);
    expect(of("verdict").map((v) => v.slice(0, 2))).toEqual([["run_0004", true], ["run_0005", false]]);
    expect(of("best")).toEqual([["run_0004", 0.25, 5, null, 1]]);
  });

  it("never sends a failed run as accepted, nor as promising", async () => {
    const ws = workspace();
    const state = round({ incumbent: evidenceOf(INCUMBENT), best_run_id: "run_0001" }, [trial("run_0004")], [verdict("run_0004", { accept: true, promising: true })], { run_0004: "crashed" });
    const { py, calls } = finishRound(ws, { records: [{ config: configRecord("run_0004", []), incumbent: INCUMBENT }], best_run_id: "run_0001", n_runs: 4 });
    const out = await update(updateStateNode(state, fakeDeps(py, silentUi().ui)));
    expect(JSON.parse(opt(calls[0].args, "--runs")!)[0].info).toEqual({ accepted: false, evaluation_reason: "reason run_0004", feedback: "feedback run_0004", evaluation_source: "noise" });
    expect(out.incumbent).toEqual(evidenceOf(INCUMBENT));
    expect(decisions(ws)[0]).toMatchObject({ run_status: "crashed", error: "crashed!", promising: false });
  });

  it("queues another seed of a config whose verdict waits, with the seed its record names", async () => {
    const ws = workspace();
    const queued: RepeatRequest = { root_run_id: "run_0001", seed: 43, kind: "baseline", plan: "seed 3" };
    const state = round({ iteration: 4, incumbent: evidenceOf(INCUMBENT), best_run_id: "run_0001", repeat_queue: [queued] }, [trial("run_0006")], [verdict("run_0006", { repeat: true, reason: "inside the noise" })]);
    const rec6 = configRecord("run_0006", [0.29], { next_seed: 42 });
    const { py, calls } = finishRound(ws, { records: [{ config: rec6, incumbent: INCUMBENT }], best_run_id: "run_0001", n_runs: 5 });
    const out = await update(updateStateNode(state, fakeDeps(py, silentUi().ui, { options: { thresholds: { ...searchOpts().thresholds, maxRise: 40 } } })));
    expect(opt(calls[0].args, "--max-rise")).toBe("40");
    expect(JSON.parse(opt(calls[0].args, "--runs")!)[0].info.evaluation_reason).toBe("pending: inside the noise");
    expect(out.repeat_queue).toEqual([
      queued,
      { root_run_id: "run_0006", seed: 42, kind: "repeat", plan: "Repeat run_0006's config with seed 42 (seed 2): its gain over the incumbent is inside the seed noise (from run_0006)" },
    ]);
  });

  it("a first success (every baseline seed failed) queues the incumbent's missing baseline seeds in front", async () => {
    const ws = workspace();
    const queued: RepeatRequest = { root_run_id: "run_0003", seed: 44, kind: "repeat", plan: "repeat" };
    const state = round({ iteration: 2, repeat_queue: [queued] }, [trial("run_0001", { kind: "baseline" }), trial("run_0002")], [
      verdict("run_0001", { source: "failure" }),
      verdict("run_0002", { accept: true, baseline_seeds: 2 }),
    ], { run_0001: "crashed" });
    const rec2 = configRecord("run_0002", [0.3], { accepted: true, baseline_seeds_left: 2, missing_seeds: [42, 43], next_seed: 42 });
    const { py } = finishRound(ws, { records: [{ config: configRecord("run_0001", []), incumbent: null }, { config: rec2, incumbent: rec2 }], best_run_id: "run_0002", n_runs: 2 });
    const out = await update(updateStateNode(state, fakeDeps(py, silentUi().ui)));
    expect(out.repeat_queue!.map((r) => [r.root_run_id, r.seed, r.kind])).toEqual([
      ["run_0002", 42, "baseline"],
      ["run_0002", 43, "baseline"],
      ["run_0003", 44, "repeat"],
    ]);
    expect(out.repeat_queue![0].plan).toMatch(/^Baseline seed 2 of 3 for run_0002/);
    expect(out).toMatchObject({ incumbent: evidenceOf(rec2), best_run_id: "run_0002" });
  });

  it("drops the queued seeds of a config that ran past --run-timeout", async () => {
    const ws = workspace();
    const seeds: RepeatRequest[] = [42, 43].map((seed) => ({ root_run_id: "run_0001", seed, kind: "baseline", plan: `seed ${seed}` }));
    const other: RepeatRequest = { root_run_id: "run_0007", seed: 42, kind: "repeat", plan: "other" };
    const state = round({ baseline_done: true, repeat_queue: [...seeds, other] }, [trial("run_0001", { kind: "baseline" })], [verdict("run_0001")], { run_0001: "timeout" });
    const { py } = finishRound(ws, { records: [{ config: configRecord("run_0001", []), incumbent: null }] });
    const { ui, of } = silentUi();
    const out = await update(updateStateNode(state, fakeDeps(py, ui)));
    expect(out.repeat_queue).toEqual([other]);
    expect(of("notice")).toEqual([["run_0001 ran past --run-timeout: its 2 queued seeds would too, and are not trained"]]);
  });

  it("the round that spends the budget (or follows a stop) brings the search's closing in the same request", async () => {
    const ws = workspace();
    const closing: SearchClosing = { standing: { persistence_val_mse: 0.5 } };
    const rec = configRecord("run_0019", [0.3]);
    const ask = async (over: Partial<GraphState>, status: Record<string, string> = {}) => {
      const state = round({ max_iterations: 20, iteration: 18, incumbent: evidenceOf(INCUMBENT), best_run_id: "run_0001", ...over }, [trial("run_0019", { kind: over.trials?.[0]?.kind ?? "proposal" }), trial("run_0020")], [verdict("run_0019"), verdict("run_0020")], status);
      const { py, calls } = finishRound(ws, { records: [{ config: rec, incumbent: INCUMBENT }, { config: rec, incumbent: INCUMBENT }], best_run_id: "run_0001", n_runs: 20, closing });
      const box = { value: null as SearchClosing | null };
      const out = await update(updateStateNode(state, fakeDeps(py, silentUi().ui, { closing: box })));
      return { closes: calls[0].args.includes("--close"), closing: box.value, out };
    };
    const last = await ask({});
    expect(last).toMatchObject({ closes: true, closing, out: { iteration: 20 } });
    expect(await ask({ iteration: 3 })).toMatchObject({ closes: false, closing: null });
    expect(await ask({ iteration: 3, stop_requested: true })).toMatchObject({ closes: true, closing });
    // a rejected baseline ends the search with an error, no closing
    expect(await ask({ trials: [trial("run_0019", { kind: "baseline" })] }, { run_0019: "invalid" })).toMatchObject({ closes: false, closing: null });
  });

  it("warns when config.py could not follow the incumbent or the Optuna study was not synced, and goes on", async () => {
    const ws = workspace();
    const state = round({ incumbent: evidenceOf(INCUMBENT), best_run_id: "run_0001" }, [trial("run_0004")], [verdict("run_0004")]);
    const { py } = finishRound(ws, { records: [{ config: configRecord("run_0004", [0.4]), incumbent: INCUMBENT }], best_run_id: "run_0001", n_runs: 4, restore_warning: "config.py is read-only", study_error: "database is locked" });
    const { ui, of } = silentUi();
    const out = await update(updateStateNode(state, fakeDeps(py, ui)));
    expect(of("warn")).toEqual([["config.py is read-only"], ["the Optuna study (.nas-graph/optuna.db) was not updated: database is locked"]]);
    expect(out.iteration).toBe(1);
  });
});
