/**
 * Crash consistency (issue 18, family 5): the CLI SIGKILLs itself (NAS_TEST_KILL_AT, src/test-hooks.ts)
 * when it reaches update-state for the second time: the second run is trained and recorded, its verdict
 * not yet written. `resume` then finishes with every run recorded once, none lost.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cliEnv, LR_DECISION, makeWorkspace, readAgentState, removeWorkspace, runCli, writeMockScript } from "../helpers/workspace.js";
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
