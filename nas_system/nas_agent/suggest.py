"""Optuna planner: a stateless suggestion rebuilt from the full history on every call.

- **History.** Every config recorded at the current fidelity (see fidelity.py: the same task and
  epoch cap) becomes a trial of an in-memory study, valued at its MEAN val_mse over its seeds
  (repeats of a config add no trial of their own). Its point is the run's
  ``params`` (read from its config_used.py: the keys that applied to its model family); a run
  refused before training has no config_used.py, so its point is rebuilt as the incumbent of
  its time (the best accepted run recorded before it, else the config's values) plus its
  config_changes.
- **Failures steer the sampler.** An ok run is a COMPLETE trial with its val_mse. A failed,
  diverged, crashed, timed-out or invalid run is a COMPLETE trial marked *infeasible*
  (``trial.set_constraint("failed", 1.0)``): Optuna's TPE ranks infeasible trials after every
  feasible one, so they land in its "bad" group and it samples away from their region. (TPE
  ignores FAIL trials altogether.) The value stored with an infeasible trial is the worst
  val_mse of the history; TPE never reads it (infeasible trials are ranked by their violation
  only), so it cannot distort the model of the good region. Interrupted runs (Ctrl-C) say
  nothing about their config and are left out.
- **Define-by-run.** A proposal is sampled key by key, model.family and the other condition keys
  first; a key whose ``when`` does not hold for the sampled model.family is not sampled at all
  (Optuna handles such conditional spaces natively; the multivariate TPE runs with ``group=True``).
- **Per family.** Every key but model.family has one Optuna parameter per family
  (``training.optimizer_params.lr[dlinear]``, see ``optuna_name``), so TPE models DLinear's
  learning rate apart from the Informer's: their good values differ by orders of magnitude and a
  pooled model would sample neither well. model.family itself is shared, so TPE still learns
  which family is good.
- **One conversion.** ``run_trial`` turns a recorded run into a trial, for this planner's history
  and for the dashboard study (study.py) alike.
- **Rejections.** A sample that breaks a search-space constraint is told as infeasible too; a
  sample equal to the incumbent or to the last recorded run's point is told FAIL (nothing to
  learn) and redrawn, so a proposal is never empty and never the same twice in a row. After
  ``MAX_TRIES`` TPE samples, uniform samples are tried; when none fits either, a finite space is
  enumerated, and when it holds no other valid point the decision is ``stop`` (exhausted).
- **Seeds.** The sampler seed is derived from (search seed, history size) by numpy's
  SeedSequence: deterministic, 32-bit for any seed, and different searches never replay each
  other's draws.
- **Batches.** ``count`` > 1 (``--parallel K``) asks for K proposals at once: TPE runs with the
  constant liar, so the proposals already drawn in the batch count as pending trials and the
  next one is drawn away from them; no two proposals of a batch, nor any of them and a config
  already trained at this fidelity, are the same point.
"""
from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, Trial, TrialState, create_trial

from .agent_state import AgentState, RunInfo, get_best_run
from .config_stats import config_table
from .config_edit import ConfigEditError, read_values
from .search_space import FAMILY_KEY, IMPLICIT, ParamSpec, SearchSpace, check_constraints

MAX_TRIES = 50
N_STARTUP = 4
STEP_RANK = {"small": 0, "medium": 1, "radical": 2}
FAILED = ("failed", "diverged", "crashed", "timeout", "invalid")  # steer away; "interrupted" is left out
ENUMERATION_LIMIT = 100_000


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


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# ----------------------------------------------------------------------------- history


def active_point(space: SearchSpace, values: dict[str, Any]) -> dict[str, Any]:
    """The search-space values that apply to these values' model family (condition keys a config
    leaves out take their implicit value, e.g. model.family "informer")."""
    full = {**{k: IMPLICIT[k] for k in space.condition_keys() if k in IMPLICIT}, **values}
    return {k: full[k] for k in space.params if k in full and space.is_active(k, full)}


def comparable(state: AgentState) -> AgentState:
    """The state restricted to the current fidelity's runs (older tasks and epoch caps stay out)."""
    fid = state.current_fidelity()
    return AgentState(state.max_runs, state.best_run_id, [r for r in state.runs if r.fidelity == fid],
                      state.extra, fidelity=state.fidelity)


def run_points(state: AgentState, space: SearchSpace, config_values: dict[str, Any]) -> list[tuple[RunInfo, dict | None]]:
    """(run, active point or None) for every recorded run, in order (see the module docstring)."""
    out, best = [], None
    for run in state.runs:
        if run.params:
            point = run.params
        elif run.config_changes:
            point = {**(best.params if best else config_values), **run.config_changes}
        else:
            point = None
        usable = point is not None and any(k in space.params for k in point)
        out.append((run, active_point(space, point) if usable else None))
        if run.accepted and run.status == "ok" and _finite(run.val_mse) and (best is None or run.val_mse < best.val_mse):
            best = run
    return out


def optuna_name(key: str, family: str | None) -> str:
    """Optuna's name of a search key: one parameter per model family (``key[family]``), except
    model.family itself and every key of a space without model.family (``family`` None)."""
    return key if family is None or key == FAMILY_KEY else f"{key}[{family}]"


def space_key(name: str) -> str:
    """The search key of an Optuna parameter name (``optuna_name`` reversed)."""
    return name.split("[", 1)[0]


def _family(space: SearchSpace, point: dict[str, Any]) -> str | None:
    return point.get(FAMILY_KEY, IMPLICIT[FAMILY_KEY]) if FAMILY_KEY in space.params else None


def run_trial(run: RunInfo, point: dict[str, Any] | None, space: SearchSpace, *, value: float | None = None,
              failed: str = "infeasible", worst: float = 1.0, user_attrs: dict[str, Any] | None = None) -> FrozenTrial | None:
    """The one conversion of a recorded run into an Optuna trial (this planner's history and the
    dashboard study of study.py).

    - params: the point's search-space values that apply to its family, under per-family names
      (``optuna_name``); a value outside its distribution, of an inactive key or of a key not in
      the space is left out and kept in ``user_attrs["other_params"]``;
    - an ok run with a finite val_mse: COMPLETE with ``value`` (default: its val_mse);
    - a failed run: ``failed="infeasible"`` (the sampler) makes it COMPLETE with ``worst`` and the
      constraint "failed" violated, so TPE ranks it after every feasible trial and samples away
      from it; ``failed="fail"`` (the dashboard) makes any other run a FAIL trial.
    None, for the sampler, when the run says nothing it can learn (no usable value, an
    interrupted run, an ok run without a finite val_mse)."""
    point = point or {}
    family = _family(space, point)
    full = {**{k: IMPLICIT[k] for k in space.condition_keys() if k in IMPLICIT}, **point}
    params, dists, other = {}, {}, {}
    for key, v in point.items():
        spec = space.params.get(key)
        dist = distribution(spec) if spec is not None else None
        if dist is not None and space.is_active(key, full) and _fits(dist, v):
            name = optuna_name(key, family)
            params[name], dists[name] = v, dist
        else:
            other[key] = v
    attrs = dict(user_attrs or {})
    if other:
        attrs["other_params"] = other
    ok = run.status == "ok" and _finite(run.val_mse)
    if failed == "fail":
        if ok:
            return create_trial(params=params, distributions=dists, value=float(run.val_mse if value is None else value),
                                user_attrs=attrs)
        return create_trial(params=params, distributions=dists, state=TrialState.FAIL, user_attrs=attrs)
    if not params:
        return None
    if ok:
        return create_trial(params=params, distributions=dists, value=float(run.val_mse if value is None else value),
                            user_attrs=attrs)
    if run.status in FAILED:
        trial = create_trial(params=params, distributions=dists, value=worst, user_attrs=attrs)
        trial.set_constraint("failed", 1.0)
        return trial
    return None


def history_trials(state: AgentState, space: SearchSpace, config_values: dict[str, Any] | None = None) -> list[FrozenTrial]:
    """Trials for the recorded runs (``run_trial``): ok runs COMPLETE with the mean val_mse of
    their config; failed ones COMPLETE and infeasible. A repeat seed adds no trial of its own."""
    worst = _worst(state)
    means = {c.root_run_id: c.val_mean for c in config_table(state.runs)}  # best is a mean over seeds
    trials = []
    for run, point in run_points(state, space, config_values or {}):
        if point is None or run.repeat_of:  # a repeat is one more seed of its config's trial
            continue
        value = means.get(run.run_id) if _finite(means.get(run.run_id)) else None
        trial = run_trial(run, point, space, value=value, worst=worst)
        if trial is not None:
            trials.append(trial)
    return trials


def _worst(state: AgentState) -> float:
    """The value stored with infeasible trials: the worst finite val_mse (TPE does not read it)."""
    vals = [r.val_mse for r in state.runs if r.status == "ok" and _finite(r.val_mse)]
    return float(max(vals)) if vals else 1.0


def n_failed(trials: list[FrozenTrial]) -> int:
    return sum(1 for t in trials if t.constraints.get("failed", 0) > 0)


# ----------------------------------------------------------------------------- sampling


def sampler_seed(seed: int, n_trials: int, phase: int = 0) -> int:
    """A 32-bit sampler seed per (search seed, history size, phase): mixed by numpy's
    SeedSequence, so any seed in [0, 2**32-1] works and nearby searches do not replay each other."""
    return int(np.random.SeedSequence([seed, n_trials, phase]).generate_state(1)[0])


def _sampler(kind: str, seed: int, liar: bool = False):
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, n_startup_trials=N_STARTUP,
                                      warn_independent_sampling=False, constant_liar=liar)


def _round(spec: ParamSpec, value: Any) -> Any:
    """Floats to 3 significant digits (legible plans and diffs), kept inside the range."""
    if spec.type != "float" or spec.choices is not None or value == 0:
        return value
    rounded = float(f"{value:.3g}")
    return min(max(rounded, spec.low), spec.high)


def sample_point(trial: Trial, space: SearchSpace) -> dict[str, Any]:
    """Define-by-run: model.family and the condition keys first, then every key whose ``when``
    holds; each under its per-family Optuna name (``optuna_name``). Returns search keys."""
    point: dict[str, Any] = {}
    keys = space.ordered_keys()
    if FAMILY_KEY in space.params:  # first: every other key's Optuna name depends on it
        keys = [FAMILY_KEY] + [k for k in keys if k != FAMILY_KEY]
    for key in keys:
        if not space.is_active(key, point):
            continue
        spec, dist = space.params[key], distribution(space.params[key])
        name = optuna_name(key, _family(space, point))
        if isinstance(dist, CategoricalDistribution):
            value = trial.suggest_categorical(name, list(dist.choices))
        elif isinstance(dist, IntDistribution):
            value = trial.suggest_int(name, dist.low, dist.high, log=dist.log)
        else:
            value = trial.suggest_float(name, dist.low, dist.high, log=dist.log)
        point[key] = _round(spec, value)
    return point


def incumbent(state: AgentState, space: SearchSpace, config_path: Path) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """(values to change from, incumbent run id, the config's own values). The values are the
    best run's params over the current config's values."""
    best = get_best_run(state)
    try:
        config_values = dict(read_values(config_path, space).values)
    except ConfigEditError:
        if best is None or not best.params:
            raise
        config_values = {}
    values = dict(config_values)
    if best is not None:
        values.update({k: v for k, v in best.params.items() if k in space.params})
    return values, best.run_id if best else None, config_values


class _Search:
    """One suggestion: draws until a sample is valid, new and different from the last proposal."""

    def __init__(self, space: SearchSpace, base: dict[str, Any], last: dict[str, Any] | None, worst: float,
                 trained: list[dict[str, Any]] | None = None):
        self.space, self.base, self.last, self.worst = space, base, last, worst
        self.trained = list(trained or [])  # points already trained at this fidelity, and this batch's
        self.rejected = {"constraint": 0, "unchanged": 0, "repeat": 0, "trained": 0}

    def verdict(self, cand: dict[str, Any]) -> str | None:
        """None when ``cand`` is acceptable, else why not (a key of self.rejected)."""
        if check_constraints(self.space, self.space.active_values({**self.base, **cand})):
            return "constraint"
        if not self.changes(cand):
            return "unchanged"
        if self.last is not None and _same_point(cand, self.last):
            return "repeat"
        if any(_same_point(cand, p) for p in self.trained):
            return "trained"
        return None

    def changes(self, cand: dict[str, Any]) -> list[str]:
        """Keys whose value differs from the incumbent's (its config's value of a key of another
        family counts: switching back to a family keeps that family's values)."""
        return [k for k in self.space.params if k in cand and not _same(cand[k], self.base.get(k))]

    def draw(self, study: optuna.Study, tries: int) -> tuple[dict | None, int]:
        for i in range(1, tries + 1):
            trial = study.ask()
            cand = sample_point(trial, self.space)
            why = self.verdict(cand)
            if why is None:
                return cand, i
            self.rejected[why] += 1
            if why == "constraint":          # the region breaks a rule: teach the sampler
                trial.set_constraint("failed", 1.0)
                study.tell(trial, self.worst)
            else:                            # the incumbent or the last proposal: nothing to learn
                study.tell(trial, state=TrialState.FAIL)
        return None, tries


def _same_point(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)


def enumerate_points(space: SearchSpace, limit: int = ENUMERATION_LIMIT):
    """Every point of a finite space (conditional keys only where they apply), or None when the
    space has a continuous key or more than ``limit`` points."""
    domains = {}
    for key, spec in space.params.items():
        dist = distribution(spec)
        if isinstance(dist, FloatDistribution):
            return None
        domains[key] = list(dist.choices) if isinstance(dist, CategoricalDistribution) else list(range(dist.low, dist.high + 1))
    conds = space.condition_keys()
    points = []
    for head in itertools.product(*(domains[k] for k in conds)):
        fixed = dict(zip(conds, head))
        rest = [k for k in space.params if k not in fixed and space.is_active(k, fixed)]
        if len(points) + math.prod(len(domains[k]) for k in rest) > limit:
            return None
        points += [{**fixed, **dict(zip(rest, tail))} for tail in itertools.product(*(domains[k] for k in rest))]
    return points


def suggest(state: AgentState, space: SearchSpace, config_path: str | Path,
            sampler: str = "tpe", seed: int = 0, count: int = 1) -> dict[str, Any]:
    """``count`` PlannerDecisions from Optuna: ``{decision, decisions, params, ...}``; a stop
    decision when the space holds no valid configuration other than the incumbent, the last
    proposal and the configs already trained at this fidelity."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    state = comparable(state)
    base, best_id, config_values = incumbent(state, space, Path(config_path))
    trials = history_trials(state, space, config_values)
    points = run_points(state, space, config_values)
    last = points[-1][1] if points else None
    search = _Search(space, base, last, _worst(state), [p for _, p in points if p])
    decisions, drawn, tries = [], [], 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = optuna.create_study(direction="minimize",
                                    sampler=_sampler(sampler, sampler_seed(seed, len(trials)), liar=count > 1))
        study.add_trials(trials)
        for k in range(count):
            params, n = search.draw(study, MAX_TRIES)  # a drawn point stays a pending trial (constant liar)
            tries += n
            fallback = None
            if params is None:  # the sampler keeps returning rejected points: try uniform draws
                uniform = optuna.create_study(direction="minimize",
                                              sampler=_sampler("random", sampler_seed(seed, len(trials), 1 + k)))
                params, more = search.draw(uniform, MAX_TRIES)
                tries += more
                fallback = "uniform" if params is not None else None
            if params is None:
                params, fallback = _enumerated(search, space, seed, len(trials) + k)
            if params is None and decisions:
                break  # the batch is as large as the space allows
            decisions.append(_decision(space, state, sampler, trials, search, params, best_id, tries, fallback))
            if params is None:
                break
            drawn.append(params)
            search.trained.append(params)
    return {"decision": decisions[0], "decisions": decisions, "params": drawn[0] if drawn else {},
            "n_trials": len(trials), "incumbent_run_id": best_id, "sampler": sampler, "tries": tries}


def _enumerated(search: _Search, space: SearchSpace, seed: int, n: int) -> tuple[dict | None, str | None]:
    """A valid new point of a finite space (seeded pick), None and "exhausted" when there is none,
    None and None when the space is too large to tell."""
    points = enumerate_points(space)
    if points is None:
        return None, None
    valid = [p for p in points if search.verdict(p) is None]
    if not valid:
        return None, "exhausted"
    return valid[int(np.random.default_rng(sampler_seed(seed, n, 2)).integers(len(valid)))], "enumerated"


# ----------------------------------------------------------------------------- decision text


def _short(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def _decision(space, state, sampler, trials, search, params, best_id, tries, fallback) -> dict[str, Any]:
    n_fail = n_failed(trials)
    n_ok = len(trials) - n_fail
    best = state.find(best_id) if best_id else None
    name = "TPE" if sampler == "tpe" else "Random search"
    head = f"{name} ({len(trials)} trial{'' if len(trials) == 1 else 's'}, {n_fail} failed"
    head += f"; best val_mse {best.val_mse:.4g} at {best_id})" if best else "; no accepted run yet)"
    if params is None:
        what = ("the search space holds no valid configuration other than the incumbent and the configs "
                "already trained at this fidelity" if fallback == "exhausted" else
                f"no valid configuration different from the incumbent and the configs already trained turned up in {tries} samples")
        return {"step_type": "stop", "plan": f"{head}: {what}; stop the search.",
                "reason": _rejections(search) or "Nothing left to try.", "config_changes": []}
    changes = search.changes(params)
    base = search.base
    moves = ", ".join(f"{_short(k)} {_fmt(base.get(k, 'unset'))} -> {_fmt(params[k])}" for k in changes)
    step = max((space.params[k].step for k in changes), key=STEP_RANK.__getitem__)
    reason = _reason(sampler, n_ok, n_fail)
    if fallback:
        reason += (f" The {name} samples were all rejected, so this one was drawn "
                   f"{'uniformly' if fallback == 'uniform' else 'from an enumeration of the (finite) space'}.")
    if tries > 1:
        reason += f" {_rejections(search)}"
    return {"step_type": step, "plan": f"{head} proposes: {moves}.", "reason": reason,
            "config_changes": [{"key": k, "value": params[k]} for k in changes]}


def _rejections(search: _Search) -> str:
    r = search.rejected
    parts = [f"{n} {what}" for n, what in ((r["constraint"], "broke a constraint (told to the sampler as infeasible)"),
                                          (r["unchanged"], "equalled the incumbent"),
                                          (r["repeat"], "repeated the last proposal")) if n]
    return f"Rejected samples: {', '.join(parts)}." if parts else ""


def _reason(sampler: str, n_ok: int, n_fail: int) -> str:
    failures = (f" {n_fail} failed run(s) (diverged, crashed, timed out or refused) are told to TPE as infeasible "
                "trials, so it samples away from their region." if n_fail else "")
    if sampler == "random":
        return "Exploration: an independent uniform draw over the whole search space, a baseline that ignores the history."
    if n_ok + n_fail < N_STARTUP:
        return (f"Exploration: only {n_ok + n_fail} usable run(s), fewer than the {N_STARTUP} startup trials, "
                "so TPE samples at random until it can model the history." + failures)
    return (f"Exploitation with exploration: multivariate TPE splits the {n_ok} completed runs into good "
            "(lowest val_mse) and bad groups and proposes the sample most likely to be good." + failures)
