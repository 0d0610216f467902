"""Conditional keys and family defaults in the search space, through `python -m nas_agent`."""
import json
import shutil

import pytest

from nas_agent.search_space import SpaceError, load_space
from test_cli import NAS_SYSTEM, cli

SPACE = json.loads((NAS_SYSTEM / "search_space.json").read_text())


@pytest.fixture()
def ws(tmp_path):
    shutil.copy(NAS_SYSTEM / "config.py", tmp_path / "config.py")
    return tmp_path


def apply(ws, changes, check=0, dry=False):
    return cli(ws, "config-apply", *(["--dry-run"] if dry else []), "--changes", json.dumps(
        [{"key": k, "value": v} for k, v in changes.items()]), check=check)[1]


def test_a_patchtst_key_while_the_family_is_informer_is_refused_with_the_reason(ws):
    before = (ws / "config.py").read_bytes()
    out = apply(ws, {"model.patch_len": 8}, check=2)
    assert out["errors"] == ["model.patch_len applies only when model.family is patchtst (here model.family is "
                             "informer): set model.family in the same change, or drop model.patch_len"]
    assert (ws / "config.py").read_bytes() == before


def test_a_switch_writes_the_family_defaults_unless_the_batch_sets_them(ws):
    out = apply(ws, {"model.family": "patchtst", "model.patch_len": 24})
    changed = {c["key"]: c["new"] for c in out["changed"] if not c["key"].startswith(("training.", "data."))}
    defaults = {k: v for k, v in SPACE["family_defaults"]["patchtst"].items() if k != "model.e_layers"}  # 3 already
    assert changed == {"model.family": "patchtst", **defaults, "model.patch_len": 24}
    values = cli(ws, "config-get", check=0)[1]
    assert values["values"]["model.patch_len"] == 24 and values["values"]["model.d_model"] == 16
    assert set(values["inactive"]) == {"model.moving_avg", "model.individual", "model.factor", "model.d_layers",
                                       "model.activation", "model.attn", "model.distil", "data.label_len",
                                       # StepLR's own keys: config.py's scheduler is CosineAnnealingLR
                                       "training.scheduler_params.gamma", "training.scheduler_params.step_size"}
    # the Informer's own keys stay in the file (ignored); shared keys now apply to patchtst
    text = (ws / "config.py").read_text()
    assert '"factor": 4' in text and '"patch_len": 24' in text


def test_a_switch_writes_the_familys_published_recipe_and_keeps_the_keys_the_change_sets(ws):
    recipe = SPACE["recipes"]["dlinear"]
    assert "LTSF-Linear" in recipe["source"]
    out = apply(ws, {"model.family": "dlinear", "data.batch_size": 64})
    values = cli(ws, "config-get", check=0)[1]["values"]
    for key, value in recipe["values"].items():
        if key in values and key != "data.batch_size":
            assert values[key] == value, key
    assert values["data.batch_size"] == 64  # set by the change itself: the recipe's 32 is not written
    text = (ws / "config.py").read_text()
    assert '"optimizer_params": {"lr": 0.005, "weight_decay": 0.0}' in text
    assert '"scheduler_params": {"step_size": 1, "gamma": 0.5}' in text and '"patience": 3' in text
    assert '"max_epochs": 20' in text  # epochs stay the search's budget (its fidelity)
    keys = {c["key"] for c in out["changed"]}
    assert {"training.optimizer_class", "training.scheduler_class", "training.patience"} <= keys
    assert "-    \"optimizer_class\": optim.AdamW," in out["diff"]  # the diff shows the recipe
    # a change that sets the learning rate with the switch keeps its own value
    apply(ws, {"model.family": "nlinear", "training.optimizer_params.lr": 0.001})
    assert cli(ws, "config-get", check=0)[1]["values"]["training.optimizer_params.lr"] == 0.001


def test_a_recipe_with_a_value_outside_the_space_is_refused_when_the_space_loads(tmp_path):
    raw = json.loads(json.dumps(SPACE))
    raw["recipes"]["dlinear"]["values"]["data.batch_size"] = 33
    raw["recipes"]["nlinear"]["source"] = ""
    path = tmp_path / "space.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(SpaceError) as err:
        load_space(path)
    assert "data.batch_size must be one of" in str(err.value) and "'source' must name" in str(err.value)


def test_switching_back_and_forth_keeps_the_other_familys_values(ws):
    apply(ws, {"model.family": "dlinear", "model.moving_avg": 13})
    apply(ws, {"model.family": "nlinear", "model.individual": True})
    out = apply(ws, {"model.family": "dlinear"})
    # dlinear's defaults are written again on the switch; nlinear's individual is shared and reset
    assert {c["key"]: c["new"] for c in out["changed"]} == {"model.family": "dlinear", "model.moving_avg": 25,
                                                            "model.individual": False}
    assert apply(ws, {"model.d_model": 64}, check=2)["errors"][0].startswith(
        "model.d_model applies only when model.family is informer or patchtst (here model.family is dlinear)")


def test_constraints_apply_only_to_keys_of_the_current_family(ws):
    # label_len > seq_len breaks the Informer's rule, but label_len does not apply to dlinear
    apply(ws, {"data.label_len": 96})
    apply(ws, {"model.family": "dlinear", "data.seq_len": 48})
    assert apply(ws, {"model.family": "informer"}, check=2)["errors"] == [
        "data.label_len=96 must be <= data.seq_len=48 (label_len must not exceed seq_len)"]
    apply(ws, {"model.family": "informer", "data.label_len": 48})
    apply(ws, {"model.family": "dlinear"})
    # an Informer value that breaks d_model % n_heads is ignored while the family is dlinear
    (ws / "config.py").write_text((ws / "config.py").read_text().replace('"n_heads": 8', '"n_heads": 3'))
    assert apply(ws, {"model.moving_avg": 13}, dry=True)["written"] is False
    # switching back writes the Informer's defaults (n_heads 8), which keep the rule
    out = apply(ws, {"model.family": "informer"})
    assert {c["key"]: c["new"] for c in out["changed"]}["model.n_heads"] == 8
    err = apply(ws, {"model.family": "patchtst", "model.patch_len": 8, "model.stride": 16}, check=2)["errors"]
    assert err == ["model.stride=16 must be <= model.patch_len=8 (patches must not leave gaps)"]


def test_a_config_without_model_family_is_an_informer_config(ws):
    text = (ws / "config.py").read_text()
    (ws / "config.py").write_text("\n".join(l for l in text.splitlines() if '"family"' not in l) + "\n")
    got = cli(ws, "config-get", check=0)[1]
    assert "model.family" in got["missing"] and "model.patch_len" in got["inactive"]
    apply(ws, {"model.family": "nlinear"})
    assert '"family": "nlinear",' in (ws / "config.py").read_text()


BAD_SPACES = {
    "undeclared condition": ({"model.revin": {"when": {"model.kind": ["x"]}}}, "model.kind must be a declared key"),
    "value not a choice": ({"model.revin": {"when": {"model.family": ["lstm"]}}}, "model.family must be one of"),
    "nested condition": ({"model.family": {"when": {"model.attn": ["prob"]}}}, "is itself conditional"),
    "default of another family": ({"family_defaults": {"dlinear": {"model.patch_len": 16}}},
                                  "model.patch_len applies only when model.family is patchtst"),
    "default out of range": ({"family_defaults": {"dlinear": {"model.moving_avg": 24}}},
                             "model.moving_avg must be one of"),
    "unknown family": ({"family_defaults": {"lstm": {}}}, "model.family must be one of"),
}


@pytest.mark.parametrize("name", list(BAD_SPACES))
def test_malformed_conditions_are_space_errors(name, tmp_path):
    patch, message = BAD_SPACES[name]
    raw = json.loads(json.dumps(SPACE))
    for key, value in patch.items():
        if key == "family_defaults":
            raw["family_defaults"].update(value)
        else:
            raw["params"][key].update(value)
    (tmp_path / "space.json").write_text(json.dumps(raw))
    with pytest.raises(SpaceError, match=message):
        load_space(tmp_path / "space.json")


def test_a_scheduler_switch_writes_only_the_params_the_new_class_has(ws):
    """StepLR's gamma and step_size are searchable, but only under a scheduler that has them: a
    class change carries a searchable kwarg only where it still applies (never gamma into
    CosineAnnealingLR), and CosineAnnealingLR gets no T_max (train.py ties it to the epochs)."""
    def kwargs():
        return cli(ws, "config-get", check=0)[1]["values"]
    apply(ws, {"training.scheduler_class": "optim.lr_scheduler.StepLR", "training.scheduler_params.gamma": 0.3,
               "training.scheduler_params.step_size": 2})
    assert '"scheduler_params": {"step_size": 2, "gamma": 0.3}' in (ws / "config.py").read_text()
    apply(ws, {"training.scheduler_class": "optim.lr_scheduler.ExponentialLR"})  # has gamma, not step_size
    assert '"scheduler_params": {"gamma": 0.3}' in (ws / "config.py").read_text()
    assert "training.scheduler_params.step_size" not in kwargs()
    apply(ws, {"training.scheduler_class": "optim.lr_scheduler.CosineAnnealingLR"})
    assert '"scheduler_params": {}' in (ws / "config.py").read_text()
    before = (ws / "config.py").read_bytes()
    out = apply(ws, {"training.scheduler_params.gamma": 0.2}, check=2)  # not a kwarg of the cosine schedule
    assert out["errors"] == ["training.scheduler_params.gamma applies only when training.scheduler_class is "
                             "optim.lr_scheduler.StepLR or optim.lr_scheduler.ExponentialLR (here "
                             "training.scheduler_class is optim.lr_scheduler.CosineAnnealingLR): set "
                             "training.scheduler_class in the same change, or drop training.scheduler_params.gamma"]
    assert (ws / "config.py").read_bytes() == before
    # the same change with the class: gamma written beside StepLR's defaults
    apply(ws, {"training.scheduler_class": "optim.lr_scheduler.StepLR", "training.scheduler_params.gamma": 0.7})
    assert '"scheduler_params": {"step_size": 1, "gamma": 0.7}' in (ws / "config.py").read_text()
