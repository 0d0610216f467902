"""PatchTST (Nie et al., ICLR 2023, "A Time Series is Worth 64 Words"), supervised: the
"patchtst" family of model.py.

Each channel's input window is normalized on its own (RevIN), cut into patches of
``patch_len`` steps every ``stride`` steps (the end padded by repeating the last value
``stride`` times, as in the paper's "end" padding), and each patch becomes one token. A
Transformer encoder (post-norm with BatchNorm, GELU feed-forward, residual attention scores
passed from layer to layer) reads the tokens; a flatten head maps all token features to the
pred_len forecast, which RevIN de-normalizes. Channel independent: every channel is a
separate sequence through the same weights, so in MS the target is forecast from the target
column alone. No decoder input, no time features.

forward(x_enc, x_mark_enc, x_dec, x_mark_dec) -> [B, pred_len, c_out].
Shapes: B batch, C channels (c_out), L seq_len, T pred_len, N patches, P patch_len,
d d_model, H heads, E head width (d / H).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.layers import target_channels


class RevIN(nn.Module):
    """Reversible instance normalization: per sample and channel, subtract the window's mean
    and divide by its std (ddof 0, + eps); a learnable per-channel affine map follows.
    ``denormalize`` undoes both on the forecast."""

    def __init__(self, n_channels: int, affine: bool = True, eps: float = 1e-5):
        super().__init__()
        self.eps, self.affine = eps, affine
        if affine:
            self.weight = nn.Parameter(torch.ones(n_channels))
            self.bias = nn.Parameter(torch.zeros(n_channels))

    def normalize(self, x):                                               # x: [B, L, C]
        self.mean = x.mean(dim=1, keepdim=True).detach()                  # [B, 1, C]
        self.std = (x.var(dim=1, keepdim=True, unbiased=False) + self.eps).sqrt().detach()
        x = (x - self.mean) / self.std
        return x * self.weight + self.bias if self.affine else x          # [B, L, C]

    def denormalize(self, y):                                             # y: [B, T, C]
        if self.affine:
            y = (y - self.bias) / (self.weight + self.eps * self.eps)
        return y * self.std + self.mean                                   # [B, T, C]


class Patching(nn.Module):
    """[B*C, L] -> [B*C, N, P]: pad the end by ``stride`` copies of the last value, then take
    windows of ``patch_len`` every ``stride`` steps; N = (L - P) // stride + 2."""

    def __init__(self, patch_len: int, stride: int):
        super().__init__()
        self.patch_len, self.stride = patch_len, stride

    @staticmethod
    def n_patches(seq_len: int, patch_len: int, stride: int) -> int:
        return (seq_len - patch_len) // stride + 2

    def forward(self, x):                                                 # x: [B*C, L]
        x = F.pad(x[:, None, :], (0, self.stride), mode="replicate")[:, 0]  # [B*C, L + stride]
        return x.unfold(-1, self.patch_len, self.stride)                  # [B*C, N, P]


class BatchNormTokens(nn.Module):
    """BatchNorm1d over the feature dimension of a token sequence: [B, N, d] -> [B, N, d]."""

    def __init__(self, d_model: int):
        super().__init__()
        self.norm = nn.BatchNorm1d(d_model)

    def forward(self, x):                                                 # x: [B, N, d]
        # the same statistics as BatchNorm1d over [B, d, N] (per feature, over B and N), without
        # the transposes, whose gradients a compiled step (torch.compile) cannot view
        return self.norm(x.reshape(-1, x.shape[-1])).reshape(x.shape)


class ResidualAttention(nn.Module):
    """Multi-head self-attention whose pre-softmax scores add the previous layer's scores
    (residual attention, as PatchTST's default). Returns the output and this layer's scores."""

    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)
        self.scale = (d_model // n_heads) ** -0.5

    def forward(self, x, prev_scores=None):                               # x: [B, N, d]
        B, N, d = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)  # [B, H, N, E] each
        scores = q @ k.transpose(-2, -1) * self.scale                     # [B, H, N, N]
        if prev_scores is not None:
            scores = scores + prev_scores
        context = F.softmax(scores, dim=-1) @ v                           # [B, H, N, E]
        context = context.transpose(1, 2).reshape(B, N, d)                # [B, N, d]
        return self.dropout(self.out(context)), scores


class EncoderLayer(nn.Module):
    """Post-norm Transformer layer: x = BN(x + attn(x)); x = BN(x + FFN(x)), GELU FFN."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.attention = ResidualAttention(d_model, n_heads, dropout)
        self.norm_attn = BatchNormTokens(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(d_ff, d_model), nn.Dropout(dropout))
        self.norm_ffn = BatchNormTokens(d_model)

    def forward(self, x, prev_scores=None):                               # x: [B, N, d]
        attended, scores = self.attention(x, prev_scores)
        x = self.norm_attn(x + attended)
        return self.norm_ffn(x + self.ffn(x)), scores                     # [B, N, d], [B, H, N, N]


class FlattenHead(nn.Module):
    """All token features of one channel to its forecast: [B*C, N, d] -> [B*C, T]."""

    def __init__(self, n_patches: int, d_model: int, pred_len: int, dropout: float = 0.0):
        super().__init__()
        self.linear = nn.Linear(n_patches * d_model, pred_len)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):                                                 # x: [B*C, N, d]
        return self.dropout(self.linear(x.transpose(1, 2).flatten(1)))    # [B*C, T] (d-major, as the paper)


class PatchTST(nn.Module):
    decoder_input = False  # train.py feeds no decoder start tokens (label_len 0)

    def __init__(self, seq_len: int, pred_len: int, c_out: int, patch_len: int = 16, stride: int = 8,
                 revin: bool = True, d_model: int = 16, n_heads: int = 4, e_layers: int = 3,
                 d_ff: int = 128, dropout: float = 0.3):
        super().__init__()
        if patch_len > seq_len:
            raise ValueError(f"patch_len {patch_len} exceeds seq_len {seq_len}")
        self.c_out = c_out
        self.revin = RevIN(c_out) if revin else None
        self.patching = Patching(patch_len, stride)
        n_patches = Patching.n_patches(seq_len, patch_len, stride)
        self.embed = nn.Linear(patch_len, d_model)                          # one token per patch
        self.position = nn.Parameter(torch.empty(n_patches, d_model).uniform_(-0.02, 0.02))  # [N, d]
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(EncoderLayer(d_model, n_heads, d_ff, dropout) for _ in range(e_layers))
        self.head = FlattenHead(n_patches, d_model, pred_len)

    def forward(self, x_enc, x_mark_enc=None, x_dec=None, x_mark_dec=None):
        x = target_channels(x_enc, self.c_out)                     # [B, L, C]
        if self.revin is not None:
            x = self.revin.normalize(x)
        B, L, C = x.shape
        patches = self.patching(x.transpose(1, 2).reshape(B * C, L))   # [B*C, N, P]: channels as samples
        z = self.dropout(self.embed(patches) + self.position)        # [B*C, N, d]
        scores = None
        for layer in self.layers:
            z, scores = layer(z, scores)                               # [B*C, N, d]
        y = self.head(z).reshape(B, C, -1).transpose(1, 2)               # [B, T, C]
        return self.revin.denormalize(y) if self.revin is not None else y


def build(config: dict) -> nn.Module:
    """PatchTST from config['model'] (patch_len, stride, revin, d_model, n_heads, e_layers, d_ff,
    dropout, c_out) and the lengths in config['data']."""
    m, d = config["model"], config["data"]
    keys = ("patch_len", "stride", "revin", "d_model", "n_heads", "e_layers", "d_ff", "dropout")
    return PatchTST(d["seq_len"], d["pred_len"], m["c_out"], **{k: m[k] for k in keys if k in m})
