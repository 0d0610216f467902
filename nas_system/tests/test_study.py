"""The Optuna study beside agent_state.json (.nas-graph/optuna.db), through `python -m nas_agent`:
written on record-run, read back with optuna.load_study, rebuilt when stale or missing."""
import json
import math
import shutil

import optuna
import pytest

from nas_agent.suggest import space_key
from test_cli import NAS_SYSTEM, cli, make_run

STORAGE = "sqlite:///{}/.nas-graph/optuna.db"


@pytest.fixture()
def ws(tmp_path):
    shutil.copy(NAS_SYSTEM / "config.py", tmp_path / "config.py")
    return tmp_path


def load(ws):
    return optuna.load_study(study_name="nas-graph", storage=STORAGE.format(ws))


def state_of(ws):
    return json.loads((ws / "agent_state.json").read_text())


def assert_mirrors_state(ws):
    """Trial i is run i of agent_state.json: params, value or FAIL, and the user attrs."""
    runs = state_of(ws)["runs"]
    space = json.loads((NAS_SYSTEM / "search_space.json").read_text())["params"]
    trials = load(ws).get_trials()
    assert len(trials) == len(runs)
    for trial, run in zip(trials, runs):
        attrs = trial.user_attrs
        assert attrs["run_id"] == run["run_id"]
        assert attrs["planner"] == run.get("planner") and attrs["plan"] == run.get("plan")
        assert attrs["seed"] == run.get("seed") and attrs["status"] == run["status"]
        verdict = "failed" if run["status"] != "ok" else ("accepted" if run["accepted"] else "rejected")
        assert attrs["verdict"] == verdict
        # search-space values are the params, one per family (the planner's names: lr[informer]);
        # a value outside the space is kept aside, not lost
        family = run["params"].get("model.family", "informer")
        assert all(k == "model.family" or k.endswith(f"[{family}]") for k in trial.params)
        plain = {space_key(k): v for k, v in trial.params.items()}
        assert {**plain, **attrs.get("other_params", {})} == run["params"]
        assert set(plain) <= set(space) and len(trial.params) >= len(run["params"]) - 1
        if run["status"] == "ok":
            assert trial.state == optuna.trial.TrialState.COMPLETE and trial.value == run["val_mse"]
        else:
            assert trial.state == optuna.trial.TrialState.FAIL and trial.value is None
        assert not any("test" in k for k in attrs)  # held-out metrics never enter the history
    return trials


def record(ws, run_id, **info):
    return cli(ws, "record-run", "--run-id", run_id, "--info", json.dumps(info), check=0)[1]


def test_study_mirrors_agent_state_with_failed_runs_as_fail_trials(ws):
    """The search syncs the study once per round (update_state calls `study`); read it back."""
    make_run(ws, "run_0000", val=0.5)
    make_run(ws, "run_0001", val=0.4, lr=1e-4)
    make_run(ws, "run_0002", failure={"status": "diverged", "reason": "loss became nan", "epoch": 2}, lr=0.5)
    record(ws, "run_0000", status="ok", accepted=True, planner="baseline", plan="Baseline")
    record(ws, "run_0001", status="ok", accepted=True, planner="optuna", plan="TPE: lr up")
    record(ws, "run_0002", planner="llm", plan="lr 0.5")
    _, out = cli(ws, "study", check=0)
    assert out["trials"] == 3 and out["created"] is True
    status = json.loads((ws / ".nas-graph" / "optuna.status.json").read_text())
    assert status["ok"] is True and status["path"] == str(ws / ".nas-graph" / "optuna.db")
    trials = assert_mirrors_state(ws)
    assert [t.user_attrs["verdict"] for t in trials] == ["accepted", "accepted", "failed"]
    assert [t.user_attrs["seed"] for t in trials] == [42, 42, None]
    assert trials[1].params["training.optimizer_params.lr[informer]"] == 1e-4
    assert trials[2].user_attrs["error"].startswith("loss became nan")
    assert trials[2].user_attrs["other_params"] == {"training.optimizer_params.lr": 0.5}  # outside the space's range
    assert load(ws).best_trial.user_attrs["run_id"] == "run_0001"
    assert load(ws).direction == optuna.study.StudyDirection.MINIMIZE


def test_stale_or_missing_study_is_rebuilt_from_agent_state(ws):
    for i, val in enumerate([0.5, 0.45, 0.6]):
        make_run(ws, f"run_000{i}", val=val, lr=1e-4 * (i + 1))
        record(ws, f"run_000{i}", status="ok", accepted=i < 2, planner="optuna", plan=f"plan {i}")
    # an override changes a verdict: the study follows
    cli(ws, "set-accept", "--run-id", "run_0001", "--reject", check=0)
    _, out = cli(ws, "study", check=0)
    assert out["trials"] == 3
    assert [t.user_attrs["verdict"] for t in assert_mirrors_state(ws)] == ["accepted", "rejected", "rejected"]
    # the same workspace without its study
    copy = ws / "copy"
    copy.mkdir()
    for name in ("config.py", "agent_state.json", "runs"):
        (shutil.copytree if name == "runs" else shutil.copy)(ws / name, copy / name)
    _, out = cli(copy, "study", check=0)
    assert out["created"] is True and out["added"] == 3
    assert_mirrors_state(copy)
    # a trial that is no run (someone wrote into the study): rebuilt, the stray trial is gone
    load(copy).add_trial(optuna.trial.create_trial(params={}, distributions={}, value=0.01))
    _, out = cli(copy, "study", check=0)
    assert out["rebuilt"] is True
    assert all(not math.isclose(t.value or 0, 0.01) for t in assert_mirrors_state(copy))
    # in step already: nothing to do
    _, out = cli(copy, "study", check=0)
    assert out == {**out, "added": 0, "rebuilt": False, "created": False}


def test_a_broken_study_never_loses_a_run(ws):
    (ws / ".nas-graph" / "optuna.db").mkdir(parents=True)  # not a database
    make_run(ws, "run_0000", val=0.5)
    make_run(ws, "run_0001", val=0.4)
    record(ws, "run_0000", status="ok", accepted=True)
    record(ws, "run_0001", status="ok", accepted=True)
    code, out = cli(ws, "study", check=2)  # one line naming the file and the fix; the runs are on file
    assert out["error"].startswith(f"cannot write the Optuna study {ws / '.nas-graph' / 'optuna.db'} (")
    assert "OperationalError" in json.loads((ws / ".nas-graph" / "optuna.status.json").read_text())["error"]
    assert [r["run_id"] for r in state_of(ws)["runs"]] == ["run_0000", "run_0001"]
    (ws / ".nas-graph" / "optuna.db").rmdir()
    _, out = cli(ws, "study", check=0)
    assert out["trials"] == 2
    assert_mirrors_state(ws)


def test_the_long_lived_helper_opens_the_study_once_and_again_when_the_file_changed(ws):
    """In one process (as `nas_agent serve`): later rounds reuse the opened study file (its schema
    check costs ~0.5 s a round); a file removed or written by another process is opened afresh."""
    from nas_agent import study
    from nas_agent.cli import execute

    def finish(run_id):
        code, out = execute(["--system-dir", str(ws), "finish-round", "--runs",
                             json.dumps([{"run_id": run_id, "info": {"accepted": True}}])])
        assert code == 0 and "study_error" not in out, out
        return out["study"]

    for i, lr in enumerate([1e-5, 2e-5, 3e-5]):
        make_run(ws, f"run_000{i}", val=0.5 - i / 100, lr=lr)
    finish("run_0000")
    opened = study._storages[study.storage_url(ws)][1]
    assert finish("run_0001")["added"] == 1 and study._storages[study.storage_url(ws)][1] is opened
    (ws / ".nas-graph" / "optuna.db").unlink()  # removed meanwhile: a fresh file, rebuilt in full
    out = finish("run_0002")
    assert (out["created"], out["added"], out["trials"]) == (True, 3, 3)
    assert study._storages[study.storage_url(ws)][1] is not opened
    load(ws).set_user_attr("touched", True)  # written by another process: not reused
    again = study._storages[study.storage_url(ws)][1]
    assert finish("run_0002")["added"] == 0 and study._storages[study.storage_url(ws)][1] is not again
    assert_mirrors_state(ws)
