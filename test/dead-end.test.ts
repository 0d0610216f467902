/**
 * No training is spent twice on a dead end. Driven through the real CLI with a stand-in
 * interpreter (NAS_PYTHON) under which every DLinear training hangs until --run-timeout stops it
 * (it writes its config snapshot first, as train.py does), in a four-point space: the family
 * (informer | dlinear) times the learning rate (two choices). Optuna must learn the timed-out
 * configs (failed runs of the search's own fidelity) and never propose one of them again; and
 * the mock planner's proposal of a timed-out config is refused with its reason.
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

/**
 * A stand-in interpreter: a training whose config says family "dlinear" writes its snapshot, then hangs;
 * the others run the torch-free train.py stand-in (so only the hang meets --run-timeout on a busy machine).
 */
function hangingPython(dir: string): string {
  const healthy = fakeTrainingPython(dir, { hash_default: true });
  const file = path.join(dir, "hang-python");
  fs.writeFileSync(file, `#!/usr/bin/env bash
cfg=""; tag=""; prev=""
for a in "$@"; do case "$prev" in --config) cfg="$a";; --tag) tag="$a";; esac; prev="$a"; done
if [ -n "$cfg" ] && grep -q '"family": "dlinear"' "$cfg"; then mkdir -p "runs/$tag" && cp "$cfg" "runs/$tag/config_used.py"; exec sleep 300; fi
exec "${healthy}" "$@"
`, { mode: 0o755 });
  return file;
}

/** The tiny workspace cut down to four points: model.family x training.optimizer_params.lr. */
function workspace(): string {
  const dir = makeWorkspace();
  dirs.push(dir);
  const file = path.join(dir, "search_space.json");
  const space = JSON.parse(fs.readFileSync(file, "utf8"));
  space.params = {
    "model.family": { ...space.params["model.family"], choices: ["informer", "dlinear"] },
    "training.optimizer_params.lr": { type: "float", choices: [5e-5, 0.001], step: "small", help: "learning rate" },
  };
  space.constraints = [];
  space.family_defaults = { informer: space.family_defaults?.informer ?? {}, dlinear: space.family_defaults?.dlinear ?? {} };
  delete space.recipes;
  fs.writeFileSync(file, JSON.stringify(space));
  return dir;
}

type Run = { run_id: string; status: string; params: Record<string, unknown>; config_changes: Record<string, unknown> };

const point = (r: Run) => `${r.params["model.family"]}/${r.params["training.optimizer_params.lr"]}`;

describe("a dead end", () => {
  it("is never proposed again by Optuna: the timed-out configs are learned at the search's fidelity", async () => {
    const dir = workspace();
    const res = await runCli(["run", "--system-dir", dir, "--planner", "optuna", "--max-iterations", "6", "--run-timeout", "20",
      "--baseline-seeds", "1", "--max-repeats", "0", "--portfolio", "off"], { env: cliEnv({ NAS_PYTHON: hangingPython(dir) }) });
    expect(res.code, res.stderr).toBe(0);
    const runs = readAgentState(dir).runs as Run[];
    const timedOut = runs.filter((r) => r.status === "timeout");
    expect(timedOut.map(point).sort(), res.stderr).toEqual(["dlinear/0.00005", "dlinear/0.001"]);
    const points = runs.map(point);
    expect(new Set(points).size, points.join(", ")).toBe(points.length); // no config trained twice, dead ends included
    expect(runs.length).toBe(4); // then the space is exhausted: the search stops instead of retrying a dead end
    expect(res.stderr).toMatch(/exhausted|already trained/);
  }, 240_000);

  it("refuses the mock planner's proposal of a timed-out config, with the reason", async () => {
    const dir = workspace();
    const dlinear = { step_type: "radical", plan: "switch to DLinear", reason: "test", config_changes: [{ key: "model.family", value: "dlinear" }] };
    const mock = writeMockScript(dir, [dlinear, dlinear]);
    const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock, "--max-iterations", "3", "--run-timeout", "20",
      "--baseline-seeds", "1", "--max-repeats", "0", "--portfolio", "off"], { env: cliEnv({ NAS_PYTHON: hangingPython(dir) }) });
    const runs = readAgentState(dir).runs as Run[];
    expect(runs.filter((r) => r.status === "timeout").length, res.stderr).toBe(1);
    expect(runs.filter((r) => r.params["model.family"] === "dlinear").length).toBe(1);
    expect(res.stderr).toMatch(/already trained/);
  }, 240_000);
});
