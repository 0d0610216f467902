/**
 * Crash consistency (issue 18, family 5): the CLI SIGKILLs itself (NAS_TEST_KILL_AT, src/test-hooks.ts)
 * when it reaches update-state for the second time: the second run is trained and recorded, its verdict
 * not yet written. `resume` then finishes with every run recorded once, none lost.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { cliEnv, LR_DECISION, makeWorkspace, readAgentState, REPO, removeWorkspace, runCli, writeMockScript } from "../helpers/workspace.js";
import { fakeTrainPython } from "../helpers/stand-ins.js";
import { record } from "./ledger.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

describe("crash consistency", () => {
  it("a SIGKILL inside update-state loses no run: resume records each run once", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const mock = writeMockScript(dir, [LR_DECISION]);
    const killed = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--baseline-seeds", "1",
      "--max-iterations", "2"], { env: cliEnv({ NAS_TEST_KILL_AT: "update-state:2" }) });
    expect(killed.signal).toBe("SIGKILL");
    // the trial already recorded its run; only its verdict is still to be written
    expect(readAgentState(dir).runs.length).toBeGreaterThanOrEqual(1);

    const res = await runCli(["resume", "--system-dir", dir, "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const state = readAgentState(dir);
    const ids = state.runs.map((r) => r.run_id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(state.runs.every((r) => r.status === "ok")).toBe(true);
    expect(fs.existsSync(path.join(dir, ".nas-graph", "lock"))).toBe(false);
    record({ name: "crash/update-state:2", survived: true, runsLost: 2 - ids.length, executed: 0 });
  });
});

// ---------------------------------------------------------------- K = 2 in flight (stand-in trainer)

const DROPOUT = { step_type: "small", plan: "More dropout", reason: "regularize", config_changes: [{ key: "model.dropout", value: 0.1 }] };
const PYTHON = path.join(REPO, ".venv", "bin", "python");

function configId(dir: string, file: string): string {
  const out = execFileSync(PYTHON, ["-m", "nas_agent", "--system-dir", dir, "config-id", "--config", file], {
    env: { ...process.env, PYTHONPATH: path.join(REPO, "nas_system") }, encoding: "utf8",
  });
  return JSON.parse(out).config_id;
}

/** Processes whose command line names the workspace (trainings, helpers) still alive. */
function leftovers(dir: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      const state = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
      if (cmd.includes(dir) && state !== "Z") out.push(`${pid}: ${cmd}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

/** After the resume: each finished run once, unique ids, the budget exact, no orphan, config.py on the incumbent. */
function checkConsistent(dir: string, budget: number): number {
  const state = readAgentState(dir);
  const ids = state.runs.map((r) => r.run_id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toEqual(Array.from({ length: budget }, (_, i) => `run_${String(i).padStart(4, "0")}`));
  for (const id of ids) expect(fs.existsSync(path.join(dir, "runs", id, "metrics.json")) || fs.existsSync(path.join(dir, "runs", id, "failure.json"))).toBe(true);
  const log = fs.readFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  expect(log.map((d) => d.run_id)).toEqual(ids); // one decision per run, none twice
  expect(leftovers(dir)).toEqual([]);
  expect(state.best_run_id).not.toBeNull();
  expect(configId(dir, path.join(dir, "config.py"))).toBe(configId(dir, path.join(dir, "runs", state.best_run_id!, "config_used.py")));
  expect(fs.existsSync(path.join(dir, ".nas-graph", "lock"))).toBe(false);
  return budget - ids.length;
}

describe("crash consistency with 2 trainings in flight (--parallel 2)", () => {
  // planner:2 = round 2, ids reserved; trial:3 / training:3 = round 2's first trial before / while it
  // trains (the other one in flight); evaluator:4 = round 2, one run recorded, one not; update-state:2
  const points = ["planner:2", "trial:3", "training:3", "evaluator:4", "update-state:2"];
  it.concurrent.each(points)("SIGKILL of the CLI at %s, then resume", async (point) => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const mock = writeMockScript(dir, [LR_DECISION, DROPOUT]);
    const env = cliEnv({ NAS_PYTHON: fakeTrainPython(dir) });
    const args = ["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--portfolio", "off", "--parallel", "2", "--baseline-seeds", "2", "--max-iterations", "4"];
    const killed = await runCli(args, { env: { ...env, NAS_TEST_KILL_AT: point } });
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    const res = await runCli(["resume", "--system-dir", dir, "--json"], { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).not.toMatch(/Traceback|\n\s+at /);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "finished", iterations: 4, n_runs: 4 });
    record({ name: `crash/parallel-2/${point}`, survived: true, runsLost: checkConsistent(dir, 4), executed: 0 });
  });

  it.concurrent("one training of two killed by SIGKILL (OOM-like): a crashed run with its cause, the other judged, the loop goes on", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const mock = writeMockScript(dir, [LR_DECISION, DROPOUT]);
    const env = cliEnv({ NAS_PYTHON: fakeTrainPython(dir), FAKE_TRAIN_SIGKILL_SEED: "43" });
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
