import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { PlannerContext, SearchSpace } from "../src/contracts.js";
import { buildEvaluatorPrompt } from "../src/evaluation/evaluate.js";
import { applyRules } from "../src/evaluation/rules.js";
import { buildPlannerPrompt } from "../src/planners/prompt.js";
import { PROMPTS_DIR, loadPrompt, renderPrompt, slotNames } from "../src/prompts.js";

const SPACE = JSON.parse(readFileSync(new URL("../nas_system/search_space.json", import.meta.url), "utf8")) as SearchSpace;

function evaluatorSlots(): Record<string, string> {
  return Object.fromEntries(slotNames(loadPrompt("evaluator")).map((s) => [s, `<${s}>`]));
}

function ctx(over: Partial<PlannerContext> = {}): PlannerContext {
  return {
    iteration: 4,
    maxIterations: 12,
    plannerCall: 3,
    batchSize: 1,
    agentState: { max_runs: 12, best_run_id: null, runs: [] },
    fidelity: null,
    incumbent: null,
    configText: "seed = 7\n",
    searchSpace: SPACE,
    lastFeedback: null,
    targetValMse: null,
    checkChanges: async () => ({ errors: [], configId: null }),
    knownConfigs: {},
    suggest: async () => {
      throw new Error("not used");
    },
    ...over,
  };
}

describe("renderPrompt", () => {
  it("fills every slot", () => {
    const text = renderPrompt("evaluator", evaluatorSlots());
    expect(text).toContain("- latest run: train_mse <new_train_mse>");
    expect(text).not.toMatch(/\{\{/);
  });

  it("throws on a missing slot", () => {
    const slots = evaluatorSlots();
    delete slots.incumbent_mean;
    expect(() => renderPrompt("evaluator", slots)).toThrow('prompt "evaluator": no value for slot(s) incumbent_mean');
  });

  it("throws on a slot the template does not use", () => {
    expect(() => renderPrompt("evaluator", { ...evaluatorSlots(), bogus: 1 })).toThrow(
      'prompt "evaluator": slot(s) bogus not used by the template',
    );
  });

  it("does not expand slots inside values, and rejects bad or unknown names", () => {
    const text = renderPrompt("evaluator", { ...evaluatorSlots(), history_summary: "{{run_id}} $& literal" });
    expect(text).toContain("{{run_id}} $& literal");
    expect(() => loadPrompt("../package")).toThrow(/invalid prompt name/);
    expect(() => loadPrompt("nope")).toThrow(/prompt template .*nope\.md is missing/);
  });

  it("finds the templates from the package root", () => {
    expect(PROMPTS_DIR.endsWith("/prompts/")).toBe(true);
    expect(slotNames(loadPrompt("planner"))).toContain("search_space");
  });
});

describe("planner prompt", () => {
  it("keeps the seed's content and adds the search space, budget and answer format", () => {
    const text = buildPlannerPrompt(ctx({ targetValMse: 0.17, lastFeedback: "add dropout" }), null);
    expect(text).toContain("You are a Neural Architecture Search expert optimizing Informer for time series forecasting.");
    expect(text).toContain("Learning dynamics (overfitting, underfitting, instability)");
    expect(text).toContain("Iteration: 4/12");
    expect(text).toContain("Best validation MSE: none yet (no accepted run)");
    expect(text).toContain("Iterations left after this one: 8");
    expect(text).toContain("Target validation MSE: 0.17");
    expect(text).toContain("stop: if the best val_mse is below 0.17");
    expect(text).toContain("add dropout");
    expect(text).toContain("- training.optimizer_params.lr: float, in [0.000001, 0.01] (log scale); step small - learning rate");
    expect(text).toContain("- model.distil: bool, true or false; step medium");
    expect(text).toContain("- data.label_len <= data.seq_len");
    expect(text).toContain('[{"key": "training.optimizer_params.lr", "value": 0.0001}');
    expect(text).toContain("seed = 7");
    for (const key of Object.keys(SPACE.params)) expect(text).toContain(`- ${key}: `);
    // a scheduler's own params are offered with the condition under which they apply
    expect(text).toMatch(/- training\.scheduler_params\.gamma: float, in \[0\.1, 0\.99\][^\n]*\(applies only when training\.use_scheduler is true and training\.scheduler_class is optim\.lr_scheduler\.StepLR or optim\.lr_scheduler\.ExponentialLR\)/);
  });

  it("shows the current family's keys with their values, then the other families' own keys and defaults", () => {
    const runs = [{ run_id: "run_0001", val_mse: 0.1, test_mse: 0.05, history_summary: null, accepted: true, config_changes: {},
      status: "ok", params: { "model.family": "dlinear", "model.moving_avg": 25, "model.individual": false, "data.seq_len": 336 } }];
    const text = buildPlannerPrompt(ctx({ agentState: { max_runs: 12, best_run_id: "run_0001", runs } }), null);
    const [current, others] = text.split("Other model families");
    expect(current).toContain('- model.family: str, one of "informer" | "dlinear" | "nlinear" | "patchtst"; step radical; now dlinear');
    expect(current).toContain("- model.moving_avg: int, one of 7 | 13 | 25 | 49; step medium; now 25");
    expect(current).toContain("- data.seq_len: int, one of 48 | 96 | 168 | 336 | 512 | 720; step radical; now 336");
    expect(current).not.toContain("- model.d_model:");
    expect(others).toContain('* model.family "informer"; switching writes model.d_model=256');
    expect(others).toMatch(/\* model\.family "patchtst" \(also model\.dropout, [^\n]*, listed above\); switching writes model\.patch_len=16, [^\n]*:\n  - model\.patch_len: int/);
    expect(others).toContain('* model.family "nlinear" (its keys are all listed above); switching writes model.individual=false and its training recipe (listed above) unless set in the same change:');
    // each family's published recipe is shown with its source, as a known-good start
    expect(current).toMatch(/\* dlinear: training\.optimizer_class=optim\.Adam, training\.optimizer_params\.lr=0\.005, [^\n]*trained 10 epochs there \(source: DLinear paper/);
    expect(current).toContain("* patchtst: ");
    // every key of the space is offered somewhere, exactly once
    for (const key of Object.keys(SPACE.params)) expect(text.split(`- ${key}: `)).toHaveLength(2);
  });

  it("shows the naive baselines' validation MSE, never their test MSE", () => {
    const baselines = { "ETTh1.csv MS OT->96 8640/2880/2880": { period: 24, persistence: { val_mse: 0.137257, test_mse: 0.069264 },
      seasonal_naive: { val_mse: 0.140097, test_mse: 0.071453 } } };
    const text = buildPlannerPrompt(ctx({ agentState: { max_runs: 12, best_run_id: null, runs: [], baselines } }), null);
    expect(text).toContain("- ETTh1.csv MS OT->96 8640/2880/2880: persistence (repeat the last value) val_mse 0.1373; seasonal naive (repeat the last 24 steps) val_mse 0.1401");
    expect(text).not.toMatch(/0\.0692|0\.0714/);
    expect(buildPlannerPrompt(ctx(), null)).toContain("a model worse than persistence is not useful):\nnot computed yet");
  });

  it("says when there is no target and no history", () => {
    const text = buildPlannerPrompt(ctx(), null);
    expect(text).toContain("Target validation MSE: none given");
    expect(text).toContain("Recent Runs (oldest first; changes are relative to the incumbent at the time):\nnone yet");
    expect(text).toContain("stop: only if further improvement looks unlikely");
  });

  it("shows only the last 8 runs in full", () => {
    const runs = Array.from({ length: 11 }, (_, i) => ({
      run_id: `run_${String(i + 1).padStart(4, "0")}`, val_mse: 0.2 - i * 0.001, test_mse: 0.0777, history_summary: null,
      accepted: true, config_changes: { "model.dropout": 0.1 }, status: "ok",
    }));
    const incumbent = { root_run_id: "run_0011", val_values: [0.19], n: 1, val_mean: 0.19, val_sd: null, noise_sd: null, noise_source: null };
    // the helper's labels: run_0010's config is promising, unconfirmed
    const verdicts = Object.fromEntries(runs.map((r) => [r.run_id, r.run_id === "run_0010" ? "promising" : "accepted"] as const));
    const text = buildPlannerPrompt(ctx({ agentState: { max_runs: 20, best_run_id: "run_0011", runs, verdicts }, incumbent }), null);
    expect(text).not.toContain("- run_0003 [");
    expect(text).toContain("- run_0004 [accepted]");
    expect(text).toContain("- run_0010 [promising]");
    expect(text).toContain("- run_0011 [accepted, best]");
    expect(text).toContain("Best run ID: run_0011");
    expect(text).not.toMatch(/test_mse|0\.0777/); // held out: never shown to the planner
  });

  it("shows only runs of the search's fidelity, the incumbent's seeds and the measured noise", () => {
    const run = (id: string, fidelity: string) => ({
      run_id: id, val_mse: 0.2, test_mse: 0.1, history_summary: null, accepted: true, config_changes: {}, status: "ok", fidelity,
    });
    const agentState = {
      max_runs: 20,
      best_run_id: "run_0002",
      runs: [run("run_0001", "T @1ep"), run("run_0002", "T @3ep")],
      noise: { "T @3ep": { sd: 0.027, rel_sd: 0.144, dof: 2, n: 3, mean: 0.187, run_ids: [], config_ids: [], by_family: {} } },
    };
    const incumbent = { root_run_id: "run_0002", val_values: [0.172, 0.171, 0.218], n: 3, val_mean: 0.187, val_sd: 0.027, noise_sd: 0.027, noise_source: "x" };
    const text = buildPlannerPrompt(ctx({ agentState, fidelity: "T @3ep", incumbent }), null);
    expect(text).not.toContain("run_0001");
    expect(text).toContain("Best validation MSE: 0.187 ± 0.027 (mean val_mse over 3 seeds)");
    expect(text).toContain("Seed-to-seed noise: sd 0.027 (14.4% of the mean) of val_mse between seeds of one config (3 runs)");
  });
});

describe("evaluator prompt", () => {
  it("renders the seed's evaluator content from an evaluation input", () => {
    const input = {
      runId: "run_0005",
      metrics: { val_mse: 0.199, test_mse: 0.0777, test_mae: 0.2, train_mse: 0.17, best_epoch: 4, epochs_run: 6, max_epochs: 8 },
      failure: null,
      candidate: null,
      incumbent: { root_run_id: "run_0002", val_values: [0.2], n: 1, val_mean: 0.2, val_sd: null, noise_sd: null, noise_source: null },
      curve: null,
      repeatsLeft: 0,
      changes: [],
      historySummary: "",
    };
    const text = buildEvaluatorPrompt(input, applyRules(input));
    expect(text).toContain("Candidate config (run_0005 is its latest run):");
    expect(text).toContain("best_epoch 4 of 6 epochs run (max 8)");
    expect(text).toContain("Incumbent config (run_0002):");
    expect(text).not.toMatch(/test_m(se|ae)|0\.0777/);
    expect(text).toContain("Relative improvement of the candidate's mean val_mse: 0.50%");
    expect(text).toContain("The automatic rules are uncertain: borderline +0.5%");
    expect(text).toContain("could it be a lucky seed?");
  });
});
