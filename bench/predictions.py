"""What saved forecasts cost on the users' task, and what building the ensemble from them costs.

Trains one run of the users' task (nas_system/config.py: ETTh1, MS, OT, 336 -> 96) through
train.py, switched to DLinear by `nas_agent config-apply` so it trains in seconds on a CPU, for
--epochs epochs; then reports
- the bytes of its runs/<id>/predictions.npz (and what np.savez_compressed would save);
- the seconds predictions.save takes on those arrays (median of --repeats writes), i.e. what the
  file adds to every training, and the seconds to read it back;
- the seconds of `python -m nas_agent ensemble` over a library of --library runs (copies of the
  trained run with perturbed forecasts, biased up and down so that several get weight, recorded
  in agent_state.json): the end of every search. Once as a fresh process (its imports, torch
  among them through data.py, included), once in-process after them (what the long-lived helper
  pays when it has imported torch already).

    NAS_DATA_DIR=../shared/data/ETT-small .venv/bin/python bench/predictions.py
    .venv/bin/python bench/predictions.py --library 50 --device cuda

A figure, not a test: nothing here asserts.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CODE = ["train.py", "model.py", "models", "data.py", "nas_agent"]
sys.path.insert(0, str(ROOT / "nas_system"))

from nas_agent import predictions  # noqa: E402


def agent(ws: Path, *args: str, env: dict) -> dict:
    proc = subprocess.run([sys.executable, "-m", "nas_agent", "--system-dir", str(ws), *args], cwd=ws, env=env,
                          capture_output=True, text=True)
    out = json.loads(proc.stdout)
    if not out.get("ok"):
        raise SystemExit(f"nas_agent {args[0]} failed: {out.get('error')}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--library", type=int, default=20, help="runs in the ensemble's library")
    args = p.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "nas_system"), "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        ws.mkdir()
        for name in CODE:
            src = ROOT / "nas_system" / name
            (shutil.copytree(src, ws / name, ignore=shutil.ignore_patterns("__pycache__")) if src.is_dir() else shutil.copy2(src, ws / name))
        for name in ("config.py", "search_space.json"):
            shutil.copy2(ROOT / "nas_system" / name, ws / name)
        agent(ws, "config-apply", "--changes", json.dumps([{"key": "model.family", "value": "dlinear"}]), env=env)
        with open(ws / "config.py", "a") as fh:
            fh.write(f'\ntraining["device"] = "{args.device}"\nlogging["plot_learning_curve"] = False\n')
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-u", "train.py", "--config", "config.py", "--tag", "run_0000",
                               "--max-epochs", str(args.epochs)], cwd=ws, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"train.py failed: {proc.stderr.strip()}")
        train_s = time.perf_counter() - started
        run = ws / "runs" / "run_0000"
        metrics = json.loads((run / "metrics.json").read_text())
        arrays = predictions.load(run)
        size = (run / "predictions.npz").stat().st_size
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)

        import torch

        batches = {k: [torch.from_numpy(v[i:i + 256]) for i in range(0, len(v), 256)] for k, v in arrays.items()}
        writes, reads = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            predictions.save(run, batches["val"], batches["test"])
            writes.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            predictions.load(run)
            reads.append(time.perf_counter() - t0)

        # the library: the trained run and perturbed copies of it, recorded like runs
        agent(ws, "record-run", "--run-id", "run_0000", "--info", json.dumps({"accepted": True, "kind": "baseline"}), env=env)
        rng = np.random.default_rng(0)
        for i in range(1, args.library):
            dst = ws / "runs" / f"run_{i:04d}"
            shutil.copytree(run, dst)
            bias = 0.05 * (-1) ** i * (1 + i / 10)
            noisy = {k: (v + bias + rng.normal(0, 0.02, v.shape)).astype(np.float32) for k, v in arrays.items()}
            np.savez(dst / "predictions.npz", **noisy)
            agent(ws, "record-run", "--run-id", dst.name, "--info", json.dumps({"kind": "proposal"}), env=env)
        t0 = time.perf_counter()
        out = agent(ws, "ensemble", env=env)
        ensemble_s = time.perf_counter() - t0
        from nas_agent import agent_state, ensemble

        state = agent_state.load_agent_state(ws / "agent_state.json")
        ensemble.select(ws, state)  # imports and the data file's first read
        t0 = time.perf_counter()
        ensemble.select(ws, state)
        warm_s = time.perf_counter() - t0

    val, test = arrays["val"], arrays["test"]
    print(f"users' task (ETTh1 MS OT 336->96), DLinear, {args.epochs} epoch(s) on {args.device}: train.py {train_s:.1f} s, "
          f"val_mse {metrics['val_mse']:.4f}")
    print(f"predictions.npz: val {list(val.shape)} + test {list(test.shape)} float32 = {size:,} bytes "
          f"(np.savez_compressed: {len(buf.getvalue()):,} bytes)")
    print(f"predictions.save: median {statistics.median(writes) * 1000:.1f} ms over {args.repeats} writes; "
          f"load: median {statistics.median(reads) * 1000:.1f} ms")
    print(f"nas_agent ensemble over {args.library} runs: {ensemble_s:.2f} s as a fresh process (imports and data read "
          f"included), {warm_s:.2f} s in a process that has imported them; {len(out['members'])} members, "
          f"{out['steps']} additions; val_mse {out['val_mse']:.4f} (best single {out['best_single']['val_mse']:.4f})")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
