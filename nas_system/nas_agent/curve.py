"""Overfitting and convergence, read from the validation curve of one run (history.json).

The one implementation of this rule: the evaluator's verdict (``record-run`` returns it as
``curve``; src/evaluation reads it) and the history summary the LLMs read
(history_summary.py) both state it from here.

Why not the train/val ratio (the seed's rule 3): on ETTh1 the splits differ in scale. After
scaling on the train rows, OT's variance is 1.000 over the train rows, 0.277 over the val rows
and 0.128 over the test rows. A plain 96-step persistence forecast (repeat the last input value,
seq_len 336) scores MSE 0.231 on the train windows and 0.137 on the val windows: a 69% train/val
"gap" with no overfitting at all (and train_mse is measured with dropout on). So the checks
below never compare train with val; they read val alone:
  - rise: how far val_mse rose after its best epoch (max after the best, in % of the best);
  - early peak: the best epoch relative to the epochs run, when early stopping fired.
The reported val_mse is the best epoch's (its checkpoint is restored), so these flags do not make
a run worse; they say its gain is fragile.
"""
from __future__ import annotations

import math
from typing import Any

MAX_RISE_PCT = 25.0  # the default of --max-rise


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def curve_signals(history: dict[str, Any] | None, metrics: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """``{best_epoch, epochs_run, max_epochs, stopped_early, rise_pct}`` of a run's val curve;
    None when the history has no finite val_mse."""
    epochs = [e for e in (history or {}).get("epochs", []) or [] if isinstance(e, dict)]
    vals = [float(e["val_mse"]) if _finite(e.get("val_mse")) else None for e in epochs]
    finite = [v for v in vals if v is not None]
    if not finite:
        return None
    best = min(finite)
    b = vals.index(best)
    after = [v for v in vals[b + 1:] if v is not None]
    rise = (max(after) - best) / best * 100 if after and best > 0 else 0.0
    metrics = metrics or {}
    cap = metrics.get("max_epochs")
    return {"best_epoch": b + 1, "epochs_run": len(vals),
            "max_epochs": cap if isinstance(cap, int) and not isinstance(cap, bool) else len(vals),
            "stopped_early": bool(metrics.get("stopped_early")), "rise_pct": max(0.0, rise)}


def curve_flags(signals: dict[str, Any] | None, max_rise_pct: float = MAX_RISE_PCT) -> dict[str, str | None]:
    """The curve's warnings, each one line or None:
      - overfitting: val_mse rose more than ``max_rise_pct`` after its best epoch;
      - early_peak: early stopping fired and the best epoch came in the first third of the epochs run."""
    if signals is None:
        return {"overfitting": None, "early_peak": None}
    rise, best, run = signals["rise_pct"], signals["best_epoch"], signals["epochs_run"]
    over = (f"val_mse rose {rise:.0f}% after its best epoch {best} (overfitting or instability)"
            if rise > max_rise_pct else None)
    early = (f"val_mse peaked early, at epoch {best} of {run}, then early stopping fired"
             if signals["stopped_early"] and run >= 3 and best <= run / 3 else None)
    return {"overfitting": over, "early_peak": early}


def curve_statement(signals: dict[str, Any] | None, max_rise_pct: float = MAX_RISE_PCT) -> str:
    """One line on overfitting, by the rule above: what the history summary says and what the
    evaluator is shown."""
    if signals is None:
        return "Overfitting: not judged (no finite val_mse)."
    flags = curve_flags(signals, max_rise_pct)
    rise, best, run = signals["rise_pct"], signals["best_epoch"], signals["epochs_run"]
    if run == 1:
        return "Overfitting: not judged (1 epoch run, no val curve)."
    if flags["overfitting"]:
        line = (f"Overfitting: {flags['overfitting']}, more than {max_rise_pct:g}%; "
                "more dropout/weight decay, a lower lr or a smaller model may help.")
    elif best == run:
        line = (f"No overfitting by the val curve: val_mse was still falling at its last epoch {run} "
                "(train/val gaps are not read: the splits differ in scale).")
    else:
        line = (f"No overfitting by the val curve: val_mse rose {rise:.0f}% after its best epoch {best}, "
                f"within {max_rise_pct:g}%.")
    if flags["early_peak"]:
        line += f" Early peak: {flags['early_peak']}."
    return line


def curve_view(history: dict[str, Any] | None, metrics: dict[str, Any] | None = None,
               max_rise_pct: float = MAX_RISE_PCT) -> dict[str, Any] | None:
    """Signals, flags and statement together: the evaluator's ``curve`` (None without a finite val_mse)."""
    signals = curve_signals(history, metrics)
    if signals is None:
        return None
    return {**signals, **curve_flags(signals, max_rise_pct), "statement": curve_statement(signals, max_rise_pct)}
