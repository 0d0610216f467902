"""config.py follows the incumbent (after a round, after an override, at a search's start and in a
rebuilt state), and what the tool itself wrote there (``config_written``: a later search that
finds these bytes knows no user edited them). The one owner of that rule: the incumbent's config
source (``incumbent_source``), config.py written from it and noted (``put_config``), and whether
config.py must follow a changed incumbent (``follow_if_changed``). ``ws`` is a
workspace.Workspace, not imported: rebuild-state uses this module and helper_errors imports
rebuild, while workspace imports helper_errors (an import cycle)."""
from __future__ import annotations

import hashlib
from pathlib import Path

from . import agent_state as st
from .config_edit import restore


def is_workspace_config(ws, path: Path) -> bool:
    """Whether ``path`` is the workspace's own config.py (the file the tool may put back)."""
    return path.resolve() == (ws.dir / "config.py").resolve()


def _sha256(path: Path) -> str | None:
    """The file's sha256 (hex), None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _note_written(state: st.AgentState, config: Path, source) -> None:
    """Remember what the tool itself put into config.py (agent_state.json ``config_written``):
    a later search that finds these bytes there knows no user edited the file."""
    state.extra["config_written"] = {"sha256": _sha256(config), "from": str(source), "at": st._now()}


def tool_wrote(state: st.AgentState, config: Path) -> bool:
    """Whether config.py holds the bytes the tool last wrote there (``config_written``): no user edit."""
    written = state.extra.get("config_written")
    return isinstance(written, dict) and written.get("sha256") is not None and written.get("sha256") == _sha256(config)


def incumbent_source(ws, run_id: str | None) -> Path | None:
    """The config an incumbent run trained: ``runs/<run_id>/config_used.py`` (None without a run id)."""
    return ws.run_dir(run_id) / "config_used.py" if run_id else None


def put_config(state: st.AgentState, source: Path, config: Path, write: bool = True) -> bool:
    """config.py (``config``) written from ``source`` and noted in ``state`` as the tool's
    (``config_written``; the caller saves the state). ``write=False`` (rebuild-state, which never
    writes config.py): noted only when config.py already holds source's bytes. True when noted."""
    if write:
        restore(source, config)
    else:
        held = _sha256(config)
        if held is None or held != _sha256(source):
            return False
    _note_written(state, config, source)
    return True


def follow_incumbent(ws, best_run_id: str | None, fallback: str | None) -> dict:
    """config.py follows the incumbent: its run's config_used.py, else (no incumbent left) the
    fallback snapshot; neither there: config.py is left as is and a warning says so."""
    source = incumbent_source(ws, best_run_id) or (Path(fallback) if fallback else None)
    if source is None or not source.is_file():
        return {"config_restored_from": None, "restore_warning": "no incumbent config to restore; config.py left as is"}
    state = st.load_agent_state(ws.state_path)
    put_config(state, source, ws.config(None))
    st.save_agent_state(state, ws.state_path)
    return {"config_restored_from": str(source)}


def follow_if_changed(ws, best_run_id: str | None, known: str | None, fallback: str | None) -> dict | None:
    """The decision finish-round and set-accept --follow share: config.py follows the incumbent
    (``follow_incumbent``'s answer) only when it is not the one the caller knew (``known``: its
    run id, None for none); else None, and config.py is left as is."""
    return follow_incumbent(ws, best_run_id, fallback) if best_run_id != known else None
