"""Our own Informer (Zhou et al., AAAI 2021): the "informer" family of model.py.

Parts: the value + position + timeF embedding, ProbSparse self-attention with `factor`,
self-attention distilling between encoder layers, the generative-style decoder fed
with label_len start tokens plus pred_len zeros, and the decoder's "mix" reshuffle.

forward(x_enc, x_mark_enc, x_dec, x_mark_dec) -> [B, pred_len, c_out].

Shapes: B batch, L length (L_Q queries, L_K keys), H heads, E/D head width,
d d_model, C channels.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------- dropout


class Dropout(nn.Module):
    """Inverted dropout whose mask costs half a random draw per element.

    nn.Dropout draws one Bernoulli sample per element, which was a third of a CPU train step
    here. One 32-bit draw gives two 16-bit uniforms, so p is quantized to 1/65536 (the scale
    uses the quantized keep rate, so the expectation stays exact). Uses torch's global RNG,
    so seeded runs are reproducible. On CUDA, and under torch.compile, it is F.dropout
    (one fused kernel there).
    """

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p
        self.cut = round(p * 65536)                  # elements with a 16-bit draw below cut are dropped
        self.scale = 65536 / (65536 - self.cut) if self.cut < 65536 else 0.0

    def forward(self, x):
        if not self.training or self.cut == 0:
            return x
        if x.is_cuda or torch.compiler.is_compiling():
            # one fused kernel on the GPU (and what the compiler fuses best): same inverted
            # dropout, without the 16-bit quantization of p
            return F.dropout(x, self.p, training=True)
        n = x.numel()
        bits = torch.empty((n + 1) // 2, dtype=torch.int32, device=x.device).random_(-2**31, 2**31 - 1)
        keep = bits.view(torch.int16)[:n].view(x.shape) >= self.cut - 32768
        return x * (keep * self.scale).to(x.dtype)  # keeps x's dtype under autocast

    def extra_repr(self) -> str:
        return f"p={self.p}"


# ----------------------------------------------------------------------------- embedding


class TokenEmbedding(nn.Module):
    """Value embedding: Conv1d(c_in -> d_model, kernel 3, circular padding)."""

    def __init__(self, c_in: int, d_model: int):
        super().__init__()
        self.conv = nn.Conv1d(c_in, d_model, kernel_size=3, padding=1, padding_mode="circular")
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_in", nonlinearity="leaky_relu")

    def forward(self, x):                                   # x: [B, L, C]
        return self.conv(x.transpose(1, 2)).transpose(1, 2)  # [B, L, d]


class PositionalEmbedding(nn.Module):
    """Fixed sinusoidal position embedding."""

    def __init__(self, d_model: int, max_len: int = 5000):
        super().__init__()
        position = torch.arange(max_len).float()[:, None]                       # [max_len, 1]
        div = torch.exp(torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div[: d_model // 2])
        self.register_buffer("pe", pe[None], persistent=False)                 # [1, max_len, d]

    def forward(self, x):                    # x: [B, L, *]
        return self.pe[:, : x.shape[1]]      # [1, L, d]


class TimeFeatureEmbedding(nn.Module):
    """timeF: a linear map of the 4 hourly time features."""

    def __init__(self, d_model: int, n_features: int = 4):
        super().__init__()
        self.proj = nn.Linear(n_features, d_model)

    def forward(self, x_mark):       # [B, L, 4]
        return self.proj(x_mark)     # [B, L, d]


class DataEmbedding(nn.Module):
    """value + position + time, then dropout."""

    def __init__(self, c_in: int, d_model: int, dropout: float):
        super().__init__()
        self.value = TokenEmbedding(c_in, d_model)
        self.position = PositionalEmbedding(d_model)
        self.time = TimeFeatureEmbedding(d_model)
        self.dropout = Dropout(dropout)

    def forward(self, x, x_mark):    # [B, L, C], [B, L, 4] -> [B, L, d]
        return self.dropout(self.value(x) + self.position(x) + self.time(x_mark))


# ----------------------------------------------------------------------------- attention


class FullAttention(nn.Module):
    """Canonical softmax(QK^T / sqrt(E)) V, optionally causal."""

    def __init__(self, mask_flag: bool = False, dropout: float = 0.0):
        super().__init__()
        self.mask_flag = mask_flag
        self.dropout = Dropout(dropout)

    def forward(self, q, k, v):               # q: [B, L_Q, H, E], k: [B, L_K, H, E], v: [B, L_K, H, D]
        scale = 1.0 / math.sqrt(q.shape[-1])
        scores = torch.einsum("blhe,bshe->bhls", q, k)   # [B, H, L_Q, L_K]
        if self.mask_flag:
            causal = torch.ones(q.shape[1], k.shape[1], dtype=torch.bool, device=q.device).triu(1)
            scores = scores.masked_fill(causal, float("-inf"))
        attn = self.dropout(torch.softmax(scale * scores, dim=-1))
        return torch.einsum("bhls,bshd->blhd", attn, v).contiguous()  # [B, L_Q, H, D]


def sampled_scores_matmul(q, k, idx):
    """q.k_j for the sampled keys idx [L_Q, U], via one full Q K^T: [B, H, L_Q, U]."""
    B, H, L_Q, _ = q.shape
    qk = q @ k.transpose(-2, -1)                                   # [B, H, L_Q, L_K]
    return qk.gather(-1, idx.expand(B, H, L_Q, idx.shape[1]))      # [B, H, L_Q, U]


def sampled_scores_gather(q, k, idx):
    """q.k_j for the sampled keys idx [L_Q, U], via gathered keys: [B, H, L_Q, U]."""
    k_sample = k[:, :, idx, :]                                     # [B, H, L_Q, U, E]
    return (q.unsqueeze(-2) @ k_sample.transpose(-2, -1)).squeeze(-2)


class ProbAttention(nn.Module):
    """ProbSparse self-attention.

    Sample U = factor*ceil(ln L_K) keys per query (with replacement), rank queries by the
    sparsity measure M(q) = max_j(q.k_j) - sum_j(q.k_j)/L_K over the sampled keys, give the
    top u = factor*ceil(ln L_Q) queries full attention, and the others the mean of V
    (encoder) or the cumulative sum of V (masked decoder). With u >= L_Q it equals full
    attention. Sampling uses torch's global RNG, so a seeded run is reproducible.
    """

    def __init__(self, mask_flag: bool = False, factor: int = 5, dropout: float = 0.0):
        super().__init__()
        self.mask_flag = mask_flag
        self.factor = factor
        self.dropout = Dropout(dropout)  # kept for parity with the paper's code; unused there too

    @torch.no_grad()
    def _select_queries(self, q, k, n_sample: int, n_top: int):
        """Indices [B, H, u] of the top-u queries by the sampled sparsity measure."""
        L_Q, E = q.shape[2], q.shape[3]
        L_K = k.shape[2]
        idx = torch.randint(L_K, (L_Q, n_sample), device=q.device)                 # [L_Q, U]
        # one Q K^T matmul then a gather is cheaper than U*E work per query when L_K <= U*E
        sampled = (sampled_scores_matmul if L_K <= n_sample * E else sampled_scores_gather)(q, k, idx)
        m = sampled.max(-1).values - sampled.sum(-1) / L_K                        # [B, H, L_Q]
        return m.topk(n_top, dim=-1, sorted=False).indices                        # [B, H, u]

    def forward(self, q, k, v):           # q: [B, L_Q, H, E], k: [B, L_K, H, E], v: [B, L_K, H, D]
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, H, L, *]
        B, H, L_Q, E = q.shape
        L_K = k.shape[2]
        n_sample = min(self.factor * math.ceil(math.log(L_K)), L_K)
        n_top = min(self.factor * math.ceil(math.log(L_Q)), L_Q)
        top = self._select_queries(q, k, n_sample, n_top)                         # [B, H, u]

        q_top = q.gather(2, top[..., None].expand(B, H, n_top, E))                # [B, H, u, E]
        scores = (q_top @ k.transpose(-2, -1)) / math.sqrt(E)                     # [B, H, u, L_K]
        if self.mask_flag:
            assert L_Q == v.shape[2], "masked ProbSparse attention needs L_Q == L_V"
            # query at position t may attend to keys 0..t only
            causal = torch.arange(L_K, device=q.device)[None, None, None, :] > top[..., None]
            scores = scores.masked_fill(causal, float("-inf"))
            context = v.cumsum(dim=2)                                             # [B, H, L_Q, D]
        else:
            context = v.mean(dim=2, keepdim=True).expand(B, H, L_Q, v.shape[-1])  # [B, H, L_Q, D]
        attn = torch.softmax(scores, dim=-1)                                      # [B, H, u, L_K]
        top_context = attn @ v                                                    # [B, H, u, D]
        # Under autocast the matmul runs in bf16/fp16 while the lazy context may not (CUDA's
        # autocast keeps cumsum in fp32): scatter in the context's dtype.
        context = context.scatter(2, top[..., None].expand_as(top_context), top_context.to(context.dtype))
        return context.transpose(1, 2).contiguous()                               # [B, L_Q, H, D]


class AttentionLayer(nn.Module):
    """Multi-head projections around an inner attention; `mix` is the decoder's reshuffle."""

    def __init__(self, attention: nn.Module, d_model: int, n_heads: int, mix: bool = False):
        super().__init__()
        d_head = d_model // n_heads
        self.attention = attention
        self.q_proj = nn.Linear(d_model, d_head * n_heads)
        self.k_proj = nn.Linear(d_model, d_head * n_heads)
        self.v_proj = nn.Linear(d_model, d_head * n_heads)
        self.out_proj = nn.Linear(d_head * n_heads, d_model)
        self.n_heads, self.mix = n_heads, mix

    def forward(self, queries, keys, values):   # [B, L_Q, d], [B, L_K, d], [B, L_K, d]
        B, L_Q, _ = queries.shape
        L_K, H = keys.shape[1], self.n_heads
        q = self.q_proj(queries).view(B, L_Q, H, -1)   # [B, L_Q, H, E]
        k = self.k_proj(keys).view(B, L_K, H, -1)      # [B, L_K, H, E]
        v = self.v_proj(values).view(B, L_K, H, -1)    # [B, L_K, H, D]
        out = self.attention(q, k, v)                  # [B, L_Q, H, D]
        if self.mix:
            # the paper's fixed reshuffle: read the [B, H, L, D] layout as [B, L, H*D]
            out = out.transpose(1, 2).contiguous()
        return self.out_proj(out.reshape(B, L_Q, -1))  # [B, L_Q, d]


def make_attention(kind: str, mask_flag: bool, factor: int, dropout: float) -> nn.Module:
    if kind == "prob":
        return ProbAttention(mask_flag, factor, dropout)
    if kind == "full":
        return FullAttention(mask_flag, dropout)
    raise ValueError(f"unknown attention kind {kind!r}; use 'prob' or 'full'")


# ----------------------------------------------------------------------------- encoder


class FeedForward(nn.Module):
    """Position-wise FFN d -> d_ff -> d. The paper's kernel-1 Conv1d pair is the same map as
    two Linear layers (same parameters); Linear skips the [B, d, L] transposes and copies."""

    def __init__(self, d_model: int, d_ff: int, dropout: float, activation: str):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)
        self.activation = F.gelu if activation == "gelu" else F.relu
        self.dropout = Dropout(dropout)

    def forward(self, x):                                   # [B, L, d]
        y = self.dropout(self.activation(self.fc1(x)))      # [B, L, d_ff]
        return self.dropout(self.fc2(y))                    # [B, L, d]


class DistilLayer(nn.Module):
    """Self-attention distilling: Conv1d(k3, circular) -> BatchNorm -> ELU -> MaxPool(3, 2, 1)."""

    def __init__(self, d_model: int):
        super().__init__()
        self.conv = nn.Conv1d(d_model, d_model, kernel_size=3, padding=1, padding_mode="circular")
        self.norm = nn.BatchNorm1d(d_model)
        self.pool = nn.MaxPool1d(kernel_size=3, stride=2, padding=1)

    def forward(self, x):                                              # [B, L, d]
        y = F.elu(self.norm(self.conv(x.transpose(1, 2))))               # [B, d, L]
        return self.pool(y).transpose(1, 2)                              # [B, ceil(L/2), d]


class EncoderLayer(nn.Module):
    """Post-norm: x = LN(x + drop(attn(x))); out = LN(x + FFN(x))."""

    def __init__(self, attention: AttentionLayer, d_model: int, d_ff: int, dropout: float, activation: str):
        super().__init__()
        self.attention = attention
        self.ffn = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout = Dropout(dropout)

    def forward(self, x):                                    # [B, L, d]
        x = self.norm1(x + self.dropout(self.attention(x, x, x)))
        return self.norm2(x + self.ffn(x))                   # [B, L, d]


class Encoder(nn.Module):
    """Attention layers with a distil block between consecutive ones, then LayerNorm."""

    def __init__(self, layers: list[EncoderLayer], distils: list[DistilLayer], d_model: int):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.distils = nn.ModuleList(distils)  # len(layers) - 1 blocks, or none
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x):                                    # [B, L, d]
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.distils):
                x = self.distils[i](x)                       # halves L
        return self.norm(x)                                  # [B, L', d]


# ----------------------------------------------------------------------------- decoder


class DecoderLayer(nn.Module):
    """Masked self-attention, LN; cross-attention to the encoder, LN; FFN, LN."""

    def __init__(self, self_attention: AttentionLayer, cross_attention: AttentionLayer, d_model: int,
                 d_ff: int, dropout: float, activation: str):
        super().__init__()
        self.self_attention, self.cross_attention = self_attention, cross_attention
        self.ffn = FeedForward(d_model, d_ff, dropout, activation)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.dropout = Dropout(dropout)

    def forward(self, x, memory):                            # x: [B, L_dec, d], memory: [B, L_enc, d]
        x = self.norm1(x + self.dropout(self.self_attention(x, x, x)))
        x = self.norm2(x + self.dropout(self.cross_attention(x, memory, memory)))
        return self.norm3(x + self.ffn(x))                   # [B, L_dec, d]


class Decoder(nn.Module):
    def __init__(self, layers: list[DecoderLayer], d_model: int):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, x, memory):
        for layer in self.layers:
            x = layer(x, memory)
        return self.norm(x)                                  # [B, L_dec, d]


# ----------------------------------------------------------------------------- model


class Informer(nn.Module):
    def __init__(self, enc_in: int, dec_in: int, c_out: int, pred_len: int, d_model: int = 512,
                 n_heads: int = 8, e_layers: int = 2, d_layers: int = 1, d_ff: int = 2048,
                 dropout: float = 0.05, factor: int = 5, attn: str = "prob", activation: str = "gelu",
                 distil: bool = True, mix: bool = True):
        super().__init__()
        self.pred_len = pred_len
        self.enc_embedding = DataEmbedding(enc_in, d_model, dropout)
        self.dec_embedding = DataEmbedding(dec_in, d_model, dropout)

        def attention_layer(kind, mask_flag, mix_flag):
            return AttentionLayer(make_attention(kind, mask_flag, factor, dropout), d_model, n_heads, mix_flag)

        self.encoder = Encoder(
            [EncoderLayer(attention_layer(attn, False, False), d_model, d_ff, dropout, activation)
             for _ in range(e_layers)],
            [DistilLayer(d_model) for _ in range(e_layers - 1)] if distil else [],
            d_model)
        self.decoder = Decoder(
            [DecoderLayer(attention_layer(attn, True, mix), attention_layer("full", False, False),
                          d_model, d_ff, dropout, activation)
             for _ in range(d_layers)],
            d_model)
        self.projection = nn.Linear(d_model, c_out)

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        # x_enc: [B, seq_len, enc_in], x_dec: [B, label_len + pred_len, dec_in], marks: [B, *, 4]
        memory = self.encoder(self.enc_embedding(x_enc, x_mark_enc))           # [B, L_enc', d]
        out = self.decoder(self.dec_embedding(x_dec, x_mark_dec), memory)      # [B, L_dec, d]
        return self.projection(out)[:, -self.pred_len:, :]                     # [B, pred_len, c_out]


MODEL_KEYS = ("enc_in", "dec_in", "c_out", "d_model", "n_heads", "e_layers", "d_layers", "d_ff",
              "dropout", "factor", "attn", "activation", "distil", "mix")


def build(config: dict) -> nn.Module:
    """Informer from config['model'], with pred_len from config['data']."""
    m = config["model"]
    return Informer(pred_len=config["data"]["pred_len"], **{k: m[k] for k in MODEL_KEYS if k in m})
