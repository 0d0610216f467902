/**
 * Issue 16.9: the code needs optuna >= 5.0 (suggest.py calls set_constraint) and torch >= 2.3
 * (torch.amp.GradScaler(device)); an older package is caught by the pre-flight before any training,
 * with one line naming the package, its version and the fix. The stand-in is the project's own
 * interpreter with an optuna 4.2.0 metadata record first on PYTHONPATH (what pip leaves behind).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, makeWorkspace, REPO, removeWorkspace, runCli } from "./helpers/workspace.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});
const lastLine = (s: string) => s.trim().split("\n").pop() ?? "";

describe("16.9 requirements pin", () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nas-graph-oldoptuna-"));
    const info = path.join(tmp, "optuna-4.2.0.dist-info");
    fs.mkdirSync(info);
    fs.writeFileSync(path.join(info, "METADATA"), "Metadata-Version: 2.1\nName: optuna\nVersion: 4.2.0\n");
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("requirements.txt pins what the code calls", () => {
    const req = fs.readFileSync(path.join(REPO, "nas_system", "requirements.txt"), "utf8");
    expect(req).toMatch(/^optuna>=5\.0$/m);
    expect(req).toMatch(/^torch>=2\.3$/m);
  });

  it("an optuna older than 5.0 stops run before any training with one line", async () => {
    const dir = makeWorkspace();
    dirs.push(dir);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "1"], { env: cliEnv({ PYTHONPATH: tmp }) });
    expect(res.code, res.stderr).toBe(2);
    expect(lastLine(res.stderr)).toMatch(/^error: the Python at .* has optuna 4\.2\.0 \(needs >= 5\.0\) that nas_system cannot use: run '.* -m pip install -r nas_system\/requirements\.txt'/);
    expect(res.stderr.trim().split("\n").filter((l) => l.startsWith("error:"))).toHaveLength(1);
    expect(fs.existsSync(path.join(dir, "runs"))).toBe(false);
  });
});
