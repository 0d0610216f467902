/**
 * A promising, unconfirmed candidate (a gain inside the noise when the budget ran out) is
 * confirmed by `resume --max-iterations N`: the finished search gets a larger budget, the
 * candidate's config gets another seed first, and its verdict over both seeds can accept it.
 * Driven through the real CLI, with trainings by a stand-in that honours train.py's contract.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, readAgentState, tempWorkspaces, runCli, writeMockScript } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

describe("resume with a larger budget", () => {
  it("repeats the promising candidate and accepts it", async () => {
    const dir = workspace();
    // baseline 0.3 with 1% seed noise (seeds 42-44); lr 0.001 is 10% better: inside the margin on one seed
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { default: 0.3, by_lr: { "0.001": 0.27 }, rel: { "43": 0.01, "44": -0.01 } }) });
    const mock = writeMockScript(dir, [{ step_type: "small", plan: "lr up", reason: "test", config_changes: [{ key: "training.optimizer_params.lr", value: 0.001 }] }]);
    const run = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "4", "--json"], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/verdict run_0003 REJECTED: mean val_mse 0\.27 \(1 seed\)[^\n]*inside the noise margin[^\n]*no repeat left[^\n]*promising, unconfirmed/);
    expect(readAgentState(dir).runs[3]).toMatchObject({ accepted: false, promising: true });

    const small = await runCli(["resume", "--system-dir", dir, "--max-iterations", "4"], { env });
    expect(small.code).toBe(2);
    expect(small.stderr.trim()).toBe("error: --max-iterations 4 leaves no training: the search has done 4; pass a larger budget, e.g. --max-iterations 7");

    const more = await runCli(["resume", "--system-dir", dir, "--max-iterations", "5", "--json"], { env });
    expect(more.code, more.stderr).toBe(0);
    expect(more.stderr).toContain("promising, unconfirmed: run_0003; each gets another seed first");
    expect(more.stderr).toMatch(/verdict run_0004 ACCEPTED: mean val_mse 0\.27\d* ± [\d.]+ \(2 seeds\) vs run_0000's 0\.3 ± 0\.003 \(3 seeds\): \+9\.\d%, beyond the noise margin/);
    expect(JSON.parse(more.stdout)).toMatchObject({ status: "finished", iterations: 5, max_iterations: 5, best_run_id: "run_0003", trainings: { repeats: 1 } });
    const state = readAgentState(dir);
    expect(state.runs[4]).toMatchObject({ kind: "repeat", repeat_of: "run_0003", seed: 43, accepted: true });
    expect(state.runs[3]).toMatchObject({ accepted: true });
    expect(fs.readFileSync(path.join(dir, "config.py"), "utf8")).toBe(fs.readFileSync(path.join(dir, "runs", "run_0003", "config_used.py"), "utf8"));
  });
});
