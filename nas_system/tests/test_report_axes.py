"""Every plot axis of the report is labelled, and integer keys are plotted on integer ticks."""
import json

from nas_agent import report
from nas_agent.agent_state import AgentState, RunInfo
from nas_agent.config_stats import run_labels

FID = "ETTh1.csv MS OT->24 8640/2880/2880 @3ep"


def _runs():
    values = [(2, 0.001, 0.3), (3, 0.002, 0.25), (4, 0.0005, 0.28)]
    return [RunInfo(run_id=f"run_000{i}", val_mse=v, status="ok", accepted=i == 1, fidelity=FID, config_id=f"c{i}",
                    params={"model.e_layers": layers, "training.optimizer_params.lr": lr})
            for i, (layers, lr, v) in enumerate(values)]


def _figures(monkeypatch):
    figs = []
    monkeypatch.setattr(report, "_png", lambda fig: figs.append(fig) or b"png")
    return figs


def test_every_axis_is_labelled_and_integer_keys_get_integer_ticks(monkeypatch, tmp_path):
    figs = _figures(monkeypatch)
    runs = _runs()
    for r in runs:
        (tmp_path / "runs" / r.run_id).mkdir(parents=True)
        (tmp_path / "runs" / r.run_id / "history.json").write_text(json.dumps(
            {"epochs": [{"epoch": e, "val_mse": r.val_mse + 0.1 / e, "train_mse": r.val_mse} for e in (1, 2, 3)]}))
    state = AgentState(10, "run_0001", runs, {}, fidelity=FID)
    report.plot_history(state, runs[1], None, run_labels(runs))
    report.plot_curves(tmp_path, list(report.configs_of(runs).values()))  # one config per run
    keys = report.searched_keys(runs, None)
    report.plot_keys(runs, keys, None, run_labels(runs))
    assert len(figs) == 3
    for fig in figs:
        for ax in fig.axes:
            if ax.get_visible() and ax.axison:
                assert ax.get_xlabel() and ax.get_ylabel(), f"unlabelled axis in '{ax.get_title()}'"
    layers = next(ax for ax in figs[2].axes if ax.get_title() == "model.e_layers")
    assert list(layers.get_xticks()) == [2, 3, 4]
