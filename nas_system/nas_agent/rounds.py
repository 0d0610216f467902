"""The end of a round in one request (``finish-round``): its verdicts recorded, config.py on the
incumbent, the Optuna study synced, the next run ids, and at the search's end its closing."""
from __future__ import annotations

from typing import Any

from . import agent_state as st
from . import ensemble
from . import standing
from .config_stats import SeedLimits
from .helper_errors import USER_ERRORS, CliError, missing_package, one_line
from .incumbent_config import follow_if_changed
from .run_numbering import next_run_ids
from .run_records import record_all, round_runs
from .workspace import Workspace


def finish_round(ws: Workspace, runs_arg: str, max_rise: float, known_best: str, fallback: str | None,
                 reserve: int, close: bool, limits: SeedLimits | None = None) -> dict:
    """The end of a round in one request: record the verdicts, put config.py on the incumbent when
    it changed (from what the caller knows), bring the Optuna study up to date (a failure is
    returned as study_error, never fatal), and reserve the next round's run ids."""
    state, runs = round_runs(ws, runs_arg)
    previous = state.best_run_id
    records = record_all(ws, state, runs, max_rise, limits)
    follow = follow_if_changed(ws, state.best_run_id, known_best or None, fallback) if runs else None
    out = {"records": records, "best_run_id": state.best_run_id, "previous_best_run_id": previous,
           "n_runs": len(state.runs), **(follow or {}), **sync_study(ws),
           "next_run_ids": next_run_ids(ws, state, reserve, "--reserve")}
    return {**out, "closing": closing(ws)} if close else out


def closing(ws: Workspace) -> dict:
    """The end of a search, in its last round's request: the standing (as ``standing``) and the
    ensemble selected and recorded (as ``ensemble``); an ensemble that cannot be built is
    ``ensemble_error`` (one line), never a failed round."""
    out: dict[str, Any] = {"standing": standing.summary(st.load_agent_state(ws.state_path), None)}
    try:
        out["ensemble"] = ensemble.build(ws.dir, ws.state_path, ensemble.DEFAULT_STEPS, None)
    except USER_ERRORS as exc:
        out["ensemble_error"] = one_line(str(exc))
    except Exception as exc:  # noqa: BLE001 - the round is recorded; the ensemble is a bonus
        out["ensemble_error"] = one_line(f"internal error in nas_agent ({type(exc).__name__}: {exc}); please report it")
    return out


def sync_study(ws: Workspace) -> dict:
    """The study sync of a round or an override: ``{study}`` or ``{study_error}`` (agent_state.json stays the truth)."""
    try:
        return {"study": study_sync(ws)}
    except USER_ERRORS as exc:
        return {"study_error": one_line(str(exc))}
    except ModuleNotFoundError as exc:  # optuna missing: the search goes on without its mirror
        if str(exc.name or "").startswith("nas_agent"):
            raise
        return {"study_error": missing_package(exc)}


def study_sync(ws: Workspace) -> dict:
    """Write (or rebuild) the Optuna study from agent_state.json (``study``); a failure names the file and the fix."""
    from .study import study_path, sync_locked

    try:
        return sync_locked(ws.dir, lambda: st.load_agent_state(ws.state_path), ws.space)
    except USER_ERRORS:
        raise
    except Exception as exc:  # sqlite / optuna: name the file and the fix
        raise CliError(f"cannot write the Optuna study {study_path(ws.dir)} ({type(exc).__name__}: {exc}); "
                       "move it aside and run 'python -m nas_agent study' again") from None
