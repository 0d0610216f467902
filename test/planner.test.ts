import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AgentStateFile, ConfigChange, PlannerContext, PlannerDecision, SearchSpace } from "../src/contracts.js";
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

function context(overrides: Partial<PlannerContext> = {}) {
  const suggested: string[] = [];
  const ctx: PlannerContext = {
    iteration: 3,
    maxIterations: 10,
    plannerCall: 0,
    agentState: STATE,
    configText: "seed = 42\nmodel = {'d_model': 256}\n",
    searchSpace: SPACE,
    lastFeedback: "the model peaked too early",
    targetValMse: 0.17,
    validateChanges: fakeValidate,
    suggest: async (sampler) => {
      suggested.push(sampler);
      return { ...TPE, plan: `${sampler} sample` };
    },
    ...overrides,
  };
  return { ctx, suggested };
}

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
    expect(res).toMatchObject({ decision: LR, planner: "llm", attempts: 1, fallback: null, advice: null });
    expect(res.usage).toEqual({ calls: 1, input_tokens: 1000, output_tokens: 80, cost_usd: 0.01 });
    expect(suggested).toEqual([]);
    const prompt = lastUserText(fake.requests[0]);
    expect(prompt).toContain("Iteration: 3/10");
    expect(prompt).toContain("Best validation MSE: 0.185");
    expect(prompt).toContain("Iterations left after this one: 7");
    expect(prompt).toContain("Target validation MSE: 0.17");
    expect(prompt).toContain("the model peaked too early");
    expect(prompt).toContain("- model.d_model: int, one of 16 | 32 | 64 | 128 | 256 | 512; step medium; now 256 - model width");
    expect(prompt).toContain('"optim.AdamW"');
    expect(prompt).toContain("- model.d_model divisible by model.n_heads");
    expect(prompt).toContain("- run_0003 (diverged): training.optimizer_params.lr=0.01 -> non-finite loss at epoch 2");
    expect(prompt).toContain("- run_0002 (rejected): training.optimizer_params.lr=0.005 -> performance degraded");
    expect(prompt).toContain("seed = 42");
    expect(prompt).toContain("Advice from an Optuna TPE sampler (you may adopt, modify or ignore it):\nnone");
  });

  it("re-asks after malformed JSON and after a wrong enum, then succeeds", async () => {
    fake.enqueue({ toolText: "{oops" }, { tool: { ...LR, step_type: "tiny" } }, { tool: LR });
    const res = await createPlanner("llm", { env })(context().ctx);
    expect(res.decision).toEqual(LR);
    expect(res.attempts).toBe(3);
    expect(res.usage.calls).toBe(3);
    expect(lastUserText(fake.requests[1])).toMatch(/rejected: the tool-call arguments are not valid JSON/);
    expect(lastUserText(fake.requests[2])).toMatch(/rejected: step_type: Invalid option/);
    expect(res.transcript?.map((a) => a.error === null)).toEqual([false, false, true]);
  });

  it("re-asks with the validator's error for an unknown key, then succeeds", async () => {
    fake.enqueue({ tool: decision([{ key: "model.depth", value: 3 }]) }, { tool: LR });
    const res = await createPlanner("llm", { env })(context().ctx);
    expect(res.decision).toEqual(LR);
    expect(lastUserText(fake.requests[1])).toContain("rejected: unknown key model.depth");
  });

  it("rejects an empty non-stop step and duplicate keys, but allows stop without changes", async () => {
    const dup = decision([LR.config_changes[0], LR.config_changes[0]]);
    const stop = decision([], "stop");
    fake.enqueue({ tool: decision([]) }, { tool: dup }, { tool: stop });
    const res = await createPlanner("llm", { env })(context().ctx);
    expect(res.decision).toEqual(stop);
    expect(lastUserText(fake.requests[1])).toContain("config_changes is empty; a small step needs at least one change");
    expect(lastUserText(fake.requests[2])).toContain("sets training.optimizer_params.lr more than once");
  });

  it("falls back to TPE after three out-of-range answers, recording the cause", async () => {
    const tooHigh = decision([{ key: "training.optimizer_params.lr", value: 0.5 }]);
    fake.enqueue({ tool: tooHigh }, { tool: tooHigh }, { tool: tooHigh });
    const { ctx, suggested } = context();
    const res = await createPlanner("llm", { env })(ctx);
    expect(suggested).toEqual(["tpe"]);
    expect(res.planner).toBe("optuna (fallback)");
    expect(res.decision.plan).toBe("tpe sample");
    expect(res.fallback).toMatch(/no valid answer in 3 attempts; last error: training.optimizer_params.lr=0.5 is above the maximum 0.01/);
    expect(res.usage.calls).toBe(3);
    expect(res.attempts).toBe(3);
    expect(lastUserText(fake.requests[2])).toContain("rejected: training.optimizer_params.lr=0.5 is above the maximum 0.01");
  });

  it("falls back to TPE when the API is down", async () => {
    fake.enqueue({ status: 502 });
    const { ctx, suggested } = context();
    const res = await createPlanner("llm", { env })(ctx);
    expect(suggested).toEqual(["tpe"]);
    expect(res).toMatchObject({ planner: "optuna (fallback)", attempts: 0 });
    expect(res.fallback).toContain(`the LLM API at ${fake.baseURL} failed: 502`);
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

describe("model families", () => {
  const SWITCH = [{ key: "model.family", value: "dlinear" }, { key: "model.moving_avg", value: 13 }];

  it("re-asks a family switch that is not marked radical, then accepts it", async () => {
    fake.enqueue({ tool: decision(SWITCH, "medium") }, { tool: decision(SWITCH, "radical") });
    const res = await createPlanner("llm", { env })(context().ctx);
    expect(res.decision).toEqual(decision(SWITCH, "radical"));
    expect(lastUserText(fake.requests[1])).toContain("rejected: switching model.family from informer to dlinear is a radical step");
    const prompt = lastUserText(fake.requests[0]);
    expect(prompt).toContain('- model.family: str, one of "informer" | "dlinear" | "nlinear" | "patchtst"; step radical');
    expect(prompt).toContain('* model.family "dlinear"; switching writes model.moving_avg=25, model.individual=false unless set in the same change:');
    expect(prompt).toContain("  - model.moving_avg: int, one of 7 | 13 | 25 | 49; step medium - moving-average kernel");
  });

  it("the hybrid passes TPE's family switch as advice and classifies an adopted answer", async () => {
    const advice = decision(SWITCH, "radical");
    fake.enqueue({ tool: advice });
    const { ctx } = context({ suggest: async () => advice });
    const res = await createPlanner("llm+optuna", { env })(ctx);
    expect(res).toMatchObject({ planner: "llm+optuna", advice: "adopted", decision: advice });
    expect(lastUserText(fake.requests[0])).toContain("step_type radical; config_changes: model.family=dlinear, model.moving_avg=13");
  });
});

describe("hybrid llm+optuna planner", () => {
  it("puts TPE's advice in the prompt and classifies an adopted answer", async () => {
    fake.enqueue({ tool: { ...TPE, plan: "take the advice" } });
    const { ctx, suggested } = context();
    const res = await createPlanner("llm+optuna", { env })(ctx);
    expect(suggested).toEqual(["tpe"]);
    expect(res).toMatchObject({ planner: "llm+optuna", advice: "adopted" });
    expect(lastUserText(fake.requests[0])).toContain(
      "Advice from an Optuna TPE sampler (you may adopt, modify or ignore it):\nstep_type small; config_changes: training.optimizer_params.lr=0.0003, model.dropout=0.1",
    );
  });

  it("classifies modified and ignored answers", async () => {
    fake.enqueue({ tool: decision([{ key: "model.dropout", value: 0.2 }]) }, { tool: decision([{ key: "model.d_model", value: 128 }], "medium") });
    expect((await createPlanner("llm+optuna", { env })(context().ctx)).advice).toBe("modified");
    expect((await createPlanner("llm+optuna", { env })(context().ctx)).advice).toBe("ignored");
  });

  it("falls back to the advice it already has, without asking Optuna twice", async () => {
    fake.enqueue({ status: 500 });
    const { ctx, suggested } = context();
    const res = await createPlanner("llm+optuna", { env })(ctx);
    expect(suggested).toEqual(["tpe"]);
    expect(res).toMatchObject({ planner: "optuna (fallback)", advice: null, decision: { plan: "tpe sample" } });
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
      expect(res).toMatchObject({ planner: name, decision: { plan: `${sampler} sample` }, usage: { calls: 0, cost_usd: 0 } });
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
    expect((await planner(context({ plannerCall: 1 }).ctx)).decision.config_changes).toEqual([{ key: "model.d_model", value: 128 }]);
    const first = await planner(context({ plannerCall: 0 }).ctx);
    expect(first).toMatchObject({ decision: LR, planner: "mock", usage: { calls: 0 } });
    const done = await planner(context({ plannerCall: 2 }).ctx);
    expect(done.decision).toEqual({ step_type: "stop", plan: "mock script exhausted", reason: "no scripted decision left", config_changes: [] });
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
    expect((await planner(context({ plannerCall: 0 }).ctx)).decision.config_changes).toEqual(change);
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
