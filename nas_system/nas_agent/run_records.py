"""Run records: a run's entry in agent_state.json assembled from its files (metrics, failure,
history, config snapshot) and the caller's decision fields, and what a record answers (the
run's config statistics, the incumbent, the noise, its val curve and its task's naive baselines)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from . import agent_state as st
from . import baselines as naive
from . import fidelity as fid
from .config_check import DEFAULT_FAMILY
from .config_stats import ConfigStats, SeedLimits
from .config_edit import ConfigEditError, literal_at, read_values
from .config_id import config_id
from .curve import MAX_RISE_PCT, curve_view
from .helper_errors import CliError
from .history_summary import build_history_summary
from .search_space import SpaceError
from .workspace import Workspace, json_arg, read_json


def record_run(ws: Workspace, state: st.AgentState, run_id: str, info: Any, flag: str, max_rise: float,
               limits: SeedLimits | None = None) -> dict:
    """Record one run into ``state`` (the caller saves it): record-run's answer, less previous_best_run_id
    (with ``limits``, the search's --baseline-seeds / --max-repeats, each config says what it has left)."""
    if not isinstance(info, dict):
        raise CliError(f"{flag} must be a JSON object")
    run = build_run(ws, run_id, info, state.find(run_id), state.fidelity, max_rise)
    st.add_run(state, run)
    if "accepted" in info:  # a verdict is about the config: every seed of it follows
        st.set_config_accepted(state, run, bool(run.accepted))
    out = {"run": run.to_dict(), "best_run_id": state.best_run_id, "curve": _curve(ws.run_dir(run_id), max_rise)}
    used = ws.run_dir(run_id) / "config_used.py"
    if used.is_file():  # the run's task gets its naive baselines once; a data problem never loses the run
        try:
            ensure_baselines(ws, state, used)
        except naive.BaselineError as exc:
            out["baselines_error"] = str(exc)
    # the naive baselines of the run's task (persistence: a model worse than it is not useful)
    task_baselines = state.baselines.get(fid.task_key(run.task)) if run.task else None
    return {**out, **standing_of(state, run.run_id, limits), "baselines": task_baselines}


def round_runs(ws: Workspace, text: str) -> tuple[st.AgentState, list[dict]]:
    """--runs of record-runs / finish-round, checked: the state and [{run_id, info}]."""
    runs = json_arg(text, "--runs")
    if not isinstance(runs, list) or not all(isinstance(r, dict) and isinstance(r.get("run_id"), str) for r in runs):
        raise CliError('--runs must be a JSON list of {"run_id": ..., "info": {...}}')
    return st.load_agent_state(ws.state_path), runs


def record_all(ws: Workspace, state: st.AgentState, runs: list[dict], max_rise: float,
               limits: SeedLimits | None = None) -> list[dict]:
    """Record each run in order (each answer sees the runs before it) and save the state once;
    a run that cannot be recorded stops there, the runs before it stay recorded."""
    records: list[dict] = []
    try:
        for r in runs:
            records.append(record_run(ws, state, r["run_id"], r.get("info", {}), "--runs info", max_rise, limits))
    finally:
        if records:
            st.save_agent_state(state, ws.state_path)
    return records


def ensure_baselines(ws: Workspace, state: st.AgentState, config: Path, recompute: bool = False) -> tuple[str, dict, bool]:
    """(task key, entry, computed now): the naive baselines of ``config``'s task, computed into
    ``state.baselines`` when missing (the caller saves the state)."""
    key = naive.key_of(config)
    if key in state.baselines and not recompute:
        return key, state.baselines[key], False
    state.baselines[key] = naive.compute(config, ws.dir)
    return key, state.baselines[key], True


def standing_of(state: st.AgentState, run_id: str | None = None, limits: SeedLimits | None = None) -> dict[str, Any]:
    """The run's config statistics, the incumbent's, and the noise at the current fidelity. With
    ``limits`` (the search's --baseline-seeds / --max-repeats) each config also says what it has
    left of them (``baseline_seeds_left``, ``repeats_left``: SeedLimits.left)."""
    table, noise_by_fidelity = state.stats()
    config = state.config_of(run_id, table) if run_id else None
    incumbent = state.incumbent(table)
    current = state.current_fidelity()
    noise = noise_by_fidelity.get(current) if current else None
    return {"config": _record(config, limits), "incumbent": _record(incumbent, limits),
            "noise": noise, "n_runs": len(state.runs)}


def _record(config: ConfigStats | None, limits: SeedLimits | None) -> dict[str, Any] | None:
    if config is None:
        return None
    return {**config.to_dict(), **(limits.left(config) if limits else {})}


def _curve(run_dir: Path, max_rise: float) -> dict[str, Any] | None:
    """What the evaluator reads of the run's val curve (curve.py): None without a readable history."""
    history, metrics = run_dir / "history.json", run_dir / "metrics.json"
    if not (history.is_file() and metrics.is_file()):
        return None
    try:
        return curve_view(read_json(history), read_json(metrics), max_rise)
    except CliError:
        return None


def build_run(ws: Workspace, run_id: str, info: dict, existing: st.RunInfo | None,
              current_fidelity: str | None = None, max_rise: float = MAX_RISE_PCT) -> st.RunInfo:
    """Merge the existing entry, ``info`` and the run dir's files into one RunInfo."""
    run_dir = ws.run_dir(run_id)
    data = existing.to_dict() if existing else {"run_id": run_id}
    if info.get("kind") is not None and info["kind"] not in st.KINDS:
        raise CliError(f"--info kind {info['kind']!r} is not one of {', '.join(st.KINDS)}")
    if "config_changes" in info:
        try:
            info = {**info, "config_changes": st.changes_to_dict(info["config_changes"])}
        except st.AgentStateError as exc:
            raise CliError(f"--info: {exc}") from None
    data.update({k: v for k, v in info.items() if k != "run_id"})
    status = info.get("status") or (existing.status if existing else None)
    data.update(_run_files(run_dir, run_id, status, ws.space, max_rise, data.get("error")))
    data.update(_identity(run_dir, data, info, current_fidelity))
    status = data.get("status")
    if status not in st.STATUSES:
        raise CliError(f"--info status {status!r} is not one of {', '.join(st.STATUSES)}")
    if "accepted" in data and not isinstance(data["accepted"], bool):
        raise CliError("--info accepted must be true or false")
    if data.get("accepted") and status != "ok":
        raise CliError(f"cannot accept {run_id}: its status is {status}")
    try:
        return st.RunInfo.from_dict(data)
    except (st.AgentStateError, TypeError) as exc:
        raise CliError(f"--info has bad fields for {run_id}: {exc}") from None


def _run_files(run_dir: Path, run_id: str, info_status: str | None, load_space_fn,
               max_rise: float = MAX_RISE_PCT, info_error: str | None = None) -> dict[str, Any]:
    """Fields read from metrics.json / failure.json, history.json and config_used.py.

    Only the outcome files are required; a damaged history or config snapshot is noted in
    the run (history_summary / params_error) so that a finished run is never lost. When the
    caller records a failed status other than failure.json's own, the caller saw more than the
    training did (the executor stopped it at --run-timeout, or Slurm killed it for its memory,
    and failure.json says only "interrupted by a signal"): the caller's reason (``info_error``)
    stands."""
    out: dict[str, Any] = {}
    metrics_path, failure_path = run_dir / "metrics.json", run_dir / "failure.json"
    metrics: dict[str, Any] = {}
    if metrics_path.is_file():
        metrics = read_json(metrics_path)
        for k in ("val_mse", "test_mse", "test_mae", "train_mse", "best_epoch", "epochs_run",
                  "val_mae", "max_epochs", "stopped_early", "train_time_s", "n_params", "device", "seed"):
            if k in metrics:
                out[k] = metrics[k]
        out["status"] = info_status or metrics.get("status", "ok")
        if out["status"] == "ok" and not _finite(metrics.get("val_mse")):
            raise CliError(f"{metrics_path} has no finite val_mse: record the run with status failed")
    elif failure_path.is_file():
        failure = read_json(failure_path)
        status = failure.get("status", "failed")
        reason = str(failure.get("reason", "no reason given"))
        if failure.get("epoch") is not None:
            reason += f" (epoch {failure['epoch']})"
        if info_status and info_status not in ("ok", status) and info_error:
            reason = info_error
        out.update({"status": info_status if info_status and info_status != "ok" else status,
                    "error": reason, "val_mse": None, "test_mse": None})
    elif info_status and info_status != "ok":  # the caller knows the run failed before writing files
        out.update({"status": info_status, "val_mse": None, "test_mse": None})
    else:
        raise CliError(
            f"{run_dir} is incomplete (no metrics.json or failure.json): the training did not finish; "
            f"record it with --info '{{\"status\": \"failed\"}}' (or crashed/timeout/invalid)")
    if out["status"] == "ok" and not metrics:
        raise CliError(f"cannot record {run_id} as ok: {metrics_path} is missing")
    history_path = run_dir / "history.json"
    if history_path.is_file():
        try:
            out["history_summary"] = build_history_summary(read_json(history_path), metrics, max_rise)
        except CliError as exc:
            out["history_summary"] = f"no diagnosis: {exc}"
    used = run_dir / "config_used.py"
    if used.is_file():
        try:
            got = read_values(used, load_space_fn())  # the keys that applied to this run's family
            out["params"] = {k: v for k, v in got.values.items() if k not in got.inactive}
        except (ConfigEditError, SpaceError) as exc:  # recorded, not fatal: the run itself finished
            out["params"], out["params_error"] = {}, str(exc)
    return out


def _identity(run_dir: Path, data: dict[str, Any], info: dict, current_fidelity: str | None) -> dict[str, Any]:
    """config_id, family, seed, task and fidelity of a run, read from its config_used.py and
    metrics (a run without a config snapshot keeps the search's fidelity and no config_id)."""
    used = run_dir / "config_used.py"
    out: dict[str, Any] = {"fidelity": data.get("fidelity") or info.get("fidelity") or current_fidelity}
    if "seed" in data and data["seed"] is not None:
        out["seed"] = data["seed"]
    if not used.is_file():
        return out
    try:
        out["config_id"] = config_id(used)
        out["family"] = _family(used)
        out["task"] = fid.config_task(used)
        if isinstance(data.get("max_epochs"), int):
            out["fidelity"] = fid.fidelity_key(out["task"], data["max_epochs"])
        elif info.get("max_epochs_cap") is not None or not data.get("fidelity"):
            out["fidelity"] = fid.fidelity_key(
                out["task"], fid.effective_epochs(fid.config_max_epochs(used), info.get("max_epochs_cap")))
        # else: a run without metrics (failed, timed out) re-recorded without the cap (the verdict's
        # record) keeps the fidelity it was first recorded at, under the search's --max-epochs
    except (ConfigEditError, fid.FidelityError) as exc:  # recorded, not fatal: the run itself finished
        out["identity_error"] = str(exc)
    return out


def _family(config_path: Path) -> str:
    value = literal_at(config_path, "model.family")
    return value if isinstance(value, str) else DEFAULT_FAMILY


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
