/**
 * End to end through the real CLI (node dist/cli.js) and the real nas_agent CLI: a mock dry run
 * and a starting config that cannot train, with the real train.py on the tiny config; numbering,
 * stopping rules and an LLM search against the fake server, whose trainings (not under test)
 * run the torch-free stand-in (test/helpers/fake_train.py).
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "./helpers/fake-openai.js";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, LR_DECISION, readAgentState, REPO, runCli, tempWorkspaces, writeMockScript } from "./helpers/workspace.js";

const workspace = tempWorkspaces();
/** The CLI's environment with trainings by the stand-in. */
const standIn = (dir: string, extra: Record<string, string> = {}) => cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }), ...extra });

describe("mock dry run", () => {
  it("runs 2 iterations: the baseline first (accepted), then the scripted change", async () => {
    // the real train.py: this test is the end-to-end path with real trainings
    const dir = workspace();
    const mock = writeMockScript(dir, [LR_DECISION]);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1", "--max-iterations", "2", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain("evaluator: rules");
    expect(res.stderr).toMatch(/run_\d+ epoch 1\/2 · train \d\.\d{4} · val \d\.\d{4}/);

    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(2);
    const [first, second] = state.runs;
    expect(first.step_type).toBe("baseline");
    expect(first.accepted).toBe(true);
    expect(first.status).toBe("ok");
    expect(second.planner).toBe("mock");
    expect(second.config_changes).toEqual({ "training.optimizer_params.lr": 0.001 });
    expect(new Set(state.runs.map((r) => r.run_id)).size).toBe(2);

    const summary = JSON.parse(res.stdout);
    expect(summary).toMatchObject({ status: "finished", iterations: 2, n_runs: 2, best_run_id: state.best_run_id });
    // config.py is the incumbent's config after the search
    const best = state.best_run_id as string;
    expect(fs.readFileSync(path.join(dir, "config.py"), "utf8")).toBe(fs.readFileSync(path.join(dir, "runs", best, "config_used.py"), "utf8"));
    // one decision log line per iteration, with node timings
    const log = fs.readFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(log.map((e) => e.iteration)).toEqual([1, 2]);
    expect(log[1].timings.train_s).toBeGreaterThan(0);
    // the lock is released
    expect(fs.existsSync(path.join(dir, ".nas-graph", "lock"))).toBe(false);

    const again = await runCli(["resume", "--system-dir", dir]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/nothing to resume: the last search .* has finished/);
  });

  it("continues run numbering in a second search and never overwrites a run", async () => {
    const dir = workspace();
    const env = standIn(dir);
    const mock = writeMockScript(dir, [LR_DECISION]);
    const first = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1", "--max-iterations", "1"], { env });
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "1"], { env });
    expect(second.code, second.stderr).toBe(0);
    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(2);
    expect(state.runs[1].planner).toBe("mock"); // a best exists now: no second baseline
    expect(state.runs[0].run_id).not.toBe(state.runs[1].run_id);
  });
});

describe("stopping rules and failed runs", () => {
  it("stops as soon as the best val_mse beats --target-val-mse", async () => {
    const dir = workspace();
    const mock = writeMockScript(dir, [LR_DECISION]);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "3", "--target-val-mse", "50", "--json"], { env: standIn(dir) });
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "finished", iterations: 1, n_runs: 1 });
  });

  it("records a training over --run-timeout as a rejected timeout run and restores config.py", async () => {
    const dir = workspace();
    const before = fs.readFileSync(path.join(dir, "config.py"), "utf8");
    const mock = writeMockScript(dir, [LR_DECISION]);
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hang_first: true }) }); // the training hangs
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "1", "--run-timeout", "0.5", "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(1);
    expect(state.runs[0]).toMatchObject({ status: "timeout", accepted: false });
    expect(String(state.runs[0].error)).toContain("--run-timeout 0.5s");
    expect(state.best_run_id).toBeNull();
    expect(fs.readFileSync(path.join(dir, "config.py"), "utf8")).toBe(before);
  });
});

describe("a starting config that cannot train", () => {
  it("stops the search after the baseline with a one-line error instead of failing every proposal", async () => {
    const dir = workspace((c) => c.replace('"data_path": "ETTh1.csv"', '"data_path": "no_such_file.csv"'));
    const mock = writeMockScript(dir, [LR_DECISION]);
    // the pre-flight (train.py --check) would stop this before the baseline (test/preflight.test.ts);
    // a stand-in interpreter lets it pass, as for a fault that only a training meets
    const python = path.join(dir, "python-check-passes");
    fs.writeFileSync(python, `#!/bin/sh\ncase "$*" in *--check*) echo "config ok: informer"; exit 0;; esac\nexec "${path.join(REPO, ".venv", "bin", "python")}" "$@"\n`, { mode: 0o755 });
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "3"], { env: cliEnv({ NAS_PYTHON: python }) });
    expect(res.code).toBe(2);
    const lines = res.stderr.trim().split("\n");
    expect(lines[lines.length - 1]).toMatch(/^error: the starting config.py cannot be trained \(run_0000\): .*no_such_file\.csv/);
    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(1);
    expect(state.runs[0]).toMatchObject({ status: "invalid", accepted: false, step_type: "baseline" });
  });
});

describe("LLM search against the fake OpenAI server", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("plans with the LLM, trains, asks the LLM evaluator on a borderline run, and keeps the key out of every file", async () => {
    const dir = workspace();
    fake.enqueue(
      { tool: { ...LR_DECISION, plan: "LLM: raise the learning rate" }, usage: { prompt_tokens: 1234, completion_tokens: 56, cost: 0.0002 } },
      { tool: { accept: false, reason: "LLM evaluator: not convincing", feedback: "try a lower lr" }, usage: { prompt_tokens: 400, completion_tokens: 30, cost: 0.0009 } },
    );
    const key = "sk-or-test-SECRET-KEY-123";
    const env = standIn(dir, { OPENROUTER_API_KEY: key, NAS_LLM_BASE_URL: fake.baseURL, NAS_LLM_MAX_RETRIES: "0", NAS_LLM_BACKOFF_MS: "0" });
    // thresholds so wide that every comparison is borderline: the LLM evaluator decides
    const wide = ["--acceptance", "fixed", "--accept-above", "1000", "--reject-below", "-1000", "--max-rise", "1000", "--min-best-epoch", "1"];
    const res = await runCli(["run", "--system-dir", dir, "--max-iterations", "2", ...wide, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain("planner: llm");
    expect(res.stderr).toContain("evaluator: llm");

    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(2);
    expect(state.runs[0].step_type).toBe("baseline");
    expect(state.runs[1]).toMatchObject({
      planner: "llm",
      plan: "LLM: raise the learning rate",
      fallback: null,
      accepted: false,
      evaluation_reason: expect.stringContaining("LLM evaluator: not convincing"),
      feedback: "try a lower lr",
    });
    expect(state.best_run_id).toBe(state.runs[0].run_id);
    expect(fake.requests.length).toBe(2);
    expect(fake.requests[0].headers.authorization).toBe(`Bearer ${key}`);
    // rejected: config.py is back on the baseline's config
    expect(fs.readFileSync(path.join(dir, "config.py"), "utf8")).toBe(fs.readFileSync(path.join(dir, "runs", state.runs[0].run_id, "config_used.py"), "utf8"));

    const summary = JSON.parse(res.stdout);
    expect(summary.usage).toMatchObject({ calls: 2, input_tokens: 1634, output_tokens: 86 });
    expect(summary.usage.cost_usd).toBeCloseTo(0.0011);
    // the header shows a small spend ($0.0002 after the planner's call), not $0.000
    expect(res.stderr).toMatch(new RegExp(`^iteration 2/2 · ${state.runs[1].run_id} · planner llm · best .* · \\$0\\.0002 · \\d+:\\d\\d$`, "m"));
    // the usage line: once at the end of the last round, not again in the final summary
    expect(res.stderr.split("\n").filter((l) => l.includes("1634 in / 86 out tokens"))).toEqual(["  LLM: 2 calls, 1634 in / 86 out tokens, $0.0011"]);
    const status = JSON.parse((await runCli(["status", "--system-dir", dir, "--json"], { env })).stdout);
    expect(status.usage).toMatchObject({ calls: 2, input_tokens: 1634 });
    // the decision log records the planner's prompt size and the prompt shows the incumbent's config
    const decisions = fs.readFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(decisions[1].timings.prompt_chars).toBeGreaterThan(1000);
    const plannerPrompt = JSON.stringify(fake.requests[0].body);
    expect(plannerPrompt).toContain(JSON.stringify(fs.readFileSync(path.join(dir, "runs", state.runs[0].run_id, "config_used.py"), "utf8")).slice(1, 200));

    // decisions are test-blind: no request body mentions a test metric or carries a test value
    const testValues = state.runs.map((r) => String(r.test_mse));
    for (const req of fake.requests) {
      const body = JSON.stringify(req.body);
      expect(body).not.toMatch(/test_m(se|ae)/);
      for (const v of testValues) expect(body.includes(v), `test value ${v} sent to the LLM`).toBe(false);
    }

    for (const file of walk(dir)) {
      if (file.endsWith(".pth")) continue;
      expect(fs.readFileSync(file).includes(key), `key leaked into ${file}`).toBe(false);
    }
    expect(res.stderr.includes(key)).toBe(false);
  });
});

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}
