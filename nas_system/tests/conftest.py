"""Shared fixtures: the ETT data folder, a tiny config.py writer, and a train.py runner."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

NAS_SYSTEM = Path(__file__).resolve().parents[1]
REPO = NAS_SYSTEM.parent
TRAIN_PY = NAS_SYSTEM / "train.py"
if str(NAS_SYSTEM) not in sys.path:
    sys.path.insert(0, str(NAS_SYSTEM))

FEATURES = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]


class Ref(str):
    """A value written into config.py as code (a class reference), e.g. Ref("optim.Adam")."""

    def __repr__(self):
        return str(self)


def tiny_sections() -> dict:
    """A config small enough for a 2-core test: seq 48/24/12, d_model 16, 600/300/300 rows."""
    return {
        "seed": 7,
        "data": {"data_path": "ETTh1.csv", "target": "OT", "features": list(FEATURES), "mode": "MS",
                 "seq_len": 48, "label_len": 24, "pred_len": 12, "train_size": 600, "val_size": 300,
                 "test_size": 300, "batch_size": 32, "num_workers": 0, "scale": True},
        "model": {"enc_in": 7, "dec_in": 7, "c_out": 1, "d_model": 16, "n_heads": 2, "e_layers": 2,
                  "d_layers": 1, "d_ff": 32, "dropout": 0.05, "factor": 3, "attn": "prob",
                  "activation": "gelu", "distil": True, "mix": True},
        "training": {"optimizer_class": Ref("optim.Adam"), "optimizer_params": {"lr": 1e-3},
                     "use_scheduler": False, "scheduler_class": Ref("optim.lr_scheduler.StepLR"),
                     "scheduler_params": {"step_size": 1, "gamma": 0.5},
                     "criterion_class": Ref("nn.MSELoss"), "criterion_params": {},
                     "max_epochs": 2, "patience": 3, "grad_clip": 0.0, "device": "cpu"},
        "logging": {"plot_learning_curve": False},  # matplotlib's import costs ~1 s per run
    }


def render_config(sections: dict) -> str:
    lines = ["from torch import nn, optim", "", f"seed = {sections['seed']!r}", ""]
    for name in ("data", "model", "training", "logging"):
        lines.append(f"{name} = {sections[name]!r}")
    lines += ["", "def get_config():",
              "    return {'data': data, 'model': model, 'training': training, 'logging': logging, 'seed': seed}", ""]
    return "\n".join(lines)


def train_env(data_dir: Path) -> dict:
    """Env for a train.py subprocess. One torch thread: measured faster for tiny models here, and
    immune to the OpenMP spin-wait stalls two threads suffer when the 2 cores are shared."""
    return {"NAS_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture
def data_dir() -> Path:
    """The ETT-small folder: $NAS_DATA_DIR, else ../shared/data/ETT-small next to the repo."""
    path = Path(os.environ.get("NAS_DATA_DIR") or REPO.parent / "shared" / "data" / "ETT-small")
    if not (path / "ETTh1.csv").is_file():
        pytest.skip(f"ETTh1.csv not found in {path}; set NAS_DATA_DIR")
    return path


@pytest.fixture
def tiny_config(tmp_path):
    """Factory: tiny_config({"model.d_model": 32, ...}, drop=["data.seq_len"], name="config.py")
    writes a tiny config into tmp_path (the workspace) and returns its path."""

    def make(changes: dict | None = None, drop=(), name: str = "config.py") -> Path:
        sections = tiny_sections()
        for key, value in (changes or {}).items():
            *parents, leaf = key.split(".")
            target = sections
            for p in parents:
                target = target[p]
            target[leaf] = value
        for key in drop:
            *parents, leaf = key.split(".")
            target = sections
            for p in parents:
                target = target[p]
            del target[leaf]
        path = tmp_path / name
        path.write_text(render_config(sections))
        return path

    return make


@pytest.fixture
def run_train(tmp_path, data_dir):
    """Run train.py as a subprocess in the workspace tmp_path; returns CompletedProcess."""

    def run(*args: str, tag: str = "run_0001", config: str = "config.py", timeout: int = 120):
        env = {**os.environ, **train_env(data_dir)}
        cmd = [sys.executable, "-u", str(TRAIN_PY), "--config", config, "--tag", tag, *args]
        return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)

    return run
