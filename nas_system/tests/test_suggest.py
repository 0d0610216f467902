"""suggest: a stateless Optuna planner over agent_state.json's history."""
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from optuna.trial import TrialState

from nas_agent.agent_state import AgentState, RunInfo, add_run, save_agent_state
from nas_agent.config_edit import apply_changes, read_values
from nas_agent.search_space import check_constraints, load_space
from nas_agent.suggest import active_point, distribution, history_trials, suggest

NAS_SYSTEM = Path(__file__).resolve().parents[1]
SPACE = load_space(NAS_SYSTEM / "search_space.json")


def random_params(space, rng, fixed=None):
    """A random point of the space that keeps its constraints."""
    while True:
        out = _draw(space, rng, fixed)
        if not check_constraints(space, out):
            return out


def _draw(space, rng, fixed=None):
    """Define-by-run like the sampler: the keys of the drawn family only."""
    out = dict(fixed or {})
    for k in space.ordered_keys():
        s = space.params[k]
        if k in out or not space.is_active(k, out):
            continue
        if s.type == "bool":
            out[k] = rng.random() < 0.5
        elif s.choices:
            out[k] = rng.choice(s.choices)
        elif s.type == "int":
            out[k] = rng.randint(s.low, s.high)
        else:
            out[k] = round(rng.uniform(s.low, s.high), 6)
    return out


def history(n, space=SPACE, seed=0, fail_every=7, fixed=None):
    rng = random.Random(seed)
    state = AgentState(max_runs=200)
    for i in range(n):
        failed = fail_every and i % fail_every == 3
        add_run(state, RunInfo(
            run_id=f"run_{i:04d}", val_mse=None if failed else 0.3 + rng.random(), test_mse=None,
            history_summary=None, accepted=not failed and rng.random() < 0.4, config_changes={},
            status="diverged" if failed else "ok", params=random_params(space, rng, fixed)))
    return state


@pytest.fixture()
def config(tmp_path):
    path = tmp_path / "config.py"
    shutil.copy(NAS_SYSTEM / "config.py", path)
    return path


def assert_valid(result, state, space, config, tmp_path):
    """Changes differ from the incumbent, keep the constraints and apply cleanly to its config."""
    decision = result["decision"]
    assert decision["step_type"] in ("small", "medium", "radical")
    assert decision["plan"] and decision["reason"]
    best = state.find(result["incumbent_run_id"]) if result["incumbent_run_id"] else None
    base = {**read_values(config, space).values, **(best.params if best else {})}
    changed = {c["key"]: c["value"] for c in decision["config_changes"]}
    for key, value in changed.items():
        assert value != base.get(key) or type(value) is not type(base.get(key))
    for key, value in result["params"].items():
        if key not in changed:
            assert value == base[key]
    assert check_constraints(space, {**base, **changed}) == []
    base_file = _write(tmp_path / "incumbent.py", config, active_point(space, base), space)
    apply_changes(config, decision["config_changes"], space, base_path=base_file, dry_run=True)


def _write(path, config, values, space):
    shutil.copy(config, path)
    apply_changes(path, [{"key": k, "value": v} for k, v in values.items()], space)
    return path


def test_history_trials_tell_failed_runs_as_infeasible():
    # TPE reads COMPLETE trials only: a failed run is COMPLETE with the constraint "failed" violated
    state = history(30)
    trials = history_trials(state, SPACE)
    n_failed = sum(1 for r in state.runs if r.status != "ok")
    assert n_failed > 0 and all(t.state == TrialState.COMPLETE for t in trials)
    infeasible = [t for t in trials if t.constraints.get("failed", 0) > 0]
    assert len(infeasible) == n_failed
    worst = max(r.val_mse for r in state.runs if r.status == "ok")
    assert {t.value for t in infeasible} == {worst}  # not a constant huge value


def test_out_of_space_values_are_dropped_not_fatal():
    state = history(5, fail_every=0, fixed={"model.family": "informer"})
    state.runs[0].params["model.d_model"] = 100          # not a choice
    state.runs[1].params["model.distil"] = 1             # not a bool
    state.runs[2].params = {"model.gone": 3}             # nothing usable: run skipped
    trials = history_trials(state, SPACE)
    assert len(trials) == 4
    assert "model.d_model" not in trials[0].params and "model.distil" not in trials[1].params


def test_search_seeds_do_not_replay_each_other(config):
    # regression: sampler seed = seed + n_trials made seed 1 at trial n redraw seed 0 at trial n+1
    seen = {}
    for seed in range(3):
        for n in (1, 2, 3):
            out = suggest(history(n), SPACE, config, sampler="random", seed=seed)
            seen.setdefault(json.dumps(out["params"], sort_keys=True), []).append((seed, n))
    assert all(len(v) == 1 for v in seen.values()), [v for v in seen.values() if len(v) > 1]


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_deterministic_and_valid(sampler, config, tmp_path):
    state = history(12)
    a = suggest(state, SPACE, config, sampler=sampler, seed=3)
    b = suggest(state, SPACE, config, sampler=sampler, seed=3)
    c = suggest(state, SPACE, config, sampler=sampler, seed=4)
    assert a == b
    assert a["params"] != c["params"]
    assert a["n_trials"] == 12 and a["sampler"] == sampler
    assert_valid(a, state, SPACE, config, tmp_path)
    name = "TPE" if sampler == "tpe" else "Random search"
    assert a["decision"]["plan"].startswith(f"{name} (12 trials, 2 failed; best val_mse")


def test_empty_history_changes_from_config(config, tmp_path):
    state = AgentState()
    out = suggest(state, SPACE, config, sampler="tpe", seed=0)
    assert out["incumbent_run_id"] is None and "no accepted run yet" in out["decision"]["plan"]
    assert "Exploration" in out["decision"]["reason"]
    assert_valid(out, state, SPACE, config, tmp_path)


def test_constraints_respected_by_resampling(config, tmp_path):
    raw = json.loads((NAS_SYSTEM / "search_space.json").read_text())
    spec = raw["params"]["model.d_model"]
    del spec["choices"]
    spec.update(low=8, high=512)
    (tmp_path / "space.json").write_text(json.dumps(raw))
    space = load_space(tmp_path / "space.json")
    state = history(8, space=space, fail_every=0)
    resampled = 0
    for seed in range(12):
        out = suggest(state, space, config, sampler="random", seed=seed)
        params = out["params"]
        if "model.d_model" in params:  # informer and patchtst
            assert params["model.d_model"] % params["model.n_heads"] == 0
        if "data.label_len" in params:  # informer
            assert params["data.label_len"] <= params["data.seq_len"]
        resampled += out["tries"] > 1
    assert resampled > 0  # the constraint did reject some samples


def test_no_possible_change_is_a_stop_decision_not_an_empty_training(config, tmp_path):
    # issue 9.8: an empty proposal used to retrain the incumbent with the same seed
    (tmp_path / "space.json").write_text(json.dumps({"params": {
        "model.attn": {"type": "str", "choices": ["prob"], "step": "medium"}}}))
    space = load_space(tmp_path / "space.json")
    out = suggest(AgentState(), space, config, sampler="tpe", seed=0)
    d = out["decision"]
    assert d["config_changes"] == [] and d["step_type"] == "stop"
    assert "holds no valid configuration other than the incumbent" in d["plan"]
    assert "100 equalled the incumbent" in d["reason"] and out["tries"] == 100


def test_step_type_is_largest_touched(config):
    out = suggest(history(10), SPACE, config, sampler="random", seed=1)
    steps = {SPACE.params[c["key"]].step for c in out["decision"]["config_changes"]}
    rank = ["small", "medium", "radical"]
    assert out["decision"]["step_type"] == max(steps, key=rank.index)


def test_cli_suggest_with_100_runs(tmp_path):
    """The CLI path at the size of the speed bar (timed in bench/suggest_bench.py, not here)."""
    shutil.copy(NAS_SYSTEM / "config.py", tmp_path / "config.py")
    state = history(100)
    save_agent_state(state, tmp_path / "agent_state.json")
    env = {**os.environ, "PYTHONPATH": str(NAS_SYSTEM)}
    proc = subprocess.run([sys.executable, "-m", "nas_agent", "--system-dir", str(tmp_path),
                           "suggest", "--sampler", "tpe", "--seed", "7"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] and out["n_trials"] == 100
    assert "Exploitation" in out["decision"]["reason"]
    assert_valid(out, state, SPACE, tmp_path / "config.py", tmp_path)


def test_training_keys_are_one_optuna_parameter_per_family():
    """TPE must not pool the Informer's learning rate with DLinear's: each family's runs become
    trials of its own parameters (lr[informer], lr[dlinear]); model.family stays shared, and the
    sampler asks for the same per-family names (a FixedTrial knows only those)."""
    import optuna
    from nas_agent.suggest import sample_point

    state = AgentState(max_runs=20)
    for i, (family, lr) in enumerate([("informer", 1e-4), ("dlinear", 5e-3), ("informer", 2e-4), ("dlinear", 1e-2)]):
        params = random_params(SPACE, random.Random(i), {"model.family": family, "training.optimizer_params.lr": lr})
        add_run(state, RunInfo(run_id=f"run_{i:04d}", val_mse=0.3 + i / 10, test_mse=None, history_summary=None,
                               accepted=True, config_changes={}, status="ok", params=params))
    trials = history_trials(state, SPACE)
    assert [t.params["training.optimizer_params.lr[" + r.params["model.family"] + "]"] for t, r in zip(trials, state.runs)] \
        == [1e-4, 5e-3, 2e-4, 1e-2]
    for trial, run in zip(trials, state.runs):
        family = run.params["model.family"]
        assert trial.params["model.family"] == family
        assert all(k == "model.family" or k.endswith(f"[{family}]") for k in trial.params)
        assert "data.batch_size" in {k.split("[")[0] for k in trial.params}  # shared keys too
    fixed = optuna.trial.FixedTrial({"model.family": "dlinear", "training.optimizer_params.lr[dlinear]": 0.005,
                                     **{f"{k}[dlinear]": v for k, v in state.runs[1].params.items()
                                        if k not in ("model.family", "training.optimizer_params.lr")}})
    point = sample_point(fixed, SPACE)
    # search keys again (floats rounded to 3 digits): per-family names live inside Optuna only
    assert point.keys() == state.runs[1].params.keys() and point["training.optimizer_params.lr"] == 0.005
    with pytest.raises(ValueError):  # a pooled name is no longer asked for
        sample_point(optuna.trial.FixedTrial({"model.family": "dlinear", "training.optimizer_params.lr": 0.005}), SPACE)


def test_the_sampler_offers_the_schedulers_own_params_only_under_that_scheduler():
    """gamma is searchable under StepLR and ExponentialLR with the scheduler on, step_size under StepLR
    only; no other point carries them (so no proposal writes a kwarg its scheduler lacks)."""
    import optuna
    from nas_agent.suggest import sample_point

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(300):
        point = sample_point(study.ask(), SPACE)
        on = point["training.use_scheduler"]
        cls = point["training.scheduler_class"].rsplit(".", 1)[-1]
        assert ("training.scheduler_params.gamma" in point) == (on and cls in ("StepLR", "ExponentialLR"))
        assert ("training.scheduler_params.step_size" in point) == (on and cls == "StepLR")
        if "training.scheduler_params.gamma" in point:
            seen.add(cls)
            assert 0.1 <= point["training.scheduler_params.gamma"] <= 0.99
    assert seen == {"StepLR", "ExponentialLR"}
