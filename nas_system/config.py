"""Experiment configuration for the forecaster search workspace.

A plain Python module: train.py imports it and calls get_config(). The search
edits the literal values below through a stdlib AST helper (nas_agent.config_edit),
which never imports this file; comments and layout are kept.

Sequence lengths live in `data` only (one source of truth).
"""
from torch import nn, optim

seed = 42

data = {
    # A local path, or an http(s) URL downloaded once into nas_system/data/
    # (sha256-checked for ETTh1/ETTh2). NAS_DATA_DIR overrides the folder.
    "data_path": "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv",
    "target": "OT",
    "features": ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"],
    "mode": "MS",  # M: all in, all out | S: target only | MS: all in, target out
    "seq_len": 336,
    "label_len": 24,
    "pred_len": 96,
    # Standard ETTh split in rows: 12 / 4 / 4 months of 30 days.
    "train_size": 8640,
    "val_size": 2880,
    "test_size": 2880,
    "batch_size": 64,
    "num_workers": 0,
    "scale": True,
}

model = {
    "family": "informer",  # informer | dlinear | nlinear | patchtst: see model.py; keys of other families are ignored
    "enc_in": 7,
    "dec_in": 7,
    "c_out": 1,
    "d_model": 256,
    "n_heads": 8,
    "e_layers": 3,
    "d_layers": 1,
    "d_ff": 512,
    "dropout": 0.25,
    "factor": 4,
    "attn": "prob",  # prob | full
    "activation": "gelu",  # gelu | relu
    "distil": True,
    "mix": True,
}

training = {
    "optimizer_class": optim.AdamW,
    "optimizer_params": {"lr": 5e-05, "weight_decay": 0.0001},
    "use_scheduler": True,
    "scheduler_class": optim.lr_scheduler.CosineAnnealingLR,
    "scheduler_params": {"T_max": 20},
    "criterion_class": nn.MSELoss,
    "criterion_params": {},
    "max_epochs": 20,
    "patience": 5,
    "grad_clip": 1.0,
    "device": "cuda",  # falls back to cpu (with a notice) when CUDA is absent
    "amp": "auto",  # auto (bf16 on a GPU, off on the CPU) | off | bf16 | fp16
    "compile": "auto",  # auto (cudagraphs on a GPU from 4 epochs, else off) | off | default | reduce-overhead | cudagraphs
}

logging = {
    "plot_learning_curve": True,
}


def get_config():
    return {
        "data": data,
        "model": model,
        "training": training,
        "logging": logging,
        "seed": seed,
    }
