"""The checks before a search records anything (``preflight``, ``begin-search --preflight``).

In the order they are reported: the interpreter's packages (env_check), agent_state.json reads, the search space, that
config.py parses (AST only), then ``train.py --check`` run by the interpreter the trainings use
(its torch import is the only heavy part, in its own process). Each check's outcome is returned as
data; TypeScript words the user's one line (src/preflight.ts). Nothing is written.
"""
from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any, Callable

from .agent_state import AgentStateError, load_agent_state
from .config_edit import ConfigEditError, read_values
from .env_check import check_env
from .search_space import SpaceError, load_space, resolve_space_path

TRAIN_CHECK_TIMEOUT_S = 300


def preflight(workspace: Path, space_override: str | None, config: Path, *, python: str | None,
              parse_config: bool, while_checking: Callable[[], Any] | None = None) -> dict[str, Any]:
    """``{ok, env, state_error?, space?, space_path?, space_error?, config_error?, train_check?}``: later checks
    are skipped once one fails (a missing package makes every later error misleading).
    ``while_checking`` is called as train.py --check starts (the helper's warm-up, warm_up.py)."""
    out: dict[str, Any] = {"ok": False, "env": check_env()}
    if out["env"]["missing"] or out["env"]["outdated"]:
        return out
    try:  # a corrupt agent_state.json: the helper's one line names the fix (the CLI relays it)
        load_agent_state(workspace / "agent_state.json")
    except AgentStateError as exc:
        return {**out, "state_error": str(exc)}
    try:
        path = resolve_space_path(workspace, space_override)
        space = load_space(path)
    except SpaceError as exc:
        return {**out, "space_error": str(exc)}
    out.update({"space_path": str(path), "space": space.raw})
    if parse_config:
        try:
            read_values(config, space)
        except (ConfigEditError, SpaceError) as exc:
            return {**out, "config_error": str(exc)}
    if python:
        out["train_check"] = train_check(workspace, python, while_checking)
        check = out["train_check"]
        if check.get("exit") != 0 or not str(check.get("stdout", "")).strip().startswith("config ok:"):
            return out
    return {**out, "ok": True}


def train_check(workspace: Path, python: str, while_checking: Callable[[], Any] | None = None) -> dict[str, Any]:
    """``python -u train.py --config config.py --check`` in the workspace: ``{exit, stdout, stderr}``,
    or ``{exit: None, error}`` when it cannot be run or runs past its timeout. ``while_checking`` runs
    once the child is started (never before: a thread alive at the fork would make preexec_fn unsafe)."""
    try:
        proc = subprocess.Popen([python, "-u", "train.py", "--config", "config.py", "--check"], cwd=workspace,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=_default_sigint)
    except OSError as exc:
        return {"exit": None, "error": f"{type(exc).__name__}: {exc.strerror or exc}"}
    if while_checking is not None:
        while_checking()
    try:
        stdout, stderr = proc.communicate(timeout=TRAIN_CHECK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"exit": None, "error": f"timed out after {TRAIN_CHECK_TIMEOUT_S} s"}
    return {"exit": proc.returncode, "stdout": stdout, "stderr": stderr}


def _default_sigint() -> None:
    """The helper ignores Ctrl-C (its parent ends it); the check it starts must not inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
