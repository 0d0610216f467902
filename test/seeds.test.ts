/**
 * Issue 16.5: a config never gets a seed it already has. A baseline trained again for the same
 * config (here: its first search's seeds all crashed, so no incumbent exists) starts one past the
 * largest seed the config used, so no deterministic CPU training enters the noise pool twice.
 * Driven through the real CLI; the first search runs under a stand-in interpreter whose trainings
 * with seeds 42 and 43 die after train.py's first output, as an OOM would.
 */
import { afterEach, describe, expect, it } from "vitest";
import { crashingPython } from "./helpers/stand-ins.js";
import { cliEnv, makeWorkspace, readAgentState, removeWorkspace, runCli } from "./helpers/workspace.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

describe("seeds", () => {
  it("a baseline trained again for the same config takes new seeds", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const first = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "2", "--baseline-seeds", "2"],
      { env: cliEnv({ NAS_PYTHON: crashingPython(dir, [42, 43]) }) });
    expect(first.code, first.stderr).toBe(0);
    expect(readAgentState(dir).runs.map((r) => [r.seed, r.status])).toEqual([[42, "crashed"], [43, "crashed"]]);

    const again = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "2", "--baseline-seeds", "2"]);
    expect(again.code, again.stderr).toBe(0);
    const runs = readAgentState(dir).runs;
    expect(runs.slice(2).map((r) => [r.seed, r.status, r.config_id])).toEqual([[44, "ok", runs[0].config_id], [45, "ok", runs[0].config_id]]);
    const seeds = runs.map((r) => r.seed);
    expect(new Set(seeds).size).toBe(seeds.length);
  });
});
