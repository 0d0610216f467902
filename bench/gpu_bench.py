"""GPU benchmark for issue 7, in one call: our train.py against the reference Informer2020.

    python3 bench/gpu_bench.py --data-dir DIR --out DIR [--ref-dir .ref/Informer2020] [--budget 420]
    python3 bench/gpu_bench.py --smoke --data-dir ../shared/data/ETT-small --out /tmp/gb   (CPU, tiny sizes)

DIR holds ETTh1.csv. Every part runs in its own process with a timeout; a part that fails, times
out or would overrun the global --budget (seconds) is reported and skipped. Parts, in this order:
  1. ours, users' setting U (nas_system/config.py as shipped: MS 336/24/96, d_model 256, e_layers 3,
     batch 64): fp32 eager and bf16 eager (seed 0, --acc-epochs epochs: timing and accuracy);
  2. the reference at U (its own main_informer.py; train loop timed by its own print, val/test
     evaluation timed around its vali());
  3. ours at U, bf16 with compile "cudagraphs" (cold compiler caches: the first-epoch extra
     time is what a fresh trial pays);
  4. the accuracy seeds 1 and 2 for fp32 and bf16 at U;
  5. setting A (S 96/48/24, d_model 64, batch 32): ours fp32, bf16; the reference; ours bf16 with
     the fastest compile mode so far;
  6. the Inductor modes at U (bf16 "reduce-overhead", "default": long cold compiles), fp32 with
     CUDA graphs, and a step microbenchmark (in-process: the old loop's per-step host syncs
     against the new loop).
Times: epochs 2.. of each run, median ("steady"); the first epoch's extra time over steady is
reported as compile/warm-up time. Writes OUT/gpu_bench.json and OUT/logs/; prints a table last.
Torch 2.x, numpy, pandas; no optuna, no node. Nothing here asserts: these are figures.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NAS_SYSTEM = REPO / "nas_system"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_bench import SETTING_A  # noqa: E402  (setting (a), the same text the CPU bench uses)

# ----------------------------------------------------------------------------- settings

U = {"seq_len": 336, "label_len": 24, "pred_len": 96, "batch": 64, "train_size": 8640}
A = {"seq_len": 96, "label_len": 48, "pred_len": 24, "batch": 32, "train_size": 8640}
# --smoke: both settings shrunk to CPU size (a few steps an epoch)
SMOKE = {"seq_len": 48, "label_len": 24, "pred_len": 12, "batch": 32, "train_size": 400}
SMOKE_OVERRIDES = '''data["seq_len"], data["label_len"], data["pred_len"] = 48, 24, 12
data["train_size"], data["val_size"], data["test_size"], data["batch_size"] = 400, 200, 200, 32
model.update(d_model=16, n_heads=2, e_layers=2, d_ff=32)
'''
REF_ARGS = {
    "U": ["--features", "MS", "--seq_len", "336", "--label_len", "24", "--pred_len", "96", "--d_model", "256",
          "--n_heads", "8", "--e_layers", "3", "--d_layers", "1", "--d_ff", "512", "--dropout", "0.25",
          "--factor", "4", "--batch_size", "64", "--learning_rate", "5e-5"],
    "A": ["--features", "S", "--seq_len", "96", "--label_len", "48", "--pred_len", "24", "--d_model", "64",
          "--n_heads", "4", "--e_layers", "2", "--d_layers", "1", "--d_ff", "256", "--dropout", "0.05",
          "--factor", "5", "--batch_size", "32", "--learning_rate", "1e-4"],
    "smoke": ["--seq_len", "48", "--label_len", "24", "--pred_len", "12", "--d_model", "16", "--n_heads", "2",
              "--e_layers", "2", "--d_layers", "1", "--d_ff", "32", "--batch_size", "32"],
}


def config_text(setting: str, amp: str, compile_mode: str, device: str, smoke: bool, seed: int, epochs: int) -> str:
    if setting == "U":
        text = (NAS_SYSTEM / "config.py").read_text()
    else:
        text = SETTING_A.format(seed=seed, epochs=epochs, device=device)
    text += (f'\n# gpu_bench overrides\ndata["data_path"] = "ETTh1.csv"\ntraining["device"] = "{device}"\n'
             f'training["amp"] = "{amp}"\ntraining["compile"] = "{compile_mode}"\n'
             f'logging["plot_learning_curve"] = False\n')
    if smoke:
        text += SMOKE_OVERRIDES
        if setting == "A":
            text += 'data["mode"], data["features"] = "S", ["OT"]\nmodel.update(enc_in=1, dec_in=1, c_out=1)\n'
    return text


def steps_per_epoch(setting: str, smoke: bool) -> int:
    s = SMOKE if smoke else (U if setting == "U" else A)
    return -(-(s["train_size"] - s["seq_len"] - s["pred_len"] + 1) // s["batch"])


# ----------------------------------------------------------------------------- running parts


class Part:
    def __init__(self, name, kind, setting, est, amp="off", compile_mode="off", seed=0, epochs=3, note=""):
        self.name, self.kind, self.setting, self.est = name, kind, setting, est
        self.amp, self.compile, self.seed, self.epochs, self.note = amp, compile_mode, seed, epochs, note
        self.result: dict = {"name": name, "kind": kind, "setting": setting, "amp": amp, "compile": compile_mode,
                             "seed": seed, "epochs": epochs, "status": "not run"}


def run_process(cmd, cwd, env, timeout, log_path) -> tuple[int | None, float, str]:
    """(exit code or None on timeout, wall seconds, output). Output is kept in log_path (last 300 lines)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = None
    wall = time.perf_counter() - t0
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("\n".join(out.splitlines()[-300:]) + "\n")
    return code, wall, out


def part_env(args, scratch: Path, part: Part) -> dict:
    env = dict(os.environ, NAS_DATA_DIR=str(args.data_dir), PYTHONUNBUFFERED="1")
    # cold compiler caches per part: the first epoch pays what a fresh trial pays
    env["TORCHINDUCTOR_CACHE_DIR"] = str(scratch / "cache" / part.name / "inductor")
    env["TRITON_CACHE_DIR"] = str(scratch / "cache" / part.name / "triton")
    return env


def run_ours(args, scratch: Path, part: Part, timeout: float) -> dict:
    ws = scratch / "ws" / part.name
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "config.py").write_text(config_text(part.setting, part.amp, part.compile, args.device, args.smoke,
                                              part.seed, part.epochs))
    cmd = [sys.executable, "-u", str(NAS_SYSTEM / "train.py"), "--config", "config.py", "--tag", "run",
           "--max-epochs", str(part.epochs), "--seed", str(part.seed)]
    code, wall, out = run_process(cmd, ws, part_env(args, scratch, part), timeout, args.out / "logs" / f"{part.name}.log")
    res = {"wall_s": round(wall, 2)}
    if code != 0:
        tail = [l for l in out.splitlines() if l.strip()][-1:] or [""]
        return {**res, "status": "timeout" if code is None else f"exit {code}", "error": tail[0][:300]}
    metrics = json.loads((ws / "runs" / "run" / "metrics.json").read_text())
    epochs = json.loads((ws / "runs" / "run" / "history.json").read_text())["epochs"]
    train = [e["train_seconds"] for e in epochs]
    evals = [e["seconds"] - e["train_seconds"] for e in epochs]
    steady_train = statistics.median(train[1:] or train)
    steady_eval = statistics.median(evals[1:] or evals)
    steps = steps_per_epoch(part.setting, args.smoke)
    notices = [l for l in out.splitlines() if l.startswith("notice:")]
    return {**res, "status": "ok", "train_s": round(steady_train, 3), "eval_s": round(steady_eval, 3),
            "epoch_s": round(steady_train + steady_eval, 3), "step_ms": round(1000 * steady_train / steps, 2),
            "first_epoch_extra_s": round(train[0] - steady_train, 2), "train_s_per_epoch": train,
            "val_mse": metrics["val_mse"], "test_mse": metrics["test_mse"], "best_epoch": metrics["best_epoch"],
            "amp_used": metrics.get("amp"), "compile_used": metrics.get("compile"), "notices": notices}


def run_ref(args, scratch: Path, part: Part, timeout: float) -> dict:
    if not (args.ref_dir / "main_informer.py").is_file():
        return {"status": "skipped", "error": f"no reference at {args.ref_dir} (pass --ref-dir)"}
    cwd = scratch / "ref" / part.name
    cwd.mkdir(parents=True, exist_ok=True)
    argv = ["--model", "informer", "--data", "ETTh1", "--root_path", str(args.data_dir) + "/",
            "--data_path", "ETTh1.csv", "--checkpoints", str(cwd / "checkpoints") + "/", "--itr", "1",
            "--train_epochs", str(part.epochs), *REF_ARGS[part.setting]]
    if args.smoke:
        argv += REF_ARGS["smoke"]
    spec = {"ref_dir": str(args.ref_dir), "argv": argv, "seed": part.seed, "step_cap": 4 if args.smoke else None}
    cmd = [sys.executable, "-u", str(Path(__file__).resolve()), "--ref-worker", json.dumps(spec)]
    code, wall, out = run_process(cmd, cwd, part_env(args, scratch, part), timeout, args.out / "logs" / f"{part.name}.log")
    res = {"wall_s": round(wall, 2)}
    if code != 0:
        tail = [l for l in out.splitlines() if l.strip()][-1:] or [""]
        return {**res, "status": "timeout" if code is None else f"exit {code}", "error": tail[0][:300]}
    train = [float(m) for m in re.findall(r"^Epoch: \d+ cost time: ([0-9.eE+-]+)", out, re.M)]
    losses = re.findall(r"Vali Loss: ([0-9.eE+-]+) Test Loss: ([0-9.eE+-]+)", out)
    worker = json.loads(re.findall(r"^REFRESULT (.*)$", out, re.M)[-1])
    val_eval = worker["vali_s"][0::2]  # vali() runs on val, then on test, each epoch
    steady_train = statistics.median(train[1:] or train)
    steady_eval = statistics.median(val_eval[1:] or val_eval)
    s = U if part.setting == "U" else A  # the reference drops the last, partial batch
    steps = spec["step_cap"] or (s["train_size"] - s["seq_len"] - s["pred_len"] + 1) // s["batch"]
    best = min(range(len(losses)), key=lambda i: float(losses[i][0])) if losses else None
    return {**res, "status": "ok", "train_s": round(steady_train, 3), "eval_s": round(steady_eval, 3),
            "epoch_s": round(steady_train + steady_eval, 3), "step_ms": round(1000 * steady_train / steps, 2),
            "first_epoch_extra_s": round(train[0] - steady_train, 2), "train_s_per_epoch": train,
            "test_eval_s": worker["vali_s"][1::2],
            "val_mse": float(losses[best][0]) if losses else None,
            "test_mse": float(losses[best][1]) if losses else None, "best_epoch": (best + 1) if losses else None}


def run_steps(args, scratch: Path, part: Part, timeout: float) -> dict:
    spec = {"device": args.device, "smoke": args.smoke, "data_dir": str(args.data_dir)}
    cmd = [sys.executable, "-u", str(Path(__file__).resolve()), "--step-worker", json.dumps(spec)]
    code, wall, out = run_process(cmd, NAS_SYSTEM, part_env(args, scratch, part), timeout,
                                  args.out / "logs" / f"{part.name}.log")
    if code != 0:
        tail = [l for l in out.splitlines() if l.strip()][-1:] or [""]
        return {"wall_s": round(wall, 2), "status": "timeout" if code is None else f"exit {code}", "error": tail[0][:300]}
    return {"wall_s": round(wall, 2), "status": "ok", **json.loads(re.findall(r"^STEPRESULT (.*)$", out, re.M)[-1])}


# ----------------------------------------------------------------------------- workers (own processes)


def ref_worker(spec: dict) -> None:
    """Runs the reference's main_informer.py as is (itr 1), in this process. Instrumentation only:
    vali() is timed (synchronized); with --smoke every DataLoader stops after step_cap batches."""
    import runpy

    sys.path.insert(0, spec["ref_dir"])
    import numpy as np
    import torch

    import exp.exp_informer as ei

    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    if spec["step_cap"]:
        cap = spec["step_cap"]

        class CappedLoader(ei.DataLoader):
            def __iter__(self):
                return itertools.islice(super().__iter__(), cap)

            def __len__(self):
                return min(cap, super().__len__())

        ei.DataLoader = CappedLoader
    vali_s, original = [], ei.Exp_Informer.vali

    def timed_vali(self, *a, **k):
        sync()
        t = time.perf_counter()
        out = original(self, *a, **k)
        sync()
        vali_s.append(time.perf_counter() - t)
        return out

    ei.Exp_Informer.vali = timed_vali
    torch.manual_seed(spec["seed"])
    np.random.seed(spec["seed"])
    sys.argv = ["main_informer.py", *spec["argv"]]
    runpy.run_path(str(Path(spec["ref_dir"]) / "main_informer.py"), run_name="__main__")
    print("REFRESULT " + json.dumps({"vali_s": vali_s}), flush=True)


def step_worker(spec: dict) -> None:
    """Per-step time of our model at U (fp32 / bf16, eager), in-process: the old loop (a host sync
    per step: isfinite check and two .item()) against the new one (sums on the device).
    Timed over blocks of steps with a synchronize around each block; median of the blocks."""
    sys.path.insert(0, str(NAS_SYSTEM))
    import torch

    from data import load_splits
    from model import build_model
    from nas_agent import speed
    from nas_agent.config_check import load_config

    device = torch.device(spec["device"])
    ws = Path(tempfile.mkdtemp())
    (ws / "config.py").write_text(config_text("U", "off", "off", spec["device"], spec["smoke"], 0, 1))
    os.environ["NAS_DATA_DIR"] = spec["data_dir"]
    cfg = load_config(ws / "config.py")
    splits = load_splits(cfg["data"], workspace=ws)
    splits.train.to(device)
    bs = cfg["data"]["batch_size"]
    n_steps, n_blocks = (4, 3) if spec["smoke"] else (40, 5)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    results = {}
    for amp, old_loop in (("off", True), ("off", False), ("bf16", False)):
        torch.manual_seed(0)
        model = build_model(cfg).to(device).train()
        opt = cfg["training"]["optimizer_class"](
            model.parameters(), **speed.optimizer_kwargs(cfg["training"]["optimizer_class"],
                                                         cfg["training"]["optimizer_params"], device))
        params = [p for p in model.parameters() if p.requires_grad]
        fwd = speed.make_train_forward(model, torch.nn.MSELoss(), device, amp)
        batches = itertools.cycle([b for b in itertools.islice(splits.train.batches(bs, shuffle=True), 16)
                                   if len(b.y) == bs])
        acc = torch.zeros((), dtype=torch.float64, device=device)

        def step():
            nonlocal acc
            b = next(batches)
            loss, sq = fwd(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec, b.y)
            if old_loop and not torch.isfinite(loss):
                raise RuntimeError("non-finite")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            if old_loop:
                loss.item(), sq.item()
            else:
                acc += sq

        for _ in range(5):  # warm-up
            step()
        blocks = []
        for _ in range(n_blocks):
            sync()
            t = time.perf_counter()
            for _ in range(n_steps):
                step()
            host = time.perf_counter() - t  # time to issue the block (no sync inside for the new loop)
            sync()
            blocks.append(((time.perf_counter() - t) / n_steps, host / n_steps))
        name = f"{'fp32' if amp == 'off' else amp} {'sync per step (old loop)' if old_loop else 'no sync (new loop)'}"
        results[name] = {"step_ms": round(1000 * statistics.median(b[0] for b in blocks), 2),
                         "host_issue_ms": round(1000 * statistics.median(b[1] for b in blocks), 2)}
    # the first of METHOD.md's two numbers: matmul/conv FLOP of one train step (forward + backward)
    from torch.utils.flop_counter import FlopCounterMode

    b = next(batches)
    with FlopCounterMode(display=False) as counter:
        loss, _ = fwd(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec, b.y)
        loss.backward()
    flop = counter.get_total_flops()
    for r in results.values():
        r["tflops"] = round(flop / (r["step_ms"] / 1000) / 1e12, 2)
    print("STEPRESULT " + json.dumps({"steps": results, "gflop_per_step": round(flop / 1e9, 1)}), flush=True)


# ----------------------------------------------------------------------------- report


def fmt(v, spec=".2f", none="-"):
    return none if v is None else format(v, spec)


def summarize(parts: list[Part], info: dict, acc_epochs: int) -> tuple[str, dict]:
    res = {p.name: p.result for p in parts}
    lines = [f"device: {info.get('device_name')}  torch {info.get('torch')}  cuda {info.get('cuda')}  "
             f"budget {info['budget_s']} s, used {info['used_s']:.0f} s", "",
             "| part | setting | amp | compile | status | epoch s (train+val) | train s | step ms | 1st-epoch extra s "
             "| val_mse | test_mse | wall s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for p in parts:
        r = p.result
        if p.kind == "steps":
            continue
        lines.append(f"| {p.name} | {p.setting} | {p.amp if p.kind == 'ours' else 'fp32'} | "
                     f"{p.compile if p.kind == 'ours' else '-'} | {r['status']} | {fmt(r.get('epoch_s'))} | "
                     f"{fmt(r.get('train_s'))} | {fmt(r.get('step_ms'), '.1f')} | {fmt(r.get('first_epoch_extra_s'), '.1f')} "
                     f"| {fmt(r.get('val_mse'), '.4f')} | {fmt(r.get('test_mse'), '.4f')} | {fmt(r.get('wall_s'), '.0f')} |")
    derived = {}
    for setting in ("U", "A"):
        ref = res.get(f"ref-{setting}", {})
        ours = [p.result for p in parts if p.kind == "ours" and p.setting == setting and p.result["status"] == "ok"
                and p.seed == 0]
        if ref.get("status") == "ok" and ours:
            best = min(ours, key=lambda r: r["epoch_s"])
            derived[f"speedup_{setting}"] = {
                "best": best["name"], "vs_ref_train_loop": round(ref["train_s"] / best["epoch_s"], 2),
                "train_vs_train": round(ref["train_s"] / best["train_s"], 2),
                "epoch_vs_epoch": round(ref["epoch_s"] / best["epoch_s"], 2)}
            lines.append(f"\n{setting}: fastest ours {best['name']}: epoch (train+val) {best['epoch_s']:.2f} s; "
                         f"reference train loop {ref['train_s']:.2f} s, train+val {ref['epoch_s']:.2f} s -> "
                         f"{ref['train_s'] / best['epoch_s']:.1f}x (our epoch vs their train loop), "
                         f"{ref['epoch_s'] / best['epoch_s']:.1f}x (epoch vs epoch)")
    # accuracy: seeds 0..2 for fp32 and bf16 at U
    acc = {}
    for amp in ("off", "bf16"):
        runs = [p.result for p in parts if p.kind == "ours" and p.setting == "U" and p.amp == amp
                and p.compile == "off" and p.result["status"] == "ok" and p.epochs == acc_epochs]
        if runs:
            vals, tests = [r["val_mse"] for r in runs], [r["test_mse"] for r in runs]
            sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else float("nan")
            acc[amp] = {"n": len(runs), "val_mean": statistics.mean(vals), "val_sd": sd(vals),
                        "test_mean": statistics.mean(tests), "test_sd": sd(tests), "seeds": [r["seed"] for r in runs]}
    if acc:
        lines.append(f"\nAccuracy at U ({acc_epochs} epochs, best-val checkpoint):")
        for amp, a in acc.items():
            lines.append(f"  {'fp32' if amp == 'off' else amp}: n={a['n']} val {a['val_mean']:.4f} ± {a['val_sd']:.4f}"
                         f"  test {a['test_mean']:.4f} ± {a['test_sd']:.4f}")
        if "off" in acc and "bf16" in acc:
            f, b = acc["off"], acc["bf16"]
            within = (abs(b["val_mean"] - f["val_mean"]) <= f["val_sd"] and abs(b["test_mean"] - f["test_mean"]) <= f["test_sd"])
            lines.append(f"  bf16 within one fp32 sd (val and test): {'yes' if within else 'NO'}")
            acc["bf16_within_one_sd"] = within
    derived["accuracy_U"] = acc
    # compile: first-epoch cost against the steady saving, per mode
    comp = {}
    for p in parts:
        r = p.result
        base = res.get(f"ours-{p.setting}-{p.amp}-s0", {})
        if p.kind != "ours" or p.compile == "off" or r["status"] != "ok" or base.get("status") != "ok":
            continue
        extra = r["first_epoch_extra_s"] + r["train_s"] - base["train_s"] - base["first_epoch_extra_s"]
        saving = base["epoch_s"] - r["epoch_s"]
        comp[p.name] = {"extra_first_epoch_s": round(extra, 2), "saving_per_epoch_s": round(saving, 3),
                        "break_even_epochs": round(1 + extra / saving, 1) if saving > 0 else None}
    if comp:
        lines.append("\nCompile against eager of the same precision (extra = first-epoch cost beyond eager's):")
        for name, c in comp.items():
            pays = (f"pays off from {c['break_even_epochs']} epochs" if c["break_even_epochs"] else "never pays off")
            lines.append(f"  {name}: extra {c['extra_first_epoch_s']:.1f} s, saves {c['saving_per_epoch_s']:.2f} s/epoch"
                         f" -> {pays}")
    derived["compile"] = comp
    steps = res.get("steps-U", {})
    if steps.get("status") == "ok":
        lines.append(f"\nStep microbenchmark at U (eager, in-process; {steps.get('gflop_per_step')} GFLOP of matmul/conv "
                     f"per step; host issue = time to issue the step):")
        for name, s in steps["steps"].items():
            lines.append(f"  {name}: {s['step_ms']:.2f} ms/step ({s.get('tflops')} TFLOP/s), "
                         f"host issue {s['host_issue_ms']:.2f} ms")
    return "\n".join(lines), derived


# ----------------------------------------------------------------------------- main


def plan(args) -> list[Part]:
    ae, e = args.acc_epochs, args.epochs
    s = 0.25 if args.smoke else 1.0
    parts = [
        Part("ours-U-off-s0", "ours", "U", 30 * s, "off", "off", 0, ae, "fp32 eager (timing + accuracy seed 0)"),
        Part("ours-U-bf16-s0", "ours", "U", 25 * s, "bf16", "off", 0, ae, "bf16 eager (timing + accuracy seed 0)"),
        Part("ref-U", "ref", "U", 40 * s, epochs=e, note="reference"),
        Part("ours-U-bf16-cudagraphs", "ours", "U", 40 * s, "bf16", "cudagraphs", 0, e),
    ]
    for seed in (1, 2):
        parts += [Part(f"ours-U-off-s{seed}", "ours", "U", 30 * s, "off", "off", seed, ae, "accuracy"),
                  Part(f"ours-U-bf16-s{seed}", "ours", "U", 25 * s, "bf16", "off", seed, ae, "accuracy")]
    parts += [
        Part("ours-A-off-s0", "ours", "A", 30 * s, "off", "off", 0, e),
        Part("ours-A-bf16-s0", "ours", "A", 30 * s, "bf16", "off", 0, e),
        Part("ref-A", "ref", "A", 40 * s, epochs=e, note="reference"),
        Part("ours-A-bf16-best", "ours", "A", 40 * s, "bf16", "best-of-U", 0, e, "the fastest compile mode at U"),
        Part("ours-U-bf16-reduce-overhead", "ours", "U", 120 * s, "bf16", "reduce-overhead", 0, e),
        Part("ours-U-bf16-default", "ours", "U", 120 * s, "bf16", "default", 0, e),
        Part("ours-U-off-cudagraphs", "ours", "U", 40 * s, "off", "cudagraphs", 0, e),
        Part("steps-U", "steps", "U", 30 * s, note="step microbenchmark"),
    ]
    if args.only:
        keep = set(args.only.split(","))
        parts = [p for p in parts if p.name in keep]
    return parts


def env_info() -> dict:
    code = ("import json, torch; c = torch.cuda.is_available(); print(json.dumps({'torch': torch.__version__, "
            "'cuda': torch.version.cuda, 'device_name': torch.cuda.get_device_name(0) if c else 'cpu', "
            "'bf16': bool(c and torch.cuda.is_bf16_supported())}))")
    try:
        return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                         timeout=120).stdout.strip().splitlines()[-1])
    except Exception as exc:  # reported, not fatal
        return {"error": f"{type(exc).__name__}: {exc}"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="folder holding ETTh1.csv")
    parser.add_argument("--out", type=Path, help="output folder (gpu_bench.json, logs/)")
    parser.add_argument("--ref-dir", type=Path, default=REPO / ".ref" / "Informer2020",
                        help="exported zhouhaoyi/Informer2020 tree (np.Inf patched to np.inf)")
    parser.add_argument("--budget", type=float, default=420, help="global time budget in seconds (default 420)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of the timing runs (default 3)")
    parser.add_argument("--acc-epochs", type=int, default=5, help="epochs of the accuracy runs at U (default 5)")
    parser.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    parser.add_argument("--only", default="", help="comma list of part names to run")
    parser.add_argument("--smoke", action="store_true", help="CPU-sized settings and a few steps: checks the script")
    parser.add_argument("--work-dir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--ref-worker", help=argparse.SUPPRESS)
    parser.add_argument("--step-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ref_worker:
        return ref_worker(json.loads(args.ref_worker))
    if args.step_worker:
        return step_worker(json.loads(args.step_worker))
    if args.data_dir is None or args.out is None:
        parser.error("--data-dir and --out are required")
    if not (args.data_dir / "ETTh1.csv").is_file():
        sys.exit(f"no ETTh1.csv in {args.data_dir}; pass --data-dir with the ETT-small CSVs")
    args.data_dir, args.out, args.ref_dir = args.data_dir.resolve(), args.out.resolve(), args.ref_dir.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    info = env_info()
    if args.device is None:
        args.device = "cuda" if info.get("device_name") not in (None, "cpu") else "cpu"
    if args.smoke and args.budget == 420:
        args.budget = 1200
    scratch = args.work_dir or Path(tempfile.mkdtemp(prefix="gpu_bench_"))
    start = time.perf_counter()
    deadline = start + args.budget
    parts = plan(args)
    print(f"gpu_bench: {info}, device {args.device}, budget {args.budget:.0f} s, {len(parts)} parts", flush=True)
    for p in parts:
        if p.compile == "best-of-U":
            compiled = [q.result for q in parts if q.kind == "ours" and q.setting == "U" and q.compile != "off"
                        and q.result["status"] == "ok"]
            if not compiled:
                p.result.update(status="skipped", error="no compile mode finished at U")
                continue
            p.compile = min(compiled, key=lambda r: r["epoch_s"])["compile"]
            p.result["compile"] = p.compile
        if args.smoke and p.compile in ("default", "reduce-overhead"):
            p.result.update(status="skipped", error="smoke: Inductor compiles take minutes on a small CPU")
            continue
        remaining = deadline - time.perf_counter()
        if remaining < p.est:
            p.result.update(status="skipped", error=f"budget: {remaining:.0f} s left, part needs ~{p.est:.0f} s")
            print(f"-- {p.name}: skipped (budget)", flush=True)
            continue
        timeout = min(remaining, max(3 * p.est, 240 if args.smoke else 60))  # smoke: a shared, slow CPU
        print(f"-- {p.name} ({p.note or p.kind}), timeout {timeout:.0f} s", flush=True)
        runner = {"ours": run_ours, "ref": run_ref, "steps": run_steps}[p.kind]
        try:
            p.result.update(runner(args, scratch, p, timeout))
        except Exception as exc:  # a broken part is reported, the others still run
            p.result.update(status="error", error=f"{type(exc).__name__}: {exc}"[:300])
        r = p.result
        print(f"   {r['status']}" + (f": epoch {r['epoch_s']:.2f} s (train {r['train_s']:.2f}), "
                                      f"first-epoch extra {r['first_epoch_extra_s']:.1f} s, val_mse {fmt(r.get('val_mse'), '.4f')}"
                                      if r["status"] == "ok" and "epoch_s" in r else f" {r.get('error', '')}"), flush=True)
    info.update(budget_s=args.budget, used_s=time.perf_counter() - start, smoke=args.smoke, device=args.device)
    table, derived = summarize(parts, info, args.acc_epochs)
    (args.out / "gpu_bench.json").write_text(json.dumps(
        {"info": info, "args": {k: str(v) for k, v in vars(args).items()}, "parts": [p.result for p in parts],
         "derived": derived}, indent=2, default=str))
    if args.work_dir is None:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n" + table, flush=True)


if __name__ == "__main__":
    main()
