/**
 * Lineage across fidelities: a config.py that nas-graph wrote itself (the incumbent of a search
 * at another --max-epochs) is never taken for a user edit, and each fidelity's incumbent
 * survives searches at other fidelities. Driven through the real CLI, with trainings by a
 * stand-in that honours train.py's contract (test/helpers/fake_train.py).
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, makeWorkspace, readAgentState, removeWorkspace, runCli, writeMockScript } from "./helpers/workspace.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

const lr = (value: number) => ({ step_type: "small", plan: `lr ${value}`, reason: "test", config_changes: [{ key: "training.optimizer_params.lr", value }] });
const read = (f: string) => fs.readFileSync(f, "utf8");

describe("lineage across fidelities", () => {
  it("a search at --max-epochs 1, then 2, then 1 again: the third continues from the first's incumbent", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { default: 0.3, by_lr: { "0.001": 0.2, "0.002": 0.1 } }) });
    const search = (epochs: number, proposals: unknown[], iterations: number) =>
      runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", writeMockScript(dir, proposals), "--max-epochs", String(epochs),
        "--baseline-seeds", "1", "--max-iterations", String(iterations)], { env });

    const first = await search(1, [lr(0.001)], 2); // baseline run_0000, then lr 0.001 (run_0001) wins at 1 epoch
    expect(first.code, first.stderr).toBe(0);
    expect(readAgentState(dir).best_run_id).toBe("run_0001");

    const second = await search(2, [lr(0.002)], 2); // config.py (lr 0.001) is the 2-epoch baseline; lr 0.002 wins there
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/baseline: no accepted run at this fidelity yet/);
    expect(readAgentState(dir).best_run_id).toBe("run_0003");
    expect(read(path.join(dir, "config.py"))).toContain('"lr": 0.002');

    const third = await search(1, [lr(0.0005)], 1);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stderr).not.toMatch(/differs from the incumbent|config\.py is trained first/);
    expect(third.stderr).toMatch(/put back this fidelity's incumbent run_0001/);
    expect(third.stderr).toMatch(/continuing from the incumbent run_0001/);
    const state = readAgentState(dir);
    expect(state.runs.map((r) => [r.run_id, r.kind, String(r.fidelity).slice(-4)])).toEqual([
      ["run_0000", "baseline", "@1ep"], ["run_0001", "proposal", "@1ep"],
      ["run_0002", "baseline", "@2ep"], ["run_0003", "proposal", "@2ep"],
      ["run_0004", "proposal", "@1ep"],
    ]);
    // the proposal was made from the 1-epoch incumbent, which is still the incumbent and config.py
    const incumbent = read(path.join(dir, "runs", "run_0001", "config_used.py"));
    expect(read(path.join(dir, "runs", "run_0004", "config_used.py"))).toBe(incumbent.replace('"lr": 0.001', '"lr": 0.0005'));
    expect(state.best_run_id).toBe("run_0001");
    expect(read(path.join(dir, "config.py"))).toBe(incumbent);
    expect(read(path.join(dir, ".nas-graph", "searches", JSON.parse(read(path.join(dir, ".nas-graph", "search.json"))).thread_id, "start_config.py"))).toBe(incumbent);
  });
});
