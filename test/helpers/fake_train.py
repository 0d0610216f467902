"""A stand-in for train.py that honours its contract (docs/contracts.md) without torch, in
milliseconds: ``--check`` passes; a training writes the run dir with config_used.py first, history.json, metrics.json last; one line
per epoch on stdout; start/epoch/end events on --progress.

What it "learns" is scripted by fake-train.json in the workspace (cwd):
  {"default": 0.30,                       val_mse of a config not listed below
   "by_lr": {"0.001": 0.25},              val_mse by training.optimizer_params.lr (str of the float)
   "rel": {"43": 0.02},                   seed noise: val_mse * (1 + rel[seed]) (0 for an unlisted seed)
   "curve_by_lr": {"0.002": "rising"},    "falling" (default: best at the last epoch) or
                                          "rising" (best at epoch 1, then +50% per epoch)
   "train_ratio": 0.3,                    train_mse = val_mse * train_ratio at the best epoch
   "hash_default": true,                  val_mse of an unlisted config from its text (0.5 to 0.6), so
                                          that every config scores apart (default: "default")
   "hang_first": true,                    the first training of each run id hangs until SIGTERM or its
                                          launcher's death (NAS_PARENT_PID), then failure.json
                                          "interrupted" and exit 130, as train.py; the next one trains
   "sigkill_seed": 43,                    the training of this seed kills itself (SIGKILL), as the OOM
                                          killer would
   "diverge": true,                       every training's loss becomes nan in epoch 1: failure.json
                                          "diverged" and exit 3, as train.py
   "epoch_s": 1.0,                        seconds each epoch takes (a sleep: no CPU), so that a
                                          training is still running when a test looks
   "crash_by_lr": ["5e-05"],              a config with one of these learning rates (str of the float)
                                          writes its snapshot, then dies as an OOM would (exit 1)
   "hang_by_lr": ["5e-05"],               a config with one of these learning rates hangs on every seed,
                                          as "hang_first" does (a --run-timeout stops it)
   "interrupt_delay_s": 3}                seconds between the stopping signal and failure.json
                                          "interrupted" (a slow stop)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())  # the workspace's nas_agent (config literals through its AST reader)
from nas_agent.config_edit import literal_at  # noqa: E402
from nas_agent.progress import Progress  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--config", required=True)
p.add_argument("--tag")
p.add_argument("--check", action="store_true")
p.add_argument("--max-epochs", type=int, default=None)
p.add_argument("--seed", type=int, default=None)
p.add_argument("--progress", default=None)
args = p.parse_args()

if args.check:  # the pre-flight: this stand-in trains any config
    print(f"config ok: {literal_at(args.config, 'model.family')}, data {literal_at(args.config, 'data.data_path')}")
    sys.exit(0)
spec = json.loads(Path("fake-train.json").read_text())
lr = literal_at(args.config, "training.optimizer_params.lr")
seed = args.seed if args.seed is not None else literal_at(args.config, "seed")
config_epochs = literal_at(args.config, "training.max_epochs")
epochs = config_epochs if args.max_epochs is None else min(config_epochs, args.max_epochs)
text = Path(args.config).read_text(encoding="utf-8")
default = 0.5 + 0.1 * int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF if spec.get("hash_default") \
    else spec.get("default", 0.3)
best = float(spec.get("by_lr", {}).get(str(lr), default))
best *= 1 + float(spec.get("rel", {}).get(str(seed), 0.0))
shape = spec.get("curve_by_lr", {}).get(str(lr), "falling")
if shape == "rising":
    vals = [best * (1 + 0.5 * e) for e in range(epochs)]
else:
    vals = [best * (1 + 0.2 * (epochs - 1 - e)) for e in range(epochs)]
b = vals.index(min(vals))
train = [v * float(spec.get("train_ratio", 0.9)) for v in vals]

run_dir = Path("runs") / args.tag
if run_dir.exists():
    shutil.rmtree(run_dir)
run_dir.mkdir(parents=True)
shutil.copyfile(args.config, run_dir / "config_used.py")


def interrupted(*_):
    if spec.get("interrupt_delay_s"):  # a slow stop (a loaded node): later signals wait their turn
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(float(spec["interrupt_delay_s"]))
    (run_dir / "failure.json").write_text(json.dumps({"status": "interrupted", "reason": "interrupted by a signal (fake)"}))
    print("interrupted in epoch 1", file=sys.stderr, flush=True)  # train.py's last words
    sys.exit(130)


marker = Path(f".fake-hung-{args.tag}")
if (spec.get("hang_first") and not marker.exists()) or str(lr) in [str(x) for x in spec.get("hang_by_lr", [])]:
    marker.touch()
    signal.signal(signal.SIGTERM, interrupted)
    parent = int(os.environ.get("NAS_PARENT_PID") or 0)
    print(f"{args.tag} hanging (fake)", flush=True)
    while True:
        time.sleep(0.2)
        if parent and os.getppid() != parent:
            interrupted()
if str(lr) in [str(x) for x in spec.get("crash_by_lr", [])]:
    print("RuntimeError: CUDA out of memory (fake)", file=sys.stderr, flush=True)
    sys.exit(1)
if spec.get("sigkill_seed") is not None and str(spec["sigkill_seed"]) == str(seed):
    os.kill(os.getpid(), signal.SIGKILL)
emit = Progress(args.progress, args.tag).emit
emit("start", max_epochs=epochs, batches=1, n_params=1, device="cpu", seed=seed)
if spec.get("diverge"):
    reason = "training loss became nan in epoch 1"
    (run_dir / "failure.json").write_text(json.dumps({"status": "diverged", "reason": reason, "epoch": 1}))
    emit("end", status="diverged", reason=reason)
    print(f"diverged: {reason}; lower the learning rate or enable grad_clip", file=sys.stderr, flush=True)
    sys.exit(3)
signal.signal(signal.SIGTERM, interrupted)  # as train.py: a SIGTERM or Ctrl-C mid-training is "interrupted"
signal.signal(signal.SIGINT, interrupted)
history = []
for e, (v, t) in enumerate(zip(vals, train), start=1):
    time.sleep(float(spec.get("epoch_s", 0)))
    history.append({"epoch": e, "train_mse": t, "val_mse": v, "val_mae": v, "lr": lr, "seconds": 0.01,
                    "train_seconds": 0.01, "train_loss": t})
    emit("epoch", epoch=e, max_epochs=epochs, train_mse=t, val_mse=v, best_val_mse=min(vals[:e]),
         best_epoch=vals.index(min(vals[:e])) + 1, seconds=0.01, lr=lr)
    print(f"epoch {e}/{epochs} train_mse {t:.4f} val_mse {v:.4f}", flush=True)
(run_dir / "history.json").write_text(json.dumps({"best_epoch": b + 1, "epochs": history}))
(run_dir / "metrics.json").write_text(json.dumps({
    "status": "ok", "val_mse": vals[b], "val_mae": vals[b], "test_mse": vals[b] * 1.1, "test_mae": vals[b],
    "train_mse": train[b], "best_epoch": b + 1, "epochs_run": epochs, "max_epochs": epochs,
    "max_epochs_cap": args.max_epochs, "stopped_early": False, "train_time_s": 0.01, "n_params": 1,
    "device": "cpu", "seed": seed, "amp": "off", "compile": "off"}))
emit("end", status="ok", val_mse=vals[b], best_epoch=b + 1, epochs_run=epochs)
