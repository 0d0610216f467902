"""NLinear (Zeng et al., AAAI 2023): the "nlinear" family of model.py.

The last input value is subtracted, one linear map over time forecasts the rest, and the
last value is added back: a linear model that is exact on a constant series and robust to
level shifts between train and test. Channel independent like DLinear (in MS, the target is
forecast from the target column alone); ``individual`` gives every channel its own map.
No decoder input, no time features.

forward(x_enc, x_mark_enc, x_dec, x_mark_dec) -> [B, pred_len, c_out].
Shapes: B batch, L seq_len, T pred_len, C channels (c_out).
"""
from __future__ import annotations

import torch.nn as nn

from models.layers import ChannelLinear, target_channels


class NLinear(nn.Module):
    decoder_input = False  # train.py feeds no decoder start tokens (label_len 0)

    def __init__(self, seq_len: int, pred_len: int, c_out: int, individual: bool = False):
        super().__init__()
        self.c_out = c_out
        self.linear = ChannelLinear(c_out, seq_len, pred_len, individual)

    def forward(self, x_enc, x_mark_enc=None, x_dec=None, x_mark_dec=None):
        x = target_channels(x_enc, self.c_out).transpose(1, 2)   # [B, C, L]
        last = x[..., -1:]                                        # [B, C, 1]
        out = self.linear(x - last) + last                        # [B, C, T]
        return out.transpose(1, 2)                                # [B, T, C]


def build(config: dict) -> nn.Module:
    """NLinear from config['model'] (individual, c_out) and the lengths in config['data']."""
    m, d = config["model"], config["data"]
    return NLinear(d["seq_len"], d["pred_len"], m["c_out"], m.get("individual", False))
