"""Seeds of one config, pooled: per-config val statistics, the seed-noise estimate, the incumbent.

A *config* is every run with the same ``config_id`` at the same fidelity (seed repeats of one
config.py; see config_id.py and fidelity.py). A run recorded without a config_id (an older
workspace, or a change that never produced a config file) is a config of its own.

- ``val_mean`` / ``val_sd``: mean and sample sd (ddof 1) of the val_mse of the config's ok runs.
- ``next_seed``: the seed its next run trains (a repeat, a baseline's further seed, resume's
  repeat of a promising config): one past the largest seed any of its runs used, failed ones
  included; a config never gets a seed it has (CPU training is deterministic, so a reused seed
  would enter the noise pool as an independent one).
- Seed noise: the pooled within-config sd, sqrt(sum (n_i - 1) s_i^2 / sum (n_i - 1)), over the
  configs of a fidelity with two or more ok seeds (the baseline first; repeats add to it),
  overall and per model family. A config's own noise estimate is its family's pool when that
  has 2 or more degrees of freedom, else the fidelity's relative pool (1 dof is enough: the
  evaluator's t test on ``noise_dof`` prices in how little it says), else none (the evaluator
  then falls back to a stated default relative sd and the normal quantile).
- The incumbent of a fidelity: the accepted config with the lowest val_mean among the configs
  trained since the fidelity's last baseline (a search that starts from a config.py the user
  changed trains it as a new baseline, and the search continues from it).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from .config_check import DEFAULT_FAMILY

MIN_NOISE_DOF = 2


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@dataclass
class ConfigStats:
    config_id: str | None
    fidelity: str | None
    root_run_id: str
    family: str = DEFAULT_FAMILY
    run_ids: list[str] = field(default_factory=list)
    seeds: list[Any] = field(default_factory=list)
    val_values: list[float] = field(default_factory=list)
    test_values: list[float] = field(default_factory=list)  # held out: reported, never decided on
    accepted: bool = False
    n: int = 0
    val_mean: float | None = None
    val_sd: float | None = None
    test_mean: float | None = None
    noise_sd: float | None = None
    noise_source: str | None = None
    noise_dof: int | None = None  # degrees of freedom of the pooled sd behind noise_sd (the t test's)
    noise_pool: str | None = None  # "family": its family's runs alone; "all": every family's (pools overlap)
    next_seed: int = 0  # the seed its next run trains (next_seed)

    @property
    def key(self) -> tuple[str | None, str]:
        """Its group key: ``group_key`` of each of its runs."""
        return _key(self.fidelity, self.config_id, self.root_run_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def next_seed(seeds: Iterable[Any], default: Any) -> Any:
    """One past the largest integer seed in ``seeds`` (the seeds a config's runs used, failed ones
    included), ``default`` when there is none."""
    used = [s for s in seeds if _int(s)]
    return max(used) + 1 if used else default


def seeds_from(first: int, n: int) -> list[int]:
    """The ``n`` seeds a config trains, in order, from ``first`` on (the one rule for which seeds
    come next: a planned baseline's from its first seed, a first incumbent's missing ones from its
    next_seed, at a round's end or at the start of the next search)."""
    return list(range(first, first + n))


def missing_seeds(c: ConfigStats, n: int) -> list[int]:
    """The ``n`` seeds a config trains next: from its next_seed on."""
    return seeds_from(c.next_seed, n)


@dataclass(frozen=True)
class SeedLimits:
    """The search's --baseline-seeds and --max-repeats as a request carries them (None: not asked):
    what each config record then says it has left of them."""
    baseline_seeds: int | None = None
    max_repeats: int | None = None

    def left(self, c: ConfigStats) -> dict[str, Any]:
        """``baseline_seeds_left``: the seeds the config lacks to be measured like a baseline
        (--baseline-seeds minus the seeds it tried), and ``missing_seeds``: those seeds, in the
        order they train (missing_seeds); ``repeats_left``: the further seeds --max-repeats still
        allows it (minus its repeats so far: its runs after the first)."""
        out: dict[str, Any] = {}
        if self.baseline_seeds is not None:
            n = max(0, self.baseline_seeds - len(c.run_ids))
            out["baseline_seeds_left"], out["missing_seeds"] = n, missing_seeds(c, n)
        if self.max_repeats is not None:
            out["repeats_left"] = max(0, self.max_repeats - (len(c.run_ids) - 1))
        return out


def promising_keys(runs: Iterable[Any]) -> set[tuple]:
    """Group keys of the configs whose last finished run's verdict was promising, unconfirmed
    (a later repeat's verdict, accept or reject, replaces it)."""
    last: dict[tuple, Any] = {}
    for run in runs:
        if _ok_run(run) and "verdict pending" != run.evaluation_reason:
            last[group_key(run)] = run
    return {key for key, run in last.items() if run.extra.get("promising") and not run.accepted}


def run_labels(runs: list[Any]) -> dict[str, str]:
    """Each run's verdict label, the one rule every view reads (status, the report, the Optuna
    dashboard, the planner's prompt through agent_state.json's ``verdicts``): ``failed`` (it did
    not train), ``accepted`` (its config is), ``promising`` (its config's last verdict was
    "promising, unconfirmed": a gain inside the seed noise with no repeat or training left, or one
    the LLM evaluator favoured; never the incumbent) or ``rejected``."""
    keys = promising_keys(runs)

    def label(run) -> str:
        if run.status != "ok":
            return "failed"
        if run.accepted:
            return "accepted"
        return "promising" if group_key(run) in keys else "rejected"
    return {r.run_id: label(r) for r in runs}


def _ok_run(run) -> bool:
    """A run that trained: its val_mse counts in its config's statistics."""
    return run.status == "ok" and _finite(run.val_mse)


def _key(fidelity: str | None, config_id: str | None, run_id: str) -> tuple[str | None, str]:
    # a run without a config_id is a config of its own (its first and only run is itself)
    return fidelity, config_id or f"run:{run_id}"


def group_key(run) -> tuple[str | None, str]:
    """The config a run belongs to: (fidelity, config_id); ``ConfigStats.key`` of its config."""
    return _key(run.fidelity, run.config_id, run.run_id)


def is_baseline_root(run) -> bool:
    kind = run.kind or ("baseline" if run.step_type == "baseline" else None)
    return kind == "baseline" and not run.repeat_of


def config_table(runs: Iterable) -> list[ConfigStats]:
    """One ConfigStats per (fidelity, config), in the order of their first run."""
    table: dict[tuple, ConfigStats] = {}
    used: dict[str, Any] = {}  # run id -> the seed it trained (failed runs too)
    for run in runs:
        used[run.run_id] = run.seed
        key = group_key(run)
        c = table.get(key)
        if c is None:
            c = table[key] = ConfigStats(run.config_id, run.fidelity, run.run_id, family=run.family or DEFAULT_FAMILY)
        c.run_ids.append(run.run_id)
        if _ok_run(run):
            c.val_values.append(float(run.val_mse))
            c.seeds.append(run.seed)
            if _finite(run.test_mse):
                c.test_values.append(float(run.test_mse))
            c.accepted = c.accepted or bool(run.accepted)
    for c in table.values():
        c.next_seed = next_seed((used[r] for r in c.run_ids), len(c.run_ids))
        c.n = len(c.val_values)
        if c.n:
            c.val_mean = statistics.fmean(c.val_values)
            c.val_sd = statistics.stdev(c.val_values) if c.n >= 2 else None
        if c.test_values:
            c.test_mean = statistics.fmean(c.test_values)
    return list(table.values())


def _pool(configs: list[ConfigStats]) -> dict[str, Any] | None:
    """Pooled within-config sd over the configs with 2+ seeds; None when there are none."""
    used = [c for c in configs if c.n >= 2]
    dof = sum(c.n - 1 for c in used)
    if dof == 0:
        return None
    var = sum((c.n - 1) * c.val_sd ** 2 for c in used) / dof
    mean = statistics.fmean(c.val_mean for c in used)
    sd = math.sqrt(var)
    # relative spread pooled config by config (families differ in level: an absolute sd pooled
    # over an Informer at 0.22 and an NLinear at 0.05 is neither's)
    rel_var = [(c.n - 1) * (c.val_sd / c.val_mean) ** 2 for c in used if c.val_mean > 0]
    rel_sd = math.sqrt(sum(rel_var) / dof) if len(rel_var) == len(used) else None
    return {"sd": sd, "rel_sd": rel_sd, "dof": dof, "n": sum(c.n for c in used),
            "mean": mean, "run_ids": [r for c in used for r in c.run_ids], "config_ids": [c.config_id for c in used]}


def noise_table(configs: list[ConfigStats]) -> dict[str, dict[str, Any]]:
    """{fidelity: pooled noise (plus by_family)}; also sets each config's noise_sd and noise_source."""
    out: dict[str, dict[str, Any]] = {}
    fidelities = {c.fidelity for c in configs}
    for fid in fidelities:
        mine = [c for c in configs if c.fidelity == fid]
        overall = _pool(mine)
        families = {c.family for c in mine}
        by_family = {f: p for f in sorted(families) if (p := _pool([c for c in mine if c.family == f]))}
        if overall is not None and fid is not None:
            out[fid] = {**overall, "by_family": by_family}
        for c in mine:
            fam = by_family.get(c.family)
            if fam and fam["dof"] >= MIN_NOISE_DOF:
                # the family's relative sd at this config's level (the evaluator tests on the log scale)
                sd = fam["rel_sd"] * c.val_mean if fam["rel_sd"] and c.val_mean else fam["sd"]
                c.noise_sd, c.noise_source, c.noise_dof = sd, f"{c.family} runs ({fam['dof']} dof)", fam["dof"]
                c.noise_pool = "family"
            elif overall and overall["dof"] >= 1 and overall["rel_sd"] and c.val_mean:
                # even 1 dof is used: the t test on its dof prices in how little it says
                # another family's spread, scaled to this config's level: an Informer's sd of 0.015
                # at val 0.22 says nothing absolute about a DLinear at 0.05, but 7% of its mean may
                rel = overall["rel_sd"]
                c.noise_sd, c.noise_dof, c.noise_pool = rel * c.val_mean, overall["dof"], "all"
                c.noise_source = f"{rel:.1%} of its mean, the relative sd measured over all families ({overall['dof']} dof)"
    return out


def lineage_start(runs: list, fidelity: str | None) -> int:
    """Index in ``runs`` of the last baseline root of this fidelity (0 when there is none)."""
    start = 0
    for i, run in enumerate(runs):
        if run.fidelity == fidelity and is_baseline_root(run):
            start = i
    return start


def incumbent(runs: list, configs: list[ConfigStats], fidelity: str | None) -> ConfigStats | None:
    """The accepted config of this fidelity with the lowest val_mean since its last baseline."""
    index = {r.run_id: i for i, r in enumerate(runs)}
    start = lineage_start(runs, fidelity)
    best = None
    for c in configs:
        if c.fidelity != fidelity or not c.accepted or c.n == 0 or index[c.root_run_id] < start:
            continue
        if best is None or c.val_mean < best.val_mean:
            best = c
    return best
