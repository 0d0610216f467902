/**
 * `--seed` is validated before anything else (issue 9.5): a seed outside 0..2**32-1 is a usage
 * error, through the real CLI, and the workspace is left untouched.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempWorkspaces } from "./helpers/workspace.js";

const workspace = tempWorkspaces();

describe("--seed (issue 9.5)", () => {
  it("refuses a seed outside 0..2**32-1 with a usage error before touching the workspace", async () => {
    const dir = workspace();
    for (const bad of ["-1", "4294967296", "1.5", "12abc"]) {
      const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--seed", bad]);
      expect(res.code, `${bad}: ${res.stderr}`).toBe(2);
      expect(res.stderr.split("\n")[0]).toBe(`error: option '--seed <n>' argument '${bad}' is invalid. --seed takes an integer from 0 to 4294967295`);
    }
    expect(fs.existsSync(path.join(dir, ".nas-graph"))).toBe(false);
  });
});
