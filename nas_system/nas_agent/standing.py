"""What each run stands as, derived once for every view (status, the report, resume):

- the verdict label of a run (config_stats.run_labels, also agent_state.json's ``verdicts``);
- the promising configs a larger budget can confirm (``resume --max-iterations``): those of the
  current fidelity that ``--max-repeats`` still allows another seed;
- persistence (repeat the last value) on the current task, validation MSE: the bar a useful model
  must beat.
"""
from __future__ import annotations

import math
from typing import Any

from .agent_state import AgentState
from .config_stats import ConfigStats, SeedLimits, promising_keys, run_labels


def confirmable(state: AgentState, table: list[ConfigStats], max_repeats: int) -> list[dict[str, Any]]:
    """The promising configs of the current fidelity that may get another seed: fewer than
    ``max_repeats`` repeats so far (SeedLimits.left: the repeats_left every record says).
    Each: root_run_id, run_ids, seeds, next_seed (the config's, config_stats), val_mean."""
    keys, current, limits = promising_keys(state.runs), state.current_fidelity(), SeedLimits(max_repeats=max_repeats)
    out = []
    for c in table:
        if c.fidelity != current or c.key not in keys or c.accepted or limits.left(c)["repeats_left"] == 0:
            continue
        seeds = [r.seed for r in state.runs if r.run_id in c.run_ids and isinstance(r.seed, int) and not isinstance(r.seed, bool)]
        out.append({"root_run_id": c.root_run_id, "run_ids": c.run_ids, "seeds": seeds,
                    "next_seed": c.next_seed, "val_mean": c.val_mean, "n": c.n})
    return out


def persistence_val(state: AgentState, fidelity: str | None = None) -> float | None:
    """Persistence's val MSE on the task of ``fidelity`` (default: the current one); baselines are
    keyed by task, a fidelity is the task key plus " @Nep"."""
    fidelity = fidelity or state.current_fidelity()
    task = fidelity.rsplit(" @", 1)[0] if fidelity else None
    val = (((state.baselines or {}).get(task) or {}).get("persistence") or {}).get("val_mse") if task else None
    return float(val) if isinstance(val, (int, float)) and not isinstance(val, bool) and math.isfinite(val) else None


class FidelityChoiceError(ValueError):
    """--fidelity names no recorded fidelity (one line: the choices)."""


def fidelities(state: AgentState) -> list[str]:
    """The recorded fidelities, in the order of their first run."""
    out: list[str] = []
    for r in state.runs:
        if r.fidelity and r.fidelity not in out:
            out.append(r.fidelity)
    return out


def resolve_fidelity(state: AgentState, spec: str | None) -> str | None:
    """The fidelity a view shows: the current one by default; ``spec`` is a recorded fidelity key,
    or an epoch cap N (the fidelity "@Nep" of the current task, else the only one with that cap)."""
    if spec is None or spec == "":
        return state.current_fidelity()
    known = fidelities(state)
    if spec in known:
        return spec
    if spec.isdigit():
        matches = [f for f in known if f.endswith(f" @{int(spec)}ep")]
        current = state.current_fidelity()
        task = current.rsplit(" @", 1)[0] if current else None
        same_task = [f for f in matches if f.rsplit(" @", 1)[0] == task]
        if same_task:
            return same_task[0]
        if len(matches) == 1:
            return matches[0]
    choices = "; ".join(f"'{f}'" for f in known) or "none recorded yet"
    raise FidelityChoiceError(f"--fidelity {spec!r} matches no recorded fidelity: pass an epoch cap (e.g. --fidelity 3) "
                              f"or one of {choices}")


def view(state: AgentState, fidelity: str | None) -> AgentState:
    """The state restricted to one fidelity's runs (its incumbent as best_run_id): what a view shows."""
    runs = [r for r in state.runs if r.fidelity == fidelity]
    part = AgentState(state.max_runs, None, runs, dict(state.extra), fidelity=fidelity,
                      baselines=state.baselines, ensembles=state.ensembles)
    best = part.incumbent()
    part.best_run_id = best.root_run_id if best else None
    return part


def summary(state: AgentState, spec: str | None = None) -> dict[str, Any]:
    """The helper's ``standing``: the fidelity shown, its incumbent, every run's verdict label and
    persistence on the fidelity's task; TypeScript prints these, never derives them."""
    fidelity = resolve_fidelity(state, spec)
    part = view(state, fidelity)
    counts = {f: sum(r.fidelity == f for r in state.runs) for f in fidelities(state)}
    return {"fidelity": fidelity, "current_fidelity": state.current_fidelity(),
            "fidelities": [{"fidelity": f, "runs": n} for f, n in counts.items()],
            "best_run_id": part.best_run_id, "verdicts": run_labels(state.runs),
            "persistence_val_mse": persistence_val(state, fidelity)}
