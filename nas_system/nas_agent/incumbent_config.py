"""config.py follows the incumbent (after a round and after an override), and what the tool
itself wrote there (``config_written``: a later search that finds these bytes knows no user edited them)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from . import agent_state as st
from .config_edit import restore
from .workspace import Workspace


def is_workspace_config(ws: Workspace, path: Path) -> bool:
    return path.resolve() == (ws.dir / "config.py").resolve()


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def note_written(state: st.AgentState, config: Path, source) -> None:
    """Remember what the tool itself put into config.py (agent_state.json ``config_written``):
    a later search that finds these bytes there knows no user edited the file."""
    state.extra["config_written"] = {"sha256": _sha256(config), "from": str(source), "at": st._now()}


def tool_wrote(state: st.AgentState, config: Path) -> bool:
    written = state.extra.get("config_written")
    return isinstance(written, dict) and written.get("sha256") is not None and written.get("sha256") == _sha256(config)


def follow_incumbent(ws: Workspace, best_run_id: str | None, fallback: str | None) -> dict:
    """config.py follows the incumbent: its run's config_used.py, else (no incumbent left) the
    fallback snapshot; neither there: config.py is left as is and a warning says so."""
    source = ws.run_dir(best_run_id) / "config_used.py" if best_run_id else Path(fallback) if fallback else None
    if source is None or not source.is_file():
        return {"config_restored_from": None, "restore_warning": "no incumbent config to restore; config.py left as is"}
    target = ws.config(None)
    restore(source, target)
    state = st.load_agent_state(ws.state_path)  # what the tool wrote there: no user edit (begin-search)
    note_written(state, target, source)
    st.save_agent_state(state, ws.state_path)
    return {"config_restored_from": str(source)}
