"""Benchmark the real training path: train.py run as a subprocess on ETTh1.

    .venv/bin/python bench/train_bench.py [--quick] [--device cpu|cuda|auto] [--threads 1,2]

Settings:
  (a) S, 96/48/24, d_model 64, 4 heads, d_ff 256, batch 32, e_layers 2, d_layers 1, factor 5,
      dropout 0.05, gelu, distil, mix, Adam lr 1e-4, StepLR(1, 0.5), patience 3 (informer.md);
  (b) nas_system/config.py as shipped (the users' setting).
Prints train-step time, epoch time (train + eval), peak RSS, and for (a) test MSE/MAE over seeds
(full: 3 seeds x 6 epochs; --quick: 1 seed x 3 epochs, and (b) timed on a shortened train split).
A figure, not a test: nothing here asserts.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAS_SYSTEM = REPO / "nas_system"
OUT = REPO / "bench" / "out"

SETTING_A = '''from torch import nn, optim

seed = {seed}
data = {{"data_path": "ETTh1.csv", "target": "OT", "features": ["OT"], "mode": "S",
        "seq_len": 96, "label_len": 48, "pred_len": 24, "train_size": 8640, "val_size": 2880,
        "test_size": 2880, "batch_size": 32, "num_workers": 0, "scale": True}}
model = {{"enc_in": 1, "dec_in": 1, "c_out": 1, "d_model": 64, "n_heads": 4, "e_layers": 2,
         "d_layers": 1, "d_ff": 256, "dropout": 0.05, "factor": 5, "attn": "prob",
         "activation": "gelu", "distil": True, "mix": True}}
training = {{"optimizer_class": optim.Adam, "optimizer_params": {{"lr": 1e-4}}, "use_scheduler": True,
            "scheduler_class": optim.lr_scheduler.StepLR, "scheduler_params": {{"step_size": 1, "gamma": 0.5}},
            "criterion_class": nn.MSELoss, "criterion_params": {{}}, "max_epochs": {epochs}, "patience": 3,
            "grad_clip": 0.0, "device": "{device}"}}
logging = {{"plot_learning_curve": False}}


def get_config():
    return {{"data": data, "model": model, "training": training, "logging": logging, "seed": seed}}
'''


def setting_b(device: str, train_size: int | None) -> str:
    """The shipped config, with the device (and in --quick a shorter train split) appended."""
    text = (NAS_SYSTEM / "config.py").read_text()
    text += f'\n# bench overrides\ntraining["device"] = "{device}"\nlogging["plot_learning_curve"] = False\n'
    if train_size:
        text += f'data["train_size"] = {train_size}\n'
    return text


def run_train(workspace: Path, config_text: str, tag: str, max_epochs: int, env: dict) -> dict:
    """Run train.py; return metrics, history and the child's peak RSS (MiB)."""
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "config.py").write_text(config_text)
    run_dir = workspace / "runs" / tag
    if run_dir.exists():
        import shutil
        shutil.rmtree(run_dir)
    cmd = [sys.executable, "-u", str(NAS_SYSTEM / "train.py"), "--config", "config.py", "--tag", tag,
           "--max-epochs", str(max_epochs)]
    proc = subprocess.Popen(cmd, cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        print("    " + line.rstrip(), flush=True)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"train.py failed with exit code {proc.returncode} for {tag}")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = json.loads((run_dir / "history.json").read_text())
    return {"metrics": metrics, "history": history, "rss_mib": usage.ru_maxrss / 1024}


def n_train_steps(train_size: int, seq_len: int, pred_len: int, batch: int) -> int:
    return -(-(train_size - seq_len - pred_len + 1) // batch)


def timing(result: dict, steps: int, full_steps: int) -> dict:
    """Median over epochs of train-step, train and eval seconds; epoch time scaled to full_steps."""
    epochs = result["history"]["epochs"]
    train_s = statistics.median(e["train_seconds"] for e in epochs)
    eval_s = statistics.median(e["seconds"] - e["train_seconds"] for e in epochs)
    step = train_s / steps
    return {"step_s": step, "train_s": step * full_steps, "eval_s": eval_s, "epoch_s": step * full_steps + eval_s,
            "estimated": steps != full_steps, "rss_mib": result["rss_mib"], "n_params": result["metrics"]["n_params"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 seed x 3 epochs for (a); (b) on a short split")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu)")
    parser.add_argument("--threads", default="", help="comma list of OMP_NUM_THREADS values to time, e.g. 1,2 "
                        "(default: torch's default)")
    parser.add_argument("--skip-b", action="store_true", help="only setting (a)")
    args = parser.parse_args()

    base_env = dict(os.environ)
    base_env.setdefault("NAS_DATA_DIR", str(REPO.parent / "shared" / "data" / "ETT-small"))
    thread_opts = [t for t in args.threads.split(",") if t] or [None]
    seeds, epochs = ([0], 3) if args.quick else ([0, 1, 2], 6)
    rows, acc = [], []
    for threads in thread_opts:
        env = dict(base_env, **({"OMP_NUM_THREADS": threads} if threads else {}))
        label = f"threads={threads or 'default'}"
        results_a = []
        for seed in seeds if threads == thread_opts[0] else seeds[:1]:
            print(f"(a) seed {seed}, {label}", flush=True)
            cfg = SETTING_A.format(seed=seed, epochs=epochs, device=args.device)
            results_a.append(run_train(OUT / "ws_a", cfg, f"a_seed{seed}", epochs if threads == thread_opts[0] else 1, env))
        steps_a = n_train_steps(8640, 96, 24, 32)
        t = [timing(r, steps_a, steps_a) for r in results_a]
        rows.append(("(a) S 96/48/24 d64", label, {k: statistics.mean(x[k] for x in t) if isinstance(t[0][k], float)
                                                   else t[0][k] for k in t[0]}))
        if threads == thread_opts[0]:
            acc = [(r["metrics"]["test_mse"], r["metrics"]["test_mae"], r["metrics"]["best_epoch"]) for r in results_a]
        if not args.skip_b:
            short = 1600 if args.quick else None  # --quick: ~20 steps of batch 64, epoch time extrapolated
            print(f"(b) shipped config.py, {label}{' (short train split)' if short else ''}", flush=True)
            res_b = run_train(OUT / "ws_b", setting_b(args.device, short), "b", 1, env)
            rows.append(("(b) shipped config.py", label,
                         timing(res_b, n_train_steps(short or 8640, 336, 96, 64), n_train_steps(8640, 336, 96, 64))))

    print("\n| setting | threads | params | train step | train/epoch | eval/epoch | epoch | peak RSS |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, label, t in rows:
        est = " (est.)" if t["estimated"] else ""
        print(f"| {name} | {label.split('=')[1]} | {t['n_params']:,} | {t['step_s'] * 1000:.0f} ms | {t['train_s']:.1f} s{est} "
              f"| {t['eval_s']:.1f} s | {t['epoch_s']:.1f} s{est} | {t['rss_mib']:.0f} MiB |")
    mses, maes = [a[0] for a in acc], [a[1] for a in acc]
    sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0
    print(f"\n(a) accuracy, {len(acc)} seed(s) x {epochs} epochs (best-val checkpoint): test MSE "
          f"{statistics.mean(mses):.3f} ± {sd(mses):.3f}, MAE {statistics.mean(maes):.3f} ± {sd(maes):.3f}; "
          f"best epochs {[a[2] for a in acc]}")
    print("reference implementation, (a), this kind of machine: 0.10 s/step, ~33 s/epoch (27 train + 6 eval), "
          "test MSE 0.198 (one 3-epoch run)")


if __name__ == "__main__":
    main()
