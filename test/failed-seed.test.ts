/**
 * A failed seed never unseats the incumbent: one crashed seed of the baseline (an OOM, say) is a
 * failed run of its own, the baseline's other seeds stay accepted, and a later, worse proposal
 * is compared with them instead of becoming "the first successful run". Driven through the real
 * CLI, with a stand-in interpreter (NAS_PYTHON) that makes the training with seed 44 die after
 * train.py's first output, exactly as an OOM would.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { crashingPython } from "./helpers/stand-ins.js";
import { cliEnv, makeWorkspace, readAgentState, removeWorkspace, runCli, writeMockScript } from "./helpers/workspace.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

describe("a failed seed", () => {
  it("keeps the baseline's other seeds accepted, and a worse proposal is rejected against them", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const mock = writeMockScript(dir, [{
      step_type: "small", plan: "a learning rate far too low", reason: "test",
      config_changes: [{ key: "training.optimizer_params.lr", value: 1e-6 }],
    }]);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "4"],
      { env: cliEnv({ NAS_PYTHON: crashingPython(dir, [44]) }) });
    expect(res.code, res.stderr).toBe(0);
    const state = readAgentState(dir);
    const [a, b, crashed, proposal] = state.runs;
    expect(crashed.status).toBe("crashed");
    expect(crashed.accepted).toBe(false);
    expect(a.accepted && b.accepted).toBe(true); // the crash took nothing away from the other seeds
    expect(proposal.accepted).toBe(false);
    expect(state.best_run_id).toBe(a.run_id);
    expect(res.stderr).toMatch(/verdict run_0003 REJECTED: mean val_mse [\d.]+ \(1 seed\) vs run_0000's/);
    expect(res.stderr).not.toMatch(/first successful run \(val_mse [\d.]+\)[^\n]*\n[^\n]*run_0003/);
    // config.py is still the baseline's (the incumbent), not the rejected proposal's
    expect(fs.readFileSync(path.join(dir, "config.py"), "utf8")).not.toContain("1e-06");
  });
});
