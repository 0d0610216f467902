"""Our Informer: ProbSparse semantics, shapes per mode, distilling, and parameter parity."""
import math
from pathlib import Path

import pytest
import torch

from conftest import tiny_sections
from data import load_splits
from model import build_model
from models.informer import (AttentionLayer, Encoder, EncoderLayer, DistilLayer, FullAttention, ProbAttention,
                   sampled_scores_gather, sampled_scores_matmul)


def qkv(B=2, L=20, H=3, E=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(B, L, H, E, generator=g) for _ in range(3)]


@pytest.mark.parametrize("masked", [False, True], ids=["encoder", "masked-decoder"])
def test_probsparse_equals_full_attention_when_every_query_is_active(masked):
    q, k, v = qkv(L=20)
    factor = 10  # u = 10 * ceil(ln 20) = 30 >= L_Q: every query is active
    assert factor * math.ceil(math.log(20)) >= 20
    prob = ProbAttention(mask_flag=masked, factor=factor)(q, k, v)
    full = FullAttention(mask_flag=masked)(q, k, v)
    assert prob.shape == (2, 20, 3, 8)
    torch.testing.assert_close(prob, full, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("masked", [False, True], ids=["encoder", "masked-decoder"])
def test_inactive_queries_get_mean_or_cumsum_of_values(masked):
    L, factor = 64, 1  # u = ceil(ln 64) = 5 active queries out of 64
    q, k, v = qkv(L=L, seed=1)
    torch.manual_seed(0)
    out = ProbAttention(mask_flag=masked, factor=factor)(q, k, v)        # [B, L, H, D]
    lazy = v.cumsum(dim=1) if masked else v.mean(dim=1, keepdim=True).expand_as(v)
    full = FullAttention(mask_flag=masked)(q, k, v)
    is_lazy = torch.isclose(out, lazy, atol=1e-5).all(-1)                  # [B, L, H]
    is_full = torch.isclose(out, full, atol=1e-5).all(-1)
    assert (is_lazy | is_full).all(), "every query gets either the lazy context or full attention"
    n_active = (~is_lazy).sum(dim=1)                                       # [B, H]
    assert (n_active <= math.ceil(math.log(L))).all()
    assert (n_active >= 1).all()


def test_sampled_scores_paths_agree():
    q, k, _ = qkv(L=30, E=4)
    q, k = q.transpose(1, 2), k.transpose(1, 2)  # [B, H, L, E]
    idx = torch.randint(30, (30, 7), generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(sampled_scores_matmul(q, k, idx), sampled_scores_gather(q, k, idx))


def test_probsparse_sampling_is_reproducible_with_a_seed():
    q, k, v = qkv(L=64, seed=2)
    attn = ProbAttention(factor=1)
    torch.manual_seed(5)
    a = attn(q, k, v)
    torch.manual_seed(5)
    b = attn(q, k, v)
    assert torch.equal(a, b)


def test_mix_reads_the_head_major_layout_as_time_major():
    torch.manual_seed(0)
    layer = AttentionLayer(FullAttention(), d_model=8, n_heads=2, mix=True)
    x = torch.randn(1, 5, 8)
    inner = layer.attention(layer.q_proj(x).view(1, 5, 2, 4), layer.k_proj(x).view(1, 5, 2, 4),
                            layer.v_proj(x).view(1, 5, 2, 4))           # [1, 5, 2, 4]
    expected = layer.out_proj(inner.permute(0, 2, 1, 3).reshape(1, 5, 8))
    torch.testing.assert_close(layer(x, x, x), expected)


def test_distilling_halves_the_encoder_length():
    d = 16
    layers = [EncoderLayer(AttentionLayer(FullAttention(), d, 2), d, 32, 0.0, "gelu") for _ in range(3)]
    enc = Encoder(layers, [DistilLayer(d) for _ in range(2)], d)
    assert enc(torch.randn(2, 48, d)).shape == (2, 12, d)


@pytest.mark.parametrize("mode,n_in,c_out", [("M", 7, 7), ("S", 1, 1), ("MS", 7, 1)])
def test_output_shapes_per_mode(mode, n_in, c_out, data_dir, monkeypatch):
    monkeypatch.setenv("NAS_DATA_DIR", str(data_dir))
    cfg = tiny_sections()
    cfg["data"]["mode"] = mode
    cfg["model"].update(enc_in=n_in, dec_in=n_in, c_out=c_out)
    splits = load_splits(cfg["data"], workspace=Path("."))
    b = splits.train.batch(torch.arange(5))
    assert b.x_enc.shape == (5, 48, n_in) and b.x_dec.shape == (5, 36, n_in)
    out = build_model(cfg)(b.x_enc, b.x_mark_enc, b.x_dec, b.x_mark_dec)
    assert out.shape == (5, 12, c_out) == b.y.shape


@pytest.mark.parametrize("c,expected", [(1, 180_673), (7, 183_367)])
def test_parameter_count_matches_the_reference_implementation(c, expected):
    # informer.md: S and M, 96/48/24, d_model 64, 4 heads, d_ff 256, e_layers 2, d_layers 1
    cfg = {"data": {"pred_len": 24},
           "model": dict(enc_in=c, dec_in=c, c_out=c, d_model=64, n_heads=4, e_layers=2, d_layers=1,
                         d_ff=256, dropout=0.05, factor=5, attn="prob", activation="gelu",
                         distil=True, mix=True)}
    assert sum(p.numel() for p in build_model(cfg).parameters()) == expected


def test_dropout_drops_at_rate_p_keeps_the_expectation_and_is_off_in_eval():
    from models.informer import Dropout

    drop = Dropout(0.25)
    x = torch.ones(400_000)
    torch.manual_seed(0)
    y = drop(x)
    assert (y == 0).float().mean().item() == pytest.approx(0.25, abs=0.005)
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)
    assert y.unique().tolist() == [0.0, pytest.approx(4 / 3)]
    drop.eval()
    assert torch.equal(drop(x), x)
