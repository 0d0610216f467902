"""DEMO configuration (`nas-graph demo`): a CPU-sized Informer on ETTh1, so that a whole search
(baseline, proposals, verdicts, report) runs in minutes on a laptop. A training here takes
about 15 s on one CPU core; the users' full config is nas_system/config.py.

ETTh1, multivariate input forecasting OT (MS), 48 -> 24 steps, on the standard 12 / 4 / 4 month
split. This small Informer loses to persistence (repeating the last value); the demo's search
space also holds the linear families with their papers' recipes, which beat it.
"""
from torch import nn, optim

seed = 42

data = {
    # A local path, or an http(s) URL downloaded once into <workspace>/data/
    # (sha256-checked for ETTh1/ETTh2). NAS_DATA_DIR overrides the folder.
    "data_path": "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv",
    "target": "OT",
    "features": ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"],
    "mode": "MS",  # M: all in, all out | S: target only | MS: all in, target out
    "seq_len": 48,
    "label_len": 24,
    "pred_len": 24,
    "train_size": 8640,
    "val_size": 2880,
    "test_size": 2880,
    "batch_size": 128,
    "num_workers": 0,
    "scale": True,
}

model = {
    "family": "informer",  # informer | dlinear | nlinear
    "enc_in": 7,
    "dec_in": 7,
    "c_out": 1,
    "d_model": 16,
    "n_heads": 2,
    "e_layers": 1,
    "d_layers": 1,
    "d_ff": 32,
    "dropout": 0.05,
    "factor": 5,
    "attn": "prob",  # prob | full
    "activation": "gelu",  # gelu | relu
    "distil": True,
    "mix": True,
}

training = {
    "optimizer_class": optim.Adam,
    "optimizer_params": {"lr": 0.0002, "weight_decay": 0.0},
    "use_scheduler": False,
    "scheduler_class": optim.lr_scheduler.StepLR,
    "scheduler_params": {"step_size": 1, "gamma": 0.5},
    "criterion_class": nn.MSELoss,
    "criterion_params": {},
    "max_epochs": 3,
    "patience": 3,
    "grad_clip": 0.0,
    "device": "cpu",
}

logging = {
    "plot_learning_curve": False,  # the report draws the learning curves
}


def get_config():
    return {"data": data, "model": model, "training": training, "logging": logging, "seed": seed}
