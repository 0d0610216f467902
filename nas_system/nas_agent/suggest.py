"""Optuna planner: a stateless suggestion rebuilt from the full history on every call.

Every run in agent_state.json becomes a trial of an in-memory study (its ``params`` and
val_mse; failed runs are told as FAIL). One trial is asked from a seeded TPE or random
sampler (seeded from the search seed and the number of trials, so the same history and seed
give the same answer, and two search seeds never replay each other's draws),
resampled while it breaks a search-space constraint, and turned into a PlannerDecision
whose config_changes are the keys that differ from the incumbent.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from .agent_state import AgentState, get_best_run
from .config_edit import ConfigEditError, read_values
from .search_space import ParamSpec, SearchSpace, check_constraints

MAX_TRIES = 50
SEED_STRIDE = 100_003  # > any history length, so seeds never overlap
N_STARTUP = 4
STEP_RANK = {"small": 0, "medium": 1, "radical": 2}


def distribution(spec: ParamSpec) -> BaseDistribution:
    """The Optuna distribution of one search-space key."""
    if spec.type == "bool":
        return CategoricalDistribution((False, True))
    if spec.choices is not None:
        return CategoricalDistribution(tuple(spec.choices))
    if spec.type == "int":
        return IntDistribution(int(spec.low), int(spec.high), log=spec.log)
    return FloatDistribution(float(spec.low), float(spec.high), log=spec.log)


def _fits(dist: BaseDistribution, value: Any) -> bool:
    """Is ``value`` inside ``dist`` (type-aware, so True is not 1)?"""
    if isinstance(dist, CategoricalDistribution):
        return any(c == value and type(c) is type(value) for c in dist.choices)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    if isinstance(dist, IntDistribution) and not isinstance(value, int):
        return False
    return dist.low <= value <= dist.high


def history_trials(state: AgentState, dists: dict[str, BaseDistribution]) -> list:
    """FrozenTrials for the recorded runs: ok runs COMPLETE (val_mse), the others FAIL.

    Params outside the current distributions are dropped for that trial; runs with no usable
    params (or ok runs without a finite val_mse) are skipped.
    """
    trials = []
    for run in state.runs:
        params = {k: v for k, v in (run.params or {}).items() if k in dists and _fits(dists[k], v)}
        if not params:
            continue
        sub = {k: dists[k] for k in params}
        if run.status == "ok":
            if not (isinstance(run.val_mse, (int, float)) and math.isfinite(run.val_mse)):
                continue
            trials.append(create_trial(params=params, distributions=sub, value=float(run.val_mse)))
        else:
            trials.append(create_trial(params=params, distributions=sub, state=TrialState.FAIL))
    return trials


def _round(spec: ParamSpec, value: Any) -> Any:
    """Floats to 3 significant digits (legible plans and diffs), kept inside the range."""
    if spec.type != "float" or spec.choices is not None or value == 0:
        return value
    rounded = float(f"{value:.3g}")
    return min(max(rounded, spec.low), spec.high)


def sampler_seed(seed: int, n_trials: int) -> int:
    """A fresh sampler seed per history size. Injective in (seed, n_trials): with seed + n_trials,
    search seed s at trial n+1 would redraw search seed s+1's trial n."""
    return seed * SEED_STRIDE + n_trials


def _sampler(kind: str, seed: int):
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=N_STARTUP,
                                      warn_independent_sampling=False)


def incumbent(state: AgentState, space: SearchSpace, config_path: Path) -> tuple[dict[str, Any], str | None]:
    """The values to change from: the best run's params over the current config's values."""
    best = get_best_run(state)
    try:
        values = dict(read_values(config_path, space).values)
    except ConfigEditError:
        if best is None or not best.params:
            raise
        values = {}
    if best is not None:
        values.update({k: v for k, v in best.params.items() if k in space.params})
    return values, best.run_id if best else None


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


def suggest(state: AgentState, space: SearchSpace, config_path: str | Path,
            sampler: str = "tpe", seed: int = 0) -> dict[str, Any]:
    """One PlannerDecision from Optuna: ``{decision, params, ...}``."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    dists = {k: distribution(p) for k, p in space.params.items()}
    base, best_id = incumbent(state, space, Path(config_path))
    trials = history_trials(state, dists)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(direction="minimize", sampler=_sampler(sampler, sampler_seed(seed, len(trials))))
        study.add_trials(trials)
        params, changes, tries = None, [], 0
        while tries < MAX_TRIES:
            tries += 1
            trial = study.ask(fixed_distributions=dists)
            cand = {k: _round(space.params[k], v) for k, v in trial.params.items()}
            changes = [k for k in space.params if k in cand and not _same(cand[k], base.get(k))]
            if check_constraints(space, {**base, **cand}) or not changes:
                study.tell(trial, state=TrialState.FAIL)
                continue
            params = cand
            break
    if params is None:
        changes = []
    decision = _decision(space, state, sampler, trials, base, params or {}, changes, best_id, tries)
    return {"decision": decision, "params": params or {}, "n_trials": len(trials),
            "incumbent_run_id": best_id, "sampler": sampler, "tries": tries}


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _decision(space, state, sampler, trials, base, params, changes, best_id, tries) -> dict[str, Any]:
    n_ok = sum(1 for t in trials if t.state == TrialState.COMPLETE)
    n_fail = len(trials) - n_ok
    best = state.find(best_id) if best_id else None
    name = "TPE" if sampler == "tpe" else "Random search"
    head = f"{name} ({len(trials)} trial{'' if len(trials) == 1 else 's'}, {n_fail} failed"
    head += f"; best val_mse {best.val_mse:.4g} at {best_id})" if best else "; no accepted run yet)"
    if not changes:
        return {"step_type": "small", "plan": f"{head} found no valid configuration different from the incumbent "
                f"in {tries} tries: keep the current config.",
                "reason": "Every sample either matched the incumbent or broke a search-space constraint.",
                "config_changes": []}
    moves = ", ".join(f"{_short(k)} {_fmt(base.get(k, 'unset'))} -> {_fmt(params[k])}" for k in changes)
    step = max((space.params[k].step for k in changes), key=STEP_RANK.__getitem__)
    return {"step_type": step, "plan": f"{head} proposes: {moves}.",
            "reason": _reason(sampler, n_ok, n_fail, tries), "config_changes": [{"key": k, "value": params[k]} for k in changes]}


def _reason(sampler: str, n_ok: int, n_fail: int, tries: int) -> str:
    if sampler == "random":
        text = "Exploration: an independent uniform draw over the whole search space, a baseline that ignores the history."
    elif n_ok < N_STARTUP:
        text = (f"Exploration: only {n_ok} completed run(s), fewer than the {N_STARTUP} startup trials, "
                "so TPE samples at random until it can model the history.")
    else:
        text = (f"Exploitation with exploration: multivariate TPE splits the {n_ok} completed runs into good "
                "(lowest val_mse) and bad groups and proposes the sample most likely to be good; "
                f"{n_fail} failed run(s) count as failures.")
    if tries > 1:
        text += f" {tries - 1} earlier sample(s) were rejected (constraint violation or no change)."
    return text
