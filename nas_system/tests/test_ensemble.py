"""Saved forecasts (train.py's predictions.npz) and the validation-only ensemble, through train.py and
`python -m nas_agent ensemble`. Actual values in these tests come from data.load_splits (train.py's own
windows) or the data file itself, never from the code under test."""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import render_config, tiny_sections
from data import load_splits
from test_cli import cli

VAL_WINDOWS, TEST_WINDOWS, PRED = 300 - 12 + 1, 300 - 12 + 1, 12  # tiny task: 600/300/300 rows, pred_len 12


def split_targets(cfg: dict, split: str) -> np.ndarray:
    """[windows, pred_len, targets] of train.py's own windows of one split."""
    windows = getattr(load_splits(cfg["data"], workspace=Path(".")), split)
    return np.concatenate([b.y.numpy() for b in windows.batches(256)])


def mse(a, b) -> float:
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


# ---- train.py ------------------------------------------------------------------------------

@pytest.mark.parametrize("mode,changes", [
    ("MS", {}),  # the Informer (ProbSparse sampling seeded per evaluation), 7 in, OT out
    ("M", {"data.mode": "M", "model.c_out": 7, "model.family": "dlinear", "model.moving_avg": 25,
           "model.individual": False}),  # every column a target
])
def test_train_py_saves_the_forecasts_whose_mse_is_the_metrics(mode, changes, tiny_config, run_train, tmp_path,
                                                               data_dir, monkeypatch):
    tiny_config({"training.max_epochs": 3, **changes})
    res = run_train()
    assert res.returncode == 0, res.stderr
    run_dir = tmp_path / "runs" / "run_0001"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    with np.load(run_dir / "predictions.npz") as npz:
        assert sorted(npz.files) == ["test", "val"]
        val, test = npz["val"], npz["test"]
    targets = 7 if mode == "M" else 1
    assert val.dtype == test.dtype == np.float32
    assert val.shape == (VAL_WINDOWS, PRED, targets) and test.shape == (TEST_WINDOWS, PRED, targets)
    monkeypatch.setenv("NAS_DATA_DIR", str(data_dir))
    cfg = tiny_sections()
    cfg["data"]["mode"] = mode
    cfg["data"]["label_len"] = 0 if "model.family" in changes else 24  # what train.py loads for a decoder-less family
    assert mse(val, split_targets(cfg, "val")) == pytest.approx(metrics["val_mse"], rel=1e-6)
    assert mse(test, split_targets(cfg, "test")) == pytest.approx(metrics["test_mse"], rel=1e-6)
    # the best epoch's forecasts, not the last epoch's
    history = json.loads((run_dir / "history.json").read_text())["epochs"]
    assert metrics["val_mse"] == min(e["val_mse"] for e in history)
    assert (run_dir / "predictions.npz").stat().st_mtime_ns <= (run_dir / "metrics.json").stat().st_mtime_ns


# ---- the ensemble on crafted runs ----------------------------------------------------------

@pytest.fixture
def task(tmp_path, data_dir, monkeypatch):
    """A workspace with the tiny config (MS, OT, pred 12) and the actual values of its val and test windows."""
    monkeypatch.setenv("NAS_DATA_DIR", str(data_dir))
    cfg = tiny_sections()
    (tmp_path / "config.py").write_text(render_config(cfg))
    return {"ws": tmp_path, "val": split_targets(cfg, "val"), "test": split_targets(cfg, "test")}


def add_run(ws: Path, run_id: str, val: np.ndarray, test: np.ndarray | None, actual_val, actual_test, seed=7):
    """A finished run with the given forecasts (None: an older train.py that saved none), recorded."""
    d = ws / "runs" / run_id
    d.mkdir(parents=True)
    cfg = tiny_sections()
    cfg["seed"] = seed
    (d / "config_used.py").write_text(render_config(cfg))
    if test is not None:
        np.savez(d / "predictions.npz", val=val.astype(np.float32), test=test.astype(np.float32))
    (d / "metrics.json").write_text(json.dumps({
        "status": "ok", "val_mse": mse(val, actual_val), "val_mae": 0.1, "test_mse": 0.1 if test is None else mse(test, actual_test),
        "test_mae": 0.1, "train_mse": 0.1, "best_epoch": 1, "epochs_run": 1, "max_epochs": 2, "max_epochs_cap": None,
        "stopped_early": False, "train_time_s": 1.0, "n_params": 10, "device": "cpu", "seed": seed}))
    cli(ws, "record-run", "--run-id", run_id, "--info", json.dumps({"accepted": True, "kind": "baseline"}), check=0)


def pattern(shape, seed=0, scale=0.1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, scale, shape).astype(np.float32)


def weights(out) -> dict[str, float]:
    return {m["run_id"]: m["weight"] for m in out["members"]}


def test_the_weights_follow_validation_where_the_test_split_would_pick_others(task):
    ws, y, t = task["ws"], task["val"], task["test"]
    e = pattern(y.shape)
    bad_test = t + 0.5
    add_run(ws, "run_0000", y + e, bad_test, y, t)            # A
    add_run(ws, "run_0001", y - 1.01 * e, bad_test, y, t, seed=8)  # B: A and B together are almost exact on val
    add_run(ws, "run_0002", y + 1.5 * e, t, y, t, seed=9)     # C: the worst on val, exact on test
    _, out = cli(ws, "ensemble", check=0)
    # on test, C alone (test MSE 0) would win; on val the average of A and B is almost exact
    assert weights(out) == {"run_0000": 0.5, "run_0001": 0.5}
    assert out["steps"] == 2 and out["n_candidates"] == 3
    assert out["val_mse"] == pytest.approx(mse(0.005 * e, 0), rel=1e-3)
    assert out["test_mse"] == pytest.approx(0.25, rel=1e-5)  # reported, not used: worse than C's 0
    assert out["best_single"]["run_id"] == "run_0000"
    assert out["best_single"]["val_mse"] == pytest.approx(mse(e, 0), rel=1e-6)
    assert out["best_single"]["test_mse"] == pytest.approx(0.25, rel=1e-5)
    # other test forecasts change the test figures, never the choice
    for run_id, test in (("run_0000", t), ("run_0002", t + 3.0)):
        np.savez(ws / "runs" / run_id / "predictions.npz", val=np.load(ws / "runs" / run_id / "predictions.npz")["val"],
                 test=test.astype(np.float32))
    _, again = cli(ws, "ensemble", check=0)
    assert weights(again) == weights(out) and again["val_mse"] == out["val_mse"]
    assert again["test_mse"] == pytest.approx(mse((t + t + 0.5) / 2, t), rel=1e-5)
    state = json.loads((ws / "agent_state.json").read_text())
    (fidelity, rec), = state["ensembles"].items()
    assert fidelity == state["runs"][-1]["fidelity"] and weights(rec) == weights(out) and rec["test_mse"] == again["test_mse"]


def reference_greedy(forecasts: list[np.ndarray], actual: np.ndarray, steps: int) -> list[int]:
    """Caruana's loop written plainly: average the members' forecasts, try every addition."""
    counts = [0] * len(forecasts)
    total, best = np.zeros(actual.shape), math.inf
    for k in range(1, steps + 1):
        scores = [mse((total + f) / k, actual) for f in forecasts]
        j = int(np.argmin(scores))
        if not scores[j] < best * (1 - 1e-12):
            break
        counts[j], total, best = counts[j] + 1, total + f64(forecasts[j]), scores[j]
    return counts


def f64(x):
    return np.asarray(x, np.float64)


def test_greedy_selection_matches_the_plain_algorithm_and_reports_what_it_chose(task):
    ws, y, t = task["ws"], task["val"], task["test"]
    # five runs with different biases and noise: the greedy path mixes several with unequal counts
    forecasts = [y + pattern(y.shape, seed=i, scale=0.05 + 0.03 * i) + 0.04 * (i - 2) for i in range(5)]
    tests = [t + pattern(t.shape, seed=10 + i, scale=0.1) for i in range(5)]
    for i, (f, g) in enumerate(zip(forecasts, tests)):
        add_run(ws, f"run_{i:04d}", f, g, y, t, seed=7 + i)
    _, out = cli(ws, "ensemble", "--steps", "12", check=0)
    counts = reference_greedy(forecasts, y, 12)
    assert {m["run_id"]: m["count"] for m in out["members"]} == {f"run_{i:04d}": c for i, c in enumerate(counts) if c}
    assert len(out["members"]) >= 2 and out["steps"] == sum(counts) <= 12
    w = weights(out)
    assert sum(w.values()) == pytest.approx(1.0)
    ens_val = sum(w.get(f"run_{i:04d}", 0) * f64(f) for i, f in enumerate(forecasts))
    ens_test = sum(w.get(f"run_{i:04d}", 0) * f64(g) for i, g in enumerate(tests))
    assert out["val_mse"] == pytest.approx(mse(ens_val, y), rel=1e-6)
    assert out["test_mse"] == pytest.approx(mse(ens_test, t), rel=1e-6)
    singles = [mse(f, y) for f in forecasts]
    assert out["best_single"]["run_id"] == f"run_{int(np.argmin(singles)):04d}"
    assert out["val_mse"] < min(singles)


def test_the_forecast_csv_has_one_row_per_window_and_step_in_the_data_files_units(task, data_dir):
    ws, y, t = task["ws"], task["val"], task["test"]
    add_run(ws, "run_0000", y, t + 1.0, y, t)  # exact on val; on test one scaled unit too high
    csv = ws / "out" / "forecast.csv"
    code, out = cli(ws, "ensemble", "--forecast-csv", str(csv))
    assert code == 2 and "does not exist" in out["error"] and not csv.exists()  # no folder: one line, no file
    csv.parent.mkdir()
    _, out = cli(ws, "ensemble", "--forecast-csv", str(csv), check=0)
    assert out["forecast_csv"]["rows"] == TEST_WINDOWS * PRED and out["forecast_csv"]["path"] == str(csv)
    frame = pd.read_csv(csv)
    assert list(frame.columns) == ["window", "step", "date", "target", "forecast", "actual"]
    assert len(frame) == TEST_WINDOWS * PRED and set(frame["target"]) == {"OT"}
    raw = pd.read_csv(data_dir / "ETTh1.csv")
    rows = 600 + 300 + frame["window"] + frame["step"] - 1  # test window w forecasts rows 900 + w ...
    assert (frame["date"].to_numpy() == raw["date"].to_numpy()[rows]).all()
    assert frame["actual"].to_numpy() == pytest.approx(raw["OT"].to_numpy()[rows], rel=1e-6)
    # +1.0 on the scaled target is one train-rows sd of OT in its own units
    sd = raw["OT"].to_numpy()[:600].astype(np.float32).std()
    assert (frame["forecast"] - frame["actual"]).to_numpy() == pytest.approx(np.full(len(frame), sd), rel=1e-4)


def test_a_workspace_without_saved_forecasts_gets_one_clear_line(task):
    ws, y, t = task["ws"], task["val"], task["test"]
    add_run(ws, "run_0000", y, None, y, t)
    add_run(ws, "run_0001", y, None, y, t, seed=8)
    code, out = cli(ws, "ensemble")
    assert code == 2
    assert "none of the 2 finished runs" in out["error"] and "predictions.npz" in out["error"]
    assert "train.py" in out["error"] and "nas-graph run" in out["error"]
    assert "ensembles" not in json.loads((ws / "agent_state.json").read_text()) or \
        json.loads((ws / "agent_state.json").read_text())["ensembles"] == {}
    # a run of the library without forecasts is skipped and named, the others still ensemble
    add_run(ws, "run_0002", y + 0.1, t, y, t, seed=9)
    _, out = cli(ws, "ensemble", check=0)
    assert weights(out) == {"run_0002": 1.0}
    assert [s["run_id"] for s in out["skipped"]] == ["run_0000", "run_0001"]


def test_an_ensemble_is_no_run_for_the_incumbent_the_history_or_the_report(task):
    ws, y, t = task["ws"], task["val"], task["test"]
    add_run(ws, "run_0000", y + 0.2, t, y, t)
    add_run(ws, "run_0001", y - 0.2, t, y, t, seed=8)
    before = json.loads((ws / "agent_state.json").read_text())
    _, out = cli(ws, "ensemble", check=0)
    after = json.loads((ws / "agent_state.json").read_text())
    for key in ("runs", "best_run_id", "configs", "noise", "fidelity"):
        assert after[key] == before[key]
    # a later write of the state keeps it
    add_run(ws, "run_0002", y + 0.3, t, y, t, seed=9)
    kept = json.loads((ws / "agent_state.json").read_text())
    assert kept["ensembles"] == after["ensembles"] and len(kept["runs"]) == 3
    _, report = cli(ws, "report", check=0)
    md = Path(report["md"]).read_text()
    assert report["runs"] == 3 and "## Ensemble" in md
    section = md.split("## Ensemble")[1].split("\n## ")[0]
    assert f"val_mse {out['val_mse']:.4f}" in section and "run_0000" in section
    assert f"test_mse (held out) {out['test_mse']:.4f}" in section
    assert section.count("test_mse") == section.count("test_mse (held out)")  # test figures only where labelled
