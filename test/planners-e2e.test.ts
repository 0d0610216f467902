/**
 * Issue 4 end to end: the offline TPE planner for 3 iterations, the random planner switching
 * model families with the real train.py (each family must train), and the LLM planner falling
 * back to TPE while the (fake) API keeps failing. Where the planner is under test and not the
 * training, trainings run the torch-free stand-in (test/helpers/fake_train.py).
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "./helpers/fake-openai.js";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, readAgentState, runCli, tempWorkspaces } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

describe("offline planners", () => {
  it("--planner optuna runs 3 iterations end to end", async () => {
    const dir = workspace();
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }) });
    const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--seed", "7", "--baseline-seeds", "1", "--max-iterations", "3", "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(3);
    expect(state.runs[0].step_type).toBe("baseline");
    for (const run of state.runs.slice(1)) {
      expect(run.planner).toBe("optuna");
      expect(Object.keys(run.config_changes as object).length).toBeGreaterThan(0);
    }
    expect(new Set(state.runs.map((r) => r.run_id)).size).toBe(3);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "finished", iterations: 3, n_runs: 3 });
    // config.py ends on the incumbent
    const best = state.best_run_id as string;
    expect(fs.readFileSync(path.join(dir, "config.py"), "utf8")).toBe(fs.readFileSync(path.join(dir, "runs", best, "config_used.py"), "utf8"));
  });
});

describe("model families", () => {
  it("--planner random switches model families; each run trains its family's keys only", async () => {
    const dir = workspace(); // the real train.py: every family must train
    const res = await runCli(["run", "--system-dir", dir, "--planner", "random", "--seed", "1", "--baseline-seeds", "1", "--max-iterations", "3", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(3);
    const family = (r: { params?: unknown }) => (r.params as Record<string, unknown>)["model.family"];
    const families = state.runs.map(family);
    expect(families[0]).toBe("informer");
    expect(families.slice(1).some((f) => f !== "informer")).toBe(true);
    for (const run of state.runs) {
      expect(run.status, String(run.error)).toBe("ok");
      const keys = Object.keys(run.params as object);
      if (family(run) !== "informer") expect(keys).not.toContain("model.factor");
      if (family(run) === "dlinear" || family(run) === "nlinear") expect(keys).not.toContain("model.d_model");
      if (family(run) !== "patchtst") expect(keys).not.toContain("model.patch_len");
      if (run.step_type !== "baseline" && "model.family" in (run.config_changes as object)) expect(run.step_type).toBe("radical");
    }
  });
});

describe("LLM failure fallback", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(async () => {
    await fake.close();
  });

  it("keeps searching with TPE when the LLM answers garbage and 500s, and records the fallback", async () => {
    const dir = workspace();
    // garbage, then nothing scripted: the fake server answers 500 to every further request
    fake.enqueue({ toolText: "this is not json" }, { text: "no tool call either" });
    const env = cliEnv({
      OPENROUTER_API_KEY: "sk-or-test",
      NAS_LLM_BASE_URL: fake.baseURL,
      NAS_LLM_MAX_RETRIES: "0",
      NAS_LLM_BACKOFF_MS: "0",
      NAS_PYTHON: fakeTrainingPython(dir, { default: 0.3 }), // no proposal beats the baseline: no repeat asked
    });
    const res = await runCli(["run", "--system-dir", dir, "--planner", "llm", "--evaluator", "rules", "--baseline-seeds", "1", "--max-iterations", "3", "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain("LLM planner failed");
    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(3);
    for (const run of state.runs.slice(1)) {
      expect(run.planner).toBe("optuna (fallback)");
      expect(String(run.fallback)).not.toBe("");
      expect(run.fallback).not.toBeNull();
    }
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
  });
});
