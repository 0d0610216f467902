/**
 * Comparable histories through the real CLI: runs of another fidelity (--max-epochs) never
 * compete with this search's, and a config.py the user edited by hand is trained as a new
 * baseline, never overwritten. Trainings run the torch-free stand-in (test/helpers/fake_train.py):
 * the bookkeeping is under test, not the training.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, readAgentState, runCli, tempWorkspaces, writeMockScript } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

describe("comparable histories", () => {
  it("never makes a 1-epoch run the incumbent of a 2-epoch search, and trains a user's edited config.py as a new baseline", async () => {
    const dir = workspace();
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hash_default: true }) });
    const empty = writeMockScript(dir, []);
    const one = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", empty, "--max-epochs", "1", "--baseline-seeds", "1", "--max-iterations", "1"], { env });
    expect(one.code, one.stderr).toBe(0);
    const two = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", empty, "--baseline-seeds", "1", "--max-iterations", "1", "--json"], { env });
    expect(two.code, two.stderr).toBe(0);
    expect(two.stderr).toMatch(/baseline: no accepted run at this fidelity yet/);
    let state = readAgentState(dir);
    const fid = state.runs.map((r) => String(r.fidelity));
    expect(fid[0]).toMatch(/@1ep$/);
    expect(fid[1]).toMatch(/@2ep$/);
    expect(state.best_run_id).toBe(state.runs[1].run_id);
    expect(JSON.parse(two.stdout).best_run_id).toBe(state.runs[1].run_id);

    // the user edits config.py by hand: the next search says so and trains it, never overwrites it
    const edited = fs.readFileSync(path.join(dir, "config.py"), "utf8").replace('"dropout": 0.25', '"dropout": 0.1');
    expect(edited).not.toBe(fs.readFileSync(path.join(dir, "config.py"), "utf8"));
    fs.writeFileSync(path.join(dir, "config.py"), edited);
    const three = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", empty, "--baseline-seeds", "1", "--max-iterations", "1"], { env });
    expect(three.code, three.stderr).toBe(0);
    expect(three.stderr).toMatch(/baseline: config.py differs from the incumbent run_0001's config/);
    state = readAgentState(dir);
    expect(state.runs[2]).toMatchObject({ kind: "baseline", accepted: true });
    expect(state.best_run_id).toBe(state.runs[2].run_id); // the search continues from the user's config
    expect(fs.readFileSync(path.join(dir, "config.py"), "utf8")).toBe(edited);
  });
});
