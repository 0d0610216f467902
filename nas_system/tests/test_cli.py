"""The nas_agent CLI through its real entry point (`python -m nas_agent`), on crafted run dirs."""
import hashlib
import json
import re
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NAS_SYSTEM = Path(__file__).resolve().parents[1]


def cli(ws, *args, check=None):
    env = {**os.environ, "PYTHONPATH": str(NAS_SYSTEM)}
    proc = subprocess.run([sys.executable, "-m", "nas_agent", "--system-dir", str(ws), *args],
                          capture_output=True, text=True, env=env, cwd=ws, timeout=60)
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, f"expected one JSON line, got {proc.stdout!r} / {proc.stderr!r}"
    out = json.loads(lines[0])
    assert out["ok"] == (proc.returncode == 0)
    if check is not None:
        assert proc.returncode == check, out
    if proc.returncode != 0:
        assert "\n" not in out["error"]
    return proc.returncode, out


@pytest.fixture()
def ws(tmp_path):
    shutil.copy(NAS_SYSTEM / "config.py", tmp_path / "config.py")
    return tmp_path


def make_run(ws, run_id, val=None, failure=None, lr=5e-05, history=True, seed=42, max_epochs=20, pred_len=96,
             family="informer"):
    d = ws / "runs" / run_id
    d.mkdir(parents=True)
    text = (NAS_SYSTEM / "config.py").read_text().replace('"lr": 5e-05', f'"lr": {lr!r}')
    text = text.replace('"pred_len": 96', f'"pred_len": {pred_len}').replace('"family": "informer"', f'"family": "{family}"')
    (d / "config_used.py").write_text(text)
    if history:
        epochs = [{"epoch": i + 1, "train_mse": v * 0.8, "val_mse": v, "lr": lr, "seconds": 1, "train_loss": v}
                  for i, v in enumerate([0.9, 0.6, val or 0.5, (val or 0.5) * 1.01])][:max_epochs]
        (d / "history.json").write_text(json.dumps({"best_epoch": 3, "epochs": epochs}))
    if val is not None:
        (d / "metrics.json").write_text(json.dumps({
            "status": "ok", "val_mse": val, "val_mae": 0.5, "test_mse": val * 1.1, "test_mae": 0.55,
            "train_mse": val * 0.8, "best_epoch": 3, "epochs_run": 4, "max_epochs": max_epochs,
            "max_epochs_cap": None, "stopped_early": True, "train_time_s": 3.0, "n_params": 1000,
            "device": "cpu", "seed": seed}))
    if failure is not None:
        (d / "failure.json").write_text(json.dumps(failure))
    return d


def test_space_resolution(ws):
    _, out = cli(ws, "space", check=0)
    assert Path(out["path"]) == NAS_SYSTEM / "search_space.json"
    assert "model.d_model" in out["space"]["params"]
    local = json.loads((NAS_SYSTEM / "search_space.json").read_text())
    del local["params"]["model.d_model"]
    local["constraints"] = []
    (ws / "search_space.json").write_text(json.dumps(local))
    _, out = cli(ws, "space", check=0)
    assert Path(out["path"]) == ws / "search_space.json" and "model.d_model" not in out["space"]["params"]
    (ws / "bad.json").write_text('{"params": {"x": {"type": "complex", "step": "small"}}}')
    _, out = cli(ws, "--space", str(ws / "bad.json"), "space", check=2)
    assert "bad.json is invalid" in out["error"]


def test_config_get_and_apply(ws):
    _, out = cli(ws, "config-get", check=0)
    assert out["values"]["model.d_model"] == 256 and out["missing"] == []
    changes = json.dumps([{"key": "model.d_model", "value": 128}, {"key": "training.optimizer_class", "value": "optim.SGD"}])
    _, out = cli(ws, "config-apply", "--changes", changes, "--dry-run", check=0)
    assert out["written"] is False and "+    \"d_model\": 128," in out["diff"]
    assert '"d_model": 256' in (ws / "config.py").read_text()
    _, out = cli(ws, "config-apply", "--changes", changes, check=0)
    assert out["written"] is True
    assert {c["key"] for c in out["changed"]} == {"model.d_model", "training.optimizer_class", "training.optimizer_params"}
    assert '"optimizer_class": optim.SGD,' in (ws / "config.py").read_text()


def test_config_apply_errors_leave_file_untouched(ws):
    before = (ws / "config.py").read_bytes()
    _, out = cli(ws, "config-apply", "--changes", "[{key: 1}]", check=2)
    assert "--changes is not valid JSON" in out["error"]
    bad = json.dumps([{"key": "training.optimizer_class", "value": "__import__('os').system('touch pwned')"},
                      {"key": "model.d_model", "value": 3.5}])
    _, out = cli(ws, "config-apply", "--changes", bad, check=2)
    assert len(out["errors"]) == 2
    assert (ws / "config.py").read_bytes() == before and not (ws / "pwned").exists()


def test_config_apply_base_and_restore(ws):
    base = ws / "best.py"
    base.write_text((ws / "config.py").read_text().replace('"d_ff": 512', '"d_ff": 2048'))
    cli(ws, "config-apply", "--changes", '[{"key": "model.dropout", "value": 0.1}]', "--base", str(base), check=0)
    _, out = cli(ws, "config-get", check=0)
    assert out["values"]["model.d_ff"] == 2048 and out["values"]["model.dropout"] == 0.1


def test_next_run_id(ws):
    assert cli(ws, "next-run-id", check=0)[1]["run_id"] == "run_0000"
    (ws / "runs" / "run_0003").mkdir(parents=True)
    assert cli(ws, "next-run-id", check=0)[1]["run_id"] == "run_0004"
    (ws / "agent_state.json").write_text(json.dumps({"max_runs": 5, "best_run_id": None, "runs": [
        {"run_id": "run_0007", "val_mse": None, "test_mse": None, "history_summary": None,
         "accepted": False, "config_changes": {}, "status": "invalid"}]}))
    assert cli(ws, "next-run-id", check=0)[1]["run_id"] == "run_0008"
    # a Slurm job still PENDING has a job record and no run dir yet: its id is taken (issue 18)
    (ws / ".nas-graph" / "jobs").mkdir(parents=True)
    (ws / ".nas-graph" / "jobs" / "run_0010.json").write_text("{}")
    assert cli(ws, "next-run-id", check=0)[1]["run_id"] == "run_0011"
    (ws / ".nas-graph" / "attempts").mkdir(parents=True)
    (ws / ".nas-graph" / "attempts" / "run_0012.json").write_text("{}")
    assert cli(ws, "next-run-id", check=0)[1]["run_id"] == "run_0013"


def test_record_run_ok_and_idempotent(ws):
    make_run(ws, "run_0000", val=0.5)
    info = {"accepted": True, "step_type": "small", "plan": "baseline", "reason": "first",
            "config_changes": [{"key": "model.d_model", "value": 256}], "planner": "baseline", "custom_field": 7}
    _, out = cli(ws, "record-run", "--run-id", "run_0000", "--info", json.dumps(info), check=0)
    run = out["run"]
    assert out["best_run_id"] == "run_0000" and out["previous_best_run_id"] is None
    assert run["val_mse"] == 0.5 and run["test_mae"] == 0.55 and run["best_epoch"] == 3 and run["status"] == "ok"
    assert run["config_changes"] == {"model.d_model": 256} and run["custom_field"] == 7
    assert "early stopping fired" in run["history_summary"]
    assert run["params"]["training.optimizer_params.lr"] == 5e-05 and run["params"]["training.optimizer_class"] == "optim.AdamW"
    cli(ws, "record-run", "--run-id", "run_0000", "--info", json.dumps(info), check=0)
    state = json.loads((ws / "agent_state.json").read_text())
    assert [r["run_id"] for r in state["runs"]] == ["run_0000"]
    make_run(ws, "run_0001", val=0.4, lr=1e-4)
    _, out = cli(ws, "record-run", "--run-id", "run_0001", "--info", '{"accepted": true}', check=0)
    assert out["best_run_id"] == "run_0001" and out["previous_best_run_id"] == "run_0000"
    assert out["run"]["params"]["training.optimizer_params.lr"] == 1e-4


def test_record_failed_incomplete_and_timeout(ws):
    make_run(ws, "run_0000", failure={"status": "diverged", "reason": "loss is nan", "epoch": 2})
    _, out = cli(ws, "record-run", "--run-id", "run_0000", "--info", '{"accepted": false}', check=0)
    assert out["run"]["status"] == "diverged" and out["run"]["error"] == "loss is nan (epoch 2)"
    assert out["best_run_id"] is None
    make_run(ws, "run_0001", history=False)
    _, out = cli(ws, "record-run", "--run-id", "run_0001", "--info", "{}", check=2)
    assert "is incomplete" in out["error"]
    _, out = cli(ws, "record-run", "--run-id", "run_0001", "--info", '{"status": "timeout", "error": "killed after 600 s"}', check=0)
    assert out["run"]["status"] == "timeout" and out["run"]["val_mse"] is None
    _, out = cli(ws, "record-run", "--run-id", "run_0002", "--info", '{"status": "invalid", "error": "bad config"}', check=0)
    assert out["run"]["status"] == "invalid"
    make_run(ws, "run_0004", history=False)  # crashed before failure.json could be written
    _, out = cli(ws, "record-run", "--run-id", "run_0004", "--info", '{"status": "crashed", "error": "exit 1"}', check=0)
    assert out["run"]["status"] == "crashed" and out["run"]["error"] == "exit 1"
    _, out = cli(ws, "record-run", "--run-id", "run_0005", "--info", '{"status": "ok"}', check=2)
    assert "is incomplete" in out["error"]
    # the caller's status differs from failure.json's: the caller saw more than the training's signal handler
    signal = {"status": "interrupted", "reason": "interrupted by a signal"}
    make_run(ws, "run_0006", history=False, failure=signal)
    oom = "Slurm job 7 ran out of memory; ask for more with --slurm-args '--mem=...'"
    _, out = cli(ws, "record-run", "--run-id", "run_0006", "--info", json.dumps({"status": "crashed", "error": oom}), check=0)
    assert (out["run"]["status"], out["run"]["error"]) == ("crashed", oom)
    _, out = cli(ws, "record-run", "--run-id", "run_0006", "--info", '{"accepted": false}', check=0)  # the verdict's record
    assert (out["run"]["status"], out["run"]["error"]) == ("crashed", oom)
    make_run(ws, "run_0007", history=False, failure=signal)
    stopped = "training exceeded --run-timeout 5s"
    _, out = cli(ws, "record-run", "--run-id", "run_0007", "--info", json.dumps({"status": "timeout", "error": stopped}), check=0)
    assert (out["run"]["status"], out["run"]["error"]) == ("timeout", stopped)
    # the same status: failure.json's own reason, the more precise, stands
    make_run(ws, "run_0008", history=False, failure={"status": "crashed", "reason": "RuntimeError: boom"})
    _, out = cli(ws, "record-run", "--run-id", "run_0008", "--info", '{"status": "crashed", "error": "training failed"}', check=0)
    assert out["run"]["error"] == "RuntimeError: boom"
    _, out = cli(ws, "record-run", "--run-id", "run_0000", "--info", '{"accepted": true}', check=2)
    assert "cannot accept run_0000" in out["error"]
    _, out = cli(ws, "record-run", "--run-id", "../etc", "--info", '{"status": "failed"}', check=2)
    assert "bad run id" in out["error"]
    _, out = cli(ws, "record-run", "--run-id", "run_0003", "--info", '[1]', check=2)
    assert "--info must be a JSON object" in out["error"]


def test_a_timed_out_run_keeps_the_searchs_epoch_cap_when_its_verdict_is_recorded(ws):
    """Regression (bench/quality.py, --max-epochs 1 on a 3-epoch config): the verdict's record-run
    (update-state, no cap in its info) moved a timed-out run to the config's own @Nep fidelity, so
    the portfolio and the dead-end checks of the @1ep search no longer saw it and proposed it again."""
    make_run(ws, "run_0000", history=False)  # no metrics: killed by --run-timeout
    _, out = cli(ws, "record-run", "--run-id", "run_0000", "--info",
                 '{"status": "timeout", "error": "run timeout", "max_epochs_cap": 1}', check=0)
    assert out["run"]["fidelity"].endswith("@1ep")
    _, out = cli(ws, "record-run", "--run-id", "run_0000", "--info",
                 '{"accepted": false, "evaluation_reason": "training failed"}', check=0)
    assert out["run"]["fidelity"].endswith("@1ep") and out["run"]["status"] == "timeout"


def test_set_accept(ws):
    make_run(ws, "run_0000", val=0.5)
    make_run(ws, "run_0001", val=0.4, lr=1e-4)  # another config: a verdict applies to a whole config
    _, out = cli(ws, "record-run", "--run-id", "run_0000", "--info", '{"accepted": true}', check=0)
    assert "Best val_mse 0.5 at epoch 3 of 4" in out["run"]["history_summary"]  # the run's history summary
    cli(ws, "record-run", "--run-id", "run_0001", "--info", '{"accepted": false}', check=0)
    _, out = cli(ws, "set-accept", "--run-id", "run_0001", "--accept", "--reason", "user says so", check=0)
    assert out["best_run_id"] == "run_0001" and out["previous_best_run_id"] == "run_0000"
    assert out["run"]["accepted"] is True and out["run"]["override"]["reason"] == "user says so"
    _, out = cli(ws, "set-accept", "--run-id", "run_0001", "--reject", check=0)
    assert out["best_run_id"] == "run_0000"
    _, out = cli(ws, "set-accept", "--run-id", "run_0042", "--accept", check=2)
    assert "unknown run id run_0042" in out["error"]
    cli(ws, "set-accept", "--run-id", "run_0001", check=2)  # --accept or --reject is required


def test_record_runs_one_request_per_round(ws):
    """record-runs: the round's runs in order, each answer as record-run would give it (the seeds before it only)."""
    make_run(ws, "run_0000", val=0.5, seed=42)
    make_run(ws, "run_0001", val=0.52, seed=43)  # the same config, another seed
    make_run(ws, "run_0002", failure={"status": "diverged", "reason": "loss is nan"})
    runs = [{"run_id": f"run_000{i}", "info": {"evaluation_reason": "verdict pending"}} for i in range(3)]
    _, out = cli(ws, "record-runs", "--runs", json.dumps(runs), check=0)
    recs = out["records"]
    assert [r["run"]["run_id"] for r in recs] == ["run_0000", "run_0001", "run_0002"]
    assert [r["config"]["n"] if r["config"] else None for r in recs[:2]] == [1, 2]
    assert "early stopping fired" in recs[0]["run"]["history_summary"]  # the LLM evaluator's summary, no second call
    assert out["n_runs"] == 3 and out["best_run_id"] is None
    make_run(ws, "run_0003", history=False)  # no outcome files: it stops there, the runs before it stay recorded
    bad = [{"run_id": "run_0001", "info": {"plan": "again"}}, {"run_id": "run_0003", "info": {}}]
    _, out = cli(ws, "record-runs", "--runs", json.dumps(bad), check=2)
    assert "is incomplete" in out["error"]
    state = json.loads((ws / "agent_state.json").read_text())
    assert [r.get("plan") for r in state["runs"] if r["run_id"] == "run_0001"] == ["again"]
    _, out = cli(ws, "record-runs", "--runs", '{"run_id": "run_0000"}', check=2)
    assert "--runs must be a JSON list" in out["error"]


def test_finish_round_records_follows_the_incumbent_and_reserves(ws):
    """finish-round: verdicts recorded, config.py on the new incumbent, the study synced, the next ids, in one request."""
    make_run(ws, "run_0000", val=0.5)
    make_run(ws, "run_0001", val=0.4, lr=1e-4)
    start = ws / "start.py"
    start.write_text((ws / "config.py").read_text())
    runs = [{"run_id": "run_0000", "info": {"accepted": False}}, {"run_id": "run_0001", "info": {"accepted": True}}]
    _, out = cli(ws, "finish-round", "--runs", json.dumps(runs), "--known-best", "", "--fallback", str(start),
                 "--reserve", "2", check=0)
    used = ws / "runs" / "run_0001" / "config_used.py"
    assert out["best_run_id"] == "run_0001" and out["config_restored_from"] == str(used)
    assert (ws / "config.py").read_text() == used.read_text()
    assert out["next_run_ids"] == ["run_0002", "run_0003"] and out["study"]["trials"] == 2
    assert [r["incumbent"] and r["incumbent"]["root_run_id"] for r in out["records"]] == [None, "run_0001"]
    # the best unchanged from what the caller knows: config.py is left alone
    (ws / "config.py").write_text(start.read_text())
    _, out = cli(ws, "finish-round", "--runs", json.dumps(runs[1:]), "--known-best", "run_0001", check=0)
    assert "config_restored_from" not in out and (ws / "config.py").read_text() == start.read_text()
    # no incumbent left: the start snapshot, the same rule as override's (set-accept --follow)
    (ws / "config.py").write_text(used.read_text())
    _, out = cli(ws, "set-accept", "--run-id", "run_0001", "--reject", "--follow", "--fallback", str(start), check=0)
    assert out["best_run_id"] is None and out["config_restored_from"] == str(start) and "study" in out
    assert (ws / "config.py").read_text() == start.read_text()
    # a study that cannot be written is a warning in the answer, never a lost round
    (ws / ".nas-graph" / "optuna.db").unlink()
    (ws / ".nas-graph" / "optuna.db").mkdir()
    _, out = cli(ws, "finish-round", "--runs", json.dumps(runs[1:]), "--known-best", "", check=0)
    assert "cannot write the Optuna study" in out["study_error"] and out["records"][0]["run"]["accepted"] is True


def test_config_py_follows_the_incumbent_across_fidelities_and_a_rebuild(ws):
    """incumbent_config's one rule through finish-round, begin-search and rebuild-state: config.py
    follows the incumbent (noted as config_written); a search at another fidelity puts the tool's
    config.py back on that fidelity's incumbent, never a user's edit; a rebuilt state notes
    config.py as the tool's only when it holds the incumbent's bytes, and never writes it."""
    config = ws / "config.py"
    written = lambda: json.loads((ws / "agent_state.json").read_text()).get("config_written")
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    full = make_run(ws, "run_0000", val=0.5, lr=1e-4) / "config_used.py"  # 20 epochs
    short = make_run(ws, "run_0001", val=0.3, lr=2e-4, max_epochs=5) / "config_used.py"  # 5 epochs
    cli(ws, "begin-search", check=0)
    _, out = cli(ws, "finish-round", "--runs", json.dumps([{"run_id": "run_0000", "info": {"accepted": True}}]),
                 "--known-best", "", check=0)
    assert out["config_restored_from"] == str(full) and config.read_bytes() == full.read_bytes()
    assert written()["sha256"] == sha(full) and written()["from"] == str(full)
    _, out = cli(ws, "begin-search", "--max-epochs-cap", "5", check=0)
    assert out["baseline_needed"] is True and out["config_restored_from"] is None  # no incumbent at 5 epochs yet
    _, out = cli(ws, "finish-round", "--runs", json.dumps([{"run_id": "run_0001", "info": {"accepted": True}}]),
                 "--known-best", "", check=0)
    assert out["best_run_id"] == "run_0001" and config.read_bytes() == short.read_bytes()
    # back at 20 epochs: the tool's config.py goes back on that fidelity's incumbent
    _, out = cli(ws, "begin-search", check=0)
    assert out["config_restored_from"] == str(full) and out["baseline_needed"] is False
    assert config.read_bytes() == full.read_bytes() and written()["sha256"] == sha(full) and written()["from"] == str(full)
    # a user's edit stays: it is trained as a baseline
    edited = full.read_text().replace('"lr": 0.0001', '"lr": 0.0003')
    assert edited != full.read_text()
    config.write_text(edited)
    _, out = cli(ws, "begin-search", "--max-epochs-cap", "5", check=0)
    assert out["config_restored_from"] is None and out["baseline_needed"] is True and config.read_text() == edited
    # rebuild-state: the incumbent is run_0001 (the last search's fidelity); config.py never written
    (ws / ".nas-graph").mkdir(exist_ok=True)
    (ws / ".nas-graph" / "decisions.jsonl").write_text("".join(
        json.dumps({"run_id": r, "run_status": "ok", "accepted": True}) + "\n" for r in ("run_0000", "run_0001")))
    _, out = cli(ws, "rebuild-state", "--force", check=0)
    assert out["best_run_id"] == "run_0001" and written() is None and config.read_text() == edited
    config.write_bytes(short.read_bytes())
    _, out = cli(ws, "rebuild-state", "--force", check=0)
    assert written()["sha256"] == sha(short) and written()["from"] == str(short)


def test_corrupt_state_is_reported_not_reset(ws):
    (ws / "agent_state.json").write_text("{oops")
    make_run(ws, "run_0000", val=0.5)
    _, out = cli(ws, "record-run", "--run-id", "run_0000", "--info", "{}", check=2)
    assert "agent_state.json is corrupt" in out["error"]
    assert (ws / "agent_state.json").read_text() == "{oops"
    _, out = cli(ws, "next-run-id", check=2)


def test_missing_system_dir(tmp_path):
    _, out = cli(tmp_path, "--system-dir", str(tmp_path / "nope"), "next-run-id", check=2)
    assert "does not exist" in out["error"]


def test_non_suggest_commands_stay_light(ws):
    code = ("import sys; from nas_agent.cli import main; "
            f"rc = main(['--system-dir', {str(ws)!r}, 'config-get']); "
            "heavy = [m for m in ('optuna', 'torch', 'numpy') if m in sys.modules]; "
            "print(heavy, file=sys.stderr); sys.exit(rc or (3 if heavy else 0))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(NAS_SYSTEM)}, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_damaged_history_and_snapshot_do_not_lose_a_finished_run(ws):
    d = make_run(ws, "run_0000", val=0.5)
    (d / "history.json").write_text("{truncated")
    (d / "config_used.py").write_text("model = {\n")
    _, out = cli(ws, "record-run", "--run-id", "run_0000", "--info", '{"accepted": true}', check=0)
    run = out["run"]
    assert run["val_mse"] == 0.5 and out["best_run_id"] == "run_0000"
    assert run["history_summary"].startswith("no diagnosis:") and "history.json" in run["history_summary"]
    assert run["params"] == {} and "not valid Python" in run["params_error"]


def test_seed_repeats_pool_into_one_config_and_best_is_the_lowest_mean(ws):
    """Runs of one config (same config_id, other seeds) are one config: verdicts apply to all its
    seeds, and the best is the config with the lowest MEAN val_mse, not the luckiest seed."""
    make_run(ws, "run_0000", val=0.30, seed=42)
    make_run(ws, "run_0001", val=0.20, seed=43)
    make_run(ws, "run_0002", val=0.40, seed=44)
    make_run(ws, "run_0003", val=0.25, lr=1e-4)   # a candidate: one lucky-looking seed
    make_run(ws, "run_0004", val=0.34, lr=1e-4, seed=43)
    cli(ws, "begin-search", check=0)
    cli(ws, "record-run", "--run-id", "run_0000", "--info", '{"kind": "baseline", "accepted": true}', check=0)
    for rid in ("run_0001", "run_0002"):
        cli(ws, "record-run", "--run-id", rid, "--info", '{"kind": "repeat", "repeat_of": "run_0000", "accepted": true}', check=0)
    _, out = cli(ws, "record-run", "--run-id", "run_0003", "--info", '{"kind": "proposal", "accepted": true}', check=0)
    assert out["best_run_id"] == "run_0003"  # mean 0.25 < 0.30
    _, out = cli(ws, "record-run", "--run-id", "run_0004", "--info",
                 '{"kind": "repeat", "repeat_of": "run_0003", "accepted": true}', check=0)
    assert out["config"]["run_ids"] == ["run_0003", "run_0004"] and out["config"]["n"] == 2
    assert out["config"]["val_mean"] == pytest.approx(0.295)
    assert out["best_run_id"] == "run_0003" and out["incumbent"]["root_run_id"] == "run_0003"
    noise = out["noise"]
    assert noise["dof"] == 3 and noise["n"] == 5  # (3 - 1) + (2 - 1)
    expected = math.sqrt((2 * 0.1 ** 2 + 1 * (0.09 ** 2 / 2)) / 3)
    assert noise["sd"] == pytest.approx(expected)
    # a reject of any seed rejects the config: the baseline is the incumbent again
    _, out = cli(ws, "record-run", "--run-id", "run_0004", "--info", '{"accepted": false}', check=0)
    state = json.loads((ws / "agent_state.json").read_text())
    assert [r["accepted"] for r in state["runs"]] == [True, True, True, False, False]
    assert state["best_run_id"] == "run_0000"
    assert {r["config_id"] for r in state["runs"][:3]} != {r["config_id"] for r in state["runs"][3:]}
    assert [c["n"] for c in state["configs"]] == [3, 2]


def test_a_first_success_says_its_next_seed_and_the_baseline_seeds_it_lacks_and_the_next_search_trains_them(ws):
    """Every baseline seed failed and a proposal was accepted as the first successful run: its record
    names its next seed (past every seed its runs used) and the seeds it lacks against the search's
    --baseline-seeds; a later search's begin-search names the seeds that train first."""
    make_run(ws, "run_0000", history=False, failure={"status": "crashed", "reason": "out of memory"})
    make_run(ws, "run_0001", val=0.30, lr=1e-4, seed=42)
    cli(ws, "begin-search", check=0)
    runs = [{"run_id": "run_0000", "info": {"kind": "baseline", "status": "crashed", "seed": 42}},
            {"run_id": "run_0001", "info": {"kind": "proposal", "accepted": True, "evaluation_source": "baseline"}}]
    _, out = cli(ws, "record-runs", "--runs", json.dumps(runs), "--baseline-seeds", "3", "--max-repeats", "1", check=0)
    first = out["records"][1]
    assert (first["config"]["next_seed"], first["config"]["baseline_seeds_left"], first["config"]["repeats_left"]) == (43, 2, 1)
    assert first["incumbent"]["baseline_seeds_left"] == 2 and out["records"][0]["config"]["next_seed"] == 43
    shutil.copy(ws / "runs" / "run_0001" / "config_used.py", ws / "config.py")  # config.py follows the incumbent
    _, out = cli(ws, "begin-search", "--baseline-seeds", "3", check=0)
    assert out["baseline_needed"] is False and out["noise"] is None
    assert out["baseline_seeds"] == [43, 44] == out["incumbent"]["missing_seeds"]
    _, out = cli(ws, "begin-search", "--baseline-seeds", "1", check=0)  # one seed is all the search asks
    assert out["baseline_seeds"] == []


def test_begin_search_names_the_planned_baselines_seeds_from_the_configs_own_on(ws):
    """A config.py to train as a baseline: its --baseline-seeds seeds in training order, from its
    own seed on (train.py's default when it sets none), past any seed it already trained at this
    fidelity; one seed when the search asks none."""
    config = ws / "config.py"
    text = config.read_text()
    assert re.search(r"^seed = 42$", text, re.M)
    config.write_text(re.sub(r"^seed = 42$", "seed = 7", text, flags=re.M))
    _, out = cli(ws, "begin-search", "--baseline-seeds", "3", check=0)
    assert out["baseline_needed"] is True and out["baseline_seeds"] == [7, 8, 9]
    _, out = cli(ws, "begin-search", check=0)
    assert out["baseline_seeds"] == [7]
    config.write_text(re.sub(r"^seed = 42\n", "", text, flags=re.M))
    _, out = cli(ws, "begin-search", "--baseline-seeds", "2", check=0)
    assert out["baseline_seeds"] == [42, 43]
    make_run(ws, "run_0000", seed=42, history=False, failure={"status": "crashed", "reason": "out of memory"})
    shutil.copy(ws / "runs" / "run_0000" / "config_used.py", config)
    cli(ws, "record-runs", "--runs", json.dumps([{"run_id": "run_0000", "info": {"kind": "baseline", "status": "crashed", "seed": 42}}]), check=0)
    _, out = cli(ws, "begin-search", "--baseline-seeds", "2", check=0)
    assert out["baseline_seeds"] == [43, 44]  # never a seed the config already has


def test_a_family_without_its_own_seeds_gets_the_measured_relative_noise_at_its_own_level(ws):
    """An Informer's sd of 0.1 at a mean of 0.3 is 33% of its level; a DLinear config at 0.06
    with no seeds of its own gets 33% of 0.06, not the Informer's absolute 0.1."""
    for rid, val, seed in (("run_0000", 0.30, 42), ("run_0001", 0.20, 43), ("run_0002", 0.40, 44)):
        make_run(ws, rid, val=val, seed=seed)
    make_run(ws, "run_0003", val=0.06, family="dlinear")
    cli(ws, "begin-search", check=0)
    cli(ws, "record-run", "--run-id", "run_0000", "--info", '{"kind": "baseline", "accepted": true}', check=0)
    for rid in ("run_0001", "run_0002"):
        cli(ws, "record-run", "--run-id", rid, "--info", '{"kind": "repeat", "repeat_of": "run_0000", "accepted": true}', check=0)
    _, out = cli(ws, "record-run", "--run-id", "run_0003", "--info", '{"kind": "proposal"}', check=0)
    assert out["config"]["family"] == "dlinear"
    assert out["config"]["noise_sd"] == pytest.approx(0.1 / 0.3 * 0.06)
    assert "33.3% of its mean" in out["config"]["noise_source"]
    assert out["incumbent"]["noise_sd"] == pytest.approx(0.1)  # the Informer's own measured sd


def test_fidelity_separates_epoch_caps_and_tasks(ws):
    """A 1-epoch run is never the incumbent of a 3-epoch search; another pred_len is another task."""
    make_run(ws, "run_0000", val=0.10, max_epochs=1)
    cli(ws, "record-run", "--run-id", "run_0000", "--info", '{"kind": "baseline", "accepted": true}', check=0)
    _, out = cli(ws, "begin-search", "--max-epochs-cap", "3", check=0)
    assert out["fidelity"].endswith("@3ep") and out["baseline_needed"] is True
    assert out["incumbent"] is None and "no accepted run at this fidelity" in out["baseline_reason"]
    make_run(ws, "run_0001", val=0.30, max_epochs=3)
    _, out = cli(ws, "record-run", "--run-id", "run_0001", "--info", '{"kind": "baseline", "accepted": true}', check=0)
    assert out["best_run_id"] == "run_0001"  # not the 1-epoch run with its lower val_mse
    make_run(ws, "run_0002", val=0.05, max_epochs=3, pred_len=24)
    _, out = cli(ws, "record-run", "--run-id", "run_0002", "--info", '{"kind": "proposal", "accepted": true}', check=0)
    assert out["best_run_id"] == "run_0001" and out["run"]["task"]["pred_len"] == 24
    _, out = cli(ws, "begin-search", "--max-epochs-cap", "3", check=0)
    assert out["baseline_needed"] is False and out["incumbent"]["root_run_id"] == "run_0001"
    # the user changes config.py by hand: trained as a new baseline, the search continues from it
    (ws / "config.py").write_text((NAS_SYSTEM / "config.py").read_text().replace('"dropout": 0.25', '"dropout": 0.1'))
    _, out = cli(ws, "begin-search", "--max-epochs-cap", "3", check=0)
    assert out["baseline_needed"] is True and "differs from the incumbent run_0001" in out["baseline_reason"]


def test_each_state_write_keeps_the_last_good_copy(ws):
    """record-run twice: agent_state.json.bak is the state before the second write; a corrupt state names it."""
    make_run(ws, "run_0000", val=0.5)
    make_run(ws, "run_0001", val=0.4)
    cli(ws, "record-run", "--run-id", "run_0000", "--info", "{}", check=0)
    first = (ws / "agent_state.json").read_text()
    cli(ws, "record-run", "--run-id", "run_0001", "--info", "{}", check=0)
    assert (ws / "agent_state.json.bak").read_text() == first
    assert [r["run_id"] for r in json.loads(first)["runs"]] == ["run_0000"]
    (ws / "agent_state.json").write_text("{oops")
    _, out = cli(ws, "next-run-id", check=2)
    assert "agent_state.json.bak" in out["error"] and "\n" not in out["error"]
    assert (ws / "agent_state.json.bak").read_text() == first  # a corrupt file never overwrites the good copy


def _fake_python(ws, name, body):
    """A stand-in interpreter for train.py --check (the pre-flight runs the trainings' interpreter)."""
    path = ws / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_preflight_then_begin_search_in_one_request_writes_nothing_on_a_failed_check(ws):
    ok = _fake_python(ws, "ok-python", 'echo "config ok: informer, data at $PWD"')
    bad = _fake_python(ws, "bad-python", 'echo "config error: data file x.csv does not exist; set NAS_DATA_DIR" >&2; exit 2')
    _, out = cli(ws, "preflight", "--python", ok, check=0)
    pf = out["preflight"]
    assert pf["ok"] is True and pf["env"]["missing"] == [] and "model.d_model" in pf["space"]["params"]
    assert pf["train_check"]["exit"] == 0 and pf["train_check"]["stdout"].startswith("config ok:")
    # begin-search --preflight: a failed check answers begun false and writes nothing
    _, out = cli(ws, "begin-search", "--preflight", "--python", bad, check=0)
    assert out["begun"] is False and out["preflight"]["train_check"]["exit"] == 2
    assert "x.csv does not exist" in out["preflight"]["train_check"]["stderr"]
    assert not (ws / "agent_state.json").exists()
    (ws / "broken.py").write_text((ws / "config.py").read_text())
    (ws / "config.py").write_text("model = {\n")  # config.py does not parse: named before train.py runs
    _, out = cli(ws, "begin-search", "--preflight", "--python", ok, check=0)
    assert out["begun"] is False and "config_error" in out["preflight"] and "train_check" not in out["preflight"]
    (ws / "config.py").write_text((ws / "broken.py").read_text())
    _, out = cli(ws, "begin-search", "--preflight", "--python", ok, "--reserve", "2", check=0)
    assert out["begun"] is True and out["preflight"]["ok"] is True and out["next_run_ids"] == ["run_0000", "run_0001"]
    assert out["baseline_needed"] is True and (ws / "agent_state.json").exists()


def test_suggest_renders_the_trial_configs_and_the_last_round_closes_the_search(ws):
    make_run(ws, "run_0000", val=0.5)
    make_run(ws, "run_0001", val=0.4, lr=1e-4)
    base = ws / "runs" / "run_0001" / "config_used.py"
    _, out = cli(ws, "suggest", "--count", "2", "--render-base", str(base), check=0)
    assert len(out["rendered"]) == len(out["decisions"]) == 2
    for d, r in zip(out["decisions"], out["rendered"]):
        changes = json.dumps(d["config_changes"])  # the text is what config-apply writes from the same base
        _, applied = cli(ws, "config-apply", "--base", str(base), "--config", str(ws / "t.py"), "--changes", changes, check=0)
        assert r["text"] == (ws / "t.py").read_text() and r["config_id"] == applied["config_id"] and r["diff"].startswith("--- a/")
    runs = [{"run_id": "run_0000", "info": {"accepted": True}}, {"run_id": "run_0001", "info": {"accepted": True}}]
    _, out = cli(ws, "finish-round", "--runs", json.dumps(runs), "--close", check=0)
    closing = out["closing"]  # the standing and the ensemble (these runs saved no forecasts: its error, one line)
    assert closing["standing"]["best_run_id"] == "run_0001" and "persistence_val_mse" in closing["standing"]
    assert "ensemble" not in closing and closing["ensemble_error"] and "\n" not in closing["ensemble_error"]
    _, out = cli(ws, "finish-round", "--runs", json.dumps(runs[1:]), check=0)
    assert "closing" not in out


def test_a_lost_corrupt_or_empty_state_is_the_helpers_one_line(ws):
    """The CLI relays these lines (status, report, ensemble, the pre-flight); it words none of them."""
    _, out = cli(ws, "ensemble", check=2)
    assert out["error"] == f"no runs recorded in {ws} yet; start a search with 'nas-graph run' first"
    make_run(ws, "run_0000", val=0.5)  # a run folder, no agent_state.json: the state was lost
    _, out = cli(ws, "standing", check=2)
    assert out["error"] == (f"no agent_state.json in {ws}, but runs/ holds 1 run folder: "
                            f"rebuild it from the runs with 'nas-graph rebuild --system-dir {ws}'")
    (ws / "agent_state.json").write_text("{ torn")
    _, out = cli(ws, "preflight", check=0)
    assert "space" not in out["preflight"] and "is corrupt" in out["preflight"]["state_error"]
    assert f"nas-graph rebuild --system-dir {ws}" in out["preflight"]["state_error"]


def test_a_train_check_past_its_timeout_is_stopped_and_named(ws, monkeypatch):
    from nas_agent import preflight

    slow = _fake_python(ws, "slow-python", f"echo $$ > {ws / 'pid'}; exec sleep 60")
    monkeypatch.setattr(preflight, "TRAIN_CHECK_TIMEOUT_S", 1)
    started = []
    assert preflight.train_check(ws, slow, lambda: started.append(1)) == {"exit": None, "error": "timed out after 1 s"}
    assert started == [1]  # the warm-up hook ran while the check ran
    pid = int((ws / "pid").read_text())
    with pytest.raises(ProcessLookupError):  # killed and reaped, not left running
        os.kill(pid, 0)


def test_every_parsed_command_has_one_handler_and_every_handler_a_parser():
    """The command list is COMMANDS (the TS side checks HELPER_COMMANDS against it); the parser
    knows exactly those, plus serve (the long-lived helper's loop, not a request)."""
    import argparse

    from nas_agent.cli import COMMANDS, build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS) | {"serve"}
