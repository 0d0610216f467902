"""A short diagnosis of one run's learning curves, written for an LLM planner to read.

Input: history.json (``{best_epoch, epochs: [{epoch, train_mse, val_mse, lr, ...}]}``) and,
optionally, the run's metrics.json (for max_epochs / stopped_early). Output: a few lines on
convergence, trend, overfitting (read from the val curve by curve.py, the evaluator's rule; never
from a train/val gap), stability and the learning-rate schedule.
"""
from __future__ import annotations

import math
from typing import Any

from .curve import MAX_RISE_PCT, curve_signals, curve_statement

PLATEAU_REL = 0.01     # < 1% change counts as flat
WORSEN_REL = 0.05      # > 5% above the best counts as worsening
SPIKE_REL = 0.10       # an epoch-to-epoch jump of > 10% is a spike
UNDERFIT_DROP = 0.10   # train_mse fell by less than 10% over the run


def _num(x: Any) -> float | None:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    return None


def _fmt(x: float | None) -> str:
    if x is None:
        return "n/a"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.4g}"


def _pct(new: float, old: float) -> str:
    return f"{(new - old) / old * 100:+.1f}%" if old else "n/a"


def build_history_summary(history: dict[str, Any], metrics: dict[str, Any] | None = None,
                          max_rise_pct: float = MAX_RISE_PCT) -> str:
    """Diagnose a run's history in a few lines (see module docstring); overfitting is stated by
    the evaluator's own rule (curve.py, with the search's --max-rise)."""
    epochs = [e for e in (history or {}).get("epochs", []) if isinstance(e, dict)]
    if not epochs:
        return "No epochs completed: the run produced no learning curve."
    val = [_num(e.get("val_mse")) for e in epochs]
    train = [_num(e.get("train_mse")) for e in epochs]
    lrs = [_num(e.get("lr")) for e in epochs]
    nonfinite = [epochs[i].get("epoch", i + 1) for i, (v, t) in enumerate(zip(val, train))
                 if not (v is not None and math.isfinite(v) and (t is None or math.isfinite(t)))]
    if len(epochs) == 1:
        lines = [f"Only 1 epoch run: val_mse {_fmt(val[0])}, train_mse {_fmt(train[0])}; too short to judge trends.",
                 curve_statement(curve_signals(history, metrics), max_rise_pct)]
    else:
        lines = _curve_lines(history, epochs, val, train, metrics or {}, max_rise_pct)
    if nonfinite:
        lines.append(f"Non-finite loss at epoch(s) {nonfinite[:5]}: training diverged; lower the lr or clip gradients.")
    lr_line = _lr_line(lrs)
    if lr_line:
        lines.append(lr_line)
    return "\n".join(lines)


def _curve_lines(history, epochs, val, train, metrics, max_rise_pct) -> list[str]:
    finite = [(i, v) for i, v in enumerate(val) if v is not None and math.isfinite(v)]
    if not finite:
        return [f"{len(epochs)} epochs run but no finite val_mse was recorded."]
    b, best = min(finite, key=lambda p: p[1])
    best_epoch = epochs[b].get("epoch", b + 1)
    n = len(epochs)
    return [
        _convergence_line(best_epoch, best, b, n, metrics),
        _trend_line(val, b, epochs),
        curve_statement(curve_signals(history, metrics), max_rise_pct),
        *filter(None, [_train_line(train, b)]),
        _stability_line(val, epochs),
    ]


def _convergence_line(best_epoch, best, b, n, metrics) -> str:
    head = f"Best val_mse {_fmt(best)} at epoch {best_epoch} of {n} run"
    cap = metrics.get("max_epochs")
    after = n - 1 - b
    if metrics.get("stopped_early") or (after > 0 and cap and n < cap):
        return f"{head}; early stopping fired {after} epoch(s) after the best."
    if after == 0:
        capped = f" (epoch cap {cap})" if cap else ""
        return f"{head}; the best was the last epoch{capped}, so no early stop."
    return f"{head}; ran {after} more epoch(s) without improving" + (f" until the epoch cap {cap}." if cap else ".")


def _trend_line(val, b, epochs) -> str:
    first, best = val[0], val[b]
    if first is None or not math.isfinite(first):
        return f"val_mse reached {_fmt(best)}."
    if b == 0:
        line = f"val_mse was lowest at the first epoch ({_fmt(best)}) and never improved (lr too high?)"
    else:
        line = f"val_mse {_fmt(first)} -> {_fmt(best)} ({_pct(best, first)}) by epoch {epochs[b].get('epoch', b + 1)}"
    last = val[-1]
    if last is None or not math.isfinite(last):
        return line + ", then became non-finite."
    if b == len(val) - 1:
        window = val[max(0, b - 3):]
        if len(window) > 1 and window[0] and (window[0] - best) / window[0] < PLATEAU_REL:
            return line + f", improving but flattened (< {PLATEAU_REL:.0%} over the last {len(window) - 1} epochs): plateau."
        return line + ", still improving at the end: more epochs may help."
    if last > best * (1 + WORSEN_REL):
        return line + f", then worsened to {_fmt(last)} ({_pct(last, best)}) by the last epoch."
    return line + f", then plateaued (last epoch {_pct(last, best)} from the best)."


def _train_line(train, b) -> str | None:
    """train_mse alone (never against val_mse: the splits differ in scale, see curve.py)."""
    t = train[b]
    finite_train = [x for x in train if x is not None and math.isfinite(x)]
    if t is None or not math.isfinite(t) or not finite_train or not finite_train[0]:
        return None
    drop = (finite_train[0] - finite_train[-1]) / finite_train[0]
    if drop < UNDERFIT_DROP:
        return (f"train_mse {_fmt(t)} at the best epoch; it fell only {drop:.0%} over the run: underfitting? "
                "more capacity or a higher lr may help.")
    return None


def _ok(x) -> bool:
    return x is not None and math.isfinite(x)


def _stability_line(val, epochs) -> str:
    """Spikes are jumps of > SPIKE_REL that fall back the next epoch (a steady rise is a trend)."""
    spikes = []
    for i in range(1, len(val) - 1):
        a, c, d = val[i - 1], val[i], val[i + 1]
        if _ok(a) and _ok(c) and _ok(d) and a > 0 and c > a * (1 + SPIKE_REL) and d < c:
            spikes.append(epochs[i].get("epoch", i + 1))
    diffs = [val[i] - val[i - 1] for i in range(1, len(val)) if _ok(val[i]) and _ok(val[i - 1])]
    turns = sum(1 for x, y in zip(diffs, diffs[1:]) if x * y < 0)
    if len(spikes) >= 2 or (spikes and turns >= max(2, len(diffs) // 2)):
        return f"Unstable: val_mse jumped > {SPIKE_REL:.0%} at epoch(s) {spikes[:6]} ({turns} direction changes); a lower lr or gradient clipping may help."
    if spikes:
        return f"Mostly stable; one val_mse spike (> {SPIKE_REL:.0%}) at epoch {spikes[0]}."
    return "Stable: no val_mse spikes."


def _lr_line(lrs) -> str | None:
    vals = [x for x in lrs if x is not None and math.isfinite(x)]
    if not vals:
        return None
    first, last = vals[0], vals[-1]
    if max(vals) == min(vals):
        return f"lr constant at {_fmt(first)}."
    ups = sum(1 for a, c in zip(vals, vals[1:]) if c > a)
    downs = sum(1 for a, c in zip(vals, vals[1:]) if c < a)
    if ups and downs and ups + downs > 2:
        return f"lr varied between {_fmt(min(vals))} and {_fmt(max(vals))} (restarts or warm-up), ending at {_fmt(last)}."
    if last < first:
        return f"lr decayed from {_fmt(first)} to {_fmt(last)} ({last / first:.2g}x)."
    return f"lr rose from {_fmt(first)} to {_fmt(last)} (warm-up)."
