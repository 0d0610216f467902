"""Building blocks shared by the channel-independent families (dlinear, nlinear, patchtst).

Shapes: B batch, C channels, L input length (seq_len), T output length (pred_len).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class ChannelLinear(nn.Module):
    """A linear map over time, applied to every channel: one map shared by all channels, or
    one map per channel (``individual``). Same initialization as nn.Linear.

    forward(x: [B, C, L]) -> [B, C, T]
    """

    def __init__(self, n_channels: int, in_len: int, out_len: int, individual: bool):
        super().__init__()
        n = n_channels if individual else 1
        bound = 1 / math.sqrt(in_len)
        self.weight = nn.Parameter(torch.empty(n, out_len, in_len).uniform_(-bound, bound))  # [C or 1, T, L]
        self.bias = nn.Parameter(torch.empty(n, out_len).uniform_(-bound, bound))            # [C or 1, T]
        self.individual = individual

    def forward(self, x):                                          # x: [B, C, L]
        if not self.individual:
            return F.linear(x, self.weight[0], self.bias[0])       # [B, C, T]
        return torch.einsum("bcl,ctl->bct", x, self.weight) + self.bias  # [B, C, T]

    def extra_repr(self) -> str:
        n, t, l = self.weight.shape
        return f"in_len={l}, out_len={t}, maps={n}, individual={self.individual}"


def target_channels(x_enc: torch.Tensor, c_out: int) -> torch.Tensor:
    """The last c_out input channels (data.py puts the target last): [B, L, C_in] -> [B, L, c_out].

    Channel-independent families forecast each output channel from its own past only, so in
    MS (c_out 1) they read the target column alone; in M and S every input is an output."""
    return x_enc[..., -c_out:]
