"""Each model family against the literature: ETTh1 univariate (S, OT), 336 -> 96, through train.py.

    NAS_DATA_DIR=../shared/data/ETT-small .venv/bin/python bench/families.py \
        [--families dlinear,nlinear,patchtst,informer] [--seeds 3] [--jobs 2]

Every training is `train.py --config F --tag T --seed S` in a scratch workspace, on the standard
split and scaler. Settings (printed with the results):
- dlinear / nlinear: the DLinear paper's univariate ETTh1 recipe: Adam lr 0.005, batch 32, lr
  halved every epoch (StepLR(1, 0.5) = "type1"), 10 epochs, patience 3, shared map (individual off).
- patchtst: PatchTST/42's ETTh1 model (patch 16, stride 8 -> 42 patches, d_model 16, 4 heads,
  3 layers, d_ff 128, dropout 0.3, RevIN), Adam lr 1e-4, batch 128; the paper trains 100 epochs
  with patience 20 on a GPU, here --patchtst-epochs (default 20) with patience 5 on the CPU.
- informer: a SMALL Informer (d_model 64, 4 heads, e_layers 2, d_layers 1, d_ff 256, factor 5,
  label_len 48), the paper's recipe otherwise (Adam lr 1e-4, batch 32, type1, patience 3) for
  --informer-epochs (default 3; the paper: 6) -- the paper's d_model 512 is out of a CPU's reach.
Published test MSE / MAE (DLinear and PatchTST papers, univariate ETTh1-96): NLinear 0.053/0.177,
DLinear 0.056/0.180, PatchTST/42 0.055/0.179, Informer 0.193/0.377. A figure, not a test.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAIN_PY = REPO / "nas_system" / "train.py"
PUBLISHED = {"nlinear": (0.053, 0.177), "dlinear": (0.056, 0.180), "patchtst": (0.055, 0.179),
             "informer": (0.193, 0.377)}

DATA = {"data_path": "ETTh1.csv", "target": "OT", "features": ["OT"], "mode": "S", "seq_len": 336,
        "label_len": 48, "pred_len": 96, "train_size": 8640, "val_size": 2880, "test_size": 2880,
        "batch_size": 32, "num_workers": 0, "scale": True}
COMMON_MODEL = {"enc_in": 1, "dec_in": 1, "c_out": 1}


def settings(args) -> dict[str, tuple[dict, dict, dict]]:
    """family -> (data overrides, model keys, training keys)."""
    linear_training = {"lr": 0.005, "scheduler": ("StepLR", {"step_size": 1, "gamma": 0.5}), "epochs": 10, "patience": 3}
    return {
        "dlinear": ({}, {"family": "dlinear", "moving_avg": 25, "individual": False}, linear_training),
        "nlinear": ({}, {"family": "nlinear", "individual": False}, linear_training),
        "patchtst": ({"batch_size": 128},
                     {"family": "patchtst", "patch_len": 16, "stride": 8, "revin": True, "d_model": 16,
                      "n_heads": 4, "e_layers": 3, "d_ff": 128, "dropout": 0.3},
                     {"lr": 1e-4, "scheduler": None, "epochs": args.patchtst_epochs, "patience": args.patchtst_patience}),
        "informer": ({},
                     {"family": "informer", "d_model": 64, "n_heads": 4, "e_layers": 2, "d_layers": 1,
                      "d_ff": 256, "dropout": 0.05, "factor": 5, "attn": "prob", "activation": "gelu",
                      "distil": True, "mix": True},
                     {"lr": 1e-4, "scheduler": ("StepLR", {"step_size": 1, "gamma": 0.5}),
                      "epochs": args.informer_epochs, "patience": 3}),
    }


def config_text(data: dict, model: dict, t: dict, device: str = "cpu") -> str:
    sched_name, sched_params = t["scheduler"] or ("StepLR", {"step_size": 1, "gamma": 1.0})
    return f'''from torch import nn, optim

seed = 0
data = {data!r}
model = {model!r}
training = {{"optimizer_class": optim.Adam, "optimizer_params": {{"lr": {t["lr"]!r}}},
            "use_scheduler": {t["scheduler"] is not None!r},
            "scheduler_class": optim.lr_scheduler.{sched_name}, "scheduler_params": {sched_params!r},
            "criterion_class": nn.MSELoss, "criterion_params": {{}}, "max_epochs": {t["epochs"]},
            "patience": {t["patience"]}, "grad_clip": 0.0, "device": "{device}"}}
logging = {{"plot_learning_curve": False}}


def get_config():
    return {{"data": data, "model": model, "training": training, "logging": logging, "seed": seed}}
'''


def train(ws: Path, family: str, seed: int, env: dict) -> dict:
    tag = f"{family}_s{seed}"
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-u", str(TRAIN_PY), "--config", f"{family}.py", "--tag", tag,
                           "--seed", str(seed)], cwd=ws, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{family} seed {seed} failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
    metrics = json.loads((ws / "runs" / tag / "metrics.json").read_text())
    metrics["wall_s"] = time.perf_counter() - started
    print(f"{family:>9} seed {seed}: val {metrics['val_mse']:.4f}  test {metrics['test_mse']:.4f} / "
          f"{metrics['test_mae']:.4f}  best epoch {metrics['best_epoch']}/{metrics['epochs_run']}  "
          f"{metrics['n_params']:,} params  {metrics['wall_s']:.0f} s", flush=True)
    return metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--families", default="dlinear,nlinear,patchtst,informer")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1, help="trainings at once (one torch thread each when > 1)")
    ap.add_argument("--patchtst-epochs", type=int, default=20)
    ap.add_argument("--informer-epochs", type=int, default=3)
    ap.add_argument("--patchtst-patience", type=int, default=5, help="the paper: 20 (with 100 epochs, on a GPU)")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    ap.add_argument("--data-dir", default=None, help="folder with ETTh1.csv (sets NAS_DATA_DIR)")
    args = ap.parse_args()
    families = args.families.split(",")
    table = settings(args)
    unknown = [f for f in families if f not in table]
    if unknown:
        raise SystemExit(f"unknown families {unknown}; use {', '.join(table)}")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if args.data_dir:
        env["NAS_DATA_DIR"] = str(Path(args.data_dir).resolve())
    if args.jobs > 1 and args.device == "cpu":
        env.setdefault("OMP_NUM_THREADS", "1")
    results: dict[str, list[dict]] = {f: [] for f in families}
    with tempfile.TemporaryDirectory(prefix="nas-families-") as tmp:
        ws = Path(tmp)
        for family in families:
            data_over, model, t = table[family]
            (ws / f"{family}.py").write_text(config_text({**DATA, **data_over}, {**COMMON_MODEL, **model}, t, args.device))
            print(f"{family}: data {data_over or 'as above'}; model {model}; training {t}", flush=True)
        jobs = [(f, s) for f in families for s in range(args.seeds)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for (family, _), m in zip(jobs, pool.map(lambda j: train(ws, j[0], j[1], env), jobs)):
                results[family].append(m)
    print(f"\nETTh1 S 336->96, {args.seeds} seeds, test on the standard split (mean ± std over seeds)")
    print("| family | val MSE | test MSE | test MAE | published MSE / MAE | MSE vs published | s per training |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for family, runs in results.items():
        def ms(key):
            xs = [r[key] for r in runs]
            return statistics.fmean(xs), (statistics.pstdev(xs) if len(xs) > 1 else 0.0)
        (vm, vs), (tm, ts), (am, as_), (wm, _) = ms("val_mse"), ms("test_mse"), ms("test_mae"), ms("wall_s")
        pm, pa = PUBLISHED[family]
        print(f"| {family} | {vm:.4f} ± {vs:.4f} | {tm:.4f} ± {ts:.4f} | {am:.4f} ± {as_:.4f} | {pm} / {pa} | "
              f"{(tm - pm) / pm * 100:+.1f}% | {wm:.0f} |")


if __name__ == "__main__":
    main()
