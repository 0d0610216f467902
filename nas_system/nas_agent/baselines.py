"""Naive baselines of a task: persistence and seasonal naive, on train.py's windows and scaling.

- **persistence** repeats the last observed value over the whole horizon;
- **seasonal naive** repeats the last ``period`` observed steps, where the period is one day in
  steps of the data (24 for hourly data, 96 for 15-minute data; a week of 7 for daily data).

Both are scored exactly like train.py scores a model: the data file, columns, split borders and
the scaler (fitted on the train rows) come from the workspace's own data.py; the windows are
the val and test windows train.py forecasts (their targets do not depend on seq_len: the splits
start seq_len rows early), and the MSE is over the forecast target columns on scaled data.
Only numpy does the arithmetic; reading the data goes through data.py (which imports torch).
numpy is imported lazily, so importing this module stays light for the CLI's other commands.
"""
from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from typing import Any

from .config_edit import ConfigEditError
from .fidelity import FidelityError, _data_section, task_key, task_of

INSTALLED_DATA_PY = Path(__file__).resolve().parent.parent / "data.py"


class BaselineError(ValueError):
    """The task's data cannot be read (one line: cause; fix)."""


def _data_module(workspace: Path):
    """The workspace's data.py (what train.py uses there), else the installed one."""
    path = workspace / "data.py" if (workspace / "data.py").is_file() else INSTALLED_DATA_PY
    name = f"_nas_data_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def period_of(dates) -> int:
    """Steps per day of a date column (the daily period); 7 (a week) for daily or coarser data."""
    import numpy as np

    step = float(np.median(np.diff(dates.to_numpy().astype("datetime64[s]").astype(np.int64))))
    per_day = round(86400 / step) if step > 0 else 0
    return per_day if per_day >= 2 else 7


def naive_mse(split, context: int, pred_len: int, period: int) -> tuple[float, float]:
    """(persistence MSE, seasonal-naive MSE) over every window of one split.

    ``split``: scaled rows of the split's target columns [N, C], starting ``context`` rows before
    the first forecast target (context >= period)."""
    import numpy as np

    n = len(split) - context - pred_len + 1
    if n < 1:
        raise BaselineError(f"the split has no window of {context} + {pred_len} rows; raise the split sizes")
    starts = np.arange(n)[:, None]                                   # [W, 1]
    horizon = np.arange(pred_len)[None, :]                           # [1, T]
    target = split[starts + context + horizon]                       # [W, T, C]
    last = split[starts + context - 1]                               # [W, 1, C]
    seasonal = split[starts + context - period + horizon % period]  # [W, T, C]
    return float(np.mean((target - last) ** 2)), float(np.mean((target - seasonal) ** 2))


def compute(config_path: str | Path, workspace: str | Path) -> dict[str, Any]:
    """``{task, persistence: {val_mse, test_mse}, seasonal_naive: {val_mse, test_mse}, period}``."""
    import numpy as np

    workspace = Path(workspace)
    try:
        cfg = _data_section(config_path)
    except (FidelityError, ConfigEditError) as exc:
        raise BaselineError(str(exc)) from None
    data = _data_module(workspace)
    try:
        path = data.resolve_data_file(cfg["data_path"], workspace)
        mode = cfg.get("mode", "MS")
        columns = data.mode_columns(list(cfg["features"]), cfg["target"], mode)
        values, _ = data.read_csv(path, columns)
        import pandas as pd
        dates = pd.to_datetime(pd.read_csv(path, usecols=["date"])["date"])
    except data.DataError as exc:
        raise BaselineError(str(exc)) from None
    except KeyError as exc:
        raise BaselineError(f"{config_path}: data.{exc.args[0]} is missing; add it") from None
    n_out = len(columns) if mode == "M" else 1
    sizes = cfg["train_size"], cfg["val_size"], cfg["test_size"]
    if sum(sizes) > len(values):
        raise BaselineError(f"train_size + val_size + test_size = {sum(sizes)} exceeds the {len(values)} rows "
                            f"of {Path(path).name}; lower the split sizes")
    period = period_of(dates)
    if sizes[0] < period:
        raise BaselineError(f"train_size {sizes[0]} is shorter than one period ({period} steps); raise it")
    scaled = data.StandardScaler(values[:sizes[0]]).transform(values) if cfg.get("scale", True) else values
    out: dict[str, Any] = {"task": task_of(cfg), "period": period, "persistence": {}, "seasonal_naive": {}}
    for name, (a, b) in zip(("val", "test"), data.split_borders(*sizes, period)[1:]):
        persistence, seasonal = naive_mse(np.asarray(scaled[a:b, -n_out:], dtype=np.float64), period,
                                          cfg["pred_len"], period)
        out["persistence"][f"{name}_mse"] = persistence
        out["seasonal_naive"][f"{name}_mse"] = seasonal
    return out


def key_of(config_path: str | Path) -> str:
    """The task key of a config (AST only, nothing imported)."""
    try:
        return task_key(task_of(_data_section(config_path)))
    except (FidelityError, ConfigEditError) as exc:
        raise BaselineError(str(exc)) from None
