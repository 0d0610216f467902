"""Model families behind build_model: shapes per mode, what each reads in MS, their parts, their
config checks, and a tiny training of each through train.py."""
import json
from pathlib import Path

import pytest
import torch

from conftest import tiny_sections
from data import load_splits
from model import FAMILIES, build_model
from models.dlinear import MovingAverage, SeriesDecomposition
from models.patchtst import Patching

FAMILY_KEYS = {
    "informer": {},
    "dlinear": {"moving_avg": 25, "individual": False},
    "nlinear": {"individual": False},
    "patchtst": {"patch_len": 16, "stride": 8, "revin": True},
}
MODES = [("M", 7, 7), ("S", 1, 1), ("MS", 7, 1)]


def config_for(family, mode="MS", n_in=7, c_out=1, **model):
    cfg = tiny_sections()
    cfg["data"]["mode"] = mode
    cfg["model"].update({"enc_in": n_in, "dec_in": n_in, "c_out": c_out, "family": family, **FAMILY_KEYS[family], **model})
    return cfg


@pytest.fixture
def batch(data_dir, monkeypatch):
    monkeypatch.setenv("NAS_DATA_DIR", str(data_dir))

    def make(mode, n=5):
        cfg = tiny_sections()
        cfg["data"]["mode"] = mode
        return load_splits(cfg["data"], workspace=Path(".")).train.batch(torch.arange(n))

    return make


def test_every_family_is_registered():
    assert set(FAMILIES) == {"informer", "dlinear", "nlinear", "patchtst"}


@pytest.mark.parametrize("family", list(FAMILY_KEYS))
@pytest.mark.parametrize("mode,n_in,c_out", MODES)
def test_output_shape_per_family_and_mode(family, mode, n_in, c_out, batch):
    b = batch(mode)
    torch.manual_seed(0)
    out = build_model(config_for(family, mode, n_in, c_out))(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec)
    assert out.shape == (5, 12, c_out) == b.y.shape
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("family,reads_all", [("informer", True), ("dlinear", False), ("nlinear", False),
                                              ("patchtst", False)])
def test_in_ms_channel_independent_families_read_the_target_column_only(family, reads_all, batch):
    b = batch("MS")
    torch.manual_seed(0)
    model = build_model(config_for(family, dropout=0.0)).eval()
    torch.manual_seed(1)
    base = model(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec)
    other = b.x_enc.clone()
    other[..., :-1] += torch.randn_like(other[..., :-1])      # every column but the target (last)
    other_dec = b.x_dec.clone()
    other_dec[..., :-1] += 1.0
    torch.manual_seed(1)
    moved = model(other, b.x_mark_enc, other_dec, b.x_mark_dec)
    assert (not torch.allclose(base, moved, atol=1e-6)) is reads_all


def test_moving_average_keeps_length_and_constants_and_decomposition_sums_back():
    x = torch.randn(2, 3, 40)
    assert MovingAverage(25)(x).shape == x.shape
    const = torch.full((1, 1, 30), 2.5)
    torch.testing.assert_close(MovingAverage(7)(const), const)
    seasonal, trend = SeriesDecomposition(5)(x)
    torch.testing.assert_close(seasonal + trend, x)
    # interior points are plain window means
    torch.testing.assert_close(trend[..., 10], x[..., 8:13].mean(-1))
    with pytest.raises(ValueError, match="odd"):
        MovingAverage(4)


def test_nlinear_is_equivariant_to_level_shifts():
    torch.manual_seed(0)
    cfg = config_for("nlinear", "S", 1, 1)
    model = build_model(cfg)
    x = torch.randn(3, 48, 1)
    torch.testing.assert_close(model(x + 5.0, None, None, None), model(x, None, None, None) + 5.0)


def test_patchtst_with_revin_is_equivariant_to_scale_and_shift():
    torch.manual_seed(0)
    model = build_model(config_for("patchtst", "S", 1, 1)).eval()
    x = torch.randn(3, 48, 1)
    torch.testing.assert_close(model(3.0 * x + 7.0, None, None, None), 3.0 * model(x, None, None, None) + 7.0,
                               rtol=1e-4, atol=1e-4)


def test_patchtst_42_patches_at_336_16_8_and_patch_contents():
    assert Patching.n_patches(336, 16, 8) == 42  # the paper's PatchTST/42
    x = torch.arange(20.0)[None]                      # [1, 20]
    patches = Patching(8, 4)(x)                       # end padded with 4 copies of the last value
    assert patches.shape == (1, Patching.n_patches(20, 8, 4), 8)
    assert patches[0, 0].tolist() == list(range(8)) and patches[0, -1].tolist() == [16, 17, 18, 19, 19, 19, 19, 19]


@pytest.mark.parametrize("family", ["dlinear", "nlinear"])
def test_individual_gives_each_channel_its_own_map(family):
    shared = build_model(config_for(family, "M", 7, 7))
    own = build_model(config_for(family, "M", 7, 7, individual=True))
    n = lambda m: sum(p.numel() for p in m.parameters())
    assert n(own) == 7 * n(shared)


# ----------------------------------------------------------------------------- train.py and config checks


@pytest.mark.parametrize("family", ["dlinear", "nlinear", "patchtst"])
def test_tiny_training_of_each_family_through_train_py(family, tiny_config, run_train, tmp_path):
    # keys of the Informer stay in the file and are ignored; label_len > seq_len is fine without a decoder
    changes = {f"model.{k}": v for k, v in FAMILY_KEYS[family].items()}
    tiny_config({"model.family": family, "data.label_len": 60, **changes})
    res = run_train()
    assert res.returncode == 0, res.stderr
    metrics = json.loads((tmp_path / "runs" / "run_0001" / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["epochs_run"] == 2
    cfg = config_for(family)
    assert metrics["n_params"] == sum(p.numel() for p in build_model(cfg).parameters())


@pytest.mark.parametrize("family", ["dlinear", "nlinear", "patchtst"])
def test_each_family_trains_with_its_step_compiled(family, tiny_config, run_train, tmp_path):
    # training.compile "auto" is "cudagraphs" on a GPU: every family's train step must trace
    # (on the CPU the same torch.compile path runs, without graphs to capture)
    changes = {f"model.{k}": v for k, v in FAMILY_KEYS[family].items()}
    tiny_config({"model.family": family, "data.label_len": 60, "training.compile": "cudagraphs", **changes})
    res = run_train()
    assert res.returncode == 0, res.stderr
    metrics = json.loads((tmp_path / "runs" / "run_0001" / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["compile"] == "cudagraphs"


def test_new_family_keys_get_their_defaults(tiny_config, run_train, tmp_path):
    from nas_agent.config_check import load_config

    path = tiny_config({"model.family": "patchtst"})
    model = load_config(path)["model"]
    assert (model["patch_len"], model["stride"], model["revin"]) == (16, 8, True)
    path = tiny_config({"model.family": "dlinear"}, drop=["model.d_model", "model.n_heads", "model.d_ff"])
    model = load_config(path)["model"]
    assert (model["moving_avg"], model["individual"]) == (25, False)


BAD = {
    "unknown-family": ({"model.family": "lstm"}, [], "model.family is 'lstm'"),
    "patchtst-needs-d_model": ({"model.family": "patchtst"}, ["model.d_model"], "model.d_model is missing"),
    "even-kernel": ({"model.family": "dlinear", "model.moving_avg": 24}, [], "an odd integer"),
    "patch-too-long": ({"model.family": "patchtst", "model.patch_len": 60}, [], "patch_len 60 exceeds data.seq_len"),
    "patchtst-heads": ({"model.family": "patchtst", "model.n_heads": 3}, [], "not divisible by model.n_heads"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_family_config_exits_2_with_one_line(name, tiny_config, run_train, tmp_path):
    changes, drop, message = BAD[name]
    tiny_config(changes, drop=drop)
    res = run_train()
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and message in lines[0], res.stderr
    assert not (tmp_path / "runs").exists()
