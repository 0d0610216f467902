"""A run's saved forecasts, ``runs/<id>/predictions.npz``, and the actual values they are scored on.

The file holds two float32 arrays, ``val`` and ``test``, each [windows, pred_len, targets]: the
forecasts of the run's best-epoch weights for every window of the split, in window order, on the
forecast target columns, scaled like the metrics (so their MSE against ``actuals`` is
metrics.json's val_mse / test_mse). train.py writes it (``save``) before metrics.json, atomically.

The actual values are not saved per run: they are rebuilt from the data through the workspace's
data.py (``baselines.load_task``, the rows and scaling train.py uses). With the standard borders
the val and test windows forecast the same rows whatever the seq_len: window i of a split
forecasts rows [start + i, start + i + pred_len), start being the split's first row
(train_size for val, train_size + val_size for test), so every run of one task is scored on
the same actual values. numpy is imported lazily (the CLI's other commands stay light).
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILE = "predictions.npz"
SPLITS = ("val", "test")


class PredictionsError(ValueError):
    """A predictions file cannot be used (one line: cause; fix)."""


def save(run_dir: str | Path, val: list, test: list) -> Path:
    """Write the forecasts of every val and test window (lists of [B, pred_len, targets] tensor
    batches, in window order) as float32 to run_dir/predictions.npz, atomically."""
    import numpy as np
    import torch

    arrays = {name: torch.cat(batches).float().cpu().numpy() for name, batches in (("val", val), ("test", test))}
    path = Path(run_dir) / FILE
    fd, tmp = tempfile.mkstemp(prefix=f".{FILE}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load(run_dir: str | Path, splits: tuple[str, ...] = SPLITS) -> dict[str, Any] | None:
    """{split: float32 array} of run_dir/predictions.npz; None when the run has no such file."""
    import numpy as np

    path = Path(run_dir) / FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [s for s in splits if s not in npz.files]
            if missing:
                raise PredictionsError(f"{path} has no {', '.join(missing)} array")
            return {s: np.asarray(npz[s], dtype=np.float32) for s in splits}
    except PredictionsError:
        raise
    except Exception as exc:  # a truncated or foreign file: zipfile, numpy and OS errors alike
        raise PredictionsError(f"{path} is unreadable ({type(exc).__name__}: {exc})") from None


@dataclass
class Actuals:
    """The actual values of one split's forecast windows."""

    scaled: Any      # [windows, pred_len, targets] float32, as train.py's targets (the metrics' scale)
    original: Any    # the same values in the data file's units
    dates: Any       # [windows, pred_len] datetime64: the date of each forecast target
    columns: list[str]


def actuals(task, split: str) -> Actuals:
    """The actual values of ``split`` ("val" or "test") for a ``baselines.TaskData``."""
    import numpy as np

    train, val, test = task.sizes
    start, rows = {"val": (train, val), "test": (train + val, test)}[split]
    pred_len = task.cfg["pred_len"]
    n = rows - pred_len + 1
    if n < 1:
        raise PredictionsError(f"the {split} split ({rows} rows) is shorter than pred_len {pred_len}; raise data.{split}_size")
    index = start + np.arange(n)[:, None] + np.arange(pred_len)[None, :]  # [W, T]
    cols = slice(len(task.columns) - task.n_out, None)
    dates = task.dates.to_numpy().astype("datetime64[s]")
    return Actuals(np.asarray(task.scaled[:, cols][index], dtype=np.float32),
                   np.asarray(task.values[:, cols][index], dtype=np.float64), dates[index], task.target_columns)


def unscale(task, scaled):
    """Forecasts on the target columns back in the data file's units (the inverse of the train-rows scaler)."""
    import numpy as np

    if task.scaler is None:
        return np.asarray(scaled, dtype=np.float64)
    cols = slice(len(task.columns) - task.n_out, None)
    mean = np.asarray(task.scaler.mean, dtype=np.float64)[cols]
    std = np.asarray(task.scaler.std, dtype=np.float64)[cols]
    return np.asarray(scaled, dtype=np.float64) * std + mean
