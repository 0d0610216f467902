/**
 * Training faults (issue 18, family 4): the training of seed 44 (the baseline's third run) crashes,
 * hangs past --run-timeout, or exits 0 without metrics. Each time the search goes on: exit 0, the
 * faulty run is recorded as failed and never accepted, the other runs stay finished and accepted,
 * config.py still parses. Driven through the real CLI with a stand-in interpreter (NAS_PYTHON); the
 * healthy trainings run the torch-free stand-in of train.py (test/helpers/fake_train.py), so that
 * a short --run-timeout tells the hang from them.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fakeTrainingPython } from "../helpers/stand-ins.js";
import { cliEnv, makeWorkspace, readAgentState, removeWorkspace, REPO, runCli, writeMockScript } from "../helpers/workspace.js";
import { record } from "./ledger.js";

const PY = path.join(REPO, ".venv", "bin", "python");
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeWorkspace(d);
});

type Fault = "crash" | "hang" | "no-metrics";

/** A stand-in interpreter: the training with --seed 44 meets `fault`; every other call goes to the train.py stand-in (or the real python). */
function faultyPython(dir: string, fault: Fault): string {
  const act = {
    crash: `echo "RuntimeError: simulated crash" >&2; exit 1`,
    hang: `exec sleep 600`,
    "no-metrics": `exit 0`,
  }[fault];
  const healthy = fakeTrainingPython(dir, { hash_default: true });
  const file = path.join(dir, "faulty-python");
  fs.writeFileSync(file, `#!/usr/bin/env bash
cfg=""; tag=""; seed=""; prev=""
for a in "$@"; do case "$prev" in --config) cfg="$a";; --tag) tag="$a";; --seed) seed="$a";; esac; prev="$a"; done
if [ "$seed" = "44" ]; then mkdir -p "runs/$tag" && cp "$cfg" "runs/$tag/config_used.py"; ${act}; fi
exec "${healthy}" "$@"
`, { mode: 0o755 });
  return file;
}

describe("training faults", () => {
  for (const fault of ["crash", "hang", "no-metrics"] as const) {
    it(`a training that meets '${fault}' is a failed run of its own; the search goes on`, async () => {
      const dir = makeWorkspace();
      dirs.push(dir);
      const mock = writeMockScript(dir, []);
      const res = await runCli(["run", "--system-dir", dir, "--planner", "mock", "--mock-file", mock,
        "--max-iterations", "3", "--run-timeout", "20"], { env: cliEnv({ NAS_PYTHON: faultyPython(dir, fault) }) });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
      const state = readAgentState(dir);
      expect(state.runs).toHaveLength(3);
      const [a, b, faulty] = state.runs;
      expect(faulty.accepted).toBe(false);
      expect(faulty.status).not.toBe("success");
      expect(a.accepted && b.accepted).toBe(true);
      expect(state.best_run_id).toBe(a.run_id);
      execFileSync(PY, ["-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", path.join(dir, "config.py")]);
      const finished = [a, b].filter((r) => typeof r.val_mse === "number").length;
      record({ name: `training/${fault}`, survived: true, runsLost: 2 - finished, executed: 0 });
    });
  }
});
