"""The report's optimization history draws persistence on the current task, the bar a useful model must beat."""
import matplotlib.axes

from nas_agent.agent_state import AgentState, RunInfo
from nas_agent.config_stats import run_labels
from nas_agent.report import plot_history
from nas_agent.standing import persistence_val

TASK = "ETTh1.csv MS OT->24 8640/2880/2880"


def state(baselines):
    runs = [RunInfo(run_id=f"run_000{i}", val_mse=v, status="ok", accepted=i == 0, fidelity=f"{TASK} @3ep")
            for i, v in enumerate([0.18, 0.053])]
    return AgentState(10, "run_0000", runs, {}, fidelity=f"{TASK} @3ep", baselines=baselines)


def test_the_history_plot_draws_the_persistence_line_of_the_current_task(monkeypatch):
    drawn = []
    real = matplotlib.axes.Axes.axhline
    monkeypatch.setattr(matplotlib.axes.Axes, "axhline",
                        lambda self, y=0, *a, **k: (drawn.append((y, k.get("label"))), real(self, y, *a, **k))[1])
    s = state({TASK: {"persistence": {"val_mse": 0.0696, "test_mse": 0.0343}}, "other task": {"persistence": {"val_mse": 9.0}}})
    assert persistence_val(s) == 0.0696
    assert plot_history(s, s.runs[0], None, run_labels(s.runs)).startswith(b"\x89PNG")
    assert drawn == [(0.0696, "persistence 0.0696 (repeat the last value)")]


def test_no_line_when_the_task_has_no_baselines():
    assert persistence_val(state({})) is None
    assert plot_history(state({}), None, None, run_labels(state({}).runs)).startswith(b"\x89PNG")
