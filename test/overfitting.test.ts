/**
 * Overfitting is stated by one rule (nas_agent/curve.py: val_mse rising after its best epoch),
 * the same in the history summary the LLMs read and in the evaluator's input; a train/val gap is
 * never called overfitting (ETTh1's splits differ in scale). Driven through the real CLI, with
 * trainings by a stand-in that honours train.py's contract (test/helpers/fake_train.py).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { lastUserText, startFakeOpenAI, type FakeOpenAI } from "./helpers/fake-openai.js";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, makeWorkspace, readAgentState, removeWorkspace, runCli, writeMockScript } from "./helpers/workspace.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});

const lr = (value: number) => ({ step_type: "small", plan: `lr ${value}`, reason: "test", config_changes: [{ key: "training.optimizer_params.lr", value }] });

describe("overfitting", () => {
  it("is read from the val curve, by the same rule in the history summary and in the evaluator's input", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    // both proposals are 3.3% better than the baseline (inside the noise: the verdict is open),
    // with train_mse far below val_mse (a 70% gap); lr 0.001's val curve still falls at its last
    // epoch, lr 0.002's is lowest at epoch 1 and rises 50% after it
    const python = fakeTrainingPython(dir, {
      default: 0.3, by_lr: { "0.001": 0.29, "0.002": 0.29 }, curve_by_lr: { "0.002": "rising" }, train_ratio: 0.3,
    });
    const mock = writeMockScript(dir, [lr(0.001), lr(0.002)]);
    fake.enqueue({ tool: { accept: false, reason: "not convincing", feedback: "try something else" } });
    const env = cliEnv({ NAS_PYTHON: python, OPENROUTER_API_KEY: "sk-or-test", NAS_LLM_BASE_URL: fake.baseURL, NAS_LLM_MAX_RETRIES: "0", NAS_LLM_BACKOFF_MS: "0" });
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--evaluator", "llm",
      "--baseline-seeds", "1", "--max-repeats", "0", "--max-iterations", "3"], { env });
    expect(res.code, res.stderr).toBe(0);
    const [, falling, rising] = readAgentState(dir).runs as Array<{ history_summary: string; evaluation_reason: string }>;

    // a gap with a falling val curve: no overfitting, said once, by the curve rule
    expect(falling.history_summary).toContain("No overfitting by the val curve: val_mse was still falling at its last epoch 2");
    expect(falling.history_summary).not.toMatch(/Overfitting:|: overfitting/);
    // the LLM evaluator was asked about it and shown the very same statement, as the curve it reads and in the summary
    expect(fake.requests).toHaveLength(1);
    const statement = falling.history_summary.split("\n").find((l) => l.startsWith("No overfitting"))!;
    const prompt = lastUserText(fake.requests[0]);
    expect(prompt).toContain(`Validation curve: best epoch 2 of 2 (max 2). ${statement}`);
    expect(prompt.split(statement).length - 1).toBe(2);
    expect(falling.evaluation_reason).toContain("LLM: not convincing");

    // a val curve that rises after its minimum: overfitting, in the summary and in the verdict (no LLM call)
    expect(rising.history_summary).toContain("Overfitting: val_mse rose 50% after its best epoch 1 (overfitting or instability), more than 25%");
    expect(rising.evaluation_reason).toContain("val_mse rose 50% after its best epoch 1 (overfitting or instability): not worth a repeat");
  });
});
