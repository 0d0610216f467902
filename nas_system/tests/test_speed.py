"""Speed options: training.amp and training.compile, through train.py where it matters.

CPU only here: bf16 and fp16 autocast run on the CPU too. GPU figures live in bench/gpu_bench.py.
"""
import json
import math

import pytest
import torch

from conftest import tiny_sections
from model import build_model
from models.informer import ProbAttention
from nas_agent import speed


def read(run_dir, name):
    return json.loads((run_dir / name).read_text())


# ----------------------------------------------------------------------------- ProbSparse under autocast


@pytest.mark.parametrize("masked", [False, True], ids=["encoder", "masked-decoder"])
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_probsparse_runs_under_autocast_when_the_lazy_context_stays_fp32(masked, dtype):
    # CUDA's autocast keeps cumsum (the decoder's lazy context) in fp32 while the top-u matmul runs
    # in bf16: scatter() then crashed ("Expected self.dtype to be equal to src.dtype"). fp32 inputs
    # under CPU autocast give the same mix of dtypes.
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 40, 2, 8, generator=g) for _ in range(3))
    attn = ProbAttention(mask_flag=masked, factor=2)
    torch.manual_seed(1)
    with torch.autocast("cpu", dtype=dtype):
        low = attn(q, k, v)
    torch.manual_seed(1)
    exact = attn(q, k, v)
    assert low.shape == exact.shape == (2, 40, 2, 8)
    err = (low.float() - exact).norm() / exact.norm()
    assert 0 < err < 2e-2, err  # low precision, yet the same function


@pytest.mark.parametrize("attn", ["prob", "full"])
def test_informer_forward_and_backward_under_bf16_autocast(attn):
    cfg = tiny_sections()
    cfg["model"].update(attn=attn, e_layers=3)
    model = build_model(cfg)
    g = torch.Generator().manual_seed(0)
    x, xd = torch.randn(4, 48, 7, generator=g), torch.randn(4, 36, 7, generator=g)
    xm, xmd = torch.rand(4, 48, 4, generator=g) - 0.5, torch.rand(4, 36, 4, generator=g) - 0.5
    y = torch.randn(4, 12, 1, generator=g)
    loss, sq = speed.make_train_forward(model, torch.nn.MSELoss(), torch.device("cpu"), "bf16")(x, xm, xd, xmd, y)
    assert loss.dtype == sq.dtype == torch.float32  # loss and metrics in fp32
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(gr is not None and gr.dtype == torch.float32 and torch.isfinite(gr).all() for gr in grads)


# ----------------------------------------------------------------------------- compile: static shapes


def test_the_train_step_compiles_to_one_graph_without_breaks_or_recompiles():
    # e_layers 3 with distilling: ProbSparse runs at L = 48, 24, 12 in one graph; three steps on
    # fresh data reuse it. ("eager" backend: graph capture is what is checked, not codegen.)
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    cfg = tiny_sections()
    cfg["model"].update(e_layers=3, factor=1)  # factor 1: u < L in every layer (real sampling)
    model = build_model(cfg)
    forward = speed.make_train_forward(model, torch.nn.MSELoss(), torch.device("cpu"), "bf16")
    compiled = torch.compile(forward, backend="eager", fullgraph=True, dynamic=False)
    for step in range(3):
        g = torch.Generator().manual_seed(step)
        batch = (torch.randn(8, 48, 7, generator=g), torch.rand(8, 48, 4, generator=g),
                 torch.randn(8, 36, 7, generator=g), torch.rand(8, 36, 4, generator=g),
                 torch.randn(8, 12, 1, generator=g))
        loss, _ = compiled(*batch)
        loss.backward()
        assert math.isfinite(loss.item())
    assert counters["stats"]["unique_graphs"] == 1
    assert not counters["graph_break"] and not counters["recompiles"]


# ----------------------------------------------------------------------------- through train.py


def train(tiny_config, run_train, tmp_path, tag, changes):
    tiny_config({"training.max_epochs": 1, **changes})
    res = run_train(tag=tag)
    assert res.returncode == 0, res.stderr
    return read(tmp_path / "runs" / tag, "metrics.json"), res


EXACT = {"model.attn": "full", "model.dropout": 0.0}  # no randomness: runs are comparable


def test_amp_auto_is_off_on_the_cpu_and_bf16_stays_close_to_fp32(tiny_config, run_train, tmp_path):
    fp32, _ = train(tiny_config, run_train, tmp_path, "run_0001", {**EXACT, "training.amp": "auto"})
    bf16, _ = train(tiny_config, run_train, tmp_path, "run_0002", {**EXACT, "training.amp": "bf16"})
    assert (fp32["amp"], bf16["amp"]) == ("off", "bf16")
    for key in ("train_mse", "val_mse", "test_mse"):
        assert bf16[key] != fp32[key]  # autocast really ran
        assert bf16[key] == pytest.approx(fp32[key], rel=0.05), key


@pytest.mark.parametrize("amp,attn,mode", [("bf16", "prob", "MS"), ("bf16", "prob", "M"), ("bf16", "full", "S"),
                                           ("fp16", "prob", "MS")])
def test_amp_trains_every_attention_kind_and_mode(amp, attn, mode, tiny_config, run_train, tmp_path):
    n = {"M": 7, "S": 1, "MS": 7}[mode]
    changes = {"training.amp": amp, "model.attn": attn, "data.mode": mode, "model.enc_in": n,
               "model.dec_in": n, "model.c_out": 1 if mode != "M" else 7,
               "training.grad_clip": 1.0}  # fp16: the GradScaler unscales before clipping
    metrics, _ = train(tiny_config, run_train, tmp_path, "run_0001", changes)
    assert metrics["amp"] == amp and metrics["compile"] == "off"
    assert all(math.isfinite(metrics[k]) for k in ("train_mse", "val_mse", "test_mse", "val_mae", "test_mae"))
    assert metrics["val_mse"] < 2.0  # learned something on scaled data (a diverged run is far above)


def test_compiled_training_matches_eager_training(tiny_config, run_train, tmp_path):
    # "cudagraphs" on the CPU: the step is traced by torch.compile (forward and backward through
    # AOTAutograd) and runs the same kernels, with a one-line notice; the last, smaller batch runs
    # eagerly. Same seed, no randomness in the model: the metrics match the eager run.
    eager, _ = train(tiny_config, run_train, tmp_path, "run_0001", EXACT)
    compiled, res = train(tiny_config, run_train, tmp_path, "run_0002", {**EXACT, "training.compile": "cudagraphs"})
    assert compiled["compile"] == "cudagraphs" and eager["compile"] == "off"
    for key in ("train_mse", "val_mse", "test_mse", "test_mae"):
        assert compiled[key] == pytest.approx(eager[key], rel=1e-4), key
    # our own notice once; torch's own stderr (which varies by processor and version) is not asserted on
    notices = [line for line in res.stderr.splitlines() if line.startswith("notice:")]
    assert len(notices) == 1 and notices[0].startswith("notice: training.compile 'cudagraphs'"), res.stderr
    assert "NNPACK" not in res.stderr  # the hardware warning of AMD EPYC and other server CPUs stays out


# ----------------------------------------------------------------------------- helpers


def test_fused_optimizer_only_on_cuda_and_only_when_offered():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert speed.optimizer_kwargs(torch.optim.AdamW, {"lr": 1e-3}, cuda) == {"lr": 1e-3, "fused": True}
    assert speed.optimizer_kwargs(torch.optim.AdamW, {"lr": 1e-3, "foreach": False}, cuda) == {"lr": 1e-3, "foreach": False}
    assert speed.optimizer_kwargs(torch.optim.RMSprop, {"lr": 1e-3}, cuda) == {"lr": 1e-3}  # no fused RMSprop
    assert speed.optimizer_kwargs(torch.optim.AdamW, {"lr": 1e-3}, cpu) == {"lr": 1e-3}


def test_amp_auto_and_eval_batch_per_device():
    cpu = torch.device("cpu")
    assert speed.resolve_amp("auto", cpu) == "off" and speed.resolve_amp("fp16", cpu) == "fp16"
    assert speed.eval_batch_size(64, cpu) == 64 and speed.eval_batch_size(64, torch.device("cuda")) == 256


def test_a_compiler_failure_is_one_line_naming_the_fix():
    from torch._dynamo.exc import Unsupported

    try:
        exc = Unsupported("data-dependent branch\n  long compiler trace line 1\n  line 2")
    except TypeError:  # newer signatures; any torch._dynamo exception will do
        exc = torch._dynamo.exc.TorchDynamoException("data-dependent branch\n  long trace")
    line = speed.compile_failure(exc, "default")
    assert "\n" not in line and "data-dependent branch" in line and "set training.compile = 'off'" in line
    assert speed.compile_failure(exc, "off") is None
    assert speed.compile_failure(ValueError("x"), "default") is None


def test_compile_auto_captures_cuda_graphs_only_on_a_gpu_and_only_when_it_pays_off():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert speed.resolve_compile("auto", cpu, 20) == "off"
    assert speed.resolve_compile("auto", cuda, speed.COMPILE_AUTO_MIN_EPOCHS) == "cudagraphs"
    assert speed.resolve_compile("auto", cuda, speed.COMPILE_AUTO_MIN_EPOCHS - 1) == "off"
    assert speed.resolve_compile("default", cpu, 1) == "default"  # an explicit mode is kept


def test_train_py_resolves_compile_auto_and_records_the_mode_used(tiny_config, run_train, tmp_path):
    metrics, res = train(tiny_config, run_train, tmp_path, "run_0001", {"training.compile": "auto"})
    assert metrics["compile"] == "off"  # the CPU
    assert "notice" not in res.stderr
