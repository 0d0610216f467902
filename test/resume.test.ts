/**
 * Crash and resume: SIGKILL the whole CLI process group in the middle of a training, then
 * `resume` takes over the stale lock and finishes with no duplicated or lost run. The resume is
 * under test, not the training: trainings run the torch-free stand-in (test/helpers/fake_train.py),
 * slowed to seconds an epoch where a kill must land mid-training.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, LR_DECISION, readAgentState, runCli, startCli, tempWorkspaces, writeMockScript } from "./helpers/workspace.js";

const workspace = tempWorkspaces();
const fourEpochs = (c: string) => c.replace('"max_epochs": 2,', '"max_epochs": 4,').replace('"patience": 2,', '"patience": 4,');
/** The CLI's environment: trainings by the stand-in, each epoch taking EPOCH_S seconds. */
const standIn = (dir: string, epochS = 0) => cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { epoch_s: epochS }) });

describe("crash and resume", () => {
  it("resumes a search killed during training without duplicates or lost runs", async () => {
    // 4 epochs of 2 s, so that the kill lands mid-training
    const dir = workspace(fourEpochs);
    const env = standIn(dir, 2);
    const mock = writeMockScript(dir, [LR_DECISION]);
    const cli = startCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1", "--max-iterations", "2"], { env });
    await cli.waitFor(/run_\d+ epoch 1\/4 · /);
    process.kill(-cli.child.pid!, "SIGKILL");
    const killed = await cli.done;
    expect(killed.signal).toBe("SIGKILL");
    expect(fs.existsSync(path.join(dir, ".nas-graph", "lock"))).toBe(true); // left behind by the kill
    expect(readAgentState(dir).runs).toEqual([]); // nothing recorded yet (the search only set its fidelity)

    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env: standIn(dir) });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/taking over a stale lock from pid \d+ \(run/);
    expect(res.stderr).toMatch(/moved the incomplete run_\d+ .* retraining it/);

    const state = readAgentState(dir);
    const ids = state.runs.map((r) => r.run_id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(state.runs.every((r) => r.status === "ok")).toBe(true);
    expect(state.runs[0]).toMatchObject({ step_type: "baseline", accepted: true });
    expect(state.runs[1].planner).toBe("mock");
    // the killed attempt's half-written dir was set aside, not counted
    expect(fs.readdirSync(path.join(dir, ".nas-graph", "aborted"))).toHaveLength(1);
    expect(fs.readdirSync(path.join(dir, "runs")).sort()).toEqual([...ids].sort());
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "finished", iterations: 2, n_runs: 2 });
    expect(fs.existsSync(path.join(dir, ".nas-graph", "lock"))).toBe(false);
  });

  it("never retrains a run that finished before the kill", async () => {
    const dir = workspace();
    const env = standIn(dir);
    const cli = startCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1"], { env });
    await cli.waitFor(/run_\d+ done: val /); // the end event is sent after metrics.json is written
    process.kill(-cli.child.pid!, "SIGKILL");
    await cli.done;

    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(1);
    expect(state.runs[0]).toMatchObject({ status: "ok", accepted: true });
    expect(res.stderr).not.toMatch(/run_\d+ epoch 1\//); // no training in the resumed process
    // killed inside the executor (the usual case): its results are reused; or later, past it
    expect(res.stderr).toMatch(/already finished in an interrupted attempt; reusing its results|resuming search \S+ at (evaluator|update_state)/);
    expect(fs.existsSync(path.join(dir, ".nas-graph", "aborted"))).toBe(false);
  });

  it("says so when there is nothing to resume", async () => {
    const dir = workspace();
    const res = await runCli(["resume", "--system-dir", dir]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toMatch(/^error: no search to resume in .*; start one with 'nas-graph run'$/);
  });
});

describe("Ctrl-C", () => {
  it("stops training cleanly (exit 130, lock released) and resume retrains the interrupted run", async () => {
    const dir = workspace(fourEpochs);
    const cli = startCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1"], { env: standIn(dir, 2) });
    await cli.waitFor(/run_\d+ epoch 1\/4 · /);
    process.kill(-cli.child.pid!, "SIGINT"); // what a terminal's Ctrl-C does: the whole group
    const stopped = await cli.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr.trim().split("\n").pop()).toBe("error: interrupted; progress is saved: continue with 'nas-graph resume'");
    expect(fs.existsSync(path.join(dir, ".nas-graph", "lock"))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(dir, ".nas-graph", "search.json"), "utf8")).status).toBe("interrupted");

    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env: standIn(dir) });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).not.toMatch(/stale lock/);
    expect(res.stderr).toMatch(/moved the incomplete run_\d+ from an interrupted attempt/);
    const state = readAgentState(dir);
    expect(state.runs).toHaveLength(1);
    expect(state.runs[0]).toMatchObject({ status: "ok", step_type: "baseline", accepted: true });
  });
});
