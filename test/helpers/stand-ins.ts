/**
 * Stand-in interpreters (NAS_PYTHON) that reach failure paths a real training never shows on
 * demand; everything they do not intercept runs the project's own Python.
 */
import fs from "node:fs";
import path from "node:path";
import { REPO } from "./workspace.js";

/** The trainings with `--seed` in `seeds` write their config snapshot (train.py's first output), then die as an OOM would. */
export function crashingPython(dir: string, seeds: number[]): string {
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

/** What test/helpers/fake_train.py "learns" (see its docstring): val_mse by lr, seed noise, curve shape. */
export interface FakeTraining {
  default?: number;
  by_lr?: Record<string, number>;
  rel?: Record<string, number>;
  curve_by_lr?: Record<string, "falling" | "rising">;
  train_ratio?: number;
  /** val_mse of an unlisted config from a hash of its text, so that every config scores apart. */
  hash_default?: boolean;
  /** The first training of each run id hangs until SIGTERM or its launcher's death (then "interrupted", exit 130). */
  hang_first?: boolean;
  /** The training of this seed kills itself with SIGKILL (the OOM killer's way). */
  sigkill_seed?: number;
  /** Every training diverges in epoch 1 (failure.json "diverged", exit 3). */
  diverge?: boolean;
  /** Seconds each epoch sleeps, so that a training is still running when a test looks. */
  epoch_s?: number;
  /** Configs with one of these learning rates (str of the float, e.g. "5e-05") write their snapshot, then die as an OOM would. */
  crash_by_lr?: string[];
  /** Configs with one of these learning rates hang on every seed, as `hang_first` (a --run-timeout stops them). */
  hang_by_lr?: string[];
  /** Seconds between the stopping signal and failure.json "interrupted" (a slow stop). */
  interrupt_delay_s?: number;
}

/**
 * Trainings run test/helpers/fake_train.py, a torch-free stand-in that honours train.py's
 * contract in milliseconds with scripted results (`spec`, written to DIR/fake-train.json; call
 * again to change it), its `--check` included (it passes); the helper runs the project's own Python.
 */
export function fakeTrainingPython(dir: string, spec: FakeTraining): string {
  fs.writeFileSync(path.join(dir, "fake-train.json"), JSON.stringify(spec));
  const file = path.join(dir, "fake-python");
  const py = path.join(REPO, ".venv", "bin", "python");
  fs.writeFileSync(file, `#!/usr/bin/env bash
if [ "$1" = "-u" ] && [ "$2" = "train.py" ]; then
  shift 2; exec "${py}" "${path.join(REPO, "test", "helpers", "fake_train.py")}" "$@"
fi
exec "${py}" "$@"
`, { mode: 0o755 });
  return file;
}
