"""``rebuild-state``: reconstruct agent_state.json from ``runs/*/`` and the decision log.

For a workspace whose state file was lost or corrupted (``nas-graph rebuild``). The runs are
replayed in the order the search recorded them (the decision log's order; finished run folders
the log does not name come last, by run id): each is recorded as ``record-run`` recorded it,
from its files (metrics.json / failure.json, history.json, config_used.py) and its decision
(planner, changes, seed, kind, verdict, reasons), and a verdict applies to every seed of its
config as it did then. A run folder without a logged decision was recorded but not judged when
the search stopped: it comes back with its verdict pending (not accepted). The naive baselines
are computed again. Not in the files, so not rebuilt: manual overrides (``nas-graph override``;
redo them) and the ensembles (``nas-graph ensemble`` selects one again).
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from . import agent_state as st
from . import fidelity as fid
from .incumbent_config import incumbent_source, put_config

NOT_REBUILT = ["manual overrides (nas-graph override): redo them",
               "the ensembles: run 'nas-graph ensemble' to select one again"]


class RebuildError(ValueError):
    """The state cannot be rebuilt (one line, with the fix)."""


def read_log(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The decision log's entries with a run id, in order, and the number of torn lines skipped."""
    if not path.is_file():
        return [], 0
    out, torn = [], 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            torn += 1
            continue
        if isinstance(entry, dict) and isinstance(entry.get("run_id"), str) and entry["run_id"]:
            out.append(entry)
    return out, torn


def decision_info(d: dict[str, Any]) -> dict[str, Any]:
    """The --info that the evaluator and update_state passed to record-run for this decision."""
    status = d.get("run_status")
    ok = status == "ok"
    reason = str(d.get("evaluation_reason") or "")
    info: dict[str, Any] = {
        "kind": d.get("kind") if d.get("kind") in st.KINDS else None,
        "seed": d.get("seed"),
        "step_type": d.get("step_type"),
        "planner": d.get("planner"),
        "fallback": d.get("fallback"),
        "config_changes": d.get("changes") or {},
        "search_id": d.get("search_id"),
        "accepted": bool(d.get("accepted")) and ok,
        "evaluation_reason": f"pending: {reason}" if d.get("repeat") else reason,
        "evaluation_source": d.get("evaluation_source"),
    }
    if status:
        info["status"] = status
    for key in ("plan", "reason", "repeat_of", "feedback", "error", "advice", "max_epochs_cap"):
        if key in d:  # logged since nas-graph rebuild exists
            info[key] = d[key]
    if d.get("promising") and ok and not info["accepted"]:
        info["promising"] = True
    return info


def _finished(run_dir: Path) -> bool:
    return (run_dir / "metrics.json").is_file() or (run_dir / "failure.json").is_file()


def _mtime(run_dir: Path) -> str | None:
    for name in ("metrics.json", "failure.json"):
        p = run_dir / name
        if p.is_file():
            return datetime.fromtimestamp(p.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")
    return None


def rebuild(ws, build_run: Callable, ensure_baselines: Callable, force: bool) -> dict[str, Any]:
    """Rebuild ``ws.state_path``; the file it replaces is moved aside, never deleted."""
    state_path: Path = ws.state_path
    if state_path.exists() and not force:
        try:
            old = st.load_agent_state(state_path)
        except st.AgentStateError:
            old = None
        if old is not None:
            raise RebuildError(f"{state_path} is readable ({len(old.runs)} runs): nothing to rebuild; pass --force to "
                               f"rebuild it from runs/ and the decision log anyway (the file is kept as "
                               f"{state_path.name}.before-rebuild)")
    log_path = ws.dir / ".nas-graph" / "decisions.jsonl"
    entries, torn = read_log(log_path)
    dirs = sorted(p.name for p in ws.runs_dir.iterdir() if p.is_dir() and p.name.startswith("run_")) \
        if ws.runs_dir.is_dir() else []
    if not entries and not dirs:
        raise RebuildError(f"nothing to rebuild from: {ws.runs_dir} has no run folders and {log_path} no decisions")
    last: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for e in entries:  # a run logged twice (an older log) keeps its first place and its last verdict
        if e["run_id"] not in last:
            order.append(e["run_id"])
        last[e["run_id"]] = e
    incomplete = [d for d in dirs if d not in last and not _finished(ws.runs_dir / d)]
    unlogged = [d for d in dirs if d not in last and _finished(ws.runs_dir / d)]

    state = st.AgentState()
    skipped: list[dict[str, str]] = []
    for run_id in order + unlogged:
        d = last.get(run_id)
        if d is not None:
            info = decision_info(d)
            if not info.get("status") and not _finished(ws.run_dir(run_id)):
                skipped.append({"run_id": run_id, "reason": "no outcome logged and no metrics.json or failure.json"})
                continue
        else:
            info = {"evaluation_reason": "verdict pending: the search stopped before judging it (rebuilt state)"}
        max_rise = (d or {}).get("max_rise_pct")
        try:  # the search's --max-rise shaped the run's history summary; absent: the default
            run = build_run(ws, run_id, info, None, None, *([float(max_rise)] if isinstance(max_rise, (int, float)) else []))
        except ValueError as exc:  # a damaged run folder: named, the rest is rebuilt
            skipped.append({"run_id": run_id, "reason": str(exc)})
            continue
        run.created_at = _mtime(ws.run_dir(run_id)) or (d or {}).get("at")
        st.add_run(state, run)
        if "accepted" in info:
            st.set_config_accepted(state, run, bool(run.accepted))

    # the current fidelity: the last recorded run's (the last search's)
    state.fidelity = next((r.fidelity for r in reversed(state.runs) if r.fidelity), None)
    baselines_errors: list[str] = []
    tasks_done: set[str] = set()
    for r in state.runs:
        used = ws.run_dir(r.run_id) / "config_used.py"
        if not r.task or not used.is_file():
            continue
        key = fid.task_key(r.task)
        if key in tasks_done:
            continue
        tasks_done.add(key)
        try:
            ensure_baselines(ws, state, used)
        except ValueError as exc:
            baselines_errors.append(str(exc))

    # config.py as the search left it: the incumbent's snapshot, written by the tool (config_written)
    source = incumbent_source(ws, state.best_run_id)
    if source is not None:
        put_config(state, source, ws.dir / "config.py", write=False)

    moved = None
    if state_path.exists():
        moved = state_path.with_name(state_path.name + ".before-rebuild")
        if moved.exists():
            moved = state_path.with_name(f"{state_path.name}.before-rebuild-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}")
        os.replace(state_path, moved)
    st.save_agent_state(state, state_path)
    return {"path": str(state_path), "runs": len(state.runs), "from_log": len(order), "log_entries": len(entries),
            "torn_lines": torn, "unlogged": unlogged, "incomplete": incomplete, "skipped": skipped,
            "best_run_id": state.best_run_id, "fidelity": state.fidelity, "moved_aside": str(moved) if moved else None,
            "baselines_errors": baselines_errors, "not_rebuilt": NOT_REBUILT}
