"""Run numbering: the next free run_XXXX ids of a workspace (never one a run, a job or an attempt used)."""
from __future__ import annotations

import re

from . import agent_state as st
from .helper_errors import CliError
from .workspace import Workspace

RUN_ID_RE = re.compile(r"^run_(\d+)$")


def next_run_ids(ws: Workspace, state: st.AgentState, count: int, flag: str) -> list[str]:
    """``count`` consecutive free run ids: 1 + the largest over agent_state's runs and runs/run_* dirs."""
    nums = [int(m.group(1)) for r in state.runs if (m := RUN_ID_RE.match(r.run_id))]
    if ws.runs_dir.is_dir():
        nums += [int(m.group(1)) for p in ws.runs_dir.iterdir() if (m := RUN_ID_RE.match(p.name))]
    # a trial of any search that reached its executor: its job record (a Slurm job may still be
    # PENDING, with no run dir yet) or its attempt record; a new search never reuses its id
    for sub in ("jobs", "attempts"):
        meta = ws.dir / ".nas-graph" / sub
        if meta.is_dir():
            nums += [int(m.group(1)) for p in meta.glob("run_*.json") if (m := RUN_ID_RE.match(p.stem))]
    if count < 1:
        raise CliError(f"{flag} must be >= 1, got {count}")
    first = max(nums) + 1 if nums else 0
    return [f"run_{i:04d}" for i in range(first, first + count)]
