"""Low-fidelity task of bench/search.py: ETTh1, multivariate input forecasting OT
(MS), 96/48/24, a small Informer, at most 3 epochs per training. Every planner starts
its search from this exact file (iteration 0 is the baseline)."""
from torch import nn, optim

seed = 42

data = {
    "data_path": "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv",
    "target": "OT",
    "features": ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"],
    "mode": "MS",
    "seq_len": 96,
    "label_len": 48,
    "pred_len": 24,
    "train_size": 8640,
    "val_size": 2880,
    "test_size": 2880,
    "batch_size": 64,
    "num_workers": 0,
    "scale": True,
}

model = {
    "family": "informer",
    "enc_in": 7,
    "dec_in": 7,
    "c_out": 1,
    "d_model": 32,
    "n_heads": 4,
    "e_layers": 2,
    "d_layers": 1,
    "d_ff": 64,
    "dropout": 0.05,
    "factor": 5,
    "attn": "prob",
    "activation": "gelu",
    "distil": True,
    "mix": True,
}

training = {
    "optimizer_class": optim.Adam,
    "optimizer_params": {"lr": 0.0001, "weight_decay": 0.0},
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
    "plot_learning_curve": False,
}


def get_config():
    return {"data": data, "model": model, "training": training, "logging": logging, "seed": seed}
