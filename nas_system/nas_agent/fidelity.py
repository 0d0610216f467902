"""Which runs are comparable: the task a config forecasts, and the fidelity it was trained at.

- The **task** is what val_mse measures: the data file, the mode, the target, pred_len, the
  split sizes and the scaling. Two runs of different tasks are never compared.
- seq_len and label_len are search keys, not part of the task: with the standard borders
  (data.split_borders) the val windows forecast the same target rows for any seq_len, so
  their val_mse stay comparable.
- The **fidelity** is the task plus the epoch cap a run trained under (the effective
  max_epochs): a 1-epoch run and a 20-epoch run are not compared as equals.

Read from a config file through its AST (stdlib only, nothing is imported or executed).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .config_edit import ConfigEditError, NotLiteral, literal_at, locate, node_value, parse_config


class FidelityError(ValueError):
    """The task of a config cannot be read (one line: cause; fix)."""


def _data_section(config_path: str | Path) -> dict[str, Any]:
    cfg = parse_config(config_path)
    try:
        node, _, _ = locate(cfg, "data")
        data = node_value(node) if node is not None else None
    except (ConfigEditError, NotLiteral) as exc:
        raise FidelityError(f"{config_path}: the data section is not a literal dict ({exc}); "
                            "write it as data = {...}") from None
    if not isinstance(data, dict):
        raise FidelityError(f"{config_path} has no module-level data = {{...}} dict; add one")
    return data


def task_of(data: dict[str, Any]) -> dict[str, Any]:
    """The task of a config's data section (see the module docstring)."""
    path = str(data.get("data_path", ""))
    name = Path(urlparse(path).path).name if urlparse(path).scheme in ("http", "https") else Path(path).name
    return {
        "data_file": name,
        "mode": data.get("mode", "MS"),
        "target": data.get("target"),
        "pred_len": data.get("pred_len"),
        "splits": [data.get("train_size"), data.get("val_size"), data.get("test_size")],
        "scale": data.get("scale", True),
    }


def task_key(task: dict[str, Any]) -> str:
    """A short, stable text key of a task, e.g. ``ETTh1.csv MS OT->96 8640/2880/2880``."""
    splits = "/".join(str(s) for s in task.get("splits", []))
    key = f"{task.get('data_file')} {task.get('mode')} {task.get('target')}->{task.get('pred_len')} {splits}"
    return key if task.get("scale", True) else key + " unscaled"


def fidelity_key(task: dict[str, Any], max_epochs: int | None) -> str:
    """The task key plus the epoch cap, e.g. ``ETTh1.csv MS OT->96 8640/2880/2880 @3ep``."""
    return f"{task_key(task)} @{max_epochs if max_epochs is not None else '?'}ep"


def config_task(config_path: str | Path) -> dict[str, Any]:
    """The task of a config file, read through its AST."""
    return task_of(_data_section(config_path))


def config_max_epochs(config_path: str | Path) -> int | None:
    """training.max_epochs of a config file (AST), or None when it is not a literal int."""
    value = literal_at(config_path, "training.max_epochs")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def effective_epochs(config_epochs: int | None, cap: int | None) -> int | None:
    """The epoch budget a training runs under: the config's max_epochs, capped by --max-epochs."""
    if config_epochs is None:
        return cap
    return config_epochs if cap is None else min(config_epochs, cap)


def config_fidelity(config_path: str | Path, cap: int | None) -> tuple[dict[str, Any], str]:
    """(task, fidelity key) of a config file trained under the epoch cap ``cap``."""
    task = config_task(config_path)
    return task, fidelity_key(task, effective_epochs(config_max_epochs(config_path), cap))
