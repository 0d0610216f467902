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

/**
 * A stand-in interpreter that honours train.py's output contract (docs/contracts.md) in a
 * fraction of a second, for faults that are not about training: a training (`train.py ...
 * --tag`) writes config_used.py, history.json and metrics.json (val_mse from the config's
 * text and the seed); `train.py --check` and the Python helper run the project's own Python.
 * `FAKE_TRAIN_HANG_FIRST=1` in the environment: the first training of each run id hangs until
 * SIGTERM or its launcher's death (then failure.json "interrupted", exit 130, as train.py does);
 * the next one succeeds. `FAKE_TRAIN_SIGKILL_SEED=N`: the training of seed N kills itself (SIGKILL).
 */
export function fakeTrainPython(dir: string): string {
  const script = path.join(dir, "fake-train.py");
  fs.writeFileSync(script, `import hashlib, json, os, shutil, signal, sys, time
args = sys.argv[1:]
def opt(name):
    return args[args.index(name) + 1] if name in args else None
cfg, tag, seed = opt("--config"), opt("--tag"), opt("--seed")
run = os.path.join("runs", tag)
os.makedirs(run, exist_ok=True)
shutil.copyfile(cfg, os.path.join(run, "config_used.py"))
def write(name, data):
    with open(os.path.join(run, name + ".tmp"), "w") as f:
        json.dump(data, f)
    os.replace(os.path.join(run, name + ".tmp"), os.path.join(run, name))
def stop(*_):
    write("failure.json", {"status": "interrupted", "reason": "interrupted by a signal (fake)"})
    sys.exit(130)
marker = ".fake-hung-" + tag
if os.environ.get("FAKE_TRAIN_HANG_FIRST") and not os.path.exists(marker):
    open(marker, "w").close()
    signal.signal(signal.SIGTERM, stop)
    print(tag + " hanging (fake)", flush=True)
    parent = int(os.environ.get("NAS_PARENT_PID") or 0)
    while True:  # dies with its launcher, as train.py does (NAS_PARENT_PID)
        time.sleep(0.2)
        if parent and os.getppid() != parent:
            stop()
s = int(seed) if seed is not None else 0
if os.environ.get("FAKE_TRAIN_SIGKILL_SEED") == str(s):  # killed by a signal, as the OOM killer does
    os.kill(os.getpid(), signal.SIGKILL)
text = open(cfg, encoding="utf-8").read()
val = 0.5 + 0.1 * int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF + 0.001 * (s % 7)
write("history.json", {"best_epoch": 1, "epochs": [{"epoch": 1, "train_mse": val, "val_mse": val, "val_mae": val,
      "lr": 0.001, "seconds": 0.1, "train_seconds": 0.1, "train_loss": val}]})
write("metrics.json", {"status": "ok", "val_mse": val, "val_mae": val, "test_mse": val + 0.1, "test_mae": val,
      "train_mse": val, "best_epoch": 1, "epochs_run": 1, "stopped_early": False, "train_time_s": 0.1,
      "n_params": 1000, "device": "cpu", "seed": s, "amp": "off", "compile": "off"})
print("done %s val_mse %.4f (fake)" % (tag, val), flush=True)
`);
  const python = path.join(REPO, ".venv", "bin", "python");
  const file = path.join(dir, "fake-python");
  fs.writeFileSync(file, `#!/bin/sh
case " $* " in *" --check "*) ;; *" train.py "*" --tag "*) exec "${python}" "${script}" "$@";; esac
exec "${python}" "$@"
`, { mode: 0o755 });
  return file;
}
