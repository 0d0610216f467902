"""An Optuna study mirroring agent_state.json: ``<system-dir>/.nas-graph/optuna.db`` (SQLite RDB).

So that ``optuna-dashboard sqlite:///<system-dir>/.nas-graph/optuna.db`` shows the search.
agent_state.json stays the source of truth: every recorded run is one trial, in run order;
- params: the run's search-space values (``params``) under the planner's per-family names
  (``training.optimizer_params.lr[dlinear]``; one conversion for both: ``suggest.run_trial``);
  values outside the current space, or keys not in it, are left out of the trial and kept in
  the ``other_params`` user attr;
- value: val_mse (minimize); a failed run (any status but ok) is a FAIL trial;
- user_attrs: run_id, planner, plan, verdict (accepted | rejected | promising | failed: config_stats.run_labels), status, seed,
  config_id, kind, step_type, and ``digest`` (what the trial was built from).
Test metrics are never written here (the study is history a sampler could read).

``sync_study`` appends the runs the study lacks; when the study's trials are not the first runs
of the state (a run re-recorded, a verdict overridden, the search space edited), it deletes the
study and rebuilds it from agent_state.json, as it does when the file is missing.

``sync_locked`` (the ``study`` command) serializes syncs with a lock file and reads the state
inside the lock, so the last sync always sees the last recorded run. record-run starts it in a
background process (importing optuna and SQLAlchemy costs 1.5 s of CPU, more on a busy box):
its outcome goes to ``.nas-graph/optuna.status.json``, and a failure is reported by the next
record-run (``study_error``).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from .agent_state import AgentState, RunInfo
from .config_stats import run_labels
from .search_space import SearchSpace
from .suggest import run_trial

STUDY_NAME = "nas-graph"


def study_path(system_dir: str | Path) -> Path:
    return Path(system_dir) / ".nas-graph" / "optuna.db"


def status_path(system_dir: str | Path) -> Path:
    return Path(system_dir) / ".nas-graph" / "optuna.status.json"


def read_status(system_dir: str | Path) -> dict | None:
    """The last sync's outcome ``{ok, error?, at, ...}``, or None."""
    try:
        data = json.loads(status_path(system_dir).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def sync_locked(system_dir: str | Path, load_state, load_space) -> dict[str, Any]:
    """One sync at a time (lock file); the state is read inside the lock. Records the outcome."""
    meta = Path(system_dir) / ".nas-graph"
    meta.mkdir(exist_ok=True)  # never its parents: a workspace removed meanwhile stays removed
    with open(meta / "optuna.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        try:
            result = sync_study(system_dir, load_state(), load_space())
        except Exception as exc:
            _write_status(system_dir, {"ok": False, "error": " ".join(f"{type(exc).__name__}: {exc}".split()), "at": at})
            raise
        _write_status(system_dir, {"ok": True, "at": at, **result})
        return result


def _write_status(system_dir: str | Path, status: dict) -> None:
    path = status_path(system_dir)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(status) + "\n", encoding="utf-8")
    tmp.replace(path)


def storage_url(system_dir: str | Path) -> str:
    return f"sqlite:///{study_path(system_dir).resolve()}"


def study_trial(run: RunInfo, space: SearchSpace, verdict: str) -> FrozenTrial:
    """One run as a dashboard trial (suggest.run_trial, failed runs as FAIL trials), its user
    attrs, and ``digest``: a hash of everything the trial is made of (the staleness check)."""
    attrs = {
        "run_id": run.run_id, "planner": run.planner, "plan": run.plan, "verdict": verdict,
        "status": run.status, "seed": run.seed, "config_id": run.config_id,
        "kind": run.kind, "step_type": run.step_type,
    }
    if run.error:
        attrs["error"] = run.error
    trial = run_trial(run, run.params, space, failed="fail", user_attrs=attrs)
    content = {"params": trial.params,
               "distributions": {k: optuna.distributions.distribution_to_json(d) for k, d in trial.distributions.items()},
               "value": trial.value, "state": trial.state.name, "user_attrs": trial.user_attrs}
    trial.set_user_attr("digest", hashlib.sha1(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16])
    return trial


def sync_study(system_dir: str | Path, state: AgentState, space: SearchSpace) -> dict[str, Any]:
    """Bring optuna.db in line with ``state``: append new runs, or rebuild when stale.

    Returns ``{path, trials, added, rebuilt, created}``."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    path = study_path(system_dir)
    path.parent.mkdir(exist_ok=True)
    created = not path.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-feature warnings of create_trial/add_trials
        labels = run_labels(state.runs)
        trials = [study_trial(r, space, labels[r.run_id]) for r in state.runs]
        storage, study, have = _opened(system_dir)
        rebuilt = False
        want = [t.user_attrs["digest"] for t in trials]
        if want[:len(have)] != have:
            optuna.delete_study(study_name=STUDY_NAME, storage=storage)
            study, have, rebuilt = _open(storage), [], True
        new = trials[len(have):]
        if new:
            study.add_trials(new)
    # as this sync left the file: its trials are ``want``'s
    _storages[storage_url(system_dir)] = (_fingerprint(path), storage, study, want)
    return {"path": str(path), "trials": len(trials), "added": len(new), "rebuilt": rebuilt, "created": created}


# The long-lived helper opens each study file once per process: opening one checks its schema
# against optuna's migration scripts (~0.5 s, most of a round's sync), and reading its trials back
# is another ~40-80 ms. Reused, with the digests of its trials, only while the file is exactly as
# this process's last sync left it; removed, replaced or written by anyone else: opened again.
_storages: dict[str, tuple[tuple | None, Any, Any, list]] = {}


def _fingerprint(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _opened(system_dir: str | Path) -> tuple[Any, optuna.Study, list]:
    """(storage, study, the digests of its trials): as this process's last sync left them, else read afresh."""
    url = storage_url(system_dir)
    known = _storages.pop(url, None)
    if known is not None:
        fingerprint, storage, study, digests = known
        if fingerprint is not None and fingerprint == _fingerprint(study_path(system_dir)):
            return storage, study, digests
        storage.engine.dispose()  # its pooled connections may hold the old file open
    storage = optuna.storages.RDBStorage(url)
    study = _open(storage)
    return storage, study, [t.user_attrs.get("digest") for t in study.get_trials(deepcopy=False)]


def _open(storage) -> optuna.Study:
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, direction="minimize", load_if_exists=True)
    if not study.user_attrs:
        study.set_user_attr("source", "agent_state.json (this study is rebuilt from it when stale)")
        study.set_user_attr("value", "val_mse (validation split; test metrics are held out and not stored)")
    return study
