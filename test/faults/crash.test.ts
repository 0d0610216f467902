/**
 * Crash consistency (issue 18, family 5): the CLI SIGKILLs itself (NAS_TEST_KILL_AT, src/test-hooks.ts)
 * when it reaches update-state for the second time: the second run is trained and recorded, its verdict
 * not yet written. `resume` then finishes with every run recorded once, none lost.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { cliEnv, LR_DECISION, makeWorkspace, readAgentState, removeWorkspace, runCli, writeMockScript } from "../helpers/workspace.js";
import { checkConsistent } from "./consistency.js";
import { fakeTrainingPython } from "../helpers/stand-ins.js";
import { record } from "./ledger.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

describe("crash consistency", () => {
  it("a SIGKILL inside update-state loses no run: resume records each run once and finishes the round", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const mock = writeMockScript(dir, [LR_DECISION]);
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }) }); // the fault is not about training
    const killed = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1",
      "--max-iterations", "2"], { env: { ...env, NAS_TEST_KILL_AT: "update-state:2" } });
    expect(killed.signal).toBe("SIGKILL");
    // the trial already recorded its run; only its verdict is still to be written
    expect(readAgentState(dir).runs.length).toBeGreaterThanOrEqual(1);

    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    // not taken for a finished search: the last round's update_state runs (its verdict, its decision line)
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "finished", iterations: 2, n_runs: 2 });
    expect(readAgentState(dir).runs.every((r) => r.status === "ok")).toBe(true);
    record({ name: "crash/update-state:2", survived: true, runsLost: checkConsistent(dir, 2), executed: 0 });
  });
});

describe("crash consistency under review", () => {
  it("a SIGKILL in review after the answer loses neither the pause nor a run: the answer is asked again", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const mock = writeMockScript(dir, [LR_DECISION]);
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }) });
    const paused = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1",
      "--portfolio", "off", "--max-iterations", "2", "--review", "--json"], { env });
    expect(paused.code, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({ status: "paused", pending_review: { run_id: "run_0000" } });
    const killed = await runCli(["resume", "--system-dir", dir, "--accept"], { env: { ...env, NAS_TEST_KILL_AT: "review" } });
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    // the answer died with the CLI: the same pause waits, and is answered again
    const again = await runCli(["resume", "--system-dir", dir, "--accept", "--json"], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: "paused", pending_review: { run_id: "run_0001" } });
    const done = await runCli(["resume", "--system-dir", dir, "--reject", "--json"], { env });
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ status: "finished", iterations: 2, n_runs: 2 });
    const runs = readAgentState(dir).runs;
    expect(runs.map((r) => [r.run_id, r.accepted])).toEqual([["run_0000", true], ["run_0001", false]]);
    record({ name: "crash/review", survived: true, runsLost: checkConsistent(dir, 2), executed: 0 });
  });
});

// ---------------------------------------------------------------- K = 2 in flight (stand-in trainer)

const DROPOUT = { step_type: "small", plan: "More dropout", reason: "regularize", config_changes: [{ key: "model.dropout", value: 0.1 }] };
describe("crash consistency with 2 trainings in flight (--parallel 2)", () => {
  // these run at once: their workspaces go after the last one, not after each test
  const mine: string[] = [];
  afterAll(() => {
    for (const d of mine.splice(0)) removeWorkspace(d);
  });
  // planner:2 = round 2, ids reserved; trial:3 / training:3 = round 2's first trial before / while it
  // trains (the other one in flight); evaluator:4 = round 2, one run recorded, one not; update-state:2
  const points = ["planner:2", "trial:3", "training:3", "evaluator:4", "update-state:2"];
  it.concurrent.each(points)("SIGKILL of the CLI at %s, then resume", async (point) => {
    const dir = makeWorkspace();
    mine.push(dir);
    const mock = writeMockScript(dir, [LR_DECISION, DROPOUT]);
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }) });
    const args = ["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--portfolio", "off", "--parallel", "2", "--baseline-seeds", "2", "--max-iterations", "4"];
    const killed = await runCli(args, { env: { ...env, NAS_TEST_KILL_AT: point } });
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).not.toMatch(/Traceback|\n\s+at /);
    expect(JSON.parse(res.stdout), `${killed.stderr}\n---\n${res.stderr}`).toMatchObject({ status: "finished", iterations: 4, n_runs: 4 });
    record({ name: `crash/parallel-2/${point}`, survived: true, runsLost: checkConsistent(dir, 4), executed: 0 });
  });

  it.concurrent("one training of two killed by SIGKILL (OOM-like): a crashed run with its cause, the other judged, the loop goes on", async () => {
    const dir = makeWorkspace();
    mine.push(dir);
    const mock = writeMockScript(dir, [LR_DECISION, DROPOUT]);
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true, sigkill_seed: 43 }) });
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--portfolio", "off", "--parallel", "2",
      "--baseline-seeds", "2", "--max-iterations", "4", "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    const runs = readAgentState(dir).runs;
    const killed = runs.filter((r) => r.status === "crashed");
    expect(killed.map((r) => r.seed)).toEqual([43]);
    expect(String(killed[0].error)).toMatch(/SIGKILL|signal/i);
    expect(runs.filter((r) => r.status === "ok")).toHaveLength(3);
    record({ name: "training/sigkill-one-of-2", survived: true, runsLost: checkConsistent(dir, 4), executed: 0 });
  });
});
