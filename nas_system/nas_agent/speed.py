"""Speed options of train.py: mixed precision (training.amp) and compilation (training.compile).

training.amp:
  "auto" (default)  off on the CPU; bf16 on a CUDA GPU that supports it, else off
  "off"             fp32 everywhere
  "bf16"            torch.autocast(bfloat16) around the forward pass
  "fp16"            torch.autocast(float16) and a GradScaler (for GPUs without bf16)
Losses and metrics are computed in fp32 on the model's output in every case.

training.compile:
  "auto" (default)      "cudagraphs" on a CUDA GPU when the training has at least 4 epochs, else "off"
  "off"                 eager PyTorch
  "default"             torch.compile with Inductor (fused kernels; compile time on the first step)
  "reduce-overhead"     Inductor plus CUDA graphs (no per-kernel launch cost)
  "cudagraphs"          CUDA graphs over the eager kernels, no Inductor (short compile time)
The compiled region is the train step's forward and loss (its backward is compiled with it),
at the full batch size with static shapes; a smaller last batch and evaluation run eagerly.
On the CPU, the two CUDA-graph modes have no graphs to capture and only add tracing time.
"""
from __future__ import annotations

import contextlib
import inspect
import logging

import torch

from .config_check import AMP_CHOICES, COMPILE_CHOICES  # noqa: F401 (the validated values)

AMP_DTYPES = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}
CUDA_GRAPH_MODES = ("reduce-overhead", "cudagraphs")
EVAL_BATCH_FACTOR_CUDA = 4  # evaluation batch = 4 x the training batch on a GPU (no activations kept)


def resolve_amp(amp: str, device: torch.device) -> str:
    """The precision actually used: "off", "bf16" or "fp16"."""
    if amp != "auto":
        return amp
    if device.type == "cuda" and torch.cuda.is_bf16_supported(including_emulation=False):
        return "bf16"
    return "off"


# training.compile "auto": CUDA graphs pay off from about 4 epochs at the users' setting (H200:
# bf16 + "cudagraphs" costs ~5 s once and saves ~2 s per epoch; README "Speed on a GPU").
COMPILE_AUTO_MIN_EPOCHS = 4


def resolve_compile(mode: str, device: torch.device, max_epochs: int) -> str:
    """The compile mode actually used: "auto" is "cudagraphs" on a GPU for trainings of at least
    COMPILE_AUTO_MIN_EPOCHS epochs, else "off"; any other value is kept."""
    if mode != "auto":
        return mode
    return "cudagraphs" if device.type == "cuda" and max_epochs >= COMPILE_AUTO_MIN_EPOCHS else "off"


def autocast(device: torch.device, amp: str):
    """The autocast context for a resolved amp value (a no-op context when off)."""
    dtype = AMP_DTYPES[amp]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def grad_scaler(device: torch.device, amp: str):
    """A GradScaler for fp16, else None."""
    return torch.amp.GradScaler(device.type) if amp == "fp16" else None


def eval_batch_size(batch_size: int, device: torch.device) -> int:
    """Evaluation keeps no activations, so a GPU evaluates in larger batches (fewer launches).
    The CPU keeps the training batch size (measured no faster with larger ones)."""
    return batch_size * EVAL_BATCH_FACTOR_CUDA if device.type == "cuda" else batch_size


def optimizer_kwargs(optimizer_class, params: dict, device: torch.device) -> dict:
    """On CUDA, ask for the fused implementation (one kernel for the whole update instead of a
    dozen per step) when the optimizer offers it and the config does not choose one itself."""
    if device.type != "cuda" or "fused" in params or "foreach" in params:
        return dict(params)
    try:
        accepts = "fused" in inspect.signature(optimizer_class).parameters
    except (TypeError, ValueError):
        accepts = False
    return {**params, "fused": True} if accepts else dict(params)


def make_train_forward(model, criterion, device: torch.device, amp: str):
    """The part of a train step that torch.compile takes: the forward under autocast, then the
    loss and the squared error on the target in fp32. Returns (loss, sum of squared errors)."""

    def forward(x_enc, x_mark_enc, x_dec, x_mark_dec, y):
        with autocast(device, amp):
            out = model(x_enc, x_mark_enc, x_dec, x_mark_dec)[..., -y.shape[-1]:]  # [B, pred_len, C_out]
        out = out.float()
        return criterion(out, y), (out.detach() - y).square().sum()

    return forward


def compile_notice(mode: str, device: torch.device) -> str | None:
    """The one-line notice for a CUDA-graph mode on the CPU (documented fallback), else None."""
    if device.type == "cuda" or mode not in CUDA_GRAPH_MODES:
        return None
    does = {"reduce-overhead": "it runs as 'default' (Inductor without graphs)",
            "cudagraphs": "the step is traced but runs the same kernels (no speed-up)"}[mode]
    return f"notice: training.compile {mode!r} captures CUDA graphs on a GPU only; on the CPU {does}"


class CudagraphSkips(logging.Handler):
    """Collects torch's "skipping cudagraphs due to ..." warnings (a multi-line wall each) so that
    train.py can print one line instead."""

    LOGGER = "torch._inductor.cudagraph_utils.__cudagraphs"

    def __init__(self):
        super().__init__(logging.WARNING)
        self.reasons: list[str] = []
        self.reported = 0
        logger = logging.getLogger(self.LOGGER)
        logger.addHandler(self)
        logger.propagate = False

    def emit(self, record):
        lines = record.getMessage().strip().splitlines()
        self.reasons.append(lines[0].split(". Found from")[0] if lines else "unknown reason")

    def notice(self, mode: str) -> str | None:
        """One line about skips not reported yet, else None."""
        if len(self.reasons) == self.reported:
            return None
        first, self.reported = self.reasons[self.reported], len(self.reasons)
        return (f"notice: training.compile {mode!r} ran without CUDA graphs ({first}); "
                f"the step gains only what the compiler fuses")


def compile_step(fn, mode: str):
    """fn compiled for static shapes, or fn itself when mode is "off"."""
    if mode == "off":
        return fn
    if mode == "cudagraphs":
        return torch.compile(fn, backend="cudagraphs", dynamic=False)
    return torch.compile(fn, mode=mode, dynamic=False)


def mark_step(mode: str, device: torch.device) -> None:
    """Tell CUDA-graph trees that a new training step starts (outputs of the last one are consumed)."""
    if mode in CUDA_GRAPH_MODES and device.type == "cuda":
        torch.compiler.cudagraph_mark_step_begin()


def compile_failure(exc: BaseException, mode: str) -> str | None:
    """A one-line reason naming the fix when exc comes from torch.compile, else None."""
    if mode == "off" or not type(exc).__module__.startswith(("torch._dynamo", "torch._inductor")):
        return None
    text = str(exc).strip()
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return (f"torch.compile (training.compile {mode!r}) failed: {type(exc).__name__}: {first[:300]}; "
            f"set training.compile = 'off' (eager) in config.py")
