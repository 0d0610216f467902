/**
 * A timed-out training is final (issue 9.8), through the real CLI: when the CLI dies after the
 * timeout stopped the training but before the result was checkpointed, `resume` reuses the
 * result (the executor wrote its verdict, "timeout" or "interrupted", into the attempt record when
 * it stopped the training, before the training could write its failure.json) and never
 * retrains it. The training runs the torch-free stand-in.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, readAgentState, runCli, startCli, tempWorkspaces } from "./helpers/workspace.js";

const workspace = tempWorkspaces();
const read = (f: string) => fs.readFileSync(f, "utf8");

async function until(ok: () => boolean, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > end) throw new Error("timed out waiting");
  }
}

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
    const attempt = JSON.parse(read(path.join(dir, ".nas-graph", "attempts", "run_0000.json")));
    expect(attempt.stopped.verdict).toBe("timeout"); // written before the SIGTERM: failure.json says only "interrupted"

    // the same workspace with an attempt record of an older version (no verdict): that run is retrained
    const older = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-older-attempt-"));
    try {
      fs.cpSync(dir, older, { recursive: true });
      const { stopped: _, ...before } = attempt;
      fs.writeFileSync(path.join(older, ".nas-graph", "attempts", "run_0000.json"), JSON.stringify(before));
      const again = await runCli(["resume", "--system-dir", older, "--json"], { env });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/moved the incomplete run_0000 from an interrupted attempt to .*; retraining it/);
      expect(readAgentState(older).runs).toMatchObject([{ run_id: "run_0000", status: "ok" }]);
    } finally {
      fs.rmSync(older, { recursive: true, force: true });
    }

    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/resuming search \S+ at trial/);
    expect(res.stderr).toMatch(/run_0000 already finished in an interrupted attempt; reusing its results/);
    expect(res.stderr).not.toMatch(/moved the incomplete|\] epoch 1\/|hanging/);
    expect(readAgentState(dir).runs).toMatchObject([{ run_id: "run_0000", status: "timeout", accepted: false }]);
    expect(fs.existsSync(path.join(dir, ".nas-graph", "aborted"))).toBe(false);
  });

  it("retrains a run a Ctrl-C stopped, even when its failure.json came after the deadline", async () => {
    // the Ctrl-C comes well before the --run-timeout deadline, but the training takes its time to
    // stop (a loaded node, a slow scancel): its "interrupted" is written after the deadline
    const dir = workspace();
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hang_first: true, interrupt_delay_s: 4 }) });
    const cli = startCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1", "--run-timeout", "3"], { env });
    await until(() => fs.existsSync(path.join(dir, ".fake-hung-run_0000"))); // the training hangs
    process.kill(-cli.child.pid!, "SIGINT");
    expect((await cli.done).code).toBe(130);
    const attempt = JSON.parse(read(path.join(dir, ".nas-graph", "attempts", "run_0000.json")));
    const failure = path.join(dir, "runs", "run_0000", "failure.json");
    expect(JSON.parse(read(failure)).status).toBe("interrupted");
    expect(fs.statSync(failure).mtimeMs).toBeGreaterThan(attempt.started_at_ms + 3000); // after the deadline
    expect(attempt.stopped.verdict).toBe("interrupted"); // the Ctrl-C's verdict stands; the deadline passing after it is none

    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/moved the incomplete run_0000 from an interrupted attempt to .*; retraining it/);
    expect(readAgentState(dir).runs).toMatchObject([{ run_id: "run_0000", status: "ok" }]);
  });
});
