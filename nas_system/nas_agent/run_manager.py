"""Run directories: runs/run_XXXX/, and the byte-for-byte config snapshot."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from .logging_utils import FAILURE, METRICS

TAG_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class RunDirError(Exception):
    """The run directory cannot be used; the message is one line: cause; fix."""


def ensure_runs_root(root="runs") -> Path:
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    return root


def get_run_dir(tag: str, root="runs") -> Path:
    """Path of the run dir for tag (not created). The tag must be a plain name."""
    if not TAG_PATTERN.match(tag or ""):
        raise RunDirError(f"run tag {tag!r} is not a plain name; use e.g. run_0001")
    return Path(root) / tag


def prepare_run_dir(tag: str, root="runs") -> Path:
    """Create a fresh run dir. A finished run (metrics.json or failure.json) is never
    overwritten; an incomplete leftover (neither file) is cleared."""
    run_dir = get_run_dir(tag, root)
    for name in (METRICS, FAILURE):
        if (run_dir / name).exists():
            raise RunDirError(f"{run_dir} already holds a finished run ({name}); use a new --tag")
    if run_dir.exists():
        shutil.rmtree(run_dir)
    ensure_runs_root(root)
    run_dir.mkdir()
    return run_dir


def snapshot_config(config_path, run_dir) -> Path:
    """Copy the config file byte for byte to run_dir/config_used.py (atomically)."""
    dest = Path(run_dir) / "config_used.py"
    fd, tmp = tempfile.mkstemp(prefix=".config_used.", suffix=".tmp", dir=run_dir)
    os.close(fd)
    try:
        shutil.copyfile(config_path, tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest
