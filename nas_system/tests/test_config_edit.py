"""config_edit: AST-only reads and literal-only, all-or-nothing writes of config.py."""
import ast
import json
import shutil
from pathlib import Path

import pytest

from nas_agent.config_edit import ConfigEditError, apply_changes, read_values, restore
from nas_agent.search_space import load_space

NAS_SYSTEM = Path(__file__).resolve().parents[1]
SPACE = load_space(NAS_SYSTEM / "search_space.json")


@pytest.fixture()
def cfg(tmp_path):
    path = tmp_path / "config.py"
    shutil.copy(NAS_SYSTEM / "config.py", path)
    return path


def values(path):
    return read_values(path, SPACE).values


def test_reads_repo_config_without_importing_it(cfg):
    got = read_values(cfg, SPACE)
    assert got.missing == [] and got.unreadable == {}
    assert got.values["training.optimizer_class"] == "optim.AdamW"
    assert got.values["training.optimizer_params.lr"] == 5e-05
    assert got.values["model.distil"] is True
    assert got.values["data.seq_len"] == 336


GOOD = [
    ("training.optimizer_params.lr", 1e-4, '"optimizer_params": {"lr": 0.0001, "weight_decay": 0.0001},'),
    ("model.d_model", 128, '"d_model": 128,'),
    ("model.dropout", 0, '"dropout": 0.0,'),  # float key accepts an int, written as float
    ("model.distil", False, '"distil": False,'),
    ("model.attn", "full", '"attn": "full",  # prob | full'),
    ("training.criterion_class", "nn.L1Loss", '"criterion_class": nn.L1Loss,'),
    ("data.batch_size", 32.0, '"batch_size": 32,'),  # integral float accepted for int
]


@pytest.mark.parametrize("key,value,line", GOOD)
def test_good_change_rewrites_only_that_value(cfg, key, value, line):
    before = cfg.read_text()
    out = apply_changes(cfg, [{"key": key, "value": value}], SPACE)
    after = cfg.read_text()
    assert out["written"] is True
    assert line in after
    changed_lines = [(a, b) for a, b in zip(before.splitlines(), after.splitlines()) if a != b]
    assert len(before.splitlines()) == len(after.splitlines())
    assert len(changed_lines) <= 2  # the value line (+ its params dict when a class changes)
    assert "# A local path, or an http(s) URL" in after  # comments kept
    ast.parse(after)


def test_class_value_is_written_as_attribute_reference(cfg):
    apply_changes(cfg, [{"key": "training.optimizer_class", "value": "optim.Adam"}], SPACE)
    text = cfg.read_text()
    assert '"optimizer_class": optim.Adam,' in text
    assert "'optim.Adam'" not in text and '"optim.Adam"' not in text


BAD = [
    ("training.optimizer_class", "__import__('os').system('x')", "must be one of"),
    ("training.optimizer_class", "os.system", "must be one of"),
    ("model.attn", "__import__('os')", "must be one of"),
    ("model.d_model", 100, "must be one of"),
    ("model.e_layers", 3.5, "expects an integer"),
    ("model.e_layers", True, "expects an integer"),
    ("model.e_layers", 9, "must be in [1, 4]"),
    ("model.distil", 1, "expects true or false"),
    ("model.distil", "true", "expects true or false"),
    ("model.dropout", float("nan"), "finite number"),
    ("model.dropout", float("inf"), "finite number"),
    ("model.dropout", "0.1", "finite number"),
    ("training.optimizer_params.lr", 0.5, "must be in"),
    ("training.max_epochs", 100, "unknown key"),
    ("import os", 1, "unknown key"),
    ("model.d_model", {"x": 1}, "expects an integer"),
]


@pytest.mark.parametrize("key,value,msg", BAD)
def test_bad_change_is_refused_and_file_untouched(cfg, key, value, msg):
    before = cfg.read_bytes()
    with pytest.raises(ConfigEditError) as err:
        apply_changes(cfg, [{"key": key, "value": value}], SPACE)
    assert msg in str(err.value)
    assert cfg.read_bytes() == before


def test_all_errors_collected_and_nothing_written(cfg):
    before = cfg.read_bytes()
    changes = [{"key": "model.d_model", "value": 128}, {"key": "model.d_model", "value": 64},
               {"key": "nope", "value": 1}, {"key": "model.dropout", "value": 2.0}]
    with pytest.raises(ConfigEditError) as err:
        apply_changes(cfg, changes, SPACE)
    assert len(err.value.errors) == 3
    assert cfg.read_bytes() == before


@pytest.mark.parametrize("changes,msg", [
    ([{"key": "model.d_model", "value": 64}, {"key": "model.n_heads", "value": 16}], None),
    ([{"key": "model.d_model", "value": 32}], None),  # n_heads stays 8: 32 % 8 == 0
    ([{"key": "model.n_heads", "value": 16}, {"key": "model.d_model", "value": 200}], "divisible"),
    ([{"key": "data.seq_len", "value": 48}, {"key": "data.label_len", "value": 96}], "<="),
    ([{"key": "data.seq_len", "value": 48}], None),  # label_len 24 <= 48
])
def test_constraints_on_resulting_values(cfg, tmp_path, changes, msg):
    raw = json.loads((NAS_SYSTEM / "search_space.json").read_text())
    raw["params"]["model.d_model"] = {"type": "int", "low": 8, "high": 512, "step": "medium"}
    (tmp_path / "space.json").write_text(json.dumps(raw))
    space = load_space(tmp_path / "space.json")
    before = cfg.read_bytes()
    if msg is None:
        apply_changes(cfg, changes, space)
        assert cfg.read_bytes() != before
    else:
        with pytest.raises(ConfigEditError, match=msg):
            apply_changes(cfg, changes, space)
        assert cfg.read_bytes() == before


def test_class_change_resets_params_keeping_searchable_keys(cfg):
    out = apply_changes(cfg, [{"key": "training.optimizer_class", "value": "optim.SGD"},
                              {"key": "training.optimizer_params.lr", "value": 0.001}], SPACE)
    text = cfg.read_text()
    assert '"optimizer_params": {"momentum": 0.9, "lr": 0.001, "weight_decay": 0.0001},' in text
    assert {c["key"] for c in out["changed"]} == {"training.optimizer_class", "training.optimizer_params"}


def test_scheduler_change_drops_old_kwargs(cfg):
    apply_changes(cfg, [{"key": "training.scheduler_class", "value": "optim.lr_scheduler.StepLR"}], SPACE)
    text = cfg.read_text()
    assert '"scheduler_class": optim.lr_scheduler.StepLR,' in text
    assert '"scheduler_params": {"step_size": 1, "gamma": 0.5},' in text
    assert "T_max" not in text


def test_same_class_keeps_params(cfg):
    before = cfg.read_bytes()
    out = apply_changes(cfg, [{"key": "training.optimizer_class", "value": "optim.AdamW"}], SPACE)
    assert out["changed"] == [] and out["diff"] == ""
    assert cfg.read_bytes() == before


def test_class_root_must_be_imported(cfg):
    cfg.write_text(cfg.read_text().replace("from torch import nn, optim", "from torch import optim"))
    cfg.write_text(cfg.read_text().replace("nn.MSELoss", "optim.Adam"))
    before = cfg.read_bytes()
    with pytest.raises(ConfigEditError, match="does not import torch.nn"):
        apply_changes(cfg, [{"key": "training.criterion_class", "value": "nn.L1Loss"}], SPACE)
    assert cfg.read_bytes() == before


def test_missing_key_added_with_matching_indentation(cfg):
    text = cfg.read_text().replace('    "grad_clip": 1.0,\n', "")
    cfg.write_text(text)
    assert "training.grad_clip" in read_values(cfg, SPACE).missing
    apply_changes(cfg, [{"key": "training.grad_clip", "value": 0.5}], SPACE)
    new = cfg.read_text()
    assert ('    "compile": "auto",  # auto (cudagraphs on a GPU from 4 epochs, else off) | off | default | reduce-overhead | cudagraphs\n'
            '    "grad_clip": 0.5,\n}') in new
    assert values(cfg)["training.grad_clip"] == 0.5


def test_missing_key_added_to_single_line_and_empty_dicts(tmp_path):
    path = tmp_path / "config.py"
    path.write_text('from torch import optim\ntraining = {"optimizer_class": optim.Adam, "optimizer_params": {}}\n'
                    'model = {"d_model": 64}  # tiny\n')
    apply_changes(path, [{"key": "training.optimizer_params.lr", "value": 0.001},
                         {"key": "model.n_heads", "value": 4},
                         {"key": "training.grad_clip", "value": 1.0}], SPACE)
    text = path.read_text()
    assert text.endswith('model = {"d_model": 64, "n_heads": 4}  # tiny\n')
    got = values(path)
    assert got["training.optimizer_params.lr"] == 0.001 and got["training.grad_clip"] == 1.0


def test_missing_key_after_last_entry_without_trailing_comma(tmp_path):
    path = tmp_path / "config.py"
    path.write_text('model = {\n    "d_model": 64,\n    "n_heads": 4  # heads\n}\n')
    apply_changes(path, [{"key": "model.dropout", "value": 0.1}], SPACE)
    assert path.read_text() == 'model = {\n    "d_model": 64,\n    "n_heads": 4,  # heads\n    "dropout": 0.1,\n}\n'


def test_missing_root_is_an_error(tmp_path):
    path = tmp_path / "config.py"
    path.write_text('model = {"d_model": 64}\n')
    with pytest.raises(ConfigEditError, match="no module-level `data"):
        apply_changes(path, [{"key": "data.batch_size", "value": 32}], SPACE)
    assert path.read_text() == 'model = {"d_model": 64}\n'


def test_legacy_model_lengths_follow_data(cfg):
    text = cfg.read_text().replace('    "enc_in": 7,\n', '    "seq_len": 336,\n    "label_len": 24,\n    "enc_in": 7,\n')
    cfg.write_text(text)
    out = apply_changes(cfg, [{"key": "data.seq_len", "value": 96}, {"key": "data.label_len", "value": 48}], SPACE)
    new = cfg.read_text()
    assert new.count('"seq_len": 96,') == 2 and new.count('"label_len": 48,') == 2
    assert {c["key"] for c in out["changed"]} >= {"model.seq_len", "model.label_len"}


def test_dry_run_and_base(cfg, tmp_path):
    before = cfg.read_bytes()
    out = apply_changes(cfg, [{"key": "model.d_model", "value": 64}], SPACE, dry_run=True)
    assert out["written"] is False and '+    "d_model": 64,' in out["diff"]
    assert cfg.read_bytes() == before
    base = tmp_path / "best.py"
    base.write_text(cfg.read_text().replace('"d_ff": 512', '"d_ff": 1024'))
    apply_changes(cfg, [{"key": "model.d_model", "value": 64}], SPACE, base_path=base)
    got = values(cfg)
    assert got["model.d_ff"] == 1024 and got["model.d_model"] == 64


def test_unparseable_config_is_one_line_error(cfg):
    cfg.write_text("model = {\n")
    with pytest.raises(ConfigEditError, match="not valid Python") as err:
        apply_changes(cfg, [{"key": "model.d_model", "value": 64}], SPACE)
    assert "\n" not in str(err.value)


def test_malformed_changes(cfg):
    with pytest.raises(ConfigEditError, match="string 'key'"):
        apply_changes(cfg, [{"k": "model.d_model"}], SPACE)
    with pytest.raises(ConfigEditError, match="JSON list"):
        apply_changes(cfg, "model.d_model=3", SPACE)


def test_non_literal_value_reported_unreadable(tmp_path):
    path = tmp_path / "config.py"
    path.write_text('import math\nmodel = {"dropout": math.sqrt(0.01), "d_model": 64}\n')
    got = read_values(path, SPACE)
    assert "model.dropout" in got.unreadable and got.values["model.d_model"] == 64


def test_restore(cfg, tmp_path):
    snap = tmp_path / "snap.py"
    snap.write_text("seed = 1\n")
    restore(snap, cfg)
    assert cfg.read_text() == "seed = 1\n"
    bad = tmp_path / "bad.py"
    bad.write_text("seed = (\n")
    with pytest.raises(ConfigEditError, match="not valid Python"):
        restore(bad, cfg)
    assert cfg.read_text() == "seed = 1\n"
    assert list(tmp_path.glob(".config.py.*")) == []  # no temp files left behind


@pytest.mark.parametrize("raw,msg", [
    ({"params": {}}, "non-empty 'params'"),
    ({"params": {"model.d_model": {"type": "complex", "step": "small"}}}, "type must be one of"),
    ({"params": {"model.d_model": {"type": "int", "step": "huge", "low": 1, "high": 2}}}, "step must be one of"),
    ({"params": {"model.d_model": {"type": "int", "step": "small", "low": 5, "high": 2}}}, "'low' <= 'high'"),
    ({"params": {"model.dropout": {"type": "float", "step": "small", "low": 0, "high": 1, "log": True}}}, "low > 0"),
    ({"params": {"model.attn": {"type": "str", "step": "small"}}}, "non-empty 'choices'"),
    ({"params": {"x.c": {"type": "class", "step": "small", "choices": ["os.system('x')"]}}}, "not a dotted class name"),
    ({"params": {"x.c": {"type": "class", "step": "small", "choices": ["optim.Adam"], "params_key": "x.p"}}},
     "no entry in class_defaults"),
    ({"params": {"model.d_model": {"type": "int", "step": "small", "choices": [1, 2]}},
      "constraints": [{"rule": "divisible", "keys": ["model.d_model", "model.n_heads"]}]}, "declared in params"),
    ({"params": {"model.d_model": {"type": "int", "step": "small", "choices": [1, 2]}},
      "constraints": [{"rule": "greater", "keys": ["model.d_model", "model.d_model"]}]}, "rule must be one of"),
])
def test_search_space_validation(tmp_path, raw, msg):
    from nas_agent.search_space import SpaceError
    path = tmp_path / "space.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(SpaceError, match=msg) as err:
        load_space(path)
    assert str(path) in str(err.value)


def test_missing_class_key_and_params_dict_are_added(tmp_path):
    path = tmp_path / "config.py"
    path.write_text('from torch import nn, optim\ntraining = {\n    "optimizer_class": optim.Adam,\n'
                    '    "scheduler_params": {\n        "T_max": 20,  # epochs\n    },\n    # end\n}\n')
    apply_changes(path, [{"key": "training.optimizer_params.lr", "value": 0.001},
                         {"key": "training.scheduler_class", "value": "optim.lr_scheduler.StepLR"}], SPACE)
    assert path.read_text() == (
        'from torch import nn, optim\ntraining = {\n    "optimizer_class": optim.Adam,\n'
        '    "scheduler_params": {"step_size": 1, "gamma": 0.5},\n    # end\n'
        '    "optimizer_params": {"lr": 0.001},\n    "scheduler_class": optim.lr_scheduler.StepLR,\n}\n')


def test_single_quoted_config_keeps_its_quote_style(tmp_path):
    path = tmp_path / "config.py"
    path.write_text("from torch import nn, optim\nmodel = {'attn': 'prob', 'd_model': 16}\n"
                    "training = {'optimizer_class': optim.Adam, 'optimizer_params': {'lr': 0.001}}\n")
    apply_changes(path, [{"key": "model.attn", "value": "full"}, {"key": "model.activation", "value": "relu"},
                         {"key": "training.optimizer_class", "value": "optim.SGD"}], SPACE)
    assert path.read_text() == (
        "from torch import nn, optim\nmodel = {'attn': 'full', 'd_model': 16, 'activation': 'relu'}\n"
        "training = {'optimizer_class': optim.SGD, 'optimizer_params': {'momentum': 0.9, 'lr': 0.001}}\n")


def test_a_parse_is_reused_only_for_the_same_path_and_bytes(tmp_path):
    """The helper reads a run's config_used.py five ways per record: the file is read each time, the
    parse reused while its bytes are the same; a changed file is parsed afresh."""
    from nas_agent.config_read import parse_config

    path = tmp_path / "c.py"
    path.write_text("seed = 1\n")
    first = parse_config(path)
    assert parse_config(path) is first and parse_config(str(path)) is first
    path.write_text("seed = 2\n")
    changed = parse_config(path)
    assert changed is not first and changed.roots["seed"].value == 2
    other = tmp_path / "d.py"
    other.write_text("seed = 1\n")
    assert parse_config(other) is not first and parse_config(other).path == str(other)
