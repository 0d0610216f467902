"""history_summary: a diagnosis of crafted learning curves."""
from nas_agent.history_summary import build_history_summary


def hist(val, train=None, lr=None):
    train = train or [v * 0.9 for v in val]
    lr = lr or [1e-4] * len(val)
    epochs = [{"epoch": i + 1, "val_mse": v, "train_mse": t, "lr": r, "seconds": 1.0, "train_loss": t}
              for i, (v, t, r) in enumerate(zip(val, train, lr))]
    best = min(range(len(val)), key=lambda i: val[i]) + 1 if val else None
    return {"best_epoch": best, "epochs": epochs}


def test_empty_and_single_epoch():
    assert "No epochs" in build_history_summary({"best_epoch": None, "epochs": []})
    assert "No epochs" in build_history_summary({})
    one = build_history_summary(hist([0.5]))
    assert "Only 1 epoch" in one and "0.5" in one


def test_overfitting():
    val = [0.9, 0.6, 0.5, 0.55, 0.62, 0.7]
    train = [0.8, 0.4, 0.25, 0.15, 0.1, 0.07]
    s = build_history_summary(hist(val, train))
    assert "Best val_mse 0.5 at epoch 3 of 6" in s
    assert "worsened to 0.7" in s
    assert "Overfitting: val_mse rose 40% after its best epoch 3" in s  # read from the val curve (curve.py)
    assert "Stable" in s  # a steady rise after the best is a trend, not instability


def test_underfitting():
    val = [0.80, 0.785, 0.782, 0.781, 0.780]
    train = [0.82, 0.81, 0.80, 0.80, 0.79]
    s = build_history_summary(hist(val, train))
    assert "underfitting?" in s and "fell only 4%" in s
    assert "plateau" in s  # < 1% gain over the last epochs


def test_plateau_after_best():
    val = [0.9, 0.5, 0.45, 0.451, 0.452, 0.4505]
    s = build_history_summary(hist(val))
    assert "then plateaued" in s


def test_unstable():
    val = [0.9, 0.6, 0.8, 0.55, 0.75, 0.5, 0.7]
    s = build_history_summary(hist(val))
    assert s.count("Unstable") == 1 and "[3, 5]" in s


def test_early_stop_from_metrics():
    val = [0.9, 0.5, 0.52, 0.53, 0.54]
    s = build_history_summary(hist(val), {"max_epochs": 20, "stopped_early": True})
    assert "early stopping fired 3 epoch(s) after the best" in s


def test_still_improving_at_cap():
    val = [0.9, 0.7, 0.6, 0.5]
    s = build_history_summary(hist(val), {"max_epochs": 4, "stopped_early": False})
    assert "best was the last epoch (epoch cap 4)" in s and "still improving at the end" in s


def test_lr_schedules():
    val = [0.9, 0.7, 0.6, 0.55]
    assert "lr constant at 0.0001" in build_history_summary(hist(val))
    decayed = build_history_summary(hist(val, lr=[1e-3, 5e-4, 2.5e-4, 1.25e-4]))
    assert "lr decayed from 0.001 to 0.000125" in decayed
    restarts = build_history_summary(hist(val + [0.5, 0.45], lr=[1e-3, 5e-4, 1e-3, 5e-4, 1e-3, 5e-4]))
    assert "lr varied between" in restarts


def test_non_finite_losses_flagged():
    s = build_history_summary(hist([0.9, 0.6, float("nan")], [0.8, 0.5, float("nan")]))
    assert "Non-finite loss at epoch(s) [3]" in s


def test_best_at_first_epoch():
    s = build_history_summary(hist([0.34, 0.37], [0.72, 0.36]), {"max_epochs": 2, "stopped_early": False})
    assert "lowest at the first epoch (0.34) and never improved" in s
    assert "worsened to 0.37" in s
