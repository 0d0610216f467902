/**
 * --parallel K through the real CLI (local executor, tiny config): each round fans out up to K
 * trials as LangGraph Send tasks; run ids are reserved up front; a SIGKILL with K trainings in
 * flight loses no finished run and trains none twice.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LR_DECISION, makeWorkspace, readAgentState, removeWorkspace, runCli, startCli, writeMockScript } from "./helpers/workspace.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

const DROPOUT = { step_type: "small", plan: "More dropout", reason: "regularize", config_changes: [{ key: "model.dropout", value: 0.1 }] };

function decisions(dir: string): Array<Record<string, unknown>> {
  return fs.readFileSync(path.join(dir, ".nas-graph", "decisions.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
}

describe("--parallel 2", () => {
  it("trains the baseline's seeds together, then a batch of 2 proposals, each recorded once", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const mock = writeMockScript(dir, [LR_DECISION, DROPOUT]);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--parallel", "2", "--baseline-seeds", "2", "--max-iterations", "4", "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const state = readAgentState(dir);
    expect(state.runs.map((r) => r.run_id)).toEqual(["run_0000", "run_0001", "run_0002", "run_0003"]);
    expect(state.runs.map((r) => r.kind)).toEqual(["baseline", "baseline", "proposal", "proposal"]);
    expect(state.runs.every((r) => r.status === "ok")).toBe(true);
    const log = decisions(dir);
    expect(log.map((d) => [d.run_id, d.round])).toEqual([["run_0000", 1], ["run_0001", 1], ["run_0002", 2], ["run_0003", 2]]);
    expect(log.map((d) => d.iteration)).toEqual([1, 2, 3, 4]);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "finished", iterations: 4, trainings: { baseline: 2, proposals: 2, repeats: 0 } });
    // both proposals were judged against the baseline; the best mean wins
    const best = state.runs.find((r) => r.run_id === state.best_run_id)!;
    expect(best.accepted).toBe(true);
  });

  it("after a SIGKILL with 2 trainings in flight, resume loses no run and trains none twice", async () => {
    const dir = makeWorkspace((c) => c.replace('"max_epochs": 2,', '"max_epochs": 4,').replace('"patience": 2,', '"patience": 4,'));
    dirs.push(dir);
    const mock = writeMockScript(dir, [LR_DECISION, DROPOUT]);
    const args = ["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--parallel", "2", "--baseline-seeds", "2", "--max-iterations", "4"];
    const cli = startCli(args);
    await cli.waitFor(/run_0000 epoch 1\/4 · /);
    await cli.waitFor(/run_0001 epoch 1\/4 · /);
    process.kill(-cli.child.pid!, "SIGKILL");
    expect((await cli.done).signal).toBe("SIGKILL");

    const res = await runCli(["resume", "--system-dir", dir, "--json"]);
    expect(res.code, res.stderr).toBe(0);
    const state = readAgentState(dir);
    const ids = state.runs.map((r) => r.run_id);
    expect(ids).toEqual(["run_0000", "run_0001", "run_0002", "run_0003"]);
    expect(state.runs.every((r) => r.status === "ok")).toBe(true);
    expect(fs.readdirSync(path.join(dir, "runs")).sort()).toEqual(ids);
    expect(JSON.parse(res.stdout)).toMatchObject({ status: "finished", iterations: 4, n_runs: 4 });
  });
});
