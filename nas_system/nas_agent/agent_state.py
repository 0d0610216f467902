"""Global search state: agent_state.json (the only writer of that file).

``{max_runs, best_run_id, fidelity, runs: [RunInfo], configs, noise, baselines, ensembles, ...}``. Fields this code
does not know are kept (top level and per run). Derived on every write (config_stats.py):
``configs`` (the seeds of each config pooled: mean and sd of val_mse), ``noise`` (the
seed-to-seed spread per fidelity) and ``best_run_id``: the first run of the accepted config
with the lowest MEAN val_mse at the current ``fidelity`` (set when a search begins), never the
luckiest single seed. Writes are atomic; a corrupt file is an error, never a silent reset.
"""
from __future__ import annotations

import errno
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import config_stats

DEFAULT_MAX_RUNS = 50
STATUSES = ("ok", "failed", "diverged", "crashed", "interrupted", "timeout", "invalid")
KINDS = ("baseline", "proposal", "repeat")
DERIVED = ("configs", "noise", "verdicts")  # recomputed on every write, never read back


class AgentStateError(ValueError):
    """agent_state.json cannot be read or an update is inconsistent (one line, with the fix)."""


@dataclass
class RunInfo:
    """One training run as the search saw it."""

    run_id: str
    val_mse: float | None = None
    test_mse: float | None = None
    history_summary: str | None = None
    accepted: bool = False
    config_changes: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"
    step_type: str | None = None
    plan: str | None = None
    reason: str | None = None
    evaluation_reason: str | None = None
    feedback: str | None = None
    train_mse: float | None = None
    test_mae: float | None = None
    best_epoch: int | None = None
    epochs_run: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    planner: str | None = None
    error: str | None = None
    search_id: str | None = None
    created_at: str | None = None
    # seed repeats: runs of one config share config_id; repeat_of is the config's first run
    config_id: str | None = None
    repeat_of: str | None = None
    seed: int | None = None
    kind: str | None = None  # baseline | proposal | repeat
    family: str | None = None
    # comparability: the data task and the fidelity (task + epoch cap), see fidelity.py
    task: dict[str, Any] | None = None
    fidelity: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunInfo":
        """Build from JSON; unknown fields go to ``extra`` and are written back as they were."""
        if not isinstance(data, dict) or not isinstance(data.get("run_id"), str) or not data["run_id"]:
            raise AgentStateError(f"run entry without a string run_id: {str(data)[:80]}")
        known = {f.name for f in fields(cls)} - {"extra"}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["extra"] = {k: v for k, v in data.items() if k not in known}
        run = cls(**kwargs)
        run.config_changes = changes_to_dict(run.config_changes)
        run.params = dict(run.params or {})
        return run

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        for k, v in self.extra.items():
            out.setdefault(k, v)
        return out


@dataclass
class AgentState:
    """The whole agent_state.json."""

    max_runs: int = DEFAULT_MAX_RUNS
    best_run_id: str | None = None
    runs: list[RunInfo] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    fidelity: str | None = None  # of the current search; best_run_id is chosen among its runs
    # task key -> {task, period, persistence: {val_mse, test_mse}, seasonal_naive: {val_mse, test_mse}}
    # (nas_agent.baselines; computed once per task)
    baselines: dict[str, Any] = field(default_factory=dict)
    # fidelity -> the last ensemble selected at it (nas_agent.ensemble): {members: [{run_id, weight,
    # count}], val_mse, test_mse (held out), best_single, ...}. Kept apart from ``runs``: an ensemble
    # is no trained config, so the incumbent, Optuna's history and the noise never see it.
    ensembles: dict[str, Any] = field(default_factory=dict)

    def find(self, run_id: str) -> RunInfo | None:
        return next((r for r in self.runs if r.run_id == run_id), None)

    def stats(self) -> tuple[list[config_stats.ConfigStats], dict[str, dict[str, Any]]]:
        """Per-config statistics with their noise estimates, and the noise per fidelity (derived,
        see config_stats.py); computed once per call, so a caller needing both asks once."""
        table = config_stats.config_table(self.runs)
        return table, config_stats.noise_table(table)

    def configs(self) -> list[config_stats.ConfigStats]:
        return self.stats()[0]

    def config_of(self, run_id: str, table: list[config_stats.ConfigStats] | None = None) -> config_stats.ConfigStats | None:
        run = self.find(run_id)
        key = config_stats.group_key(run) if run else None
        configs = table if table is not None else self.configs()
        return next((c for c in configs if c.key == key), None)

    def current_fidelity(self) -> str | None:
        """The current search's fidelity; before any search began, the last run's."""
        if self.fidelity is not None or not self.runs:
            return self.fidelity
        return self.runs[-1].fidelity

    def incumbent(self, table: list[config_stats.ConfigStats] | None = None) -> config_stats.ConfigStats | None:
        return config_stats.incumbent(self.runs, table if table is not None else self.configs(), self.current_fidelity())

    def to_dict(self) -> dict[str, Any]:
        table, noise = self.stats()
        out = {"max_runs": self.max_runs, "best_run_id": self.best_run_id, "fidelity": self.fidelity,
               "runs": [r.to_dict() for r in self.runs], "configs": [c.to_dict() for c in table], "noise": noise,
               "verdicts": config_stats.run_labels(self.runs),
               "baselines": self.baselines, "ensembles": self.ensembles}
        for k, v in self.extra.items():
            out.setdefault(k, v)
        return out


def changes_to_dict(changes: Any) -> dict[str, Any]:
    """config_changes as ``{key: value}``; accepts that or ``[{key, value}]``."""
    if changes is None:
        return {}
    if isinstance(changes, dict):
        return dict(changes)
    if isinstance(changes, list) and all(isinstance(c, dict) and "key" in c and "value" in c for c in changes):
        return {c["key"]: c["value"] for c in changes}
    raise AgentStateError("config_changes must be {key: value} or [{key, value}]")


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _rebuild(path: Path) -> str:
    return f"rebuild it from the runs with 'nas-graph rebuild --system-dir {path.parent}'"


def lost_state(path: str | Path, runs_dir: str | Path) -> str | None:
    """No agent_state.json beside finished run folders: the state was lost; the one line that says
    how to get it back (the CLI relays it), else None."""
    path, runs_dir = Path(path), Path(runs_dir)
    if path.exists() or not runs_dir.is_dir():
        return None
    n = sum(1 for p in runs_dir.iterdir() if re.match(r"^run_\d+$", p.name))
    if n == 0:
        return None
    bak = path.with_name(path.name + ".bak")
    fix = f"restore the last good copy (cp {bak} {path}) or {_rebuild(path)}" if bak.is_file() else _rebuild(path)
    return f"no agent_state.json in {path.parent}, but runs/ holds {n} run folder{'' if n == 1 else 's'}: {fix}"


def load_recorded_state(path: str | Path, runs_dir: str | Path) -> AgentState:
    """The state of a workspace that is read, not started: a lost state (lost_state) is an error."""
    hint = lost_state(path, runs_dir)
    if hint:
        raise AgentStateError(hint)
    return load_agent_state(path)


def load_agent_state(path: str | Path = "agent_state.json") -> AgentState:
    """Read the state; a missing file is a fresh empty state, a corrupt one an error."""
    path = Path(path)
    if not path.exists():
        return AgentState()
    bak = path.with_name(path.name + ".bak")
    fix = (f"restore the last good copy (cp {bak} {path}), {_rebuild(path)}, or fix it by hand" if bak.is_file()
           else f"{_rebuild(path)}, fix it by hand, or move it aside to start a fresh search")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AgentStateError(f"cannot read {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AgentStateError(f"{path} is corrupt ({exc}): {fix}") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs", []), list):
        raise AgentStateError(f"{path} is not an agent state (expected an object with a 'runs' list): {fix}")
    try:
        runs = [RunInfo.from_dict(r) for r in data.get("runs", [])]
    except (AgentStateError, TypeError) as exc:
        raise AgentStateError(f"{path} has a bad run entry ({exc}): {fix}") from None
    max_runs = data.get("max_runs", DEFAULT_MAX_RUNS)
    if not isinstance(max_runs, int) or isinstance(max_runs, bool):
        raise AgentStateError(f"{path}: max_runs must be an integer, got {max_runs!r}: {fix}")
    extra = {k: v for k, v in data.items()
             if k not in ("max_runs", "best_run_id", "runs", "fidelity", "baselines", "ensembles", *DERIVED)}
    baselines, ensembles = data.get("baselines", {}), data.get("ensembles", {})
    for name, value in (("baselines", baselines), ("ensembles", ensembles)):
        if not isinstance(value, dict):
            raise AgentStateError(f"{path}: {name} must be an object, got {type(value).__name__}: {fix}")
    state = AgentState(max_runs, data.get("best_run_id"), runs, extra, fidelity=data.get("fidelity"),
                       baselines=baselines, ensembles=ensembles)
    recompute_best(state)
    return state


def save_agent_state(state: AgentState, path: str | Path = "agent_state.json") -> None:
    """Atomically write the state (non-finite numbers become null, so the file stays JSON)."""
    recompute_best(state)
    text = json.dumps(json_safe(state.to_dict()), indent=2, allow_nan=False) + "\n"
    _test_full_disk(state, Path(path))
    keep_last_good_copy(Path(path))
    atomic_write_text(Path(path), text)


def _test_full_disk(state: AgentState, path: Path) -> None:
    """The fault suite's full disk: NAS_TEST_FULL_DISK_AFTER=n makes writing agent_state.json fail
    with ENOSPC once it would hold more than n runs. Nothing happens when it is unset."""
    limit = os.environ.get("NAS_TEST_FULL_DISK_AFTER")
    if limit and len(state.runs) > int(limit):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def keep_last_good_copy(path: Path) -> None:
    """Copy path to <path>.bak before it is replaced, when it holds a readable JSON object (never a corrupt one)."""
    try:
        old = path.read_text(encoding="utf-8")
        if not isinstance(json.loads(old), dict):
            return
    except (OSError, ValueError):
        return
    atomic_write_text(path.with_name(path.name + ".bak"), old)


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same directory, fsync, then os.replace."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def recompute_best(state: AgentState) -> str | None:
    """Set and return best_run_id: the first run of the incumbent config (config_stats.incumbent:
    the accepted config with the lowest mean val_mse at the current fidelity; first wins ties)."""
    best = state.incumbent()
    state.best_run_id = best.root_run_id if best else None
    return state.best_run_id


def add_run(state: AgentState, run: RunInfo) -> AgentState:
    """Insert or replace (by run_id) a run, then recompute the best run."""
    if not run.created_at:
        old = state.find(run.run_id)
        run.created_at = old.created_at if old and old.created_at else _now()
    for i, existing in enumerate(state.runs):
        if existing.run_id == run.run_id:
            state.runs[i] = run
            break
    else:
        state.runs.append(run)
    recompute_best(state)
    return state


def config_runs(state: AgentState, run: RunInfo) -> list[RunInfo]:
    """Every run of the same config (same config_id and fidelity) as ``run``, itself included."""
    key = config_stats.group_key(run)
    return [r for r in state.runs if config_stats.group_key(r) == key]


def set_config_accepted(state: AgentState, run: RunInfo, accepted: bool) -> None:
    """A verdict is about a config: it applies to every ok run of the config (seed repeats).
    A failed, diverged or timed-out run's verdict is its own: one crashed seed (an OOM, say)
    says nothing about the config's other seeds and never takes the incumbent's acceptance away."""
    if not (run.status == "ok" and _finite(run.val_mse)):
        run.accepted = False
        return
    for r in config_runs(state, run):
        if r.status == "ok" and _finite(r.val_mse):
            r.accepted = accepted


def set_accepted(state: AgentState, run_id: str, accepted: bool, reason: str | None = None) -> RunInfo:
    """Manual accept/reject override of a run's config (all its seeds); recomputes the best run."""
    run = state.find(run_id)
    if run is None:
        raise AgentStateError(f"unknown run id {run_id}: see `status` for the recorded runs")
    if accepted and not (run.status == "ok" and _finite(run.val_mse)):
        raise AgentStateError(f"cannot accept {run_id}: its status is {run.status} and it has no finite val_mse")
    set_config_accepted(state, run, accepted)
    run.extra["override"] = {"accepted": accepted, "reason": reason, "at": _now()}
    if reason:
        run.evaluation_reason = reason if reason.startswith("manual override") else f"manual override: {reason}"
    recompute_best(state)
    return run


def get_best_run(state: AgentState) -> RunInfo | None:
    """The incumbent run, or None."""
    best_id = recompute_best(state)
    return state.find(best_id) if best_id else None


def get_recent_runs(state: AgentState, n: int = 5) -> list[RunInfo]:
    """The last ``n`` recorded runs, oldest first."""
    return list(state.runs[-n:]) if n > 0 else []


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
