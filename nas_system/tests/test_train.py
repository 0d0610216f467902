"""train.py through its real entry point (a subprocess in a tmp workspace)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from conftest import NAS_SYSTEM, TRAIN_PY, Ref, train_env
from data import load_splits
from model import build_model
from nas_agent.config_check import load_config

OUTPUTS = {"config_used.py", "history.json", "best_model.pth", "learning_curve.png", "predictions.npz", "metrics.json"}
# tiny_config turns the plot off (matplotlib costs a second per run); the first test turns it on
METRIC_KEYS = {"status", "val_mse", "val_mae", "test_mse", "test_mae", "train_mse", "best_epoch", "epochs_run",
               "max_epochs", "max_epochs_cap", "stopped_early", "train_time_s", "n_params", "device", "seed"}


def read(run_dir: Path, name: str):
    return json.loads((run_dir / name).read_text())


def val_mse_of_saved_weights(config_path: Path, run_dir: Path, data_dir: Path, monkeypatch) -> float:
    """Val MSE on the target of best_model.pth, computed independently of train.py."""
    monkeypatch.setenv("NAS_DATA_DIR", str(data_dir))
    cfg = load_config(config_path)
    splits = load_splits(cfg["data"], workspace=config_path.parent)
    model = build_model(cfg)
    model.load_state_dict(torch.load(run_dir / "best_model.pth"))
    model.eval()
    sq, n = 0.0, 0
    with torch.no_grad():
        for b in splits.val.batches(cfg["data"]["batch_size"]):
            err = model(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec) - b.y
            sq, n = sq + err.square().sum().item(), n + err.numel()
    return sq / n


def test_tiny_training_writes_all_outputs(tiny_config, run_train, tmp_path):
    config = tiny_config({"logging.plot_learning_curve": True})
    res = run_train()
    assert res.returncode == 0, res.stderr
    run_dir = tmp_path / "runs" / "run_0001"
    assert {p.name for p in run_dir.iterdir()} == OUTPUTS
    assert (run_dir / "config_used.py").read_bytes() == config.read_bytes()
    metrics = read(run_dir, "metrics.json")
    assert METRIC_KEYS <= set(metrics) and metrics["status"] == "ok"
    assert metrics["epochs_run"] == 2 and metrics["max_epochs"] == 2 and metrics["max_epochs_cap"] is None
    assert metrics["device"] == "cpu" and metrics["seed"] == 7 and metrics["n_params"] > 0
    history = read(run_dir, "history.json")
    assert history["best_epoch"] == metrics["best_epoch"]
    assert [e["epoch"] for e in history["epochs"]] == [1, 2]
    for e in history["epochs"]:
        assert {"epoch", "train_mse", "val_mse", "lr", "seconds", "train_loss"} <= set(e)
    best = history["epochs"][metrics["best_epoch"] - 1]
    assert metrics["val_mse"] == best["val_mse"] == min(e["val_mse"] for e in history["epochs"])
    assert metrics["train_mse"] == best["train_mse"]
    assert (run_dir / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = [l for l in res.stdout.splitlines() if l.startswith("epoch ")]
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2  train_mse ") and "val_mse" in lines[0]


@pytest.mark.parametrize("criterion", ["nn.MSELoss", "nn.L1Loss"])
def test_best_weights_are_the_best_epochs_and_metrics_are_mse(criterion, tiny_config, run_train, tmp_path,
                                                               data_dir, monkeypatch):
    # full attention: evaluation uses no randomness, so the check below is exact
    config = tiny_config({"model.attn": "full", "training.criterion_class": Ref(criterion),
                          "training.max_epochs": 3})
    res = run_train()
    assert res.returncode == 0, res.stderr
    run_dir = tmp_path / "runs" / "run_0001"
    metrics, epochs = read(run_dir, "metrics.json"), read(run_dir, "history.json")["epochs"]
    assert metrics["best_epoch"] < metrics["epochs_run"], "precondition: the last epoch is not the best"
    recomputed = val_mse_of_saved_weights(config, run_dir, data_dir, monkeypatch)
    assert recomputed == pytest.approx(metrics["val_mse"], rel=1e-9)
    assert recomputed != pytest.approx(epochs[-1]["val_mse"], rel=1e-6)
    if criterion == "nn.L1Loss":  # the loss is L1 but every *_mse stays an MSE
        # (one epoch may match by chance: L1 and MSE crossed once in this very run)
        assert sum(e["train_loss"] != pytest.approx(e["train_mse"], rel=1e-3) for e in epochs) >= 2
    else:
        assert all(e["train_loss"] == pytest.approx(e["train_mse"], rel=1e-4) for e in epochs)


def test_non_finite_loss_stops_with_exit_3(tiny_config, run_train, tmp_path):
    tiny_config({"training.optimizer_class": Ref("optim.SGD"), "training.optimizer_params": {"lr": 1e30}})
    res = run_train()
    assert res.returncode == 3, res.stderr
    run_dir = tmp_path / "runs" / "run_0001"
    failure = read(run_dir, "failure.json")
    assert failure["status"] == "diverged" and failure["epoch"] == 1 and "became" in failure["reason"]
    assert not (run_dir / "metrics.json").exists()
    assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("diverged:")


BAD_CONFIGS = {
    "missing-key": ({}, ["model.d_ff"], "model.d_ff is missing"),
    "wrong-type": ({"data.batch_size": "32"}, [], "data.batch_size is '32'"),
    "heads": ({"model.n_heads": 3}, [], "not divisible by model.n_heads"),
    "unknown-class": ({"training.optimizer_class": Ref("optim.NoSuchOptimizer")}, [], "NoSuchOptimizer"),
    "not-an-optimizer": ({"training.optimizer_class": Ref("nn.MSELoss")}, [], "not a torch optimizer"),
    "bad-kwargs": ({"training.optimizer_params": {"lr": 1e-3, "bogus": 1}}, [], "optimizer_params"),
    "seq-mismatch": ({"model.seq_len": 96}, [], "model.seq_len is 96 but data.seq_len is 48"),
    "c_out": ({"data.mode": "M"}, [], "model.c_out is 1 but mode M predicts 7"),
    "missing-data": ({"data.data_path": "no_such_file.csv"}, [], "does not exist"),
    "label-too-long": ({"data.label_len": 60}, [], "exceeds data.seq_len"),
    "amp": ({"training.amp": "fp8"}, [], "training.amp is 'fp8'; it must be one of 'auto', 'off', 'bf16', 'fp16'"),
    "compile": ({"training.compile": True}, [], "training.compile is True; it must be one of 'auto', 'off', 'default'"),
}


@pytest.mark.parametrize("name", list(BAD_CONFIGS))
def test_bad_config_exits_2_with_one_line_before_training(name, tiny_config, run_train, tmp_path):
    changes, drop, message = BAD_CONFIGS[name]
    tiny_config(changes, drop=drop)
    res = run_train()
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("config error: ") and message in lines[0], res.stderr
    assert ";" in lines[0]  # cause; fix
    assert not (tmp_path / "runs").exists()


def test_old_config_repeating_sequence_lengths_under_model_still_loads(tiny_config, run_train):
    tiny_config({"model.seq_len": 48, "model.label_len": 24, "model.pred_len": 12, "training.max_epochs": 1})
    assert run_train().returncode == 0


def test_same_seed_gives_the_same_metrics(tiny_config, run_train, tmp_path):
    tiny_config()  # ProbSparse: the sampling must be seeded too
    assert run_train(tag="run_0001").returncode == 0
    assert run_train(tag="run_0002").returncode == 0
    a, b = (read(tmp_path / "runs" / t, "metrics.json") for t in ("run_0001", "run_0002"))
    for m in (a, b):
        m.pop("train_time_s")
    assert a == b
    ha, hb = (read(tmp_path / "runs" / t, "history.json") for t in ("run_0001", "run_0002"))
    strip = lambda h: [{k: v for k, v in e.items() if "seconds" not in k} for e in h["epochs"]]
    assert strip(ha) == strip(hb)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_on_a_cpu_machine_runs_on_cpu_with_a_notice(tiny_config, run_train, tmp_path):
    tiny_config({"training.device": "cuda", "training.max_epochs": 1})
    res = run_train()
    assert res.returncode == 0, res.stderr
    notices = [l for l in res.stderr.splitlines() if l.startswith("notice:")]
    assert len(notices) == 1 and "cpu" in notices[0]
    assert read(tmp_path / "runs" / "run_0001", "metrics.json")["device"] == "cpu"


def test_max_epochs_cap_is_applied_and_recorded(tiny_config, run_train, tmp_path):
    tiny_config({"training.max_epochs": 5})
    res = run_train("--max-epochs", "1")
    assert res.returncode == 0, res.stderr
    m = read(tmp_path / "runs" / "run_0001", "metrics.json")
    assert (m["epochs_run"], m["max_epochs"], m["max_epochs_cap"], m["stopped_early"]) == (1, 1, 1, False)


def test_schedulers_step_once_per_epoch(tiny_config, run_train, tmp_path):
    tiny_config({"training.use_scheduler": True, "training.max_epochs": 3})  # StepLR(1, 0.5)
    assert run_train(tag="run_0001").returncode == 0
    lrs = [e["lr"] for e in read(tmp_path / "runs" / "run_0001", "history.json")["epochs"]]
    assert lrs == pytest.approx([1e-3, 5e-4, 2.5e-4])
    tiny_config({"training.use_scheduler": True, "training.max_epochs": 4,
                 "training.scheduler_class": Ref("optim.lr_scheduler.ReduceLROnPlateau"),
                 "training.scheduler_params": {"factor": 0.5, "patience": 0}, "training.patience": 10})
    res = run_train(tag="run_0002")
    assert res.returncode == 0, res.stderr
    epochs = read(tmp_path / "runs" / "run_0002", "history.json")["epochs"]
    best = float("inf")
    for prev, cur in zip(epochs, epochs[1:]):
        improved = prev["val_mse"] < best * (1 - 1e-4)
        best = min(best, prev["val_mse"])
        assert cur["lr"] == pytest.approx(prev["lr"] if improved else prev["lr"] * 0.5)
    # CosineAnnealingLR without T_max anneals over the training's epochs, the --max-epochs cap included
    tiny_config({"training.use_scheduler": True, "training.max_epochs": 20,
                 "training.scheduler_class": Ref("optim.lr_scheduler.CosineAnnealingLR"), "training.scheduler_params": {}})
    assert run_train("--max-epochs", "3", tag="run_0003").returncode == 0
    lrs = [e["lr"] for e in read(tmp_path / "runs" / "run_0003", "history.json")["epochs"]]
    assert lrs == pytest.approx([1e-3, 7.5e-4, 2.5e-4])  # T_max 3: (1 + cos(pi k / 3)) / 2


def test_patience_stops_early(tiny_config, run_train, tmp_path):
    tiny_config({"training.max_epochs": 6, "training.patience": 1, "model.attn": "full"})
    res = run_train()
    assert res.returncode == 0, res.stderr
    m = read(tmp_path / "runs" / "run_0001", "metrics.json")
    assert m["stopped_early"] and m["epochs_run"] == m["best_epoch"] + 1 < 6


def test_finished_run_is_never_overwritten_and_leftovers_are_cleared(tiny_config, run_train, tmp_path):
    tiny_config({"training.max_epochs": 1})
    assert run_train().returncode == 0
    run_dir = tmp_path / "runs" / "run_0001"
    before = (run_dir / "metrics.json").read_bytes()
    res = run_train()
    assert res.returncode == 2 and "already holds a finished run" in res.stderr
    assert (run_dir / "metrics.json").read_bytes() == before
    leftover = tmp_path / "runs" / "run_0002"
    leftover.mkdir()
    (leftover / "stale.txt").write_text("x")
    assert run_train(tag="run_0002").returncode == 0
    assert not (leftover / "stale.txt").exists() and (leftover / "metrics.json").exists()


def test_interrupt_writes_failure_and_exits_130(tiny_config, tmp_path, data_dir):
    tiny_config({"training.max_epochs": 500, "training.patience": 500})
    env = {**os.environ, **train_env(data_dir)}
    proc = subprocess.Popen([sys.executable, "-u", str(TRAIN_PY), "--config", "config.py", "--tag", "run_0001"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    while line and not line.startswith("epoch 1/"):
        line = proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    failure = read(tmp_path / "runs" / "run_0001", "failure.json")
    assert failure["status"] == "interrupted"
    assert not (tmp_path / "runs" / "run_0001" / "metrics.json").exists()


def copy_workspace_with_model(tmp_path: Path, model_source: str) -> Path:
    """A workspace holding its own train.py, data.py, nas_agent/ and a user's model.py."""
    for name in ("train.py", "data.py"):
        shutil.copy(NAS_SYSTEM / name, tmp_path / name)
    shutil.copytree(NAS_SYSTEM / "nas_agent", tmp_path / "nas_agent",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "model.py").write_text(model_source)
    return tmp_path / "train.py"


USER_MODEL = '''
import torch
from torch import nn

class Linear(nn.Module):
    """A Time-Series-Library-style model: forward(x_enc, x_mark_enc, x_dec, x_mark_dec)."""
    def __init__(self, seq_len, pred_len, c_out):
        super().__init__()
        self.proj, self.c_out = nn.Linear(seq_len, pred_len), c_out
    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        {body}

def build_model(config):
    d = config["data"]
    return Linear(d["seq_len"], d["pred_len"], config["model"]["c_out"])
'''


@pytest.mark.parametrize("body,code,status", [
    ("return self.proj(x_enc.transpose(1, 2)).transpose(1, 2)[..., -self.c_out:]", 0, None),
    ("raise RuntimeError('boom in forward')", 1, "crashed"),
])
def test_a_users_own_model_py_trains_or_crashes_cleanly(body, code, status, tiny_config, tmp_path, data_dir):
    tiny_config({"training.max_epochs": 1})
    train_py = copy_workspace_with_model(tmp_path, USER_MODEL.replace("{body}", body))
    res = subprocess.run([sys.executable, str(train_py), "--config", "config.py", "--tag", "run_0001"],
                         cwd=tmp_path, env={**os.environ, **train_env(data_dir)},
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == code, res.stderr
    run_dir = tmp_path / "runs" / "run_0001"
    if status is None:
        assert read(run_dir, "metrics.json")["n_params"] == 48 * 12 + 12
    else:
        assert read(run_dir, "failure.json")["status"] == status
        assert "boom in forward" in read(run_dir, "failure.json")["reason"]
        assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("crashed: ")


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_progress_events_go_to_their_own_channel(tiny_config, run_train, tmp_path):
    tiny_config()
    events_path = tmp_path / "progress.jsonl"
    res = run_train("--progress", str(events_path))
    assert res.returncode == 0, res.stderr
    events = read_events(events_path)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("epoch") == 2
    assert all(e["run"] == "run_0001" and e["t"] > 0 for e in events)
    start = events[0]
    assert start["max_epochs"] == 2 and start["batches"] >= 1 and start["device"] == "cpu" and start["seed"] == 7
    batches = [e for e in events if e["event"] == "batch"]
    # counts only (no loss: reading one would force a host sync on CUDA); the last batch of each epoch is sent
    assert all(set(e) == {"event", "run", "t", "epoch", "batch", "batches"} for e in batches)
    assert [e["batch"] for e in batches if e["batch"] == e["batches"]] == [start["batches"]] * 2
    history = read(tmp_path / "runs" / "run_0001", "history.json")["epochs"]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["val_mse"] for e in epochs] == [h["val_mse"] for h in history]
    assert [e["train_mse"] for e in epochs] == [h["train_mse"] for h in history]
    metrics = read(tmp_path / "runs" / "run_0001", "metrics.json")
    assert events[-1] == {**events[-1], "status": "ok", "val_mse": metrics["val_mse"], "best_epoch": metrics["best_epoch"]}
    assert not any("test" in k for e in events for k in e)  # held-out metrics stay out of the channel
    assert "{" not in res.stdout  # the human log carries no events


def test_progress_reports_a_divergence_and_a_bad_path(tiny_config, run_train, tmp_path):
    tiny_config({"training.optimizer_class": Ref("optim.SGD"), "training.optimizer_params": {"lr": 1e30}})
    events_path = tmp_path / "progress.jsonl"
    res = run_train("--progress", str(events_path))
    assert res.returncode == 3
    end = read_events(events_path)[-1]
    assert end["event"] == "end" and end["status"] == "diverged" and "became" in end["reason"]

    res = run_train("--progress", str(tmp_path / "no_such_dir" / "p.jsonl"), tag="run_0002")
    assert res.returncode == 2 and res.stderr.startswith("config error: cannot open --progress")
    assert not (tmp_path / "runs" / "run_0002").exists()


def test_nas_data_dir_without_the_file_says_so_in_one_line(tiny_config, tmp_path):
    """train.py with NAS_DATA_DIR set to a folder lacking the CSV: exit 2, one line naming the folder and the file."""
    from conftest import TRAIN_PY, train_env
    tiny_config()
    empty = tmp_path / "empty-data"
    empty.mkdir()
    env = {**os.environ, **train_env(empty)}
    cmd = [sys.executable, "-u", str(TRAIN_PY), "--config", "config.py", "--tag", "run_0001"]
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert f"NAS_DATA_DIR is set to {empty}" in lines[0] and str(empty / "ETTh1.csv") in lines[0]
    assert not (tmp_path / "runs").exists()
