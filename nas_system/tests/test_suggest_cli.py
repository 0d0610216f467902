"""The Optuna planner through `python -m nas_agent`: family switches, and the regressions of
issue 9 (items 3, 4, 5 and the last part of 8), each of which failed before its fix."""
import json
import random
import shutil
from pathlib import Path

import pytest

from nas_agent.agent_state import AgentState, RunInfo, add_run, save_agent_state
from nas_agent.config_check import load_config
from test_cli import NAS_SYSTEM, cli
from test_suggest import history

LR = "training.optimizer_params.lr"


@pytest.fixture()
def ws(tmp_path):
    shutil.copy(NAS_SYSTEM / "config.py", tmp_path / "config.py")
    shutil.copy(NAS_SYSTEM / "search_space.json", tmp_path / "search_space.json")
    return tmp_path


def suggest(ws, seed=0, sampler="tpe"):
    return cli(ws, "suggest", "--sampler", sampler, "--seed", str(seed), check=0)[1]


def changes_of(out):
    return {c["key"]: c["value"] for c in out["decision"]["config_changes"]}


def test_a_suggestion_that_switches_family_writes_a_valid_config(ws, monkeypatch):
    monkeypatch.setenv("NAS_DATA_DIR", "/nonexistent")  # load_config does not read the data
    save_agent_state(history(6, fixed={"model.family": "informer"}, fail_every=0), ws / "agent_state.json")
    for seed in range(30):
        out = suggest(ws, seed, sampler="random")
        if changes_of(out).get("model.family", "informer") != "informer":
            break
    else:
        pytest.fail("no family switch in 30 random suggestions")
    d = out["decision"]
    family = changes_of(out)["model.family"]
    assert d["step_type"] == "radical" and f"family informer -> {family}" in d["plan"]
    # define-by-run: only the new family's keys are sampled
    other = {"dlinear": "model.patch_len", "nlinear": "model.moving_avg", "patchtst": "model.moving_avg"}[family]
    assert other not in out["params"] and "model.factor" not in out["params"]
    cli(ws, "config-apply", "--changes", json.dumps(d["config_changes"]), check=0)
    cfg = load_config(ws / "config.py")
    assert cfg["model"]["family"] == family
    got = cli(ws, "config-get", check=0)[1]
    assert "model.factor" in got["inactive"] and got["values"]["model.family"] == family
    from model import build_model
    assert build_model(cfg) is not None


# ----------------------------------------------------------------------------- issue 9.3


def test_an_invalid_proposal_is_not_proposed_again_and_teaches_the_sampler(ws):
    # before: a run without config_used.py added no trial, so the same history (and seed) gave
    # the same proposal forever
    save_agent_state(history(6, fail_every=0, fixed={"model.family": "informer"}), ws / "agent_state.json")
    first = suggest(ws)
    cli(ws, "record-run", "--run-id", "run_0006", "--info", json.dumps(
        {"status": "invalid", "config_changes": first["decision"]["config_changes"], "error": "refused"}), check=0)
    second = suggest(ws)
    assert second["n_trials"] == first["n_trials"] + 1
    assert "1 failed" in second["decision"]["plan"]
    assert changes_of(second) != changes_of(first)


def torch_spelled(text: str, style: str) -> str:
    if style == "import torch":
        text = text.replace("from torch import nn, optim", "import torch")
        return text.replace("optim.", "torch.optim.").replace("nn.MSELoss", "torch.nn.MSELoss")
    return text.replace("from torch import nn, optim", "import torch.optim as optim\nimport torch.nn as nn")


@pytest.mark.parametrize("style,prefix", [("import torch", "torch.optim."), ("import as", "optim.")])
def test_a_config_spelling_classes_its_own_way_works_with_the_search_space(style, prefix, ws, monkeypatch):
    # before: `torch.optim.AdamW` was read as such (not a choice) and every class change was
    # refused with "config does not import `optim`"
    monkeypatch.setenv("NAS_DATA_DIR", "/nonexistent")
    (ws / "config.py").write_text(torch_spelled((NAS_SYSTEM / "config.py").read_text(), style))
    values = cli(ws, "config-get", check=0)[1]["values"]
    assert values["training.optimizer_class"] == "optim.AdamW"
    assert values["training.scheduler_class"] == "optim.lr_scheduler.CosineAnnealingLR"
    assert values["training.criterion_class"] == "nn.MSELoss"
    out = cli(ws, "config-apply", "--changes", json.dumps([
        {"key": "training.optimizer_class", "value": "optim.SGD"},
        {"key": "training.scheduler_class", "value": "optim.lr_scheduler.StepLR"}]), check=0)[1]
    text = (ws / "config.py").read_text()
    assert f'"optimizer_class": {prefix}SGD' in text
    assert f'"scheduler_class": {prefix}lr_scheduler.StepLR' in text
    assert {c["key"]: c["old"] for c in out["changed"]}["training.optimizer_class"] == "optim.AdamW"
    cfg = load_config(ws / "config.py")
    assert cfg["training"]["optimizer_class"].__name__ == "SGD"
    # and the Optuna planner's proposals apply to it, seed after seed
    for seed in range(4):
        d = suggest(ws, seed, sampler="random")["decision"]
        cli(ws, "config-apply", "--dry-run", "--changes", json.dumps(d["config_changes"]), check=0)


def test_from_import_of_a_class_reads_and_writes_the_bare_name(ws):
    text = (NAS_SYSTEM / "config.py").read_text().replace(
        "from torch import nn, optim", "from torch import nn, optim\nfrom torch.optim import AdamW, SGD")
    (ws / "config.py").write_text(text.replace('"optimizer_class": optim.AdamW', '"optimizer_class": AdamW'))
    assert cli(ws, "config-get", check=0)[1]["values"]["training.optimizer_class"] == "optim.AdamW"
    cli(ws, "config-apply", "--changes", '[{"key": "training.optimizer_class", "value": "optim.SGD"}]', check=0)
    assert '"optimizer_class": SGD,' in (ws / "config.py").read_text()


# ----------------------------------------------------------------------------- issue 9.4


def test_failed_runs_steer_tpe_away_from_their_region(ws):
    # A 2-key space; the runs with lr in [1e-2, 1e-1] all diverged. Before: TPE ignored FAIL trials,
    # saw only good runs at low lr and proposed the untried (failed) high-lr region every time.
    (ws / "search_space.json").write_text(json.dumps({"params": {
        LR: {"type": "float", "low": 1e-5, "high": 0.1, "log": True, "step": "small"},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": "small"}}}))
    rng = random.Random(0)
    state = AgentState()
    for i in range(16):
        bad = i % 2 == 1
        lr = 10 ** rng.uniform(-2, -1) if bad else 10 ** rng.uniform(-5, -3)
        add_run(state, RunInfo(run_id=f"run_{i:04d}", val_mse=None if bad else 0.3 + 0.05 * rng.random(),
                               accepted=i == 0, status=["diverged", "crashed", "timeout", "failed"][i // 2 % 4] if bad else "ok",
                               params={LR: lr, "model.dropout": rng.uniform(0, 0.5)}))
    save_agent_state(state, ws / "agent_state.json")
    outs = [suggest(ws, seed) for seed in range(8)]
    in_failed_region = sum(o["params"][LR] > 1e-2 for o in outs)
    assert in_failed_region <= 2, [o["params"][LR] for o in outs]
    reason = outs[0]["decision"]["reason"]
    assert "8 failed run(s)" in reason and "infeasible" in reason and "8 failed" in outs[0]["decision"]["plan"]


def test_interrupted_runs_do_not_count_as_failures(ws):
    state = history(6, fail_every=0, fixed={"model.family": "informer"})
    add_run(state, RunInfo(run_id="run_0006", status="interrupted", params=dict(state.runs[0].params)))
    save_agent_state(state, ws / "agent_state.json")
    out = suggest(ws)
    assert out["n_trials"] == 6 and "0 failed" in out["decision"]["plan"]


# ----------------------------------------------------------------------------- issue 9.5


@pytest.mark.parametrize("seed", [50000, 2**32 - 1])
def test_any_32_bit_search_seed_works(seed, ws):
    # before: seed * 100003 + n overflowed numpy's 32-bit seed ("internal error ... Seed must be ...")
    save_agent_state(history(5), ws / "agent_state.json")
    for sampler in ("tpe", "random"):
        out = suggest(ws, seed, sampler)
        assert out["decision"]["config_changes"]


def test_a_seed_out_of_range_is_a_user_error(ws):
    code, out = cli(ws, "suggest", "--seed", "-1")
    assert code == 2 and "--seed" in out["error"]


# ----------------------------------------------------------------------------- issue 9.8


def test_no_new_configuration_is_a_stop_decision_never_an_empty_training(ws):
    # The only configuration other than the incumbent (attn prob) is attn full, proposed last time.
    # Before: the decision was a "small" step with no change, which retrained the incumbent.
    (ws / "search_space.json").write_text(json.dumps({"params": {
        "model.attn": {"type": "str", "choices": ["prob", "full"], "step": "medium"}}}))
    state = AgentState()
    add_run(state, RunInfo(run_id="run_0000", val_mse=0.3, accepted=True, params={"model.attn": "prob"}))
    save_agent_state(state, ws / "agent_state.json")
    first = suggest(ws)
    assert changes_of(first) == {"model.attn": "full"}
    add_run(state, RunInfo(run_id="run_0001", val_mse=0.31, accepted=False, params={"model.attn": "full"},
                           config_changes={"model.attn": "full"}))
    save_agent_state(state, ws / "agent_state.json")
    d = suggest(ws)["decision"]
    assert d["step_type"] == "stop" and d["config_changes"] == []
    assert "holds no valid configuration other than the incumbent and the configs already trained" in d["plan"]


def four_point_space(ws) -> AgentState:
    """A space of four points (attn x distil) and a state holding the incumbent (prob, distil)."""
    (ws / "search_space.json").write_text(json.dumps({"params": {
        "model.attn": {"type": "str", "choices": ["prob", "full"], "step": "medium"},
        "model.distil": {"type": "bool", "step": "medium"}}}))
    state = AgentState()
    add_run(state, RunInfo(run_id="run_0000", val_mse=0.3, accepted=True,
                           params={"model.attn": "prob", "model.distil": True}))
    return state


def test_proposals_are_never_empty_and_never_repeat_a_trained_config(ws):
    """Four points (attn x distil): the three besides the incumbent are proposed once each, in
    any order; then the space is exhausted and the decision is stop, never an empty training."""
    state = four_point_space(ws)
    seen = [state.runs[0].params]
    for i in range(1, 4):
        save_agent_state(state, ws / "agent_state.json")
        out = suggest(ws, seed=i % 2)
        d = out["decision"]
        assert d["step_type"] != "stop" and d["config_changes"]
        point = {"model.attn": "prob", "model.distil": True, **out["params"]}
        assert point not in seen
        seen.append(point)
        add_run(state, RunInfo(run_id=f"run_{i:04d}", val_mse=0.4, accepted=False, params=point,
                               config_changes=changes_of(out)))
    save_agent_state(state, ws / "agent_state.json")
    d = suggest(ws)["decision"]
    assert d["step_type"] == "stop" and d["config_changes"] == []


def test_a_batch_of_proposals_holds_distinct_configs_never_trained(ws):
    """--count K (--parallel K): K proposals at once, pairwise different and none already trained;
    a batch larger than what the space has left stops at what is left."""
    state = four_point_space(ws)
    add_run(state, RunInfo(run_id="run_0001", val_mse=0.4, accepted=False,
                           params={"model.attn": "full", "model.distil": True}, config_changes={"model.attn": "full"}))
    save_agent_state(state, ws / "agent_state.json")
    out = cli(ws, "suggest", "--sampler", "tpe", "--seed", "0", "--count", "5", check=0)[1]
    points = [{"model.attn": "prob", "model.distil": True, **{c["key"]: c["value"] for c in d["config_changes"]}}
              for d in out["decisions"]]
    assert len(points) == 2  # 4 points: the incumbent and run_0001's are taken
    assert {json.dumps(p, sort_keys=True) for p in points} == {
        json.dumps({"model.attn": "prob", "model.distil": False}, sort_keys=True),
        json.dumps({"model.attn": "full", "model.distil": False}, sort_keys=True)}
