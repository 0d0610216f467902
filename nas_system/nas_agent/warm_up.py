"""The long-lived helper's warm-up: while the pre-flight's ``train.py --check`` runs (and then the
first training), a background thread imports what the search's first requests will import:
numpy and pandas (the workspace's data.py, for the task's naive baselines; only when
agent_state.json has none for config.py's task yet) and optuna with what its SQLite storage loads (alembic's
migration scripts, on a throw-away in-memory database: the study sync of every round). Those were
most of the first record-runs and finish-round (seconds; once per search). Nothing is read but
config.py and agent_state.json, nothing is written; a module that cannot be imported here is
left alone: the request that needs it reports it, as before. ``serve`` turns it on (a one-shot
command ends before it would pay off)."""
from __future__ import annotations

import importlib
import threading

from .workspace import Workspace

enabled = False  # set by serve.serve: only a long-lived helper warms up
_started: set[str] = set()
_threads: list[threading.Thread] = []


def start(ws: Workspace) -> threading.Thread | None:
    """Start the warm-up for this workspace, once per workspace and process; None when off or done."""
    key = str(ws.dir.resolve())
    if not enabled or key in _started:
        return None
    _started.add(key)
    thread = threading.Thread(target=_warm, args=(ws,), name="nas-agent-warm-up", daemon=True)
    thread.start()
    _threads.append(thread)
    return thread


def wait() -> None:
    """Until no warm-up runs (before a fork with preexec_fn, which is unsafe while a thread runs)."""
    while _threads:
        _threads.pop().join()


def modules(ws: Workspace) -> list[str]:
    """What to import: numpy and pandas when config.py's task has no naive baselines on file, then optuna."""
    from . import agent_state as st
    from . import baselines as naive

    try:
        needs_baselines = naive.key_of(ws.config(None)) not in st.load_agent_state(ws.state_path).baselines
    except Exception:  # noqa: BLE001 - a bad config or state is the pre-flight's to report
        needs_baselines = False
    return (["numpy", "pandas"] if needs_baselines else []) + ["optuna", "nas_agent.study"]


def _warm(ws: Workspace) -> None:
    for name in modules(ws):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - not needed yet: the request that needs it reports it
            continue
    try:
        import optuna

        optuna.storages.RDBStorage("sqlite:///:memory:").engine.dispose()
    except Exception:  # noqa: BLE001 - as above
        pass
