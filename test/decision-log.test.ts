/**
 * The decision log (issue 9.8), through the real CLI: each entry starts on a fresh line, and a torn
 * line (a writer killed mid-line) is skipped with a warning, never swallowing the next entry.
 * Trainings run the torch-free stand-in.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, DROPOUT_DECISION, readAgentState, readText, runCli, tempWorkspaces, writeMockScript } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

describe("the decision log", () => {
  it("starts each decision-log entry on a fresh line and skips a torn line with a warning", async () => {
    const dir = workspace();
    const mock = writeMockScript(dir, [DROPOUT_DECISION]);
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, {}) });
    const args = ["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "1"];
    expect((await runCli(args, { env })).code).toBe(0);
    const log = path.join(dir, ".nas-graph", "decisions.jsonl");
    fs.appendFileSync(log, '{"search_id": "search-x", "iteration": 3, "run'); // a writer killed mid-line
    const res = await runCli(args, { env });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/warning: skipped a torn line 2 of .*decisions.jsonl/);
    const lines = readText(log).split("\n");
    expect(lines[1]).toBe('{"search_id": "search-x", "iteration": 3, "run');
    const entries = [lines[0], lines[2]].map((l) => JSON.parse(l));
    expect(entries.map((e) => e.run_id)).toEqual(readAgentState(dir).runs.map((r) => r.run_id));
    expect(lines[3]).toBe("");
  });
});
