"""build_model(config): the forecaster that train.py trains, picked by config["model"]["family"].

Every family keeps forward(x_enc, x_mark_enc, x_dec, x_mark_dec) -> [B, pred_len, c_out], so a
user's own model.py exposing build_model(config) with that forward works with train.py too.
One file per family under models/.
"""
from __future__ import annotations

import torch.nn as nn

from models import informer

FAMILIES = {"informer": informer.build}


def build_model(config: dict) -> nn.Module:
    family = config["model"].get("family", "informer")
    if family not in FAMILIES:
        raise ValueError(f"unknown model.family {family!r}; use one of {', '.join(FAMILIES)}")
    return FAMILIES[family](config)
