import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AgentStateFile, ConfigChange, PlannerContext, PlannerDecision, PlannerResult, SearchSpace } from "../src/contracts.js";
import { UserError } from "../src/errors.js";
import { classifyAdvice } from "../src/planners/advice.js";
import { createPlanner } from "../src/planners/index.js";
import { lastUserText, startFakeOpenAI, type FakeOpenAI } from "./helpers/fake-openai.js";

const SPACE = JSON.parse(readFileSync(new URL("../nas_system/search_space.json", import.meta.url), "utf8")) as SearchSpace;

const STATE: AgentStateFile = {
  max_runs: 10,
  best_run_id: "run_0001",
  runs: [
    {
      run_id: "run_0001", val_mse: 0.185, test_mse: 0.1, history_summary: "steady decrease, best at epoch 5",
      accepted: true, config_changes: {}, status: "ok", train_mse: 0.15, best_epoch: 5, epochs_run: 6,
      params: { "training.optimizer_params.lr": 0.0001, "model.d_model": 256 },
    },
    {
      run_id: "run_0002", val_mse: 0.2, test_mse: 0.12, history_summary: "noisy", accepted: false,
      config_changes: { "training.optimizer_params.lr": 0.005 }, status: "ok", step_type: "small", planner: "llm",
      plan: "raise lr", evaluation_reason: "performance degraded: -8.1% val_mse vs run_0001",
    },
    {
      run_id: "run_0003", val_mse: null, test_mse: null, history_summary: null, accepted: false,
      config_changes: { "training.optimizer_params.lr": 0.01 }, status: "diverged", error: "non-finite loss at epoch 2",
    },
  ],
  verdicts: { run_0001: "accepted", run_0002: "rejected", run_0003: "failed" }, // the helper's labels
};

/** A change is valid when its key is in the search space and a numeric value lies in its range. */
async function fakeValidate(changes: ConfigChange[]): Promise<string[]> {
  const errors: string[] = [];
  for (const c of changes) {
    const p = SPACE.params[c.key];
    if (!p) errors.push(`unknown key ${c.key}`);
    else if (typeof c.value === "number" && p.high !== undefined && c.value > p.high) {
      errors.push(`${c.key}=${c.value} is above the maximum ${p.high}`);
    }
  }
  return errors;
}

const TPE: PlannerDecision = {
  step_type: "small",
  plan: "TPE sample",
  reason: "Optuna TPE over the history",
  config_changes: [
    { key: "training.optimizer_params.lr", value: 0.0003 },
    { key: "model.dropout", value: 0.1 },
  ],
};

/** The config a set of changes gives, by value (the real one is config_id from the Python dry run). */
const idOf = (changes: ConfigChange[]) => JSON.stringify([...changes].sort((a, b) => a.key.localeCompare(b.key)));

function context(overrides: Partial<PlannerContext> = {}) {
  const suggested: string[] = [];
  const ctx: PlannerContext = {
    iteration: 3,
    maxIterations: 10,
    plannerCall: 0,
    batchSize: 1,
    agentState: STATE,
    fidelity: null,
    incumbent: { root_run_id: "run_0001", val_values: [0.185], n: 1, val_mean: 0.185, val_sd: null, noise_sd: null, noise_source: null },
    configText: "seed = 42\nmodel = {'d_model': 256}\n",
    searchSpace: SPACE,
    lastFeedback: "the model peaked too early",
    targetValMse: 0.17,
    checkChanges: async (changes) => {
      const errors = await fakeValidate(changes);
      return { errors, configId: errors.length ? null : idOf(changes) };
    },
    knownConfigs: {},
    suggest: async (sampler, count) => {
      suggested.push(sampler);
      return Array.from({ length: count }, (_, i) => ({
        ...TPE,
        plan: `${sampler} sample`,
        config_changes: [{ key: "model.dropout", value: 0.1 + i / 10 }],
      })).map((d, i) => (i === 0 ? { ...TPE, plan: `${sampler} sample` } : d));
    },
    ...overrides,
  };
  return { ctx, suggested };
}

/** The first (for a batch of 1, the only) proposal of a result. */
const one = (res: PlannerResult) => ({ ...res.proposals[0], ...res, decision: res.proposals[0].decision });

const decision = (changes: ConfigChange[], step: PlannerDecision["step_type"] = "small"): PlannerDecision => ({
  step_type: step,
  plan: "try it",
  reason: "because",
  config_changes: changes,
});
const LR = decision([{ key: "training.optimizer_params.lr", value: 0.0002 }]);

let fake: FakeOpenAI;
let env: Record<string, string>;
beforeAll(async () => {
  fake = await startFakeOpenAI();
  env = { OPENROUTER_API_KEY: "sk-test", NAS_LLM_BASE_URL: fake.baseURL, NAS_LLM_MAX_RETRIES: "0", NAS_LLM_BACKOFF_MS: "10" };
});
afterAll(() => fake.close());
beforeEach(() => {
  expect(fake.pending()).toBe(0);
  fake.requests.length = 0;
});

describe("llm planner", () => {
  it("returns a valid decision with usage, and prompts with state, space, budget and failures", async () => {
    fake.enqueue({ tool: LR, usage: { prompt_tokens: 1000, completion_tokens: 80, cost: 0.01 } });
    const { ctx, suggested } = context();
    const res = await createPlanner("llm", { env })(ctx);
    expect(one(res)).toMatchObject({ decision: LR, planner: "llm", attempts: 1, fallback: null, advice: null });
    expect(res.proposals).toHaveLength(1);
    expect(res.usage).toEqual({ calls: 1, input_tokens: 1000, output_tokens: 80, cost_usd: 0.01 });
    expect(suggested).toEqual([]);
    const prompt = lastUserText(fake.requests[0]);
    expect(prompt).toContain("Iteration: 3/10");
    expect(prompt).toContain("Best validation MSE: 0.185 (mean val_mse over 1 seed)");
    expect(prompt).not.toMatch(/test_mse|0\.12\b/); // test metrics are held out: never in a prompt
    expect(prompt).toContain("Iterations left after this one: 7");
    expect(prompt).toContain("Target validation MSE: 0.17");
    expect(prompt).toContain("the model peaked too early");
    expect(prompt).toContain("- model.d_model: int, one of 16 | 32 | 64 | 128 | 256 | 512; step medium; now 256 - model width");
    expect(prompt).toContain('"optim.AdamW"');
    expect(prompt).toContain("- model.d_model divisible by model.n_heads");
    expect(prompt).toContain("- run_0003 (failed: diverged): training.optimizer_params.lr=0.01 -> non-finite loss at epoch 2");
    expect(prompt).toContain("- run_0002 (rejected): training.optimizer_params.lr=0.005 -> performance degraded");
    expect(prompt).toContain("seed = 42");
    expect(prompt).toContain("Advice from an Optuna TPE sampler (you may adopt, modify or ignore it):\nnone");
  });

  it("re-asks after malformed JSON and after a wrong enum, then succeeds", async () => {
    fake.enqueue({ toolText: "{oops" }, { tool: { ...LR, step_type: "tiny" } }, { tool: LR });
    const res = await createPlanner("llm", { env })(context().ctx);
    expect(one(res).decision).toEqual(LR);
    expect(res.attempts).toBe(3);
    expect(res.usage.calls).toBe(3);
    expect(lastUserText(fake.requests[1])).toMatch(/rejected: the tool-call arguments are not valid JSON/);
    expect(lastUserText(fake.requests[2])).toMatch(/rejected: step_type: Invalid option/);
    expect(res.transcript?.map((a) => a.error === null)).toEqual([false, false, true]);
  });

  it("re-asks with the validator's error for an unknown key, then succeeds", async () => {
    fake.enqueue({ tool: decision([{ key: "model.depth", value: 3 }]) }, { tool: LR });
    const res = await createPlanner("llm", { env })(context().ctx);
    expect(one(res).decision).toEqual(LR);
    expect(lastUserText(fake.requests[1])).toContain("rejected: unknown key model.depth");
  });

  it("rejects an empty non-stop step and duplicate keys, but allows stop without changes", async () => {
    const dup = decision([LR.config_changes[0], LR.config_changes[0]]);
    const stop = decision([], "stop");
    fake.enqueue({ tool: decision([]) }, { tool: dup }, { tool: stop });
    const res = await createPlanner("llm", { env })(context().ctx);
    expect(one(res).decision).toEqual(stop);
    expect(lastUserText(fake.requests[1])).toContain("config_changes is empty; a small step needs at least one change");
    expect(lastUserText(fake.requests[2])).toContain("sets training.optimizer_params.lr more than once");
  });

  it("falls back to TPE after three out-of-range answers, recording the cause", async () => {
    const tooHigh = decision([{ key: "training.optimizer_params.lr", value: 0.5 }]);
    fake.enqueue({ tool: tooHigh }, { tool: tooHigh }, { tool: tooHigh });
    const { ctx, suggested } = context();
    const res = await createPlanner("llm", { env })(ctx);
    expect(suggested).toEqual(["tpe"]);
    expect(one(res).planner).toBe("optuna (fallback)");
    expect(one(res).decision.plan).toBe("tpe sample");
    expect(one(res).fallback).toMatch(/no valid answer in 3 attempts; last error: training.optimizer_params.lr=0.5 is above the maximum 0.01/);
    expect(res.usage.calls).toBe(3);
    expect(res.attempts).toBe(3);
    expect(lastUserText(fake.requests[2])).toContain("rejected: training.optimizer_params.lr=0.5 is above the maximum 0.01");
  });

  it("falls back to TPE when the API is down", async () => {
    fake.enqueue({ status: 502 });
    const { ctx, suggested } = context();
    const res = await createPlanner("llm", { env })(ctx);
    expect(suggested).toEqual(["tpe"]);
    expect(one(res)).toMatchObject({ planner: "optuna (fallback)", attempts: 0 });
    expect(one(res).fallback).toContain(`the LLM API at ${fake.baseURL} failed: 502`);
  });

  it("stops the search on 401 instead of falling back", async () => {
    fake.enqueue({ status: 401 });
    const { ctx, suggested } = context();
    await expect(createPlanner("llm", { env })(ctx)).rejects.toThrow(UserError);
    expect(suggested).toEqual([]);
  });

  it("needs a key at creation", () => {
    expect(() => createPlanner("llm", { env: {} })).toThrow(/OPENROUTER_API_KEY is not set.*--planner optuna/);
    expect(() => createPlanner("llm+optuna", { env: {} })).toThrow(UserError);
  });
});

describe("batches (--parallel K)", () => {
  it("one LLM call returns K distinct proposals, each with its own plan", async () => {
    const other = decision([{ key: "model.d_model", value: 128 }], "medium");
    fake.enqueue({ tool: { proposals: [LR, LR] } }, { tool: { proposals: [LR] } }, { tool: { proposals: [LR, other] } });
    const res = await createPlanner("llm", { env })(context({ batchSize: 2 }).ctx);
    expect(res.proposals.map((p) => p.decision)).toEqual([LR, other]);
    expect(res.attempts).toBe(3);
    const tool = fake.requests[0].body.tools?.[0];
    expect(Object.keys(tool?.function.parameters?.properties ?? {})).toEqual(["proposals"]);
    expect(lastUserText(fake.requests[0])).toContain("This round trains 2 configs at once");
    expect(lastUserText(fake.requests[1])).toContain("the same config as proposal 1; make every proposal different");
    expect(lastUserText(fake.requests[2])).toContain("give exactly 2 proposals (got 1)");
  });

  it("refuses a proposal that repeats a config already trained", async () => {
    fake.enqueue({ tool: LR }, { tool: decision([{ key: "model.dropout", value: 0.3 }]) });
    const res = await createPlanner("llm", { env })(context({ knownConfigs: { [idOf(LR.config_changes)]: "run_0004" } }).ctx);
    expect(one(res).decision.config_changes).toEqual([{ key: "model.dropout", value: 0.3 }]);
    expect(lastUserText(fake.requests[1])).toContain("these changes give the config run_0004 already trained");
  });

  it("the hybrid fills the batch from both: ceil(K/2) from the LLM, the rest from TPE", async () => {
    fake.enqueue({ tool: { proposals: [LR, decision([{ key: "model.d_ff", value: 256 }], "medium")] } });
    const { ctx, suggested } = context({ batchSize: 3 });
    const res = await createPlanner("llm+optuna", { env })(ctx);
    expect(suggested).toEqual(["tpe"]);
    expect(res.proposals.map((p) => p.planner)).toEqual(["llm+optuna", "llm+optuna", "optuna (hybrid)"]);
    expect(lastUserText(fake.requests[0])).toContain("This round trains 2 configs at once");
  });

  it("optuna asks the sampler for K at once", async () => {
    const { ctx, suggested } = context({ batchSize: 2 });
    const res = await createPlanner("optuna", {})(ctx);
    expect(suggested).toEqual(["tpe"]);
    expect(res.proposals).toHaveLength(2);
  });
});

describe("model families", () => {
  const SWITCH = [{ key: "model.family", value: "dlinear" }, { key: "model.moving_avg", value: 13 }];

  it("re-asks a family switch that is not marked radical, then accepts it", async () => {
    fake.enqueue({ tool: decision(SWITCH, "medium") }, { tool: decision(SWITCH, "radical") });
    const res = await createPlanner("llm", { env })(context().ctx);
    expect(one(res).decision).toEqual(decision(SWITCH, "radical"));
    expect(lastUserText(fake.requests[1])).toContain("rejected: switching model.family from informer to dlinear is a radical step");
    const prompt = lastUserText(fake.requests[0]);
    expect(prompt).toContain('- model.family: str, one of "informer" | "dlinear" | "nlinear" | "patchtst"; step radical');
    expect(prompt).toContain('* model.family "dlinear"; switching writes model.moving_avg=25, model.individual=false and its training recipe (listed above) unless set in the same change:');
    expect(prompt).toContain("  - model.moving_avg: int, one of 7 | 13 | 25 | 49; step medium - moving-average kernel");
  });

  it("the hybrid passes TPE's family switch as advice and classifies an adopted answer", async () => {
    const advice = decision(SWITCH, "radical");
    fake.enqueue({ tool: advice });
    const { ctx } = context({ suggest: async () => [advice] });
    const res = await createPlanner("llm+optuna", { env })(ctx);
    expect(one(res)).toMatchObject({ planner: "llm+optuna", advice: "adopted", decision: advice });
    expect(lastUserText(fake.requests[0])).toContain("step_type radical; config_changes: model.family=dlinear, model.moving_avg=13");
  });
});

describe("hybrid llm+optuna planner", () => {
  it("puts TPE's advice in the prompt and classifies an adopted answer", async () => {
    fake.enqueue({ tool: { ...TPE, plan: "take the advice" } });
    const { ctx, suggested } = context();
    const res = await createPlanner("llm+optuna", { env })(ctx);
    expect(suggested).toEqual(["tpe"]);
    expect(one(res)).toMatchObject({ planner: "llm+optuna", advice: "adopted" });
    expect(lastUserText(fake.requests[0])).toContain(
      "Advice from an Optuna TPE sampler (you may adopt, modify or ignore it):\nstep_type small; config_changes: training.optimizer_params.lr=0.0003, model.dropout=0.1",
    );
  });

  it("classifies modified and ignored answers", async () => {
    fake.enqueue({ tool: decision([{ key: "model.dropout", value: 0.2 }]) }, { tool: decision([{ key: "model.d_model", value: 128 }], "medium") });
    expect(one(await createPlanner("llm+optuna", { env })(context().ctx)).advice).toBe("modified");
    expect(one(await createPlanner("llm+optuna", { env })(context().ctx)).advice).toBe("ignored");
  });

  it("falls back to the advice it already has, without asking Optuna twice", async () => {
    fake.enqueue({ status: 500 });
    const { ctx, suggested } = context();
    const res = await createPlanner("llm+optuna", { env })(ctx);
    expect(suggested).toEqual(["tpe"]);
    expect(one(res)).toMatchObject({ planner: "optuna (fallback)", advice: null, decision: { plan: "tpe sample" } });
  });

  it("classifyAdvice compares keys and values", () => {
    const a = TPE.config_changes;
    expect(classifyAdvice(a, [...a].reverse())).toBe("adopted");
    expect(classifyAdvice(a, [{ key: "training.optimizer_params.lr", value: 0.0003 * (1 + 1e-12) }, a[1]])).toBe("adopted");
    expect(classifyAdvice(a, [a[0]])).toBe("modified");
    expect(classifyAdvice(a, [...a, { key: "model.d_ff", value: 512 }])).toBe("modified");
    expect(classifyAdvice(a, [{ key: "seed", value: 1 }])).toBe("ignored");
  });
});

describe("offline planners", () => {
  it("optuna and random ask ctx.suggest with their sampler and cost nothing", async () => {
    for (const [name, sampler] of [["optuna", "tpe"], ["random", "random"]] as const) {
      const { ctx, suggested } = context();
      const res = await createPlanner(name, {})(ctx);
      expect(suggested).toEqual([sampler]);
      expect(one(res)).toMatchObject({ planner: name, decision: { plan: `${sampler} sample` }, usage: { calls: 0, cost_usd: 0 } });
    }
    expect(fake.requests).toHaveLength(0);
  });
});

describe("mock planner", () => {
  const dir = mkdtempSync(join(tmpdir(), "nas-mock-"));
  const script = (name: string, data: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, typeof data === "string" ? data : JSON.stringify(data));
    return file;
  };

  it("replays the script by planner call and stops when it runs out", async () => {
    const file = script("ok.json", { planner: [LR, decision([{ key: "model.d_model", value: 128 }], "medium")] });
    const planner = createPlanner("mock", { mockFile: file });
    expect(one(await planner(context({ plannerCall: 1 }).ctx)).decision.config_changes).toEqual([{ key: "model.d_model", value: 128 }]);
    const first = await planner(context({ plannerCall: 0 }).ctx);
    expect(one(first)).toMatchObject({ decision: LR, planner: "mock", usage: { calls: 0 } });
    const both = await planner(context({ plannerCall: 0, batchSize: 3 }).ctx);
    expect(both.proposals.map((p) => p.decision.config_changes[0].key)).toEqual(["training.optimizer_params.lr", "model.d_model"]);
    const done = await planner(context({ plannerCall: 2 }).ctx);
    expect(one(done).decision).toEqual({ step_type: "stop", plan: "mock script exhausted", reason: "no scripted decision left", config_changes: [] });
  });

  it("rejects an invalid entry with the file and index", async () => {
    const file = script("bad.json", { planner: [LR, decision([{ key: "model.depth", value: 3 }]), { step_type: "huge" }] });
    const planner = createPlanner("mock", { mockFile: file });
    await expect(planner(context({ plannerCall: 1 }).ctx)).rejects.toThrow(
      `mock script ${file}: planner[1] is invalid: unknown key model.depth; fix that entry`,
    );
    await expect(planner(context({ plannerCall: 2 }).ctx)).rejects.toThrow(/planner\[2\] is invalid: step_type: Invalid option/);
  });

  it("replays a family switch marked radical and rejects one that is not", async () => {
    const change = [{ key: "model.family", value: "patchtst" }, { key: "model.patch_len", value: 16 }];
    const file = script("family.json", { planner: [decision(change, "radical"), decision(change, "medium")] });
    const planner = createPlanner("mock", { mockFile: file });
    expect(one(await planner(context({ plannerCall: 0 }).ctx)).decision.config_changes).toEqual(change);
    await expect(planner(context({ plannerCall: 1 }).ctx)).rejects.toThrow(
      `mock script ${file}: planner[1] is invalid: switching model.family from informer to patchtst is a radical step; set step_type "radical"; fix that entry`,
    );
  });

  it("explains unreadable scripts", async () => {
    await expect(createPlanner("mock", { mockFile: join(dir, "missing.json") })(context().ctx)).rejects.toThrow(/cannot be read/);
    await expect(createPlanner("mock", { mockFile: script("list.json", [LR]) })(context().ctx)).rejects.toThrow(/has no "planner" list/);
    expect(() => createPlanner("mock", {})).toThrow(/--mock-file/);
  });
});
