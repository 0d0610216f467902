"""Naive baselines per task: the same windows and scaling as train.py, stored once per task in
agent_state.json, through `python -m nas_agent baselines` and `record-run`."""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import render_config, tiny_sections
from data import load_splits
from nas_agent.baselines import compute, period_of
from test_cli import NAS_SYSTEM, cli, make_run


def reference(cfg: dict, split: str, period: int):
    """Persistence and seasonal-naive MSE from train.py's own windows (data.load_splits)."""
    windows = getattr(load_splits(cfg["data"], workspace=Path(".")), split)
    sq_p, sq_s, n = 0.0, 0.0, 0
    for b in windows.batches(256):
        target = b.y                                              # [B, T, C]
        past = b.x_enc[..., -target.shape[-1]:]                   # [B, L, C]
        persistence = past[:, -1:, :].expand_as(target)
        idx = torch.arange(target.shape[1]) % period
        seasonal = past[:, -period:, :][:, idx, :]
        sq_p += (persistence - target).square().sum().item()
        sq_s += (seasonal - target).square().sum().item()
        n += target.numel()
    return sq_p / n, sq_s / n


@pytest.mark.parametrize("mode,seq_len", [("MS", 48), ("MS", 96), ("M", 48), ("S", 72)])
def test_baselines_match_train_py_windows_for_any_seq_len(mode, seq_len, tiny_config, data_dir, monkeypatch):
    monkeypatch.setenv("NAS_DATA_DIR", str(data_dir))
    path = tiny_config({"data.mode": mode, "data.seq_len": seq_len})
    cfg = tiny_sections()
    cfg["data"].update(mode=mode, seq_len=seq_len)
    out = compute(path, path.parent)
    assert out["period"] == 24
    for split in ("val", "test"):
        p, s = reference(cfg, split, 24)
        assert out["persistence"][f"{split}_mse"] == pytest.approx(p, rel=1e-5)
        assert out["seasonal_naive"][f"{split}_mse"] == pytest.approx(s, rel=1e-5)


def test_period_is_one_day_in_steps():
    hourly = pd.Series(pd.date_range("2020-01-01", periods=50, freq="h"))
    quarter = pd.Series(pd.date_range("2020-01-01", periods=50, freq="15min"))
    daily = pd.Series(pd.date_range("2020-01-01", periods=50, freq="D"))
    assert (period_of(hourly), period_of(quarter), period_of(daily)) == (24, 96, 7)


def test_users_task_through_the_cli_matches_the_measured_figures(tmp_path, data_dir, monkeypatch):
    # ETTh1, OT, MS, 336 -> 96, the standard split: persistence val 0.137, test 0.069 (issue 8)
    monkeypatch.setenv("NAS_DATA_DIR", str(data_dir))
    shutil.copy(NAS_SYSTEM / "config.py", tmp_path / "config.py")
    _, out = cli(tmp_path, "baselines", check=0)
    assert out["task_key"] == "ETTh1.csv MS OT->96 8640/2880/2880" and out["computed"] and out["stored"]
    b = out["baselines"]
    assert round(b["persistence"]["val_mse"], 3) == 0.137 and round(b["persistence"]["test_mse"], 3) == 0.069
    assert b["period"] == 24 and b["seasonal_naive"]["val_mse"] > 0
    state = json.loads((tmp_path / "agent_state.json").read_text())
    assert state["baselines"][out["task_key"]] == b
    _, again = cli(tmp_path, "baselines", check=0)
    assert not again["computed"] and again["baselines"] == b


def test_record_run_computes_the_runs_task_once_and_a_data_problem_never_loses_the_run(tmp_path, data_dir,
                                                                                       monkeypatch):
    monkeypatch.setenv("NAS_DATA_DIR", str(data_dir))
    shutil.copy(NAS_SYSTEM / "config.py", tmp_path / "config.py")
    run_dir = make_run(tmp_path, "run_0000", val=0.2)
    (run_dir / "config_used.py").write_text(render_config(tiny_sections()))
    _, out = cli(tmp_path, "record-run", "--run-id", "run_0000", "--info", '{"accepted": true}', check=0)
    state = json.loads((tmp_path / "agent_state.json").read_text())
    (key, entry), = state["baselines"].items()
    assert key == "ETTh1.csv MS OT->12 600/300/300" and entry["persistence"]["val_mse"] > 0
    # a run of a task whose data is missing is still recorded, with the reason
    run_dir = make_run(tmp_path, "run_0001", val=0.3)
    (run_dir / "config_used.py").write_text(render_config({**tiny_sections(), "data": {
        **tiny_sections()["data"], "data_path": "nowhere.csv"}}))
    _, out = cli(tmp_path, "record-run", "--run-id", "run_0001", "--info", "{}", check=0)
    assert "nowhere.csv" in out["baselines_error"] and out["run"]["val_mse"] == 0.3
    state = json.loads((tmp_path / "agent_state.json").read_text())
    assert [r["run_id"] for r in state["runs"]] == ["run_0000", "run_0001"] and len(state["baselines"]) == 1


def test_a_missing_data_file_is_a_one_line_user_error(tmp_path):
    (tmp_path / "config.py").write_text(render_config({**tiny_sections(), "data": {
        **tiny_sections()["data"], "data_path": "nowhere.csv"}}))
    code, out = cli(tmp_path, "baselines", "--no-store")
    assert code == 2 and "nowhere.csv" in out["error"] and not (tmp_path / "agent_state.json").exists()


def test_the_helper_reads_a_tasks_rows_without_importing_torch(tmp_path, data_dir):
    """data.py imports torch only where it builds training windows: the naive baselines (a search's
    first record, the ensemble's actuals) cost the long-lived helper no torch import (seconds)."""
    import os
    import subprocess
    import sys

    shutil.copy(NAS_SYSTEM / "config.py", tmp_path / "config.py")
    probe = ("import sys; from nas_agent.baselines import compute; out = compute(sys.argv[1], sys.argv[2]); "
             "assert out['persistence']['val_mse'] > 0; print(sorted(m for m in ('torch', 'pandas') if m in sys.modules))")
    env = {**os.environ, "NAS_DATA_DIR": str(data_dir), "PYTHONPATH": str(NAS_SYSTEM)}
    proc = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "config.py"), str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['pandas']"]
