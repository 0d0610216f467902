/**
 * The Python interpreter is checked before any training (issue 9.10), through the real CLI: a
 * Python without the requirements is one line naming it, the packages and the fix, at `run`
 * and at `resume`; an internal error of nas_agent says "please report it" once.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeTrainingPython } from "./helpers/stand-ins.js";
import { cliEnv, readAgentState, REPO, runCli, tempWorkspaces } from "./helpers/workspace.js";

const workspace = tempWorkspaces();
const lastLine = (s: string) => s.trim().split("\n").pop() ?? "";

describe("the Python interpreter (issue 9.10)", () => {
  let bare: string;
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-py-"));
    // a venv with no packages: what a new user's system python looks like
    execFileSync(path.join(REPO, ".venv", "bin", "python"), ["-m", "venv", "--without-pip", path.join(tmp, "venv")]);
    bare = path.join(tmp, "venv", "bin", "python");
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("stops before any training with one line naming the interpreter, the packages and the fix", async () => {
    const dir = workspace();
    const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1"], { env: cliEnv({ NAS_PYTHON: bare }) });
    expect(res.code, res.stderr).toBe(2);
    expect(lastLine(res.stderr)).toBe(
      `error: the Python at ${bare} lacks the packages torch, numpy, pandas, matplotlib, optuna that nas_system needs: run 'bash scripts/setup.sh' (creates .venv) or set NAS_PYTHON to a Python with nas_system/requirements.txt installed`,
    );
    expect(res.stderr).not.toMatch(/epoch|baseline/);
    expect(fs.existsSync(path.join(dir, "runs"))).toBe(false);
    expect(fs.existsSync(path.join(dir, "agent_state.json"))).toBe(false);
  });

  it("says 'please report it' once for an internal error of nas_agent", async () => {
    const dir = workspace();
    const fake = path.join(tmp, "buggy-python");
    // a helper (nas_agent serve) that answers every request with nas_agent's internal-error shape
    const answer = `{"id": req["id"], "exit": 1, "result": {"ok": False, "error": "internal error in nas_agent (ValueError: boom); please report it"}}`;
    const body = `import json, sys\nfor line in sys.stdin:\n    req = json.loads(line)\n    print(json.dumps(${answer}), flush=True)\n`;
    fs.writeFileSync(fake, `#!/usr/bin/env python3\n${body}`, { mode: 0o755 });
    const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna"], { env: cliEnv({ NAS_PYTHON: fake }) });
    expect(res.code).toBe(1);
    expect(lastLine(res.stderr)).toBe("error: nas_agent begin-search failed: internal error in nas_agent (ValueError: boom); please report it");
    expect(res.stderr.match(/please report it/g)).toHaveLength(1);
  });

  it("is checked by resume too, before the search continues", async () => {
    const dir = workspace();
    // the stand-in's training hangs into --run-timeout: a failed run waits for review
    const env = cliEnv({ NAS_PYTHON: fakeTrainingPython(dir, { hang_first: true }) });
    const paused = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1", "--run-timeout", "0.5", "--review"], { env });
    expect(paused.code, paused.stderr).toBe(0);
    const noPy = await runCli(["resume", "--reject", "--system-dir", dir], { env: cliEnv({ NAS_PYTHON: bare }) });
    expect(noPy.code).toBe(2);
    expect(lastLine(noPy.stderr)).toMatch(/^error: the Python at .* lacks the packages torch, .* run 'bash scripts\/setup.sh'/);
    expect(readAgentState(dir).runs.map((r) => r.evaluation_reason)).toEqual(["verdict pending"]); // the review answer was not taken
  });
});
