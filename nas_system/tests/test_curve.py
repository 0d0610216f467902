"""curve.py: the one overfitting rule (val_mse rising after its best epoch), as the evaluator
reads it through record-run and as the history summary states it."""
import json

from nas_agent.cli import main
from nas_agent.curve import curve_flags, curve_signals, curve_statement
from nas_agent.history_summary import build_history_summary


def hist(val, train=None):
    train = train or [v * 0.9 for v in val]
    return {"epochs": [{"epoch": i + 1, "val_mse": v, "train_mse": t, "lr": 1e-4} for i, (v, t) in enumerate(zip(val, train))]}


def test_rise_after_the_best_epoch_and_early_peak():
    c = curve_signals(hist([0.3, 0.2, 0.25, 0.3, 0.32]), {"max_epochs": 10, "stopped_early": True})
    assert c["best_epoch"] == 2 and c["epochs_run"] == 5 and abs(c["rise_pct"] - 60) < 1e-6
    assert curve_flags(c, 25) == {"overfitting": "val_mse rose 60% after its best epoch 2 (overfitting or instability)",
                                  "early_peak": None}
    assert curve_flags(c, 60)["overfitting"] is None  # the threshold is --max-rise's
    early = curve_signals(hist([0.2, 0.21, 0.22, 0.22, 0.23, 0.23]), {"stopped_early": True})
    assert curve_flags(early, 25)["early_peak"] == "val_mse peaked early, at epoch 1 of 6, then early stopping fired"
    assert curve_signals({"epochs": []}) is None


def test_a_train_val_gap_with_a_falling_val_curve_is_not_overfitting():
    # persistence on ETTh1: train 0.231 vs val 0.137 (a 69% gap), val still falling
    val = [0.21, 0.205, 0.2, 0.1998, 0.1996, 0.1995]
    s = build_history_summary(hist(val, [v * 0.3 for v in val]), {"max_epochs": 6})
    assert "No overfitting by the val curve: val_mse was still falling at its last epoch 6" in s
    assert "Overfitting:" not in s and "overfitting;" not in s


def test_the_summary_and_the_evaluator_state_it_alike(tmp_path, capsys):
    """record-run (what the TS evaluator reads) returns the curve and its statement; the run's
    history summary carries that very line."""
    run = tmp_path / "runs" / "run_0000"
    run.mkdir(parents=True)
    val = [0.2, 0.25, 0.3]
    (run / "history.json").write_text(json.dumps(hist(val, [0.05, 0.04, 0.03])))
    (run / "metrics.json").write_text(json.dumps({"status": "ok", "val_mse": 0.2, "test_mse": 0.3, "train_mse": 0.05,
                                                  "best_epoch": 1, "epochs_run": 3, "max_epochs": 3}))
    assert main(["--system-dir", str(tmp_path), "record-run", "--run-id", "run_0000", "--max-rise", "40"]) == 0
    out = json.loads(capsys.readouterr().out)
    curve = out["curve"]
    assert curve["overfitting"] == "val_mse rose 50% after its best epoch 1 (overfitting or instability)"
    assert curve["statement"] == curve_statement(curve_signals(hist(val), {"max_epochs": 3}), 40)
    assert curve["statement"].startswith("Overfitting: val_mse rose 50%") and "more than 40%" in curve["statement"]
    assert curve["statement"] in out["run"]["history_summary"].split("\n")
    assert main(["--system-dir", str(tmp_path), "record-run", "--run-id", "run_0000", "--max-rise", "60"]) == 0
    calm = json.loads(capsys.readouterr().out)
    assert calm["curve"]["overfitting"] is None and "within 60%" in calm["curve"]["statement"]
    assert calm["curve"]["statement"] in calm["run"]["history_summary"].split("\n")
