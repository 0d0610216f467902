"""agent_state: derived best run, upserts, atomic writes, unknown fields kept, corrupt file = error."""
import json
import math

import pytest

from nas_agent.agent_state import (
    AgentState, AgentStateError, RunInfo, add_run, get_best_run, get_recent_runs,
    load_agent_state, save_agent_state, set_accepted,
)


def run(run_id, val, accepted=True, status="ok", **kw):
    return RunInfo(run_id=run_id, val_mse=val, test_mse=val, history_summary=None,
                   accepted=accepted, config_changes={}, status=status, **kw)


def test_missing_file_is_fresh_state(tmp_path):
    state = load_agent_state(tmp_path / "agent_state.json")
    assert state.runs == [] and state.best_run_id is None


def test_best_moves_to_a_better_new_run(tmp_path):
    """Regression: the users' version never moved best_run_id to a better new run."""
    state = AgentState()
    add_run(state, run("run_0000", 0.50))
    assert state.best_run_id == "run_0000"
    add_run(state, run("run_0001", 0.40))
    assert state.best_run_id == "run_0001"
    add_run(state, run("run_0002", 0.45))
    assert state.best_run_id == "run_0001"
    path = tmp_path / "agent_state.json"
    save_agent_state(state, path)
    assert json.loads(path.read_text())["best_run_id"] == "run_0001"
    assert get_best_run(load_agent_state(path)).run_id == "run_0001"


def test_best_ignores_rejected_failed_and_nonfinite_runs():
    state = AgentState()
    add_run(state, run("run_0000", 0.50))
    add_run(state, run("run_0001", 0.10, accepted=False))
    add_run(state, run("run_0002", 0.05, status="diverged"))
    add_run(state, run("run_0003", math.nan))
    add_run(state, run("run_0004", None, status="timeout", accepted=False))
    assert state.best_run_id == "run_0000"


def test_acceptance_change_recomputes_best():
    state = AgentState()
    add_run(state, run("run_0000", 0.50))
    add_run(state, run("run_0001", 0.40, accepted=False))
    set_accepted(state, "run_0001", True, "looks fine")
    assert state.best_run_id == "run_0001"
    assert state.find("run_0001").evaluation_reason == "manual override: looks fine"
    set_accepted(state, "run_0001", False)
    assert state.best_run_id == "run_0000"
    set_accepted(state, "run_0000", False)
    assert state.best_run_id is None and get_best_run(state) is None


def test_cannot_accept_failed_or_unknown_run():
    state = AgentState()
    add_run(state, run("run_0000", None, accepted=False, status="crashed"))
    with pytest.raises(AgentStateError, match="cannot accept run_0000"):
        set_accepted(state, "run_0000", True)
    with pytest.raises(AgentStateError, match="unknown run id run_0009"):
        set_accepted(state, "run_0009", True)


def test_add_run_upserts_by_id():
    state = AgentState()
    add_run(state, run("run_0000", 0.5))
    created = state.runs[0].created_at
    add_run(state, run("run_0001", 0.6))
    add_run(state, run("run_0000", 0.3, plan="again"))
    assert [r.run_id for r in state.runs] == ["run_0000", "run_0001"]
    assert state.runs[0].val_mse == 0.3 and state.runs[0].plan == "again"
    assert state.runs[0].created_at == created
    assert state.best_run_id == "run_0000"


def test_recent_runs():
    state = AgentState()
    for i in range(7):
        add_run(state, run(f"run_{i:04d}", 1.0 - i / 10))
    assert [r.run_id for r in get_recent_runs(state, 3)] == ["run_0004", "run_0005", "run_0006"]
    assert get_recent_runs(state, 0) == []


def test_unknown_fields_kept_and_best_recomputed_on_load(tmp_path):
    path = tmp_path / "agent_state.json"
    path.write_text(json.dumps({
        "max_runs": 9, "best_run_id": "run_0000", "search": {"id": "abc"},
        "runs": [
            {"run_id": "run_0000", "val_mse": 0.5, "test_mse": 0.6, "history_summary": "x",
             "accepted": True, "config_changes": [{"key": "model.d_model", "value": 64}], "custom": [1, 2]},
            {"run_id": "run_0001", "val_mse": 0.4, "test_mse": 0.5, "history_summary": None,
             "accepted": True, "config_changes": {}},
        ]}))
    state = load_agent_state(path)
    assert state.best_run_id == "run_0001"
    assert state.runs[0].config_changes == {"model.d_model": 64}
    save_agent_state(state, path)
    data = json.loads(path.read_text())
    assert data["search"] == {"id": "abc"} and data["max_runs"] == 9
    assert data["runs"][0]["custom"] == [1, 2]
    assert data["best_run_id"] == "run_0001"


def test_nonfinite_numbers_saved_as_null(tmp_path):
    path = tmp_path / "agent_state.json"
    state = AgentState()
    add_run(state, run("run_0000", math.inf, train_mse=math.nan))
    save_agent_state(state, path)
    data = json.loads(path.read_text())  # strict JSON: no NaN/Infinity tokens
    assert "NaN" not in path.read_text() and data["runs"][0]["val_mse"] is None


@pytest.mark.parametrize("text,msg", [
    ("{not json", "is corrupt"),
    ("[1, 2]", "is not an agent state"),
    ('{"runs": [{"val_mse": 1}]}', "bad run entry"),
    ('{"runs": [], "max_runs": "ten"}', "max_runs must be an integer"),
])
def test_corrupt_file_is_an_error_not_a_reset(tmp_path, text, msg):
    path = tmp_path / "agent_state.json"
    path.write_text(text)
    with pytest.raises(AgentStateError, match=msg) as err:
        load_agent_state(path)
    assert str(path) in str(err.value) and "move it aside" in str(err.value)
    assert path.read_text() == text


def test_atomic_write_leaves_no_temp_files(tmp_path):
    path = tmp_path / "agent_state.json"
    state = AgentState()
    add_run(state, run("run_0000", 0.5))
    save_agent_state(state, path)
    save_agent_state(state, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent_state.json", "agent_state.json.bak"]
