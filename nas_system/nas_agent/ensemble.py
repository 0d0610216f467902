"""The final model: a weighted ensemble of a fidelity's runs, selected on validation MSE only.

Greedy ensemble selection with replacement (Caruana et al. 2004, "Ensemble selection from
libraries of models"): start empty; at each step add, with replacement, the run whose addition
most lowers the validation MSE of the averaged forecast; stop after ``steps`` additions or when
no addition lowers it. A run's weight is the number of times it was added over the additions
made. The library is every ok run of the fidelity that saved its forecasts (predictions.npz):
seeds and rejected configs included, since a weaker model can still correct a stronger one.

The test split never enters the selection: only the chosen weights are applied to the saved test
forecasts, and the held-out test MSE is reported next to the best single run's. The val MSE of the
ensemble is measured on the data its weights were fitted on (so is the best single run's, picked
on it), so the held-out test MSE is the figure to compare.

The selection works on the Gram matrix of the runs' val errors (G[i, j] = sum of e_i * e_j over
every window, step and target): the squared error of any weighted average is then a quadratic
form in the counts, so each step costs O(runs^2) whatever the number of windows.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import agent_state as st
from . import baselines, fidelity as fid, predictions
from .predictions import PredictionsError

DEFAULT_STEPS = 50
METHOD = "greedy ensemble selection with replacement on val MSE (Caruana et al. 2004)"
CHUNK = 1 << 16  # columns of the error matrix per Gram update (bounds the float64 copy)


class EnsembleError(ValueError):
    """No ensemble can be built (one line: cause; fix)."""


def greedy(gram, n_elems: int, steps: int) -> list[int]:
    """Counts per run after greedy selection with replacement on the Gram matrix of val errors.

    The averaged forecast of members with counts c (k = sum c) has squared error
    c.G.c / k^2; adding run j gives (c.G.c + 2 (G c)_j + G_jj) / (k + 1)^2. Ties go to the
    earlier run. Stops when no addition lowers the MSE (by more than rounding)."""
    import numpy as np

    m = gram.shape[0]
    counts = np.zeros(m, dtype=np.int64)
    current = math.inf
    for k in range(steps):
        g_c = gram @ counts
        sse = (counts @ g_c + 2 * g_c + np.diag(gram)) / (k + 1) ** 2
        j = int(np.argmin(sse))
        mse = float(sse[j]) / n_elems
        if not mse < current * (1 - 1e-12):
            break
        counts[j] += 1
        current = mse
    return counts.tolist()


def _gram(errors):
    """E E^T in float64 for a float32 error matrix [runs, elements], a slab of columns at a time."""
    import numpy as np

    m, n = errors.shape
    gram = np.zeros((m, m), dtype=np.float64)
    for a in range(0, n, CHUNK):
        block = errors[:, a:a + CHUNK].astype(np.float64)
        gram += block @ block.T
    return gram


def _mse(forecast, actual) -> float:
    import numpy as np

    return float(np.mean((np.asarray(forecast, dtype=np.float64) - actual) ** 2))


def _library(ws_dir: Path, candidates: list[st.RunInfo], actual_val, test_shape: tuple):
    """(runs, errors, skipped): the candidates whose val and test forecasts are readable and of the
    task's shapes, their val errors (forecast - actual) as a float32 matrix [runs, elements] filled
    row by row (no second copy of the library), and the others as [{run_id, reason}]."""
    import numpy as np

    shapes = {"val": actual_val.shape, "test": test_shape}
    y = actual_val.reshape(-1)
    errors = np.empty((len(candidates), y.size), dtype=np.float32)
    runs, skipped = [], []
    for run in candidates:
        try:
            got = predictions.load(ws_dir / "runs" / run.run_id)
        except PredictionsError as exc:
            skipped.append({"run_id": run.run_id, "reason": str(exc)})
            continue
        if got is None:
            skipped.append({"run_id": run.run_id, "reason": f"no {predictions.FILE} (trained by an older train.py)"})
            continue
        wrong = [f"{s} forecasts of shape {list(got[s].shape)}, not {list(shape)}" for s, shape in shapes.items()
                 if got[s].shape != shape]
        if wrong:
            skipped.append({"run_id": run.run_id, "reason": "; ".join(wrong)})
            continue
        np.subtract(got["val"].reshape(-1), y, out=errors[len(runs)])
        runs.append(run)
    return runs, errors[:len(runs)], skipped


def _config_of(ws_dir: Path, runs: list[st.RunInfo]) -> Path:
    """A config file of the fidelity's task: the first run's snapshot that exists."""
    for run in runs:
        used = ws_dir / "runs" / run.run_id / "config_used.py"
        if used.is_file():
            return used
    raise EnsembleError("no run of this fidelity has its runs/<id>/config_used.py; the task's data cannot be read")


def select(ws_dir: str | Path, state: st.AgentState, steps: int = DEFAULT_STEPS) -> tuple[dict[str, Any], Any]:
    """Select the ensemble of the current fidelity; returns (its record, the task data) without saving."""
    import numpy as np

    ws_dir = Path(ws_dir)
    if steps < 1:
        raise EnsembleError(f"--steps must be >= 1, got {steps}")
    fidelity = state.current_fidelity()
    if not state.runs:
        raise EnsembleError("no runs recorded yet; start a search with 'nas-graph run' first")
    if fidelity is None:
        raise EnsembleError("the recorded runs have no fidelity (an agent_state.json of an older nas-graph); "
                            "train runs the ensemble can use with 'nas-graph run'")
    ok = [r for r in state.runs if r.fidelity == fidelity and r.status == "ok" and _finite(r.val_mse)]
    if not ok:
        raise EnsembleError(f"no finished run at the fidelity {fidelity}; train some with 'nas-graph run'")
    try:
        task = baselines.load_task(_config_of(ws_dir, ok), ws_dir)
        val_actual = predictions.actuals(task, "val")
        test_actual = predictions.actuals(task, "test")
    except (baselines.BaselineError, PredictionsError) as exc:
        raise EnsembleError(f"cannot read the task's actual values: {exc}") from None
    runs, errors, skipped = _library(ws_dir, ok, val_actual.scaled, test_actual.scaled.shape)
    if not runs:
        first = skipped[0]
        raise EnsembleError(
            f"none of the {len(ok)} finished runs at the fidelity {fidelity} has usable saved forecasts "
            f"(runs/<id>/{predictions.FILE}; {first['run_id']}: {first['reason']}): train runs with the current "
            "nas_system/train.py (copy it into the workspace if yours is older), e.g. 'nas-graph run'")
    y = val_actual.scaled.reshape(-1)
    gram = _gram(errors)
    counts = greedy(gram, y.size, steps)
    made = sum(counts)
    chosen = sorted((i for i, c in enumerate(counts) if c), key=lambda i: -counts[i])  # stable: ties in run order
    weights = {i: counts[i] / made for i in chosen}
    val_error = sum(w * errors[i].astype(np.float64) for i, w in weights.items())
    test_forecast = sum(w * _test_forecasts(ws_dir, runs[i], test_actual.scaled.shape).astype(np.float64)
                        for i, w in weights.items())
    single = int(np.argmin(np.diag(gram)))  # the best single run on val (the first greedy pick)
    record = {
        "fidelity": fidelity,
        "task_key": fid.task_key(fid.task_of(task.cfg)),
        "method": METHOD,
        "members": [{"run_id": runs[i].run_id, "weight": weights[i], "count": counts[i]} for i in chosen],
        "steps": made,
        "max_steps": steps,
        "val_mse": float(np.mean(val_error ** 2)),
        "test_mse": _mse(test_forecast, test_actual.scaled),  # held out: computed after the weights are fixed
        "best_single": {"run_id": runs[single].run_id, "val_mse": float(gram[single, single]) / y.size,
                        "test_mse": _mse(_test_forecasts(ws_dir, runs[single], test_actual.scaled.shape), test_actual.scaled)},
        "n_candidates": len(runs),
        "skipped": skipped,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return record, (task, test_actual, test_forecast)


def _test_forecasts(ws_dir: Path, run: st.RunInfo, shape: tuple):
    try:
        got = predictions.load(ws_dir / "runs" / run.run_id, ("test",))
    except PredictionsError as exc:
        raise EnsembleError(f"{exc}; move the run dir aside and build the ensemble again") from None
    if got is None or got["test"].shape != shape:
        raise EnsembleError(f"runs/{run.run_id}/{predictions.FILE} has no test forecasts of shape {list(shape)}; "
                            "move the run dir aside and build the ensemble again")
    return got["test"]


def write_forecast_csv(path: str | Path, task, actual: predictions.Actuals, forecast) -> dict[str, Any]:
    """The ensemble's test forecast as CSV, one row per window, step and target column, in the
    data file's units (the train-rows scaler undone): window, step, date, target, forecast, actual."""
    import numpy as np
    import pandas as pd

    path = Path(path)
    w, t, c = actual.scaled.shape
    frame = pd.DataFrame({
        "window": np.repeat(np.arange(w), t * c),
        "step": np.tile(np.repeat(np.arange(1, t + 1), c), w),
        "date": np.repeat(actual.dates.reshape(-1), c),
        "target": np.tile(np.asarray(actual.columns, dtype=object), w * t),
        "forecast": predictions.unscale(task, forecast).reshape(-1),
        "actual": actual.original.reshape(-1),
    })
    if not path.parent.is_dir():
        raise EnsembleError(f"cannot write {path}: the folder {path.parent} does not exist; create it or pass another path")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        frame.to_csv(tmp, index=False, float_format="%.7g", date_format="%Y-%m-%d %H:%M:%S")
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise EnsembleError(f"cannot write {path} ({exc.strerror}); pass a writable path") from None
    return {"path": str(path.resolve()), "rows": len(frame), "windows": w, "steps": t, "targets": actual.columns,
            "units": "the data file's units (the train-rows scaler undone)"}


def build(ws_dir: str | Path, state_path: str | Path, steps: int = DEFAULT_STEPS,
          forecast_csv: str | Path | None = None) -> dict[str, Any]:
    """Select the current fidelity's ensemble, record it in agent_state.json (``ensembles``), and
    write its test forecast as CSV when asked."""
    state = st.load_agent_state(state_path)
    record, (task, test_actual, test_forecast) = select(ws_dir, state, steps)
    state = st.load_agent_state(state_path)  # re-read: the selection took seconds
    state.ensembles[record["fidelity"]] = record
    st.save_agent_state(state, state_path)
    out = dict(record)
    if forecast_csv is not None:
        out["forecast_csv"] = write_forecast_csv(forecast_csv, task, test_actual, test_forecast)
    return out


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
