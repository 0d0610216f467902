/**
 * --review offers the repeat: a pause shows the evaluator's "repeat" and the trainings left for
 * one; `resume --repeat` trains the config again with a new seed, judged on all its seeds at the
 * next pause; with no training left the repeat is refused in one line. Driven through the real
 * CLI, with trainings by a stand-in that honours train.py's contract (test/helpers/fake_train.py).
 */
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, readAgentState, tempWorkspaces, runCli, writeMockScript } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

describe("review", () => {
  it("a repeat verdict under review trains again when the answer is --repeat", async () => {
    const dir = workspace();
    // lr 0.001 is 6.7% better than the baseline: inside the noise margin of one seed each
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { default: 0.3, by_lr: { "0.001": 0.28 } }) });
    const mock = writeMockScript(dir, [{ step_type: "small", plan: "lr up", reason: "test", config_changes: [{ key: "training.optimizer_params.lr", value: 0.001 }] }]);
    const resume = async (answer: string) => {
      const res = await runCli(["resume", answer, "--system-dir", dir, "--json"], { env });
      expect(res.code, res.stderr).toBe(0);
      return JSON.parse(res.stdout);
    };
    const run = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1",
      "--max-iterations", "3", "--review", "--json"], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).pending_review).toMatchObject({ run_id: "run_0000", verdict: { accept: true }, repeats_left: 2 });

    const proposal = await resume("--accept");
    expect(proposal.pending_review).toMatchObject({ run_id: "run_0001", verdict: { accept: false, repeat: true }, repeats_left: 1 });
    const bare = await runCli(["resume", "--system-dir", dir], { env });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("answer with 'nas-graph resume --accept', '--reject' or '--repeat' (train it again with a new seed)");

    const repeated = await resume("--repeat"); // the next round trains run_0001's config with a new seed
    expect(repeated.pending_review).toMatchObject({ run_id: "run_0002", verdict: { accept: false, repeat: false }, repeats_left: 0 });
    expect(repeated.pending_review.verdict.reason).toMatch(/^mean val_mse 0\.28[^(]*\(2 seeds\)/);
    let state = readAgentState(dir);
    expect(state.runs[1]).toMatchObject({ accepted: false, evaluation_reason: expect.stringMatching(/^pending: manual review: train it again with a new seed/) });
    expect(state.runs[2]).toMatchObject({ kind: "repeat", repeat_of: "run_0001", seed: 43, config_id: state.runs[1].config_id });

    const refused = await runCli(["resume", "--repeat", "--system-dir", dir], { env }); // the budget (3) is spent
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe("error: cannot repeat run_0002: the search's training budget has no training left; answer with 'nas-graph resume --accept' or '--reject'");

    expect(await resume("--reject")).toMatchObject({ status: "finished", iterations: 3, best_run_id: "run_0000" });
    state = readAgentState(dir);
    expect(state.runs.map((r) => [r.run_id, r.accepted])).toEqual([["run_0000", true], ["run_0001", false], ["run_0002", false]]);
  });
});
