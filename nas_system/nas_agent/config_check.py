"""Load config.py (a Python module) and validate it for train.py.

load_config(path) imports the module, calls get_config() (or reads its module-level
dicts), checks every key, type and cross-field rule, dry-runs the optimizer, scheduler
and criterion constructors, and returns a normalized dict with the documented
defaults filled in. Any problem raises ConfigError with a one-line "cause; fix" message.
"""
from __future__ import annotations

import copy
import importlib.util
import inspect
import sys
import uuid
from pathlib import Path

SECTIONS = ("data", "model", "training", "logging")
SEQ_KEYS = ("seq_len", "label_len", "pred_len")


class ConfigError(Exception):
    """A bad config; the message is one line: cause; fix."""


# ----------------------------------------------------------------------------- field rules
# Each rule: (kind, default). kind: "int+" (>= 1), "odd+" (odd, >= 1), "int0" (>= 0), "float01" ([0, 1)), "float0" (>= 0),
# "bool", "str", "strlist", "dict", "class", "class?" (class or None), or a tuple of choices.
REQUIRED = object()
# speed options (nas_agent/speed.py says what each value does)
AMP_CHOICES = ("auto", "off", "bf16", "fp16")
COMPILE_CHOICES = ("auto", "off", "default", "reduce-overhead", "cudagraphs")

FAMILY_NAMES = ("informer", "dlinear", "nlinear", "patchtst")
# The family of a config that does not set model.family: said here once (model.py, the search
# space's implicit value, run records and config statistics read it; src/planners/families.ts
# mirrors it, checked by test/agent-server.test.ts).
DEFAULT_FAMILY = "informer"
# the seed of a config.py that sets none
DEFAULT_SEED = 42
# Keys of each model family on top of model.family, enc_in, dec_in and c_out. Keys of the other
# families may stay in the model dict (so a search can switch back and forth) and are ignored.
FAMILY_RULES = {
    "informer": {
        "d_model": ("int+", REQUIRED), "n_heads": ("int+", REQUIRED), "e_layers": ("int+", REQUIRED),
        "d_layers": ("int+", REQUIRED), "d_ff": ("int+", REQUIRED), "dropout": ("float01", REQUIRED),
        "factor": ("int+", REQUIRED), "attn": (("prob", "full"), REQUIRED),
        "activation": (("gelu", "relu"), REQUIRED), "distil": ("bool", REQUIRED), "mix": ("bool", REQUIRED),
    },
    "dlinear": {"moving_avg": ("odd+", 25), "individual": ("bool", False)},
    "nlinear": {"individual": ("bool", False)},
    "patchtst": {
        "patch_len": ("int+", 16), "stride": ("int+", 8), "revin": ("bool", True),
        "d_model": ("int+", REQUIRED), "n_heads": ("int+", REQUIRED), "e_layers": ("int+", REQUIRED),
        "d_ff": ("int+", REQUIRED), "dropout": ("float01", REQUIRED),
    },
}
DECODER_FAMILIES = ("informer",)  # families that read label_len decoder start tokens

RULES = {
    "data": {
        "data_path": ("str", REQUIRED), "target": ("str", REQUIRED), "features": ("strlist", REQUIRED),
        "mode": (("M", "S", "MS"), "MS"), "seq_len": ("int+", REQUIRED), "label_len": ("int0", REQUIRED),
        "pred_len": ("int+", REQUIRED), "train_size": ("int+", REQUIRED), "val_size": ("int+", REQUIRED),
        "test_size": ("int+", REQUIRED), "batch_size": ("int+", REQUIRED), "num_workers": ("int0", 0),
        "scale": ("bool", True),
    },
    "model": {
        "family": (FAMILY_NAMES, DEFAULT_FAMILY),
        "enc_in": ("int+", REQUIRED), "dec_in": ("int+", REQUIRED), "c_out": ("int+", REQUIRED),
    },
    "training": {
        "optimizer_class": ("class", REQUIRED), "optimizer_params": ("dict", REQUIRED),
        "use_scheduler": ("bool", False), "scheduler_class": ("class?", None), "scheduler_params": ("dict", {}),
        "criterion_class": ("class", REQUIRED), "criterion_params": ("dict", {}),
        "max_epochs": ("int+", REQUIRED), "patience": ("int+", REQUIRED), "grad_clip": ("float0", 0.0),
        "device": ("str", "auto"), "amp": (AMP_CHOICES, "auto"), "compile": (COMPILE_CHOICES, "auto"),
    },
    "logging": {"plot_learning_curve": ("bool", True)},
}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (_is_int(v) or isinstance(v, float))


def _check_kind(kind, value) -> str | None:
    """None when value fits kind, else what was expected."""
    if isinstance(kind, tuple):
        return None if value in kind else "one of " + ", ".join(repr(c) for c in kind)
    checks = {
        "int+": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
        "int0": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
        "odd+": (lambda v: _is_int(v) and v >= 1 and v % 2 == 1, "an odd integer >= 1"),
        "float01": (lambda v: _is_num(v) and 0 <= v < 1, "a number in [0, 1)"),
        "float0": (lambda v: _is_num(v) and v >= 0, "a number >= 0"),
        "bool": (lambda v: isinstance(v, bool), "True or False"),
        "str": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
        "strlist": (lambda v: isinstance(v, (list, tuple)) and len(v) > 0
                    and all(isinstance(x, str) for x in v), "a non-empty list of column names"),
        "dict": (lambda v: isinstance(v, dict), "a dict"),
        "class": (inspect.isclass, "a class reference such as optim.AdamW (not a string)"),
        "class?": (lambda v: v is None or inspect.isclass(v), "a class reference such as "
                   "optim.lr_scheduler.StepLR, or None"),
    }
    ok, expected = checks[kind]
    return None if ok(value) else expected


# ----------------------------------------------------------------------------- loading


def import_config_module(path: Path):
    """Execute config.py as a fresh module; turn any failure into ConfigError."""
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist; pass an existing file to --config")
    name = f"_nas_config_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ConfigError(f"{path.name} line {exc.lineno}: syntax error ({exc.msg}); fix the syntax")
    except AttributeError as exc:
        raise ConfigError(f"{path.name}: {exc} (unknown class?); use an existing class such as "
                          f"optim.AdamW, optim.lr_scheduler.StepLR or nn.MSELoss")
    except Exception as exc:
        raise ConfigError(f"{path.name} raised {type(exc).__name__}: {exc}; fix {path.name}")
    finally:
        sys.modules.pop(name, None)
    return module


def raw_config(module, path: Path) -> dict:
    if hasattr(module, "get_config"):
        try:
            cfg = module.get_config()
        except Exception as exc:
            raise ConfigError(f"get_config() in {path.name} raised {type(exc).__name__}: {exc}; fix it")
    else:
        cfg = {k: getattr(module, k) for k in (*SECTIONS, "seed") if hasattr(module, k)}
    if not isinstance(cfg, dict):
        raise ConfigError(f"get_config() in {path.name} returned {type(cfg).__name__}; return a dict")
    return copy.copy(cfg)


# ----------------------------------------------------------------------------- checks


def _check_section(section: str, sec: dict, rules: dict) -> None:
    """Fill defaults into ``sec`` and check every rule's key; raises ConfigError."""
    for key, (kind, default) in rules.items():
        if key not in sec:
            if default is REQUIRED:
                raise ConfigError(f"{section}.{key} is missing; add \"{key}\" to the {section} dict")
            sec[key] = copy.deepcopy(default)
            continue
        expected = _check_kind(kind, sec[key])
        if expected:
            raise ConfigError(f"{section}.{key} is {sec[key]!r}; it must be {expected}")


def check_fields(cfg: dict) -> dict:
    """Keys and types of every section (the model section per family); returns a normalized
    copy with defaults."""
    out = {}
    for section, rules in RULES.items():
        given = cfg.get(section, {} if section == "logging" else None)
        if not isinstance(given, dict):
            raise ConfigError(f"section '{section}' is missing or not a dict; define {section} = {{...}} in config.py")
        sec = dict(given)
        _check_section(section, sec, rules)
        if section == "model":
            _check_section(section, sec, FAMILY_RULES[sec["family"]])
        out[section] = sec
    seed = cfg.get("seed", DEFAULT_SEED)
    if not _is_int(seed):
        raise ConfigError(f"seed is {seed!r}; it must be an integer")
    out["seed"] = seed
    return out


def check_sequences(cfg: dict) -> None:
    data, model = cfg["data"], cfg["model"]
    if model["family"] in DECODER_FAMILIES and data["label_len"] > data["seq_len"]:
        raise ConfigError(f"data.label_len {data['label_len']} exceeds data.seq_len {data['seq_len']}; "
                          f"make label_len <= seq_len")
    aliases = {"seq_len": "seq_len", "label_len": "label_len", "pred_len": "pred_len", "out_len": "pred_len"}
    for old, key in aliases.items():
        if old in model and model[old] != data[key]:
            raise ConfigError(f"model.{old} is {model[old]!r} but data.{key} is {data[key]!r}; sequence "
                              f"lengths live in data: delete model.{old} or make it equal")


def check_shapes(cfg: dict) -> None:
    data, model = cfg["data"], cfg["model"]
    family = model["family"]
    if "n_heads" in FAMILY_RULES[family] and model["d_model"] % model["n_heads"]:
        raise ConfigError(f"model.d_model {model['d_model']} is not divisible by model.n_heads "
                          f"{model['n_heads']}; pick n_heads dividing d_model")
    if family == "patchtst" and model["patch_len"] > data["seq_len"]:
        raise ConfigError(f"model.patch_len {model['patch_len']} exceeds data.seq_len {data['seq_len']}; "
                          f"make patch_len <= seq_len")
    mode, features = data["mode"], list(data["features"])
    if mode != "S" and data["target"] not in features:
        raise ConfigError(f"data.target {data['target']!r} is not in data.features; add it to features")
    n_in = 1 if mode == "S" else len(features)
    for key in ("enc_in", "dec_in"):
        if model[key] != n_in:
            raise ConfigError(f"model.{key} is {model[key]} but mode {mode} feeds {n_in} column(s); "
                              f"set model.{key} = {n_in}")
    allowed = {"M": (n_in,), "S": (1,), "MS": (1, n_in)}[mode]
    if model["c_out"] not in allowed:
        raise ConfigError(f"model.c_out is {model['c_out']} but mode {mode} predicts {allowed[0]} "
                          f"column(s); set model.c_out = {allowed[0]}")


def check_training(cfg: dict) -> None:
    """Dry-run the optimizer, scheduler and criterion constructors on a dummy parameter."""
    import torch

    t = cfg["training"]
    opt_cls, sched_cls, crit_cls = t["optimizer_class"], t["scheduler_class"], t["criterion_class"]
    if not issubclass(opt_cls, torch.optim.Optimizer):
        raise ConfigError(f"training.optimizer_class {opt_cls.__name__} is not a torch optimizer; use e.g. optim.AdamW")
    if not issubclass(crit_cls, torch.nn.Module):
        raise ConfigError(f"training.criterion_class {crit_cls.__name__} is not a torch loss; use e.g. nn.MSELoss")
    try:
        optimizer = opt_cls([torch.nn.Parameter(torch.zeros(1))], **t["optimizer_params"])
    except Exception as exc:
        raise ConfigError(f"training.optimizer_params do not fit {opt_cls.__name__} ({exc}); fix the kwargs")
    if t["use_scheduler"]:
        schedulers = (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        if sched_cls is None or not issubclass(sched_cls, schedulers):
            raise ConfigError(f"training.scheduler_class is {getattr(sched_cls, '__name__', sched_cls)}, not a "
                              f"torch scheduler; use e.g. optim.lr_scheduler.StepLR or set use_scheduler False")
        try:
            sched_cls(optimizer, **scheduler_kwargs(t, t["max_epochs"]))
        except Exception as exc:
            raise ConfigError(f"training.scheduler_params do not fit {sched_cls.__name__} ({exc}); fix the kwargs")
    try:
        crit_cls(**t["criterion_params"])
    except Exception as exc:
        raise ConfigError(f"training.criterion_params do not fit {crit_cls.__name__} ({exc}); fix the kwargs")
    device = t["device"]
    if not (device in ("auto", "cpu", "cuda") or device.startswith("cuda:")):
        raise ConfigError(f"training.device is {device!r}; use 'auto', 'cpu' or 'cuda'")


def scheduler_kwargs(training: dict, epochs: int) -> dict:
    """The scheduler's kwargs for a training of ``epochs`` epochs: CosineAnnealingLR without T_max
    anneals over exactly those epochs (its T_max tied to the epoch count, --max-epochs included)."""
    import torch

    kwargs = dict(training["scheduler_params"])
    if training["scheduler_class"] is torch.optim.lr_scheduler.CosineAnnealingLR and "T_max" not in kwargs:
        kwargs["T_max"] = epochs
    return kwargs


def load_config(path) -> dict:
    """Import, validate and normalize config.py; raises ConfigError."""
    path = Path(path)
    cfg = check_fields(raw_config(import_config_module(path), path))
    check_sequences(cfg)
    check_shapes(cfg)
    check_training(cfg)
    return cfg


def pick_device(requested: str):
    """(torch.device, notice or None). 'cuda' without CUDA falls back to the CPU with a notice."""
    import torch

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu"), None
    if requested.startswith("cuda") and not torch.cuda.is_available():
        return torch.device("cpu"), f"notice: config asks for {requested} but CUDA is not available; running on cpu"
    return torch.device(requested), None
