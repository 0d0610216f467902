"""build_model(config): the forecaster that train.py trains, picked by config["model"]["family"].

Every family keeps forward(x_enc, x_mark_enc, x_dec, x_mark_dec) -> [B, pred_len, c_out], so a
user's own model.py exposing build_model(config) with that forward works with train.py too.
One file per family under models/:

| family | channels in MS (all inputs, target out) | decoder input |
| --- | --- | --- |
| informer | mixes all input columns into each token: the target is forecast from all of them | yes |
| dlinear, nlinear, patchtst | channel independent: the target is forecast from its own past only | no |

A model whose class sets ``decoder_input = False`` gets no decoder start tokens from train.py
(label_len 0); it ignores x_dec and the time marks.
"""
from __future__ import annotations

import torch.nn as nn

from models import dlinear, informer, nlinear, patchtst
from nas_agent.config_check import DEFAULT_FAMILY

FAMILIES = {"informer": informer.build, "dlinear": dlinear.build, "nlinear": nlinear.build,
            "patchtst": patchtst.build}


def build_model(config: dict) -> nn.Module:
    family = config["model"].get("family", DEFAULT_FAMILY)
    if family not in FAMILIES:
        raise ValueError(f"unknown model.family {family!r}; use one of {', '.join(FAMILIES)}")
    return FAMILIES[family](config)
