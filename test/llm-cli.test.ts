/**
 * The LLM side through the real CLI against the fake OpenAI server: the exact tool schema in
 * the request body (9.9), a retired model and a rejected request shape (9.6), the cost cap (12.7).
 * The LLM side is under test, not the training: trainings run the torch-free stand-in.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { fakeOpenAISuite } from "./helpers/llm-suite.js";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, LR_DECISION, readAgentState, runCli } from "./helpers/workspace.js";

const suite = fakeOpenAISuite();
const workspace = suite.workspace;
/** The CLI's environment for the workspace DIR: the fake server, and trainings by the stand-in (every config scores apart). */
const llmEnv = (dir: string, extra: Record<string, string> = {}) =>
  cliEnv({
    OPENROUTER_API_KEY: "sk-or-test", NAS_LLM_BASE_URL: suite.fake().baseURL, NAS_LLM_MAX_RETRIES: "0", NAS_LLM_BACKOFF_MS: "0",
    NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }), ...extra,
  });
const lastLine = (s: string) => s.trim().split("\n").pop() ?? "";
// thresholds so wide that every comparison is borderline: the LLM evaluator decides
const WIDE = ["--acceptance", "fixed", "--accept-above", "1000", "--reject-below", "-1000", "--max-rise", "1000", "--min-best-epoch", "1"];
const VERDICT = { accept: false, reason: "not convincing", feedback: "try a lower lr" };

/** Every problem that puts a JSON schema outside the strict subset, with its path. */
function strictProblems(node: unknown, where = "parameters"): string[] {
  if (typeof node !== "object" || node === null) return [`${where}: not a schema object`];
  const s = node as Record<string, unknown>;
  const allowed = ["type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "description"];
  const out = Object.keys(s).filter((k) => !allowed.includes(k)).map((k) => `${where}: keyword ${k}`);
  if (Array.isArray(s.type)) out.push(`${where}: type array`);
  if (s.type === "object") {
    const props = Object.keys((s.properties ?? {}) as object);
    if (s.additionalProperties !== false) out.push(`${where}: additionalProperties is not false`);
    if (JSON.stringify([...((s.required as string[]) ?? [])].sort()) !== JSON.stringify([...props].sort())) out.push(`${where}: not every property required`);
    for (const [k, v] of Object.entries((s.properties ?? {}) as object)) out.push(...strictProblems(v, `${where}.${k}`));
  }
  if (s.items) out.push(...strictProblems(s.items, `${where}.items`));
  if (Array.isArray(s.anyOf)) s.anyOf.forEach((v, i) => out.push(...strictProblems(v, `${where}.anyOf[${i}]`)));
  return out;
}

describe("9.9 the tool schema in strict mode", () => {
  it("sends planner and evaluator tools inside the strict subset (no $schema, all required, closed objects)", async () => {
    const dir = workspace();
    suite.fake().enqueue({ tool: LR_DECISION }, { tool: VERDICT });
    const res = await runCli(["run", "--system-dir", dir, "--max-iterations", "2", ...WIDE, "--json"], { env: llmEnv(dir) });
    expect(res.code, res.stderr).toBe(0);
    expect(suite.fake().requests).toHaveLength(2);
    const [planner, evaluator] = suite.fake().requests.map((r) => r.body as unknown as { tools: Array<{ type: string; function: Record<string, unknown> }>; tool_choice: unknown });
    for (const [body, name] of [[planner, "planner_decision"], [evaluator, "evaluator_decision"]] as const) {
      expect(body.tools).toHaveLength(1);
      const fn = body.tools[0].function;
      expect(fn).toMatchObject({ name, strict: true });
      expect(body.tool_choice).toEqual({ type: "function", function: { name } });
      expect(JSON.stringify(fn.parameters)).not.toContain("$schema");
      expect(strictProblems(fn.parameters)).toEqual([]);
    }
    const params = planner.tools[0].function.parameters as { properties: Record<string, { items?: { properties: Record<string, unknown> } }> };
    expect(Object.keys(params.properties)).toEqual(["step_type", "plan", "reason", "config_changes"]);
    expect(params.properties.config_changes.items?.properties.value).toMatchObject({ anyOf: [{ type: "number" }, { type: "string" }, { type: "boolean" }] });
    expect(readAgentState(dir).runs[1]).toMatchObject({ planner: "llm", accepted: false, feedback: "try a lower lr" });
  });
});

describe("9.6 model settings the server refuses", () => {
  it("stops on a retired model (404) and on a rejected request shape (400) with one line, asking once", async () => {
    const dir = workspace();
    suite.fake().enqueue({ status: 404, message: "Model anthropic/claude-3.5-sonnet not found" });
    const gone = await runCli(["run", "--system-dir", dir, "--evaluator", "rules", "--baseline-seeds", "1", "--max-iterations", "3"], {
      env: llmEnv(dir, { NAS_PLANNER_MODEL: "anthropic/claude-3.5-sonnet" }),
    });
    expect(gone.code, gone.stderr).toBe(2);
    expect(lastLine(gone.stderr)).toBe(
      `error: model "anthropic/claude-3.5-sonnet" was not found (404 from ${suite.fake().baseURL}: Model anthropic/claude-3.5-sonnet not found); set NAS_PLANNER_MODEL in .env to a current model with tool calling, e.g. NAS_PLANNER_MODEL=anthropic/claude-sonnet-4.6`,
    );
    expect(suite.fake().requests).toHaveLength(1);
    expect(suite.fake().requests[0].body.model).toBe("anthropic/claude-3.5-sonnet");

    // the baseline is the incumbent now: the next search asks the planner at once
    suite.fake().enqueue({ status: 400, message: "Invalid schema for function 'planner_decision': strict mode is not supported by this provider" });
    const shape = await runCli(["run", "--system-dir", dir, "--evaluator", "rules", "--max-iterations", "3"], { env: llmEnv(dir) });
    expect(shape.code, shape.stderr).toBe(2);
    expect(lastLine(shape.stderr)).toBe(
      `error: the LLM server rejected the request for model "anthropic/claude-sonnet-4.6" (400 from ${suite.fake().baseURL}: Invalid schema for function 'planner_decision': strict mode is not supported by this provider); set NAS_PLANNER_MODEL in .env to a current model with tool calling, e.g. NAS_PLANNER_MODEL=anthropic/claude-sonnet-4.5`,
    );
    expect(shape.stderr).not.toMatch(/LLM planner failed|optuna \(fallback\)/);
    expect(suite.fake().requests).toHaveLength(2);
    expect(readAgentState(dir).runs).toHaveLength(1); // nothing trained after the refused calls
    expect(fs.existsSync(dir)).toBe(true);
  });
});

describe("12.7 --max-cost-usd", () => {
  it("stops cleanly before an LLM call that could pass the cap; resume keeps the cap, a higher one continues", async () => {
    const dir = workspace();
    const cost = { usage: { cost: 0.002 } };
    const plan = (key: string, value: number) => ({ tool: { step_type: "small", plan: `set ${key}`, reason: "try", config_changes: [{ key, value }] }, ...cost });
    suite.fake().enqueue(plan("training.optimizer_params.lr", 0.001), plan("model.dropout", 0.1));
    const env = llmEnv(dir);
    // calls of $0.002: the 1st (nothing spent) and the 2nd ($0.002 + $0.002 <= $0.005) go out; the 3rd would pass
    const run = await runCli(["run", "--system-dir", dir, "--evaluator", "rules", "--acceptance", "fixed", "--max-iterations", "4", "--max-cost-usd", "0.005", "--json"], { env });
    expect(run.code, run.stderr).toBe(0);
    const stopped = JSON.parse(run.stdout);
    expect(stopped).toMatchObject({ status: "stopped", iterations: 3, n_runs: 3, max_cost_usd: 0.005, usage: { calls: 2 } });
    expect(stopped.stop_reason).toBe(
      "stopped before an LLM call: $0.0040 spent and the next call may cost $0.0020 (the largest call so far), which would pass --max-cost-usd 0.005",
    );
    expect(suite.fake().requests).toHaveLength(2);
    expect(run.stderr).toMatch(/^iteration 3\/4 · run_0002 · planner llm · best .* · \$0\.004 of \$0\.005 cap · \d+:\d\d$/m);
    const search = JSON.parse(fs.readFileSync(`${dir}/.nas-graph/search.json`, "utf8"));
    expect(search).toMatchObject({ status: "stopped", options: { maxCostUsd: 0.005 } });

    // resume keeps the recorded cap: it stops again at once, asking nothing and training nothing
    const again = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: "stopped", iterations: 3 });
    expect(suite.fake().requests).toHaveLength(2);
    expect(again.stderr).not.toMatch(/\] epoch/);

    const status = await runCli(["status", "--system-dir", dir]);
    expect(status.stdout).toMatch(/last search: \S+ \(stopped\), LLM cost cap \$0\.005/);

    // a higher cap continues where the search stopped
    suite.fake().enqueue(plan("training.grad_clip", 0.5));
    const more = await runCli(["resume", "--system-dir", dir, "--max-cost-usd", "0.01", "--json"], { env });
    expect(more.code, more.stderr).toBe(0);
    expect(JSON.parse(more.stdout)).toMatchObject({ status: "finished", iterations: 4, n_runs: 4, max_cost_usd: 0.01, usage: { calls: 3 } });
    expect(suite.fake().requests).toHaveLength(3);
    expect(readAgentState(dir).runs.map((r) => r.planner)).toEqual(["baseline", "llm", "llm", "llm"]);
  });

  it("refuses a cap that is not a positive number", async () => {
    const dir = workspace();
    const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-cost-usd", "0"]);
    expect(res.code).toBe(2);
    expect(lastLine(res.stderr)).toBe("error: --max-cost-usd must be a positive number of US dollars (got 0)");
  });
});
