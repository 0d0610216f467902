"""Throughput of K trainings at once: what --parallel K buys on one machine.

Runs K train.py processes at once, as the local executor does (one process each; on a CPU the
torch threads split as the executor splits them: max(1, cores // K)), for each K in --ks, on a
copy of the workspace with the given config, capped at --epochs epochs. Reports the seconds per
epoch of each training (steady epochs: 2..), the wall time of the batch, and trainings per hour
against one at a time.

    NAS_DATA_DIR=../shared/data/ETT-small .venv/bin/python bench/throughput.py --config bench/search_config.py --ks 1,2
    python3 bench/throughput.py --config nas_system/config.py --ks 1,2,4 --epochs 3 --device cuda --data-dir DIR

A figure, not a test: nothing here asserts.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ["train.py", "model.py", "models", "data.py", "nas_agent"]


def workspace(parent: Path, config: Path, device: str | None) -> Path:
    ws = parent / "ws"
    ws.mkdir()
    for name in CODE:
        src = ROOT / "nas_system" / name
        (shutil.copytree(src, ws / name, ignore=shutil.ignore_patterns("__pycache__")) if src.is_dir() else shutil.copy2(src, ws / name))
    text = config.read_text()
    text += '\nlogging["plot_learning_curve"] = False\n'
    if device:
        text += f'training["device"] = "{device}"\n'
    (ws / "config.py").write_text(text)
    return ws


def batch(ws: Path, k: int, epochs: int, env: dict, tag: str) -> dict:
    """K trainings at once; their metrics and histories."""
    child = dict(env)
    if "OMP_NUM_THREADS" not in env:
        child["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // k))
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-u", "train.py", "--config", "config.py", "--tag", f"{tag}_{i}",
                               "--max-epochs", str(epochs), "--seed", str(42 + i)],
                              cwd=ws, env=child, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(k)]
    errors = [p.communicate()[1] for p in procs]
    wall = time.perf_counter() - started
    runs = []
    for i, p in enumerate(procs):
        run = ws / "runs" / f"{tag}_{i}"
        if p.returncode != 0 or not (run / "metrics.json").exists():
            runs.append({"error": (errors[i].strip().splitlines() or ["?"])[-1]})
            continue
        hist = json.loads((run / "history.json").read_text())["epochs"]
        steady = [e["seconds"] for e in hist[1:]] or [e["seconds"] for e in hist]
        runs.append({"epoch_s": statistics.median(steady), "first_epoch_s": hist[0]["seconds"],
                     "val_mse": json.loads((run / "metrics.json").read_text())["val_mse"]})
    return {"k": k, "wall_s": wall, "runs": runs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "bench" / "search_config.py"))
    ap.add_argument("--ks", default="1,2")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--device", default=None, help="override training.device (cpu, cuda)")
    ap.add_argument("--data-dir", default=None, help="folder with ETTh1.csv (sets NAS_DATA_DIR)")
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.data_dir:
        env["NAS_DATA_DIR"] = str(Path(args.data_dir).resolve())
    ks = [int(k) for k in args.ks.split(",")]
    results = []
    with tempfile.TemporaryDirectory(prefix="nas-throughput-") as tmp:
        ws = workspace(Path(tmp), Path(args.config), args.device)
        for k in ks:
            r = batch(ws, k, args.epochs, env, f"k{k}")
            results.append(r)
            ok = [x for x in r["runs"] if "epoch_s" in x]
            epochs = ", ".join(f"{x['epoch_s']:.2f}" for x in ok)
            failed = [x["error"] for x in r["runs"] if "error" in x]
            print(f"K={k}: wall {r['wall_s']:.1f} s; epoch {epochs} s each" + (f"; {len(failed)} failed: {failed}" if failed else ""),
                  flush=True)
    base = results[0]["wall_s"] / ks[0]
    print(f"\n| trainings at once | seconds per epoch, each (median) | batch wall time | trainings per hour | vs one at a time |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        ok = [x["epoch_s"] for x in r["runs"] if "epoch_s" in x]
        per_hour = 3600 * len(ok) / r["wall_s"]
        eps = f"{min(ok):.2f}-{max(ok):.2f}" if len(ok) > 1 else (f"{ok[0]:.2f}" if ok else "-")
        print(f"| {r['k']} | {eps} | {r['wall_s']:.1f} s | {per_hour:.0f} | {base * len(ok) / r['wall_s']:.2f}x |")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
