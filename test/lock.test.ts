/**
 * The workspace lock (issue 9.8), through the real CLI: of two processes that find the same stale
 * lock, only one takes it over. Trainings run the torch-free stand-in (the lock is under test).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, DROPOUT_DECISION, readAgentState, runCli, tempWorkspaces, writeMockScript } from "./helpers/workspace.js";

const workspace = tempWorkspaces();
const lastLine = (s: string) => s.trim().split("\n").pop() ?? "";

describe("the workspace lock", () => {
  it("lets only one of two processes take over the same stale lock", async () => {
    const dir = workspace();
    const mock = writeMockScript(dir, [DROPOUT_DECISION]);
    fs.mkdirSync(path.join(dir, ".nas-graph"));
    fs.writeFileSync(path.join(dir, ".nas-graph", "lock"), JSON.stringify({ pid: 2 ** 22 + 4321, started_at: "then", command: "run" }));
    // both takers find the stale lock, then pause before taking it: the race window, held open
    const env = cliEnv({ NAS_TEST_LOCK_TAKEOVER_DELAY_MS: "1500", NAS_PYTHON: fakeTrainingPython(dir, {}) });
    const args = ["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "1"];
    const [a, b] = await Promise.all([runCli(args, { env }), runCli(args, { env })]);
    const codes = [a.code, b.code].sort();
    expect(codes, `${a.stderr}\n---\n${b.stderr}`).toEqual([0, 3]);
    const loser = a.code === 3 ? a : b;
    expect(lastLine(loser.stderr)).toMatch(/^error: workspace .* is busy: 'run' \(pid \d+, started .*\) holds .*lock; wait for it/);
    expect(readAgentState(dir).runs).toHaveLength(1);
    expect(fs.readdirSync(path.join(dir, ".nas-graph")).filter((f) => f.startsWith("lock"))).toEqual([]);
  });
});
