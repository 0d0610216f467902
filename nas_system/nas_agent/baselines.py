"""Naive baselines of a task: persistence and seasonal naive, on train.py's windows and scaling.

- **persistence** repeats the last observed value over the whole horizon;
- **seasonal naive** repeats the last ``period`` observed steps, where the period is one day in
  steps of the data (24 for hourly data, 96 for 15-minute data; a week of 7 for daily data).

Both are scored exactly like train.py scores a model: the data file, columns, split borders and
the scaler (fitted on the train rows) come from the workspace's own data.py; the windows are
the val and test windows train.py forecasts (their targets do not depend on seq_len: the splits
start seq_len rows early), and the MSE is over the forecast target columns on scaled data.
Only numpy does the arithmetic; reading the data goes through data.py (numpy and pandas; torch
only where it builds training windows).
numpy is imported lazily, so importing this module stays light for the CLI's other commands.
"""
from __future__ import annotations

import importlib.util
import sys
import uuid
from dataclasses import dataclass
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


@dataclass
class TaskData:
    """A task's rows as train.py reads and scales them (the val/test forecast targets follow from them)."""

    cfg: dict[str, Any]           # the config's data section
    columns: list[str]            # the model's columns, the forecast target(s) last
    n_out: int                    # how many of the last columns are forecast targets
    sizes: tuple[int, int, int]   # train, val, test rows
    values: Any                   # raw rows [N, C] in the data file's units (float32)
    scaled: Any                   # the same rows scaled as train.py scales them
    scaler: Any                   # data.StandardScaler fitted on the train rows, or None (scale False)
    dates: Any                    # pandas Series of the date column, one per row
    data: Any                     # the workspace's data.py module (split_borders, ...)

    @property
    def target_columns(self) -> list[str]:
        return self.columns[-self.n_out:]


def load_task(config_path: str | Path, workspace: str | Path) -> TaskData:
    """Read and scale the data of ``config_path``'s task through the workspace's data.py."""
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
        sizes = cfg["train_size"], cfg["val_size"], cfg["test_size"]
    except data.DataError as exc:
        raise BaselineError(str(exc)) from None
    except KeyError as exc:
        raise BaselineError(f"{config_path}: data.{exc.args[0]} is missing; add it") from None
    if sum(sizes) > len(values):
        raise BaselineError(f"train_size + val_size + test_size = {sum(sizes)} exceeds the {len(values)} rows "
                            f"of {Path(path).name}; lower the split sizes")
    scaler = data.StandardScaler(values[:sizes[0]]) if cfg.get("scale", True) else None
    scaled = scaler.transform(values) if scaler is not None else values
    return TaskData(cfg, columns, len(columns) if mode == "M" else 1, sizes, values, scaled, scaler, dates, data)


def compute(config_path: str | Path, workspace: str | Path) -> dict[str, Any]:
    """``{task, persistence: {val_mse, test_mse}, seasonal_naive: {val_mse, test_mse}, period}``."""
    import numpy as np

    t = load_task(config_path, workspace)
    period = period_of(t.dates)
    if t.sizes[0] < period:
        raise BaselineError(f"train_size {t.sizes[0]} is shorter than one period ({period} steps); raise it")
    out: dict[str, Any] = {"task": task_of(t.cfg), "period": period, "persistence": {}, "seasonal_naive": {}}
    for name, (a, b) in zip(("val", "test"), t.data.split_borders(*t.sizes, period)[1:]):
        persistence, seasonal = naive_mse(np.asarray(t.scaled[a:b, -t.n_out:], dtype=np.float64), period,
                                          t.cfg["pred_len"], period)
        out["persistence"][f"{name}_mse"] = persistence
        out["seasonal_naive"][f"{name}_mse"] = seasonal
    return out


def key_of(config_path: str | Path) -> str:
    """The task key of a config (AST only, nothing imported)."""
    try:
        return task_key(task_of(_data_section(config_path)))
    except (FidelityError, ConfigEditError) as exc:
        raise BaselineError(str(exc)) from None
