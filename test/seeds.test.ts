/**
 * Issue 16.5: a config never gets a seed it already has. A baseline trained again for the same
 * config (here: its first search's seeds all crashed, so no incumbent exists) starts one past the
 * largest seed the config used, so no deterministic CPU training enters the noise pool twice.
 * Driven through the real CLI; the first search runs under a stand-in interpreter whose trainings
 * with seeds 42 and 43 die after train.py's first output, as an OOM would.
 */
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cliEnv, makeWorkspace, readAgentState, removeWorkspace, REPO, runCli } from "./helpers/workspace.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

function crashingPython(dir: string, seeds: number[]): string {
  const file = path.join(dir, "oom-python");
  const match = seeds.map((s) => `"$seed" = "${s}"`).join(" -o ");
  fs.writeFileSync(file, `#!/usr/bin/env bash
cfg=""; tag=""; seed=""; prev=""
for a in "$@"; do case "$prev" in --config) cfg="$a";; --tag) tag="$a";; --seed) seed="$a";; esac; prev="$a"; done
if [ ${match} ]; then mkdir -p "runs/$tag" && cp "$cfg" "runs/$tag/config_used.py"; echo "RuntimeError: CUDA out of memory (simulated)" >&2; exit 1; fi
exec "${path.join(REPO, ".venv", "bin", "python")}" "$@"
`, { mode: 0o755 });
  return file;
}

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
