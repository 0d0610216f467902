/**
 * A timed-out training is final (issue 9.8), through the real CLI: when the CLI dies after the
 * timeout stopped the training but before the result was checkpointed, `resume` reuses the
 * result (the attempt's start time and timeout tell the timeout from a Ctrl-C) and never
 * retrains it. The training runs the torch-free stand-in.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, readAgentState, runCli, startCli, tempWorkspaces } from "./helpers/workspace.js";

const workspace = tempWorkspaces();
const read = (f: string) => fs.readFileSync(f, "utf8");

describe("a timed-out training on resume", () => {
  it("never retrains a run that timed out, even when the CLI died before recording it", async () => {
    // the stand-in's training hangs until the timeout's SIGTERM, then writes failure.json
    // "interrupted" and says so, as train.py does
    const dir = workspace();
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hang_first: true }) });
    const cli = startCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1", "--run-timeout", "3"], { env });
    await cli.waitFor(/\] .*interrupted in epoch \d+/); // failure.json "interrupted" written on the timeout's SIGTERM
    process.kill(cli.child.pid!, "SIGKILL"); // the CLI dies before the executor's result is checkpointed
    await cli.done;
    const failure = JSON.parse(read(path.join(dir, "runs", "run_0000", "failure.json")));
    expect(failure.status).toBe("interrupted");

    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/resuming search \S+ at trial/);
    expect(res.stderr).toMatch(/run_0000 already finished in an interrupted attempt; reusing its results/);
    expect(res.stderr).not.toMatch(/moved the incomplete|\] epoch 1\/|hanging/);
    expect(readAgentState(dir).runs).toMatchObject([{ run_id: "run_0000", status: "timeout", accepted: false }]);
    expect(fs.existsSync(path.join(dir, ".nas-graph", "aborted"))).toBe(false);
  });
});
