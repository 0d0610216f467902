"""Readers/writers of a run's JSON files (runs/run_XXXX/{metrics,history,failure}.json).

Every write is atomic (temp file in the same folder + os.replace), so a reader never sees
a half-written file; metrics.json's presence means the run is complete. Non-finite
floats are written as null, so the files stay valid JSON for any reader.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

METRICS, HISTORY, FAILURE = "metrics.json", "history.json", "failure.json"


def _finite(value):
    """Replace NaN/inf (at any depth) with None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_json_atomic(path, obj) -> None:
    path = Path(path)
    text = json.dumps(_finite(obj), indent=2, allow_nan=False)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def read_json(path):
    """The parsed file, or None when it does not exist."""
    path = Path(path)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def save_metrics(run_dir, metrics: dict) -> None:
    write_json_atomic(Path(run_dir) / METRICS, metrics)


def load_metrics(run_dir):
    return read_json(Path(run_dir) / METRICS)


def save_history(run_dir, history: dict) -> None:
    write_json_atomic(Path(run_dir) / HISTORY, history)


def load_history(run_dir):
    return read_json(Path(run_dir) / HISTORY)


def save_failure(run_dir, status: str, reason: str, epoch=None) -> None:
    """status: diverged | crashed | interrupted."""
    failure = {"status": status, "reason": reason}
    if epoch is not None:
        failure["epoch"] = epoch
    write_json_atomic(Path(run_dir) / FAILURE, failure)


def load_failure(run_dir):
    return read_json(Path(run_dir) / FAILURE)
