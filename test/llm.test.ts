import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { PlannerDecisionSchema, type PlannerDecision } from "../src/contracts.js";
import { UserError } from "../src/errors.js";
import { LlmAnswerError, LlmUnavailableError } from "../src/llm/errors.js";
import { DEFAULT_BASE_URL, DEFAULT_MODEL, llmConfigured, readLlmSettings, type LlmSettings } from "../src/llm/settings.js";
import { askStructured, type AskOptions } from "../src/llm/structured.js";
import { addUsage, emptyUsage, usageOfMessage } from "../src/llm/usage.js";
import { lastUserText, startFakeOpenAI, type FakeOpenAI } from "./helpers/fake-openai.js";

const GOOD = {
  step_type: "small",
  plan: "lower the learning rate",
  reason: "val_mse oscillates",
  config_changes: [{ key: "training.optimizer_params.lr", value: 0.0005 }],
};

let fake: FakeOpenAI;
let settings: LlmSettings;

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.requests.length = 0;
  expect(fake.pending()).toBe(0);
  settings = readLlmSettings(
    {
      OPENROUTER_API_KEY: "sk-test-secret",
      NAS_LLM_BASE_URL: fake.baseURL,
      NAS_LLM_MAX_RETRIES: "0",
      NAS_LLM_BACKOFF_MS: "10",
      NAS_LLM_TIMEOUT_MS: "5000",
    },
    "planner",
  );
});

const ask = (extra: Partial<AskOptions<PlannerDecision>> = {}) =>
  askStructured<PlannerDecision>({ settings, schema: PlannerDecisionSchema, toolName: "planner_decision", prompt: "PLAN NOW", ...extra });

describe("settings", () => {
  it("reads defaults and overrides from env", () => {
    expect(llmConfigured({})).toBe(false);
    expect(llmConfigured({ OPENROUTER_API_KEY: "  " })).toBe(false);
    expect(llmConfigured({ OPENROUTER_API_KEY: "k" })).toBe(true);
    const s = readLlmSettings({ OPENROUTER_API_KEY: "k" }, "evaluator");
    expect(s).toMatchObject({ baseURL: DEFAULT_BASE_URL, model: DEFAULT_MODEL, timeoutMs: 120000, maxRetries: 2, backoffMs: 2000 });
    const p = readLlmSettings({ OPENROUTER_API_KEY: "k", NAS_PLANNER_MODEL: "openai/gpt-4o", NAS_EVALUATOR_MODEL: "x/y" }, "planner");
    expect(p.model).toBe("openai/gpt-4o");
  });

  it("fails with a one-line fix when the key is missing or a number is bad", () => {
    expect(() => readLlmSettings({}, "planner")).toThrow(
      "no LLM is configured: OPENROUTER_API_KEY is not set; put it in .env (see .env.example) or use --planner optuna",
    );
    expect(() => readLlmSettings({ OPENROUTER_API_KEY: "k", NAS_LLM_TIMEOUT_MS: "soon" }, "planner")).toThrow(
      /NAS_LLM_TIMEOUT_MS must be an integer/,
    );
    expect(() => readLlmSettings({ OPENROUTER_API_KEY: "k", NAS_LLM_BASE_URL: "localhost:1" }, "planner")).toThrow(UserError);
  });
});

describe("askStructured against a fake OpenAI-compatible server", () => {
  it("returns a valid answer with tokens and OpenRouter cost, and sends the attribution headers", async () => {
    fake.enqueue({ tool: GOOD, usage: { prompt_tokens: 321, completion_tokens: 45, cost: 0.0042 } });
    const answer = await ask();
    expect(answer.value).toEqual(GOOD);
    expect(answer.usage).toEqual({ calls: 1, input_tokens: 321, output_tokens: 45, cost_usd: 0.0042 });
    expect(answer.attempts).toEqual([{ raw: JSON.stringify(GOOD), error: null, usage: answer.usage }]);
    const req = fake.requests[0];
    expect(req.headers.authorization).toBe("Bearer sk-test-secret");
    expect(req.headers["http-referer"]).toMatch(/^https:\/\//);
    expect(req.headers["x-title"]).toBe("nas-graph");
    expect(req.body.usage).toEqual({ include: true });
    expect(req.body.tools?.[0].function.name).toBe("planner_decision");
    expect(lastUserText(req)).toBe("PLAN NOW");
  });

  it("re-asks after malformed JSON, quoting the parse error, and sums the usage", async () => {
    fake.enqueue({ toolText: '{"step_type": "small", "plan": ' }, { tool: GOOD });
    const answer = await ask();
    expect(answer.value).toEqual(GOOD);
    expect(answer.attempts).toHaveLength(2);
    expect(answer.attempts[0].raw).toBe('{"step_type": "small", "plan": ');
    expect(answer.attempts[0].error).toMatch(/not valid JSON/);
    expect(answer.usage).toEqual({ calls: 2, input_tokens: 200, output_tokens: 40, cost_usd: 0.002 });
    const reask = fake.requests[1];
    expect(lastUserText(reask)).toContain("Your previous answer was rejected: the tool-call arguments are not valid JSON");
    // The re-ask keeps the original prompt and shows the model its own broken answer.
    expect(reask.body.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(reask.body.messages[0].content).toBe("PLAN NOW");
    expect(reask.body.messages[1].content).toBe('{"step_type": "small", "plan": ');
  });

  it("re-asks after a wrong enum value with the zod error quoted", async () => {
    fake.enqueue({ tool: { ...GOOD, step_type: "huge" } }, { tool: GOOD });
    const answer = await ask();
    expect(answer.value.step_type).toBe("small");
    expect(answer.attempts[0].error).toMatch(/^step_type: /);
    expect(lastUserText(fake.requests[1])).toContain(`rejected: ${answer.attempts[0].error}`);
  });

  it("re-asks when a plain-text answer has no tool call", async () => {
    fake.enqueue({ text: "I think you should lower the lr." }, { tool: GOOD });
    const answer = await ask();
    expect(answer.attempts[0]).toMatchObject({ raw: "I think you should lower the lr.", error: expect.stringMatching(/plain text/) });
  });

  it("re-asks with the extra validation's errors", async () => {
    fake.enqueue({ tool: GOOD }, { tool: GOOD });
    let calls = 0;
    const answer = await ask({ validate: async () => (calls++ === 0 ? ["unknown key model.foo"] : []) });
    expect(answer.attempts.map((a) => a.error)).toEqual(["unknown key model.foo", null]);
    expect(lastUserText(fake.requests[1])).toContain("rejected: unknown key model.foo");
  });

  it("gives up after two re-asks with LlmAnswerError carrying the last error and all usage", async () => {
    fake.enqueue({ toolText: "nope" }, { tool: { plan: 1 } }, { tool: { ...GOOD, step_type: "bigger" } });
    const err = await ask().catch((e) => e);
    expect(err).toBeInstanceOf(LlmAnswerError);
    expect(err.lastError).toMatch(/^step_type: /);
    expect(err.message).toMatch(/no valid answer in 3 attempts; last error: step_type/);
    expect(err.attempts).toHaveLength(3);
    expect(err.usage.calls).toBe(3);
    expect(fake.requests).toHaveLength(3);
  });

  it("stops at once on 401 with a UserError naming the server", async () => {
    fake.enqueue({ status: 401 }, { tool: GOOD });
    const err = await ask().catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(`OPENROUTER_API_KEY is invalid (401 from ${fake.baseURL}); set a valid key in .env`);
    expect(err.message).not.toContain("sk-test-secret");
    expect(fake.requests).toHaveLength(1);
    fake.enqueue(); // drain the unused reply
    await ask(); // consumes GOOD so the queue is empty for the next test
  });

  it("waits out a 429 without Retry-After with our own backoff, then succeeds", async () => {
    fake.enqueue({ status: 429 }, { status: 429 }, { tool: GOOD });
    const t0 = Date.now();
    const answer = await ask();
    expect(answer.value).toEqual(GOOD);
    expect(fake.requests).toHaveLength(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(10 + 20 - 5); // 10 ms, then 20 ms
    expect(answer.usage.calls).toBe(1);
  });

  it("honours a short Retry-After on 429", async () => {
    fake.enqueue({ status: 429, retryAfter: "0" }, { tool: GOOD });
    expect((await ask()).value).toEqual(GOOD);
    expect(fake.requests).toHaveLength(2);
  });

  it("reports the API as unavailable when 429s outlast the backoff", async () => {
    settings = { ...settings, rateLimitRetries: 1 };
    fake.enqueue({ status: 429 }, { status: 429 });
    const err = await ask().catch((e) => e);
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect(err.message).toMatch(/failed: 429/);
  });

  it("reports a 5xx after the client's retries, keeping usage spent on earlier attempts", async () => {
    fake.enqueue({ toolText: "broken" }, { status: 503, message: "upstream down" });
    const err = await ask().catch((e) => e);
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect(err.message).toContain(`the LLM API at ${fake.baseURL} failed: 503`);
    expect(err.usage.calls).toBe(1);
    expect(err.attempts).toHaveLength(1);
  });

  it("reports a timeout (after the client's retries) as unavailable", async () => {
    settings = { ...settings, timeoutMs: 100 };
    fake.enqueue({ tool: GOOD, delayMs: 1000 });
    const err = await ask().catch((e) => e);
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect(err.message).toContain("failed: no answer within 100 ms (raise NAS_LLM_TIMEOUT_MS if the model is slow)");
  });

  it("stops at once on an unknown model, naming the variable to fix", async () => {
    fake.enqueue({ status: 404 });
    await expect(ask()).rejects.toThrow(
      `model "${DEFAULT_MODEL}" was not found (404 from ${fake.baseURL}: fake status 404); set NAS_PLANNER_MODEL in .env to a current model with tool calling, e.g. NAS_PLANNER_MODEL=anthropic/claude-sonnet-4.5`,
    );
  });

  it("reports a refused connection as unavailable", async () => {
    settings = { ...settings, baseURL: "http://127.0.0.1:1/v1" };
    const err = await ask().catch((e) => e);
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect(err.message).toContain("the LLM API at http://127.0.0.1:1/v1 failed");
  });

  it("aborts via the signal without wrapping the abort", async () => {
    const controller = new AbortController();
    controller.abort();
    fake.enqueue({ tool: GOOD });
    const err = await ask({ signal: controller.signal }).catch((e) => e);
    expect(err).not.toBeInstanceOf(LlmUnavailableError);
    expect(`${err.name} ${err.message}`).toMatch(/abort/i);
    // The aborted request may or may not have reached the server; drain what is left.
    if (fake.pending() > 0) await ask();
  });

  it("works with any zod schema", async () => {
    fake.enqueue({ tool: { n: 3 } });
    const answer = await askStructured({ settings, schema: z.object({ n: z.number().describe("a number") }), toolName: "num", prompt: "n?" });
    expect(answer.value).toEqual({ n: 3 });
  });
});

describe("usage", () => {
  it("takes tokens from usage_metadata and cost from response_metadata.usage", () => {
    const u = usageOfMessage({
      usage_metadata: { input_tokens: 7, output_tokens: 3 },
      response_metadata: { usage: { cost: 0.5 } },
    });
    expect(u).toEqual({ calls: 1, input_tokens: 7, output_tokens: 3, cost_usd: 0.5 });
    expect(usageOfMessage({}).cost_usd).toBe(0);
    expect(addUsage(u, addUsage(u, emptyUsage()))).toEqual({ calls: 2, input_tokens: 14, output_tokens: 6, cost_usd: 1 });
  });
});
