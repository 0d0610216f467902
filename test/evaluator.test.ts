import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { EvaluationInput, RunMetrics } from "../src/contracts.js";
import { UserError } from "../src/errors.js";
import { createEvaluator } from "../src/evaluation/evaluate.js";
import { DEFAULT_THRESHOLDS, applyRules } from "../src/evaluation/rules.js";
import { lastUserText, startFakeOpenAI, type FakeOpenAI } from "./helpers/fake-openai.js";

const BEST = { run_id: "run_0001", val_mse: 0.2, test_mse: 0.11 };

function metrics(over: Partial<RunMetrics> = {}): RunMetrics {
  return { val_mse: 0.19, test_mse: 0.1, test_mae: 0.25, train_mse: 0.17, best_epoch: 5, epochs_run: 8, max_epochs: 10, ...over };
}

function input(over: Partial<EvaluationInput> = {}): EvaluationInput {
  return {
    runId: "run_0002",
    metrics: metrics(),
    failure: null,
    best: BEST,
    changes: [{ key: "model.dropout", value: 0.1 }],
    historySummary: "val_mse fell steadily; best at epoch 5",
    ...over,
  };
}

describe("deterministic rules", () => {
  // val 0.2 is the best; improvement = (0.2 - new) / 0.2 * 100.
  const table: Array<[string, Partial<RunMetrics>, boolean | null, RegExp]> = [
    ["significant improvement (+5%)", { val_mse: 0.19 }, true, /^significant improvement: \+5\.0%/],
    ["improvement beats overfitting (seed order)", { val_mse: 0.19, train_mse: 0.01 }, true, /^significant/],
    ["clear regression (-1%)", { val_mse: 0.202 }, false, /^performance degraded: -1\.0%/],
    ["overfitting in the borderline band", { val_mse: 0.199, train_mse: 0.05 }, false, /^severe overfitting: train\/val gap 74\.9% > 50%/],
    ["converged too quickly", { val_mse: 0.199, best_epoch: 2 }, false, /^converged too quickly: best epoch 2 < 3/],
    ["small improvement (+0.5%) is borderline", { val_mse: 0.199 }, null, /^borderline \+0\.5%: small improvement/],
    ["exactly +2% is still borderline", { val_mse: 0.196 }, null, /^borderline \+2\.0%/],
    ["minor regression (-0.25%) is borderline", { val_mse: 0.2005 }, null, /^borderline -0\.3%: minor regression/],
    ["exactly -0.5% is still borderline", { val_mse: 0.201 }, null, /^borderline -0\.5%/],
    ["epochs capped below 3 are not rejected", { val_mse: 0.199, best_epoch: 2, max_epochs: 2, epochs_run: 2 }, null, /^borderline/],
    ["capped at 2 but best epoch 1 is rejected", { val_mse: 0.199, best_epoch: 1, max_epochs: 2 }, false, /best epoch 1 < 2/],
  ];
  it.each(table)("%s", (_name, over, accept, reason) => {
    const v = applyRules(input({ metrics: metrics(over) }));
    expect(v.accept).toBe(accept);
    expect(v.reason).toMatch(reason);
    expect(v.source).toBe("rules");
  });

  it("accepts the first successful run as the baseline", () => {
    const v = applyRules(input({ best: null }));
    expect(v).toMatchObject({ accept: true, source: "baseline", improvementPct: null });
    expect(v.reason).toBe("baseline: first successful run (val_mse 0.1900)");
  });

  it("rejects a failed training with its cause", () => {
    const v = applyRules(input({ metrics: null, failure: "diverged: non-finite loss at epoch 2" }));
    expect(v).toMatchObject({ accept: false, source: "failure", reason: "training failed: diverged: non-finite loss at epoch 2" });
    expect(applyRules(input({ metrics: metrics({ val_mse: Number.NaN }) })).source).toBe("failure");
    expect(applyRules(input({ best: null, metrics: null, failure: "crashed" })).accept).toBe(false);
  });

  it("uses configured thresholds", () => {
    const strict = { ...DEFAULT_THRESHOLDS, acceptAbovePct: 10, minBestEpoch: 6 };
    expect(applyRules(input(), strict).reason).toMatch(/converged too quickly: best epoch 5 < 6/);
    expect(applyRules(input({ metrics: metrics({ best_epoch: 7 }) }), strict).accept).toBeNull();
  });
});

describe("createEvaluator", () => {
  let fake: FakeOpenAI;
  let env: Record<string, string>;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    env = { OPENROUTER_API_KEY: "sk-test", NAS_LLM_BASE_URL: fake.baseURL, NAS_LLM_MAX_RETRIES: "0", NAS_EVALUATOR_MODEL: "judge/model" };
  });
  afterAll(() => fake.close());
  beforeEach(() => {
    expect(fake.pending()).toBe(0);
    fake.requests.length = 0;
  });

  it("says in the verdict reason when a run is worse than persistence, whatever decided it", async () => {
    const evaluate = createEvaluator({ mode: "rules" });
    const note = "; val_mse 0.1900 is worse than persistence (repeating the last value: 0.1370) on this task";
    const accepted = await evaluate(input({ persistenceValMse: 0.137 }));
    expect(accepted).toMatchObject({ accept: true, source: "rules" });
    expect(accepted.reason).toBe(`significant improvement: +5.0% val_mse over run_0001${note}`);
    expect((await evaluate(input({ best: null, persistenceValMse: 0.137 }))).reason).toBe(`baseline: first successful run (val_mse 0.1900)${note}`);
    expect((await evaluate(input({ metrics: metrics({ val_mse: 0.1999 }), persistenceValMse: 0.137 }))).reason).toMatch(/^borderline \+0\.1%.*no LLM evaluator configured.*; val_mse 0\.1999 is worse than persistence/);
    expect((await evaluate(input({ persistenceValMse: 0.25 }))).reason).not.toContain("persistence");
    expect((await evaluate(input({ persistenceValMse: null }))).reason).not.toContain("persistence");
    expect((await evaluate(input({ metrics: null, failure: "crashed", persistenceValMse: 0.1 }))).reason).toBe("training failed: crashed");
  });

  it("decides clear cases by the rules without asking the LLM", async () => {
    const evaluate = createEvaluator({ mode: "llm", env });
    const res = await evaluate(input());
    expect(res).toMatchObject({ accept: true, source: "rules", usage: { calls: 0 } });
    expect(res.feedback).not.toBe("");
    expect((await evaluate(input({ best: null }))).source).toBe("baseline");
    expect((await evaluate(input({ metrics: null, failure: "crashed: OOM" }))).source).toBe("failure");
    expect(fake.requests).toHaveLength(0);
  });

  it("asks the LLM about a borderline run, with the seed's prompt content", async () => {
    fake.enqueue({
      tool: { accept: false, reason: "0.5% is within noise", feedback: "try a larger d_model" },
      usage: { prompt_tokens: 500, completion_tokens: 30, cost: 0.003 },
    });
    const res = await createEvaluator({ mode: "llm", env })(input({ metrics: metrics({ val_mse: 0.199 }) }));
    expect(res).toMatchObject({
      accept: false,
      source: "llm",
      feedback: "try a larger d_model",
      usage: { calls: 1, input_tokens: 500, output_tokens: 30, cost_usd: 0.003 },
    });
    expect(res.reason).toBe("borderline +0.5%: small improvement vs run_0001; LLM: 0.5% is within noise");
    expect(res.improvement_pct).toBeCloseTo(0.5);
    const req = fake.requests[0];
    expect(req.body.model).toBe("judge/model");
    expect(req.body.tools?.[0].function.name).toBe("evaluator_decision");
    const prompt = lastUserText(req);
    expect(prompt).toContain("You are evaluating a borderline training run.");
    expect(prompt).toContain("- val_mse: 0.199");
    expect(prompt).toContain("- test_mse: 0.11");
    expect(prompt).toContain("model.dropout=0.1");
    expect(prompt).toContain("val_mse fell steadily; best at epoch 5");
    expect(prompt).toContain("Does the test_mse align with val_mse?");
  });

  it("re-asks a malformed LLM verdict, then falls back to the rules tie-break when it stays bad", async () => {
    fake.enqueue({ tool: { accept: "yes" } }, { toolText: "[" }, { tool: { reason: "x" } });
    const res = await createEvaluator({ mode: "llm", env })(input({ metrics: metrics({ val_mse: 0.199 }) }));
    expect(res.source).toBe("rules (LLM failed)");
    expect(res.accept).toBe(true);
    expect(res.reason).toMatch(/^borderline \+0\.5%.*; LLM evaluator failed \(the LLM gave no valid answer in 3 attempts.*\): kept the lower val_mse$/);
    expect(res.usage.calls).toBe(3);
    expect(lastUserText(fake.requests[1])).toMatch(/rejected: accept: Invalid input: expected boolean/);
  });

  it("uses the tie-break when the API is down, and stops on 401", async () => {
    fake.enqueue({ status: 500 });
    const res = await createEvaluator({ mode: "llm", env })(input({ metrics: metrics({ val_mse: 0.2005 }) }));
    expect(res).toMatchObject({ accept: false, source: "rules (LLM failed)" });
    expect(res.reason).toMatch(/rejected: val_mse is not lower$/);
    fake.enqueue({ status: 401 });
    await expect(createEvaluator({ mode: "llm", env })(input({ metrics: metrics({ val_mse: 0.199 }) }))).rejects.toThrow(
      /OPENROUTER_API_KEY is invalid \(401/,
    );
  });

  it("rules mode keeps a borderline run iff its val_mse is strictly lower, and says so", async () => {
    const evaluate = createEvaluator({ mode: "rules", env: {} });
    const better = await evaluate(input({ metrics: metrics({ val_mse: 0.1984 }) }));
    expect(better).toMatchObject({ accept: true, source: "rules (no LLM)" });
    expect(better.reason).toBe("borderline +0.8%: small improvement vs run_0001; no LLM evaluator configured: kept the lower val_mse");
    const same = await evaluate(input({ metrics: metrics({ val_mse: 0.2 }) }));
    expect(same).toMatchObject({ accept: false, source: "rules (no LLM)" });
    const thresholds = await createEvaluator({ mode: "rules", thresholds: { acceptAbovePct: 0.1 } })(
      input({ metrics: metrics({ val_mse: 0.199 }) }),
    );
    expect(thresholds.source).toBe("rules");
    expect(fake.requests).toHaveLength(0);
  });

  it("checks thresholds at creation (undefined means default)", () => {
    expect(() => createEvaluator({ mode: "rules", thresholds: { acceptAbovePct: undefined, minBestEpoch: 2 } })).not.toThrow();
    expect(() => createEvaluator({ mode: "rules", thresholds: { acceptAbovePct: Number.NaN } })).toThrow(/acceptAbovePct must be a number/);
    expect(() => createEvaluator({ mode: "rules", thresholds: { acceptAbove: 3 } as never })).toThrow(/unknown evaluator threshold "acceptAbove"/);
    expect(() => createEvaluator({ mode: "rules", thresholds: { acceptAbovePct: -1, rejectBelowPct: 0 } })).toThrow(/below the reject threshold/);
  });

  it("llm mode without a key fails at creation with the fix", () => {
    expect(() => createEvaluator({ mode: "llm", env: {} })).toThrow(UserError);
    expect(() => createEvaluator({ mode: "llm", env: {} })).toThrow(/OPENROUTER_API_KEY is not set.*--evaluator rules/);
  });
});
