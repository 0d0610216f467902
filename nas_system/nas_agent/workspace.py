"""One workspace (``--system-dir``): its paths, and reading its JSON files and arguments."""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from .helper_errors import CliError
from .search_space import load_space, resolve_space_path

SAFE_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class Workspace:
    """Paths of one workspace (``--system-dir``)."""

    def __init__(self, args: argparse.Namespace):
        self.dir = Path(args.system_dir)
        if not self.dir.is_dir():
            raise CliError(f"system dir {self.dir} does not exist: pass --system-dir pointing at your nas_system folder")
        self.space_override = args.space
        self.state_path = self.dir / "agent_state.json"
        self.runs_dir = self.dir / "runs"

    def space(self):
        return load_space(resolve_space_path(self.dir, self.space_override))

    def config(self, override: str | None) -> Path:
        return Path(override) if override else self.dir / "config.py"

    def run_dir(self, run_id: str) -> Path:
        if not SAFE_ID_RE.match(run_id):
            raise CliError(f"bad run id {run_id!r}: use the form run_0001")
        return self.runs_dir / run_id


def json_arg(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{what} is not valid JSON ({exc.msg} at char {exc.pos}): pass a JSON string") from None


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CliError(f"{path} is unreadable ({exc}): the run's files are damaged; re-run it or record it as failed") from None
    if not isinstance(data, dict):
        raise CliError(f"{path} is not a JSON object: the run's files are damaged")
    return data
