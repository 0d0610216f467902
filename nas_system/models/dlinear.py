"""DLinear (Zeng et al., AAAI 2023, "Are Transformers Effective for Time Series Forecasting?"):
the "dlinear" family of model.py.

The input is split by a moving average into a trend and a seasonal (remainder) part; one
linear map over time forecasts each part, and the two forecasts are summed. Channel
independent: each output channel is forecast from its own past only (in MS, the target from
the target column; the other columns are not read). ``individual`` gives every channel its
own pair of maps instead of one shared pair. No decoder input, no time features.

forward(x_enc, x_mark_enc, x_dec, x_mark_dec) -> [B, pred_len, c_out].
Shapes: B batch, L seq_len, T pred_len, C channels (c_out).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.layers import ChannelLinear, target_channels


class MovingAverage(nn.Module):
    """Moving average over time with an odd kernel; the series is padded at both ends by
    repeating its first and last values, so the output keeps the input length."""

    def __init__(self, kernel: int):
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"moving_avg must be an odd integer >= 1, got {kernel}")
        self.kernel = kernel

    def forward(self, x):                                               # x: [B, C, L]
        pad = (self.kernel - 1) // 2
        padded = F.pad(x, (pad, pad), mode="replicate") if pad else x   # [B, C, L + 2 pad]
        return F.avg_pool1d(padded, self.kernel, stride=1)              # [B, C, L]


class SeriesDecomposition(nn.Module):
    """x = seasonal + trend, with trend = the moving average of x."""

    def __init__(self, kernel: int):
        super().__init__()
        self.moving_average = MovingAverage(kernel)

    def forward(self, x):                                  # x: [B, C, L]
        trend = self.moving_average(x)                     # [B, C, L]
        return x - trend, trend                            # seasonal, trend: [B, C, L] each


class DLinear(nn.Module):
    decoder_input = False  # train.py feeds no decoder start tokens (label_len 0)

    def __init__(self, seq_len: int, pred_len: int, c_out: int, moving_avg: int = 25, individual: bool = False):
        super().__init__()
        self.c_out = c_out
        self.decomposition = SeriesDecomposition(moving_avg)
        self.seasonal = ChannelLinear(c_out, seq_len, pred_len, individual)
        self.trend = ChannelLinear(c_out, seq_len, pred_len, individual)

    def forward(self, x_enc, x_mark_enc=None, x_dec=None, x_mark_dec=None):
        x = target_channels(x_enc, self.c_out).transpose(1, 2)   # [B, C, L]
        seasonal, trend = self.decomposition(x)                   # [B, C, L] each
        out = self.seasonal(seasonal) + self.trend(trend)         # [B, C, T]
        return out.transpose(1, 2)                                # [B, T, C]


def build(config: dict) -> nn.Module:
    """DLinear from config['model'] (moving_avg, individual, c_out) and the lengths in config['data']."""
    m, d = config["model"], config["data"]
    return DLinear(d["seq_len"], d["pred_len"], m["c_out"], m.get("moving_avg", 25), m.get("individual", False))
