/**
 * `run --review` on a failed run (issue 9.2), through the real CLI: `--accept` is refused with one
 * line and the pause stays; `--reject` answers it. The training is not under test: it runs the
 * torch-free stand-in, which hangs into --run-timeout.
 */
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, readAgentState, runCli, tempWorkspaces } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

describe("review of a failed run (issue 9.2)", () => {
  it("refuses --accept with one line; the pause stays and --reject answers it", async () => {
    const dir = workspace();
    // the baseline (the stand-in's training, hanging) times out: a failed run waits for review
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hang_first: true }) });
    const paused = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1", "--run-timeout", "0.5", "--review", "--json"], { env });
    expect(paused.code, paused.stderr).toBe(0);
    const review = JSON.parse(paused.stdout).pending_review;
    expect(review.verdict).toMatchObject({ accept: false, status: "timeout" });

    const accept = await runCli(["resume", "--accept", "--system-dir", dir], { env });
    expect(accept.code).toBe(2);
    expect(accept.stderr.trim()).toBe(`error: cannot accept ${review.run_id}: its training ended with status timeout; answer with 'nas-graph resume --reject'`);
    expect(readAgentState(dir).runs.map((r) => [r.accepted, r.evaluation_reason])).toEqual([[false, "verdict pending"]]); // still paused

    const reject = await runCli(["resume", "--reject", "--system-dir", dir, "--json"], { env });
    expect(reject.code, reject.stderr).toBe(0);
    expect(JSON.parse(reject.stdout)).toMatchObject({ status: "finished", iterations: 1, best_run_id: null });
    expect(readAgentState(dir).runs).toMatchObject([{ run_id: review.run_id, status: "timeout", accepted: false }]);
  });
});
