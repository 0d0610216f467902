"""Train one forecaster configuration (any model.family) and write runs/<tag>/.

    python -u train.py --config config.py --tag run_0001 [--max-epochs N] [--seed N] [--progress PATH]
    (cwd = workspace)

Outputs in runs/<tag>/: config_used.py (first), history.json, best_model.pth,
learning_curve.png, predictions.npz (the best epoch's val and test forecasts, nas_agent/predictions.py),
and metrics.json LAST (its presence means the run is complete).
Exit codes: 0 ok; 2 bad config (one line on stderr, no run dir); 3 non-finite loss;
130 interrupted; 1 crash. --progress PATH gets one JSON event per line
(start, batch, epoch, end; nas_agent/progress.py), apart from the human log on stdout. val/test/train "mse" is always MSE on the forecast target,
on scaled data, whatever the training criterion.
"""
import argparse
import math
import os
import random
import signal
import sys
import time
from pathlib import Path


def die_with_parent():
    """When the launcher asks for it (NAS_PARENT_PID, set by nas-graph's local executor), die
    with that parent: a kill -9 of the CLI must not leave this training running and writing
    into runs/<tag>. Linux parent-death signal (SIGKILL: an orphaned attempt leaves an
    incomplete run dir, which is never counted); exit at once if the parent is already gone."""
    parent = os.environ.get("NAS_PARENT_PID", "")
    if not parent.isdigit() or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no libc prctl: the CLI's resume still stops a survivor
        return
    try:
        os.kill(int(parent), 0)
    except ProcessLookupError:  # the parent died before prctl took effect
        os._exit(1)
    except PermissionError:
        pass


die_with_parent()

import numpy as np  # noqa: E402 (after the parent-death setup: torch takes seconds to import)
import torch  # noqa: E402

# NNPACK (a CPU convolution library) cannot initialize on many server CPUs (AMD EPYC among them) and
# then prints 'Could not initialize NNPACK! Reason: Unsupported hardware.' once per convolution kind;
# torch's other CPU kernels run those convolutions anyway, so it is switched off before any is built.
torch.backends.nnpack.set_flags(False)

from data import DataError, check_data, load_splits
from model import build_model
from nas_agent import logging_utils as logs
from nas_agent import predictions, speed
from nas_agent.config_check import ConfigError, load_config, pick_device, scheduler_kwargs
from nas_agent.progress import Progress, ProgressError
from nas_agent.run_manager import RunDirError, prepare_run_dir, snapshot_config


class Diverged(Exception):
    """The training loss or val_mse became non-finite."""


def fail(message: str, code: int):
    print(message, file=sys.stderr, flush=True)
    sys.exit(code)


_interrupted = False


def on_signal(signum, frame):
    """SIGINT or SIGTERM: interrupt once. Ctrl-C reaches the whole process group and the launcher
    then sends SIGTERM; a second KeyboardInterrupt raised while failure.json is being written
    ended in a traceback and no failure.json."""
    global _interrupted
    if not _interrupted:
        _interrupted = True
        raise KeyboardInterrupt


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.inference_mode()
def evaluate(model, windows, batch_size, device, seed, amp, keep=None):
    """(mse, mae) over every window of a split, on the target columns, in fp32 whatever the amp.
    ProbSparse sampling is seeded here, so the result depends on the weights only.
    The sums stay on the device (float64) and are read once. ``keep``: a list that gets each
    batch's forecasts (on the device, in window order)."""
    model.eval()
    sq, ab = (torch.zeros((), dtype=torch.float64, device=device) for _ in range(2))
    n = 0
    with torch.random.fork_rng(devices=[torch.cuda.current_device()] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for b in windows.batches(batch_size):
            with speed.autocast(device, amp):
                out = model(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec)[..., -b.y.shape[-1]:]
            out = out.float()
            err = out - b.y
            if keep is not None:
                keep.append(out)
            sq += err.square().sum()
            ab += err.abs().sum()
            n += err.numel()
    return sq.item() / n, ab.item() / n


# ----------------------------------------------------------------------------- arguments
parser = argparse.ArgumentParser(description="Train one forecaster configuration.")
parser.add_argument("--config", default="config.py", help="config file (a Python module)")
parser.add_argument("--tag", help="run name, e.g. run_0001: outputs go to runs/<tag>/ (required unless --check)")
parser.add_argument("--max-epochs", type=int, default=None, help="cap on the config's max_epochs")
parser.add_argument("--seed", type=int, default=None, help="overrides the config's seed (repeat trainings)")
parser.add_argument("--progress", default=None, help="write JSON progress events here (a file, or /dev/fd/3)")
parser.add_argument("--check", action="store_true",
                    help="only validate the config and that the data is reachable (no download, no run dir); "
                         "prints 'config ok: ...' (exit 0) or one error line (exit 2)")
args = parser.parse_args()
if not args.check and not args.tag:
    parser.error("the following arguments are required: --tag")
if args.max_epochs is not None and args.max_epochs < 1:
    fail(f"config error: --max-epochs is {args.max_epochs}; pass an integer >= 1", 2)

# ----------------------------------------------------------------------------- pre-flight (--check)
# The same validation as a training (config, model build, data), then exit: nas-graph runs it before
# a search records anything. A URL not downloaded yet is only named, never fetched here.
if args.check:
    try:
        config = load_config(Path(args.config).resolve())
        try:
            model = build_model(config)
        except Exception as exc:
            raise ConfigError(f"build_model failed ({type(exc).__name__}: {exc}); fix the model section")
        data_cfg = config["data"] if getattr(model, "decoder_input", True) else {**config["data"], "label_len": 0}
        where = check_data(data_cfg, workspace=Path.cwd())
    except (ConfigError, DataError) as exc:
        fail(f"config error: {exc}", 2)
    print(f"config ok: {config['model']['family']}, {where}", flush=True)
    sys.exit(0)

# ----------------------------------------------------------------------------- config and data
# Everything that can be wrong with the config is caught here: before training, before the run dir.
# Relative data paths are read from the workspace (the cwd), wherever the config file lies.
config_path = Path(args.config).resolve()
try:
    config = load_config(config_path)
    if args.seed is not None:
        config["seed"] = args.seed
    seed = config["seed"]
    seed_everything(seed)
    try:
        model = build_model(config)
    except Exception as exc:
        raise ConfigError(f"build_model failed ({type(exc).__name__}: {exc}); fix the model section")
    # A family without a decoder (decoder_input = False) gets no start tokens: x_dec is pred_len zeros.
    uses_decoder = getattr(model, "decoder_input", True)
    splits = load_splits(config["data"] if uses_decoder else {**config["data"], "label_len": 0},
                         workspace=Path.cwd())
    progress = Progress(args.progress, args.tag)
except (ConfigError, DataError, ProgressError) as exc:
    fail(f"config error: {exc}", 2)
except Exception as exc:  # nothing is trained and no run dir exists yet
    fail(f"crashed before training: {type(exc).__name__}: {exc}".replace("\n", " "), 1)

data_cfg, train_cfg = config["data"], config["training"]
device, notice = pick_device(train_cfg["device"])
if notice:
    print(notice, file=sys.stderr, flush=True)
max_epochs = train_cfg["max_epochs"] if args.max_epochs is None else min(train_cfg["max_epochs"], args.max_epochs)
batch_size = data_cfg["batch_size"]

model.to(device)
for windows in (splits.train, splits.val, splits.test):
    windows.to(device)
amp, compile_mode = speed.resolve_amp(train_cfg["amp"], device), speed.resolve_compile(train_cfg["compile"], device, max_epochs)
params = [p for p in model.parameters() if p.requires_grad]
optimizer = train_cfg["optimizer_class"](
    model.parameters(), **speed.optimizer_kwargs(train_cfg["optimizer_class"], train_cfg["optimizer_params"], device))
scheduler = None
if train_cfg["use_scheduler"]:
    scheduler = train_cfg["scheduler_class"](optimizer, **scheduler_kwargs(train_cfg, max_epochs))
plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
criterion = train_cfg["criterion_class"](**train_cfg["criterion_params"])
scaler = speed.grad_scaler(device, amp)
train_forward = speed.make_train_forward(model, criterion, device, amp)
compiled_forward = speed.compile_step(train_forward, compile_mode)  # full batches only (static shapes)
cudagraph_skips = speed.CudagraphSkips() if compile_mode in speed.CUDA_GRAPH_MODES else None
notice = speed.compile_notice(compile_mode, device)
if notice:
    print(notice, file=sys.stderr, flush=True)
eval_batch = speed.eval_batch_size(batch_size, device)
shuffle_gen = torch.Generator().manual_seed(seed)
n_params = sum(p.numel() for p in params)

try:
    run_dir = prepare_run_dir(args.tag, root="runs")
except RunDirError as exc:
    fail(f"config error: {exc}", 2)
snapshot_config(config_path, run_dir)
print(f"run {args.tag}: {n_params:,} params on {device} (amp {amp}, compile {compile_mode}), "
      f"{len(splits.train)}/{len(splits.val)}/{len(splits.test)} windows, up to {max_epochs} epochs", flush=True)
n_batches = math.ceil(len(splits.train) / batch_size)
progress.set_batches(n_batches)
progress.emit("start", max_epochs=max_epochs, batches=n_batches, n_params=n_params, device=device.type, seed=seed)

# ----------------------------------------------------------------------------- training
signal.signal(signal.SIGTERM, on_signal)
signal.signal(signal.SIGINT, on_signal)
history, best_state, best_epoch, best_val, stale = [], None, 0, math.inf, 0
epoch, t_start = 0, time.time()
try:
    for epoch in range(1, max_epochs + 1):
        t0 = time.time()
        model.train()
        lr = optimizer.param_groups[0]["lr"]
        # loss and squared error are summed on the device and read once per epoch: no host sync per step
        loss_sum, sq_sum = (torch.zeros((), dtype=torch.float64, device=device) for _ in range(2))
        n_seen, n_elems = 0, 0
        for i, b in enumerate(splits.train.batches(batch_size, shuffle=True, generator=shuffle_gen), 1):
            speed.mark_step(compile_mode, device)
            step_forward = compiled_forward if len(b.y) == batch_size else train_forward
            loss, sq = step_forward(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec, b.y)
            optimizer.zero_grad(set_to_none=True)
            (loss if scaler is None else scaler.scale(loss)).backward()
            if train_cfg["grad_clip"] > 0:
                if scaler is not None:
                    scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(params, train_cfg["grad_clip"])
            if scaler is None:
                optimizer.step()
            else:
                scaler.step(optimizer)
                scaler.update()
            loss_sum.add_(loss.detach(), alpha=len(b.y))
            sq_sum += sq
            n_seen, n_elems = n_seen + len(b.y), n_elems + b.y.numel()
            progress.batch(epoch, i, n_batches)
        train_loss, train_mse = loss_sum.item() / n_seen, sq_sum.item() / n_elems  # the epoch's one sync
        train_seconds = time.time() - t0
        if cudagraph_skips is not None and device.type == "cuda" and (notice := cudagraph_skips.notice(compile_mode)):
            print(notice, file=sys.stderr, flush=True)
        if not (math.isfinite(train_loss) and math.isfinite(train_mse)):
            raise Diverged(f"training loss became {train_loss} in epoch {epoch}")
        val_forecasts = []
        val_mse, val_mae = evaluate(model, splits.val, eval_batch, device, seed, amp, keep=val_forecasts)
        if not math.isfinite(val_mse):
            raise Diverged(f"val_mse became {val_mse} in epoch {epoch}")

        improved = val_mse < best_val
        if improved:
            best_val, best_epoch, stale = val_mse, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}  # a real copy
            best_val_forecasts = val_forecasts
        else:
            stale += 1
        seconds = time.time() - t0
        history.append({"epoch": epoch, "train_mse": train_mse, "val_mse": val_mse, "val_mae": val_mae,
                        "lr": lr, "seconds": round(seconds, 3), "train_seconds": round(train_seconds, 3),
                        "train_loss": train_loss})
        print(f"epoch {epoch}/{max_epochs}  train_mse {train_mse:.4f}  val_mse {val_mse:.4f}  lr {lr:.1e}  "
              f"{seconds:.1f}s{'  *best' if improved else ''}", flush=True)
        progress.emit("epoch", epoch=epoch, max_epochs=max_epochs, train_mse=train_mse, val_mse=val_mse,
                      best_val_mse=best_val, best_epoch=best_epoch, seconds=round(seconds, 3), lr=lr)
        if stale >= train_cfg["patience"]:
            break
        if scheduler is not None:
            scheduler.step(val_mse) if plateau else scheduler.step()
    train_time_s = time.time() - t_start

    # ------------------------------------------------------------------------- test and outputs
    model.load_state_dict(best_state)
    test_forecasts = []
    test_mse, test_mae = evaluate(model, splits.test, eval_batch, device, seed, amp, keep=test_forecasts)
    best = history[best_epoch - 1]
    logs.save_history(run_dir, {"best_epoch": best_epoch, "epochs": history})
    torch.save(best_state, run_dir / "best_model.pth")
    if config["logging"]["plot_learning_curve"]:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        epochs = [h["epoch"] for h in history]
        ax.plot(epochs, [h["train_mse"] for h in history], "o-", label="train_mse")
        ax.plot(epochs, [h["val_mse"] for h in history], "o-", label="val_mse")
        ax.axvline(best_epoch, color="gray", linestyle="--", label=f"best epoch {best_epoch}")
        ax.set(xlabel="epoch", ylabel="MSE (scaled, target)", title=args.tag)
        ax.legend()
        fig.tight_layout()
        fig.savefig(run_dir / "learning_curve.png", dpi=100)
        plt.close(fig)
    metrics = {
        "status": "ok", "val_mse": best["val_mse"], "val_mae": best["val_mae"], "test_mse": test_mse,
        "test_mae": test_mae, "train_mse": best["train_mse"], "best_epoch": best_epoch,
        "epochs_run": len(history), "max_epochs": max_epochs, "max_epochs_cap": args.max_epochs,
        "stopped_early": len(history) < max_epochs, "train_time_s": round(train_time_s, 3),
        "n_params": n_params, "device": device.type, "seed": seed, "amp": amp, "compile": compile_mode,
    }
    predictions.save(run_dir, best_val_forecasts, test_forecasts)
    logs.save_metrics(run_dir, metrics)  # last: marks the run complete
    progress.emit("end", status="ok", val_mse=best["val_mse"], best_epoch=best_epoch, epochs_run=len(history))
    print(f"done {args.tag}: best epoch {best_epoch}  val_mse {best['val_mse']:.4f}  test_mse {test_mse:.4f}  "
          f"test_mae {test_mae:.4f}", flush=True)
except Diverged as exc:
    logs.save_failure(run_dir, "diverged", str(exc), epoch or None)
    progress.emit("end", status="diverged", reason=str(exc))
    fail(f"diverged: {exc}; lower the learning rate or enable grad_clip", 3)
except KeyboardInterrupt:
    logs.save_failure(run_dir, "interrupted", "interrupted by a signal", epoch or None)
    progress.emit("end", status="interrupted", reason="interrupted by a signal")
    fail(f"interrupted in epoch {epoch}", 130)
except Exception as exc:
    reason = speed.compile_failure(exc, compile_mode) or f"{type(exc).__name__}: {exc}".replace("\n", " ")
    logs.save_failure(run_dir, "crashed", reason, epoch or None)
    progress.emit("end", status="crashed", reason=reason)
    fail(f"crashed: {reason}", 1)
