"""The start of a search (``begin-search``): its pre-flight, its fidelity, whether config.py is
trained first as a baseline (or put back on this fidelity's incumbent), the seeds that train
first and the first run ids."""
from __future__ import annotations

from pathlib import Path

from . import agent_state as st
from . import fidelity as fid
from . import warm_up
from .config_check import DEFAULT_SEED
from .config_edit import literal_at
from .config_stats import SeedLimits, config_table, seeds_from
from .config_id import config_id
from .incumbent_config import incumbent_source, is_workspace_config, put_config, tool_wrote
from .preflight import preflight
from .run_numbering import next_run_ids
from .run_records import standing_of
from .workspace import Workspace


def begin_search(ws: Workspace, config_arg: str | None, max_epochs_cap: int | None, reserve: int,
                 preflight: bool = False, python: str | None = None, limits: SeedLimits | None = None) -> dict:
    """Make the config's fidelity the current one, and say whether the config must be trained
    as a baseline: when no incumbent exists at this fidelity, or config.py differs from it
    because the user changed it by hand (the search continues from the user's file, never over
    it). A config.py the tool itself wrote (the incumbent of a search at another fidelity,
    ``config_written``) is no user edit: it is put back on this fidelity's incumbent, which
    survives searches at other fidelities (``config_restored_from``). With ``--preflight`` the
    pre-flight checks come first (``preflight`` in the answer): on a failure nothing is written.
    ``baseline_seeds``: the seeds config.py trains first, as a baseline's, in order (the one rule
    for which seeds come next is Python's): the planned baseline's --baseline-seeds seeds (1 when
    not given), or those a first-success incumbent still lacks (``_missing_seeds``); else []."""
    checks = {}
    if preflight:
        checks = {"preflight": preflight_of(ws, python, True)}
        if not checks["preflight"]["ok"]:
            return {**checks, "begun": False}
    config = ws.config(config_arg)
    task, key = fid.config_fidelity(config, max_epochs_cap)
    state = st.load_agent_state(ws.state_path)
    state.fidelity = key
    cid = config_id(config)
    incumbent = state.incumbent()
    restored = None
    if incumbent is None:
        why = "no accepted run at this fidelity yet"
    elif incumbent.config_id != cid:
        source = incumbent_source(ws, incumbent.root_run_id)
        if is_workspace_config(ws, config) and tool_wrote(state, config) and source.is_file():
            put_config(state, source, config)
            restored, cid, why = str(source), config_id(config), None
        else:
            why = f"config.py differs from the incumbent {incumbent.root_run_id}'s config"
    else:
        why = None
    st.save_agent_state(state, ws.state_path)
    standing = standing_of(state, None, limits)
    if why is not None:
        first = _start_seed(_seed(config), state, cid, key)
        seeds = seeds_from(first, (limits.baseline_seeds if limits else None) or 1)
    else:
        seeds = _missing_seeds(state, standing)
    return {"fidelity": key, "task": task, "task_key": fid.task_key(task), "config_id": cid,
            "baseline_needed": why is not None, "baseline_reason": why, "config_restored_from": restored,
            **standing, "baseline_seeds": seeds,
            "next_run_ids": next_run_ids(ws, state, reserve, "--reserve"), **checks, "begun": True}


def _missing_seeds(state: st.AgentState, standing: dict) -> list[int]:
    """An incumbent that was the first successful run of its fidelity (a proposal accepted with
    nothing to compare it with, as every baseline seed failed) whose seeds an earlier search's
    budget did not train, while no noise is measured at this fidelity: its missing seeds, up to
    --baseline-seeds, train first, as a baseline's (its record's missing_seeds; else [])."""
    inc = standing["incumbent"]
    if inc is None or standing["noise"] or not inc.get("baseline_seeds_left"):
        return []
    root = state.find(inc["root_run_id"])
    if root is None or root.kind != "proposal" or root.extra.get("evaluation_source") != "baseline":
        return []
    return inc["missing_seeds"]


def _start_seed(own: int, state: st.AgentState, cid: str, fidelity: str) -> int:
    """The baseline's first seed: the config's own, unless this config (same id and fidelity)
    already trained some seed, then its next seed (config_stats: one past the largest it used).
    A config never gets a seed it already has: CPU training is deterministic, so a reused seed
    would enter the noise pool as an independent one and shrink the standard error."""
    trained = next((c for c in config_table(state.runs) if c.key == (fidelity, cid)), None)  # no noise table needed
    return own if trained is None else max(trained.next_seed, own)


def _seed(config_path: Path) -> int:
    """The config's own top-level seed, train.py's default when it sets none (repeats train seed + 1, seed + 2, ...)."""
    value = literal_at(config_path, "seed")
    return value if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_SEED


def preflight_of(ws: Workspace, python: str | None, parse_config: bool) -> dict:
    """The pre-flight checks (preflight.py) on this workspace's config.py and search space; with a
    train check (a search starts) the long-lived helper warms up while it runs (warm_up.py)."""
    warm_up.wait()  # an earlier pre-flight's: no thread may run at train.py --check's fork (preexec_fn)
    return preflight(ws.dir, ws.space_override, ws.config(None), python=python, parse_config=parse_config,
                     while_checking=lambda: warm_up.start(ws))
