import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ConfigEvidence, CurveSignals, EvaluationInput, RunMetrics } from "../src/contracts.js";
import { UserError } from "../src/errors.js";
import { createEvaluator } from "../src/evaluation/evaluate.js";
import { noiseVerdict } from "../src/evaluation/noise.js";
import { DEFAULT_THRESHOLDS, applyRules } from "../src/evaluation/rules.js";
import { lastUserText, startFakeOpenAI, type FakeOpenAI } from "./helpers/fake-openai.js";

/** A config's seeds as the evaluator sees them (noise_sd: the measured pool, or null). */
function config(root: string, values: number[], noise_sd: number | null = 0.01): ConfigEvidence {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n >= 2 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : null;
  return { root_run_id: root, val_values: values, n, val_mean: mean, val_sd: sd, noise_sd, noise_source: noise_sd ? "informer runs (2 dof)" : null, noise_dof: noise_sd ? 2 : null };
}

const BEST = config("run_0001", [0.2]);

function metrics(over: Partial<RunMetrics> = {}): RunMetrics {
  return { val_mse: 0.19, test_mse: 0.0777, test_mae: 0.0888, train_mse: 0.17, best_epoch: 5, epochs_run: 8, max_epochs: 10, ...over };
}

const FLAT: CurveSignals = {
  best_epoch: 5, epochs_run: 8, max_epochs: 10, stopped_early: true, rise_pct: 3, overfitting: null, early_peak: null,
  statement: "No overfitting by the val curve: val_mse rose 3% after its best epoch 5, within 25%.",
};

function input(over: Partial<EvaluationInput> = {}): EvaluationInput {
  const m = over.metrics === undefined ? metrics() : over.metrics;
  return {
    runId: "run_0002",
    metrics: m,
    failure: null,
    candidate: m ? config("run_0002", [m.val_mse]) : null,
    incumbent: BEST,
    curve: FLAT,
    repeatsLeft: 0,
    changes: [{ key: "model.dropout", value: 0.1 }],
    historySummary: "val_mse fell steadily; best at epoch 5",
    ...over,
  };
}

describe("deterministic rules", () => {
  // val 0.2 is the best; improvement = (0.2 - new) / 0.2 * 100.
  const table: Array<[string, Partial<RunMetrics>, boolean | null, RegExp]> = [
    ["significant improvement (+5%)", { val_mse: 0.19 }, true, /^significant improvement: \+5\.0%/],
    ["clear regression (-1%)", { val_mse: 0.202 }, false, /^performance degraded: -1\.0%/],
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

  it("rejects overfitting read from the val curve, after the seed's first two rules", () => {
    // as the helper's rule (nas_agent/curve.py) words it; its thresholds are tested in test_curve.py
    const rising = { ...FLAT, rise_pct: 40, overfitting: "val_mse rose 40% after its best epoch 5 (overfitting or instability)" };
    expect(applyRules(input({ metrics: metrics({ val_mse: 0.199 }), curve: rising })).reason).toMatch(/^overfitting: val_mse rose 40% after its best epoch 5/);
    expect(applyRules(input({ metrics: metrics({ val_mse: 0.19 }), curve: rising })).accept).toBe(true); // improvement first
  });

  it("does not call persistence overfitting: train 0.231 vs val 0.137 with a flat val curve (ETTh1's split shift)", () => {
    const persistence = metrics({ train_mse: 0.231, val_mse: 0.1995, best_epoch: 6, epochs_run: 6, max_epochs: 6 });
    // the helper's reading of a val curve still falling at its last epoch (test_curve.py): no flag
    const curve: CurveSignals = { ...FLAT, best_epoch: 6, epochs_run: 6, max_epochs: 6, stopped_early: false, rise_pct: 0 };
    expect(applyRules(input({ metrics: persistence, curve })).accept).toBeNull(); // borderline, not rejected
    const e = noiseVerdict(config("run_0002", [0.137], 0.0001), config("run_0001", [0.14, 0.141, 0.139], 0.0001), { alpha: 0.025, defaultRelSd: 0.1, maxLooks: 3 }, 0, []);
    expect(e.decision).toBe("accept");
  });

  it("accepts the first successful run as the baseline", () => {
    const v = applyRules(input({ incumbent: null }));
    expect(v).toMatchObject({ accept: true, source: "baseline", improvementPct: null });
    expect(v.reason).toBe("baseline: first successful run (val_mse 0.1900)");
  });

  it("a first successful proposal is measured like a baseline: the verdict carries its missing seeds", async () => {
    const v = applyRules(input({ incumbent: null, baselineSeedsLeft: 2 }));
    expect(v).toMatchObject({ accept: true, source: "baseline", baselineSeeds: 2 });
    expect(v.reason).toBe("baseline: first successful run (val_mse 0.1900); measured like a baseline: 2 more seeds of it train next, before anything is judged against it");
    const res = await createEvaluator({ mode: "rules" })(input({ incumbent: null, baselineSeedsLeft: 1 }));
    expect(res).toMatchObject({ accept: true, baseline_seeds: 1, feedback: "Baseline established; its seed noise is being measured before the next verdict." });
    expect(await createEvaluator({ mode: "rules" })(input({ incumbent: null }))).not.toHaveProperty("baseline_seeds");
  });

  it("rejects a failed training with its cause", () => {
    const v = applyRules(input({ metrics: null, failure: "diverged: non-finite loss at epoch 2" }));
    expect(v).toMatchObject({ accept: false, source: "failure", reason: "training failed: diverged: non-finite loss at epoch 2" });
    expect(applyRules(input({ metrics: metrics({ val_mse: Number.NaN }) })).source).toBe("failure");
    expect(applyRules(input({ incumbent: null, metrics: null, failure: "crashed" })).accept).toBe(false);
  });

  it("uses configured thresholds", () => {
    const strict = { ...DEFAULT_THRESHOLDS, acceptAbove: 10, minBestEpoch: 6 };
    expect(applyRules(input(), strict).reason).toMatch(/converged too quickly: best epoch 5 < 6/);
    expect(applyRules(input({ metrics: metrics({ best_epoch: 7 }) }), strict).accept).toBeNull();
  });

  it("keeps another seed of the incumbent's own config: it measures the noise", () => {
    const v = applyRules(input({ candidate: config("run_0001", [0.2, 0.25]) }));
    expect(v).toMatchObject({ accept: true, source: "seed" });
  });
});

describe("noise-aware acceptance: means over seeds against a noise margin", () => {
  const o = { alpha: 0.025, defaultRelSd: 0.1, maxLooks: 3 };
  /** A config whose seed noise is a relative sd (as config_stats pools it) with its dof. */
  const rel = (root: string, values: number[], relSd = 0.144, dof = 2): ConfigEvidence => {
    const c = config(root, values, 1);
    return { ...c, noise_sd: relSd * c.val_mean, noise_dof: dof };
  };
  // incumbent: 3 seeds, mean 0.187, relative seed noise 14.4% (0.027, the users' setting measured on an H200)
  const inc = rel("run_0000", [0.172, 0.171, 0.218]);

  it("does not accept a candidate inside the noise without repeats: it asks for another seed", () => {
    const v = noiseVerdict(rel("run_0004", [0.175]), inc, o, 2, []);
    // log scale: SE = 0.144 * sqrt(1/3 + 1) = 0.166; look 1 of 3 spends alpha/6 = 0.0042: t(2 dof) = 10.89,
    // margin exp(-1.81): a gain of 83.6% would be needed (2 dof of noise is little evidence); gain 6.4%
    expect(v.decision).toBe("repeat");
    expect(v.marginPct).toBeCloseTo(83.6, 0);
    expect(v.reason).toBe(
      "mean val_mse 0.175 (1 seed) vs run_0000's 0.187 ± 0.02685 (3 seeds): +6.4%, inside the noise margin 83.6% (t 10.89 on 2 dof, look 1 of 3; candidate sd 0.0252 from informer runs (2 dof); incumbent sd 0.02693 from informer runs (2 dof)): train it again with a new seed",
    );
  });

  it("accepts a candidate far outside the noise at once, from one seed, once the noise is well measured", () => {
    const cand = rel("run_0004", [0.08]);
    // with 2 dof one seed cannot clear the 83.6% margin; pooled over 20 dof, t falls to 2.93 (margin 38.6%)
    expect(noiseVerdict(cand, inc, o, 2, []).decision).toBe("repeat");
    const v = noiseVerdict({ ...cand, noise_dof: 20 }, { ...inc, noise_dof: 20 }, o, 2, []);
    expect(v.decision).toBe("accept");
    expect(v.deltaPct).toBeCloseTo(57.2, 0);
    expect(v.reason).toMatch(/beyond the noise margin 38\.\d% \(t 2\.93 on 20 dof, look 1 of 3;/);
  });

  it("rejects a mean that is not lower, and a fragile gain inside the noise without spending a repeat", () => {
    expect(noiseVerdict(rel("run_0004", [0.19]), inc, o, 2, []).decision).toBe("reject");
    const fragile = noiseVerdict(rel("run_0004", [0.175]), inc, o, 2, ["val_mse rose 60% after its best epoch 2"]);
    expect(fragile.decision).toBe("reject");
    expect(fragile.reason).toMatch(/not worth a repeat$/);
  });

  it("repeats shrink the margin; with no repeat left the case is open", () => {
    const three = rel("run_0004", [0.15, 0.152, 0.149]); // gain 19.6%
    // look 3 of 3 spends alpha/2: t(2 dof) 6.21, SE 0.144 * sqrt(2/3) = 0.118: a 51.8% gain needed (83.6% at look 1)
    expect(noiseVerdict(three, inc, o, 0, []).decision).toBe("open");
    expect(noiseVerdict(three, inc, o, 0, []).marginPct).toBeCloseTo(51.8, 0);
    expect(noiseVerdict(rel("run_0004", [0.06, 0.061, 0.059]), inc, o, 0, []).decision).toBe("accept"); // gain 67.9%
  });

  it("two families measured apart: Welch's dof; pools that overlap keep the smaller dof", () => {
    // the CPU quality benchmark's case (bench/quality.py, default arm, seed 0): an NLinear of 3 seeds
    // against the DLinear incumbent of 3 seeds, each family's sd from its own 3 seeds (2 dof)
    const own = (root: string, family: string, values: number[], sd: number): ConfigEvidence => ({
      ...config(root, values, 1), family, noise_sd: sd, noise_dof: 2, noise_pool: "family", noise_source: `${family} runs (2 dof)`,
    });
    const dlinear = own("run_0001", "dlinear", [0.09289, 0.0927, 0.0920], 0.0004427);
    const nlinear = own("run_0013", "nlinear", [0.0913, 0.0910, 0.0916], 0.0002965);
    const v = noiseVerdict(nlinear, dlinear, o, 0, []);
    // no run in common: Welch-Satterthwaite, 3.5 dof (not 2): t 3.75, margin 1.2% (2.0% on 2 dof); gain 1.3%
    expect(v.decision).toBe("accept");
    expect(v.reason).toMatch(/beyond the noise margin 1\.2% \(t 3\.75 on 3\.5 dof, look 3 of 3;/);
    // the candidate's sd from the pool over all families, which holds the incumbent's runs too: 2 dof
    const overlapping = noiseVerdict({ ...nlinear, noise_pool: "all", noise_source: "0.4% of its mean, over all families (2 dof)" }, dlinear, o, 0, []);
    expect(overlapping.decision).toBe("open");
    expect(overlapping.reason).toMatch(/t 6\.21 on 2 dof/);
  });

  it("falls back to the stated default relative sd when no spread was measured, and says so", () => {
    const v = noiseVerdict(config("run_0004", [0.155], null), config("run_0000", [0.2], null), o, 1, []);
    // an assumed sd has no dof: the normal quantile, z 2.64 at alpha/6; SE = 0.1 * sqrt(1 + 1) = 0.141;
    // a gain of 31.1% is needed; gain 22.5%: inside
    expect(v.decision).toBe("repeat");
    expect(v.marginPct).toBeCloseTo(31.1, 0);
    expect(v.noise).toMatch(/no measured seed spread: default relative sd 10%/);
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
    const evaluate = createEvaluator({ mode: "rules", acceptance: "fixed" });
    const note = "; val_mse 0.1900 is worse than persistence (repeating the last value: 0.1370) on this task";
    const accepted = await evaluate(input({ persistenceValMse: 0.137 }));
    expect(accepted).toMatchObject({ accept: true, source: "rules" });
    expect(accepted.reason).toBe(`significant improvement: +5.0% val_mse over run_0001${note}`);
    expect((await evaluate(input({ incumbent: null, persistenceValMse: 0.137 }))).reason).toBe(`baseline: first successful run (val_mse 0.1900)${note}`);
    expect((await evaluate(input({ metrics: metrics({ val_mse: 0.1999 }), persistenceValMse: 0.137 }))).reason).toMatch(/^borderline \+0\.1%.*no LLM evaluator configured.*; val_mse 0\.1999 is worse than persistence/);
    expect((await evaluate(input({ persistenceValMse: 0.25 }))).reason).not.toContain("persistence");
    expect((await evaluate(input({ persistenceValMse: null }))).reason).not.toContain("persistence");
    expect((await evaluate(input({ metrics: null, failure: "crashed", persistenceValMse: 0.1 }))).reason).toBe("training failed: crashed");
  });

  it("decides clear cases by the rules without asking the LLM", async () => {
    const evaluate = createEvaluator({ mode: "llm", acceptance: "fixed", env });
    const res = await evaluate(input());
    expect(res).toMatchObject({ accept: true, source: "rules", usage: { calls: 0 } });
    expect(res.feedback).not.toBe("");
    expect((await evaluate(input({ incumbent: null }))).source).toBe("baseline");
    expect((await evaluate(input({ metrics: null, failure: "crashed: OOM" }))).source).toBe("failure");
    expect(fake.requests).toHaveLength(0);
  });

  it("asks the LLM about a borderline run, with the seed's prompt content and no test metric", async () => {
    fake.enqueue({
      tool: { accept: false, reason: "0.5% is within noise", feedback: "try a larger d_model" },
      usage: { prompt_tokens: 500, completion_tokens: 30, cost: 0.003 },
    });
    const res = await createEvaluator({ mode: "llm", acceptance: "fixed", env })(input({ metrics: metrics({ val_mse: 0.199 }) }));
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
    expect(prompt).toContain("You are evaluating a training run whose verdict the automatic rules leave open.");
    expect(prompt).toContain("- val_mse per seed: 0.199");
    expect(prompt).toContain("model.dropout=0.1");
    expect(prompt).toContain("val_mse fell steadily; best at epoch 5");
    expect(JSON.stringify(req.body)).not.toMatch(/test_m(se|ae)|0\.0777|0\.0888/); // the test metrics never reach the LLM
  });

  it("asks the LLM only what the noise statistics leave open, showing the sd and per-seed values", async () => {
    const evaluate = createEvaluator({ mode: "llm", env });
    const inc = config("run_0000", [0.172, 0.171, 0.218], 0.027);
    const decided = await evaluate(input({ incumbent: inc, candidate: config("run_0004", [0.175], 0.027), repeatsLeft: 2 }));
    expect(decided).toMatchObject({ accept: false, repeat: true, source: "noise" });
    expect(fake.requests).toHaveLength(0);
    fake.enqueue({ tool: { accept: true, reason: "consistent gain over 3 seeds", feedback: "refine" } });
    const open = await evaluate(input({ incumbent: inc, candidate: config("run_0004", [0.15, 0.152, 0.149], 0.027), repeatsLeft: 0 }));
    // the LLM favours it, but a gain inside the noise never becomes the incumbent: promising, unconfirmed
    expect(open).toMatchObject({ accept: false, promising: true, source: "llm" });
    expect(open.reason).toMatch(/LLM: consistent gain over 3 seeds; recorded as promising, unconfirmed/);
    const prompt = lastUserText(fake.requests[0]);
    expect(prompt).toContain("- val_mse per seed: 0.15, 0.152, 0.149");
    expect(prompt).toContain("- val_mse per seed: 0.172, 0.171, 0.218");
    expect(prompt).toMatch(/Seed-to-seed noise: sd 0\.027 from informer runs/);
    const none = await createEvaluator({ mode: "rules" })(input({ incumbent: inc, candidate: config("run_0004", [0.15, 0.152, 0.149], 0.027) }));
    expect(none).toMatchObject({ accept: false, promising: true, source: "noise (no LLM)" });
    expect(none.reason).toMatch(/kept the incumbent; recorded as promising, unconfirmed \(the gain is inside the seed noise; more seeds could confirm it\)$/);
    fake.enqueue({ tool: { accept: false, reason: "noise", feedback: "move on" } });
    const no = await evaluate(input({ incumbent: inc, candidate: config("run_0004", [0.15, 0.152, 0.149], 0.027), repeatsLeft: 0 }));
    expect(no).toMatchObject({ accept: false, promising: false, source: "llm" });
  });

  it("re-asks a malformed LLM verdict, then falls back to the rules tie-break when it stays bad", async () => {
    fake.enqueue({ tool: { accept: "yes" } }, { toolText: "[" }, { tool: { reason: "x" } });
    const res = await createEvaluator({ mode: "llm", acceptance: "fixed", env })(input({ metrics: metrics({ val_mse: 0.199 }) }));
    expect(res.source).toBe("rules (LLM failed)");
    expect(res.accept).toBe(true);
    expect(res.reason).toMatch(/^borderline \+0\.5%.*; LLM evaluator failed \(the LLM gave no valid answer in 3 attempts.*\): kept the lower val_mse$/);
    expect(res.usage.calls).toBe(3);
    expect(lastUserText(fake.requests[1])).toMatch(/rejected: accept: Invalid input: expected boolean/);
  });

  it("uses the tie-break when the API is down, and stops on 401", async () => {
    fake.enqueue({ status: 500 });
    const res = await createEvaluator({ mode: "llm", acceptance: "fixed", env })(input({ metrics: metrics({ val_mse: 0.2005 }) }));
    expect(res).toMatchObject({ accept: false, source: "rules (LLM failed)" });
    expect(res.reason).toMatch(/rejected: val_mse is not lower$/);
    fake.enqueue({ status: 401 });
    await expect(createEvaluator({ mode: "llm", acceptance: "fixed", env })(input({ metrics: metrics({ val_mse: 0.199 }) }))).rejects.toThrow(
      /OPENROUTER_API_KEY is invalid \(401/,
    );
  });

  it("rules mode keeps a borderline run iff its val_mse is strictly lower, and says so", async () => {
    const evaluate = createEvaluator({ mode: "rules", acceptance: "fixed", env: {} });
    const better = await evaluate(input({ metrics: metrics({ val_mse: 0.1984 }) }));
    expect(better).toMatchObject({ accept: true, source: "rules (no LLM)" });
    expect(better.reason).toBe("borderline +0.8%: small improvement vs run_0001; no LLM evaluator configured: kept the lower val_mse");
    const same = await evaluate(input({ metrics: metrics({ val_mse: 0.2 }) }));
    expect(same).toMatchObject({ accept: false, source: "rules (no LLM)" });
    const thresholds = await createEvaluator({ mode: "rules", acceptance: "fixed", thresholds: { acceptAbove: 0.1 } })(
      input({ metrics: metrics({ val_mse: 0.199 }) }),
    );
    expect(thresholds.source).toBe("rules");
    expect(fake.requests).toHaveLength(0);
  });

  it("checks thresholds at creation (undefined means default)", () => {
    expect(() => createEvaluator({ mode: "rules", thresholds: { acceptAbove: undefined, minBestEpoch: 2 } })).not.toThrow();
    expect(() => createEvaluator({ mode: "rules", thresholds: { acceptAbove: Number.NaN } })).toThrow(/acceptAbove must be a number/);
    expect(() => createEvaluator({ mode: "rules", thresholds: { acceptAbovePct: 3 } as never })).toThrow(/unknown evaluator threshold "acceptAbovePct"/);
    expect(() => createEvaluator({ mode: "rules", thresholds: { acceptAbove: -1, rejectBelow: 0 } })).toThrow(/below the reject threshold/);
    expect(() => createEvaluator({ mode: "rules", noise: { defaultRelSd: 2 } })).toThrow(/--default-rel-sd must be a fraction/);
  });

  it("llm mode without a key fails at creation with the fix", () => {
    expect(() => createEvaluator({ mode: "llm", env: {} })).toThrow(UserError);
    expect(() => createEvaluator({ mode: "llm", env: {} })).toThrow(/OPENROUTER_API_KEY is not set.*--evaluator rules/);
  });
});
