"""`python -m nas_agent serve`: the one-shot commands as a long-lived helper (JSON lines over stdio)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NAS_SYSTEM = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(NAS_SYSTEM)}


@pytest.fixture()
def ws(tmp_path):
    shutil.copy(NAS_SYSTEM / "config.py", tmp_path / "config.py")
    return tmp_path


def one_shot(ws, *args):
    proc = subprocess.run([sys.executable, "-m", "nas_agent", "--system-dir", str(ws), *args],
                          capture_output=True, text=True, env=ENV, timeout=60)
    return proc.returncode, json.loads(proc.stdout)


def serve(lines):
    proc = subprocess.run([sys.executable, "-m", "nas_agent", "serve"], input="".join(lines),
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def req(rid, *argv):
    return json.dumps({"id": rid, "argv": list(argv)}) + "\n"


def test_answers_in_order_as_the_one_shot_cli_does(ws):
    d = str(ws)
    changes = json.dumps([{"key": "training.optimizer_params.lr", "value": 0.001}])
    answers, _ = serve([
        req(1, "--system-dir", d, "next-run-id"),
        req(2, "--system-dir", d, "config-get"),
        req(3, "--system-dir", d, "config-apply", "--changes", changes, "--dry-run"),
        req(4, "--system-dir", d, "config-apply", "--changes", json.dumps([{"key": "nope", "value": 1}])),
        req(5, "--system-dir", d, "set-accept", "--run-id", "run_0009", "--accept"),
        req(6, "--system-dir", d, "config-get"),
    ])
    assert [a["id"] for a in answers] == [1, 2, 3, 4, 5, 6]
    assert answers[0] == {"id": 1, "exit": 0, "result": {"ok": True, "run_id": "run_0000", "run_ids": ["run_0000"]}}
    assert (answers[1]["exit"], answers[1]["result"]) == one_shot(ws, "config-get")
    assert answers[2]["exit"] == 0 and answers[2]["result"]["changed"][0]["new"] == 0.001
    assert answers[3]["exit"] == 2 and answers[3]["result"]["ok"] is False
    assert (answers[3]["exit"], answers[3]["result"]) == one_shot(ws, "config-apply", "--changes", json.dumps([{"key": "nope", "value": 1}]))
    assert answers[4]["exit"] == 2 and "unknown run id run_0009" in answers[4]["result"]["error"]
    assert answers[5] == answers[1] | {"id": 6}


def test_reads_files_afresh_on_every_request(ws):
    """A long-lived helper must not cache the workspace: a run dir made between two requests counts."""
    proc = subprocess.Popen([sys.executable, "-m", "nas_agent", "serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        proc.stdin.write(req(1, "--system-dir", str(ws), "next-run-id"))
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["result"]["run_id"] == "run_0000"
        (ws / "runs" / "run_0004").mkdir(parents=True)
        proc.stdin.write(req(2, "--system-dir", str(ws), "next-run-id"))
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline()) == {"id": 2, "exit": 0, "result": {"ok": True, "run_id": "run_0005", "run_ids": ["run_0005"]}}
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0  # EOF ends it


def test_bad_lines_get_an_error_answer_and_stdout_stays_json(ws):
    answers, stderr = serve([
        "not json\n",
        json.dumps({"id": 7, "argv": "next-run-id"}) + "\n",
        "\n",
        req(8, "--help"),  # argparse prints help: it must go to stderr, not into the answers
        req(9, "serve"),
        req(10, "--system-dir", str(ws), "next-run-id"),
    ])
    assert [a["id"] for a in answers] == [None, 7, 8, 9, 10]
    assert answers[0]["exit"] == 2 and answers[0]["result"]["error"].startswith("bad request line")
    assert answers[1]["exit"] == 2 and "argv must be a list of strings" in answers[1]["result"]["error"]
    assert answers[2] == {"id": 8, "exit": 0, "result": {}}
    assert "usage: python -m nas_agent" in stderr
    assert answers[3]["exit"] == 2 and "serve takes no request" in answers[3]["result"]["error"]
    assert answers[4]["result"]["run_id"] == "run_0000"


WARM_UP_PROBE = r"""
import io, json, sys, threading
from nas_agent import cli
ws, ok = sys.argv[1], sys.argv[2]
before = [m for m in ("optuna", "torch") if m in sys.modules]
pf = ["--system-dir", ws, "preflight", "--python", ok]
code, _ = cli.execute(pf)  # a one-shot command never warms up
one_shot = [t.name for t in threading.enumerate() if t.name == "nas-agent-warm-up"]
from nas_agent import warm_up
cli.serve(io.StringIO(json.dumps({"id": 0, "argv": pf[:2] + ["--space", "missing.json"] + pf[2:]}) + "\n"), io.StringIO())
early = sorted(warm_up._started)  # a pre-flight that fails before train.py --check does not warm up
answers = io.StringIO()
cli.serve(io.StringIO(json.dumps({"id": 1, "argv": pf}) + "\n"), answers)
for t in threading.enumerate():
    if t.name == "nas-agent-warm-up":
        t.join()
sys.__stdout__.write(json.dumps({"before": before, "one_shot": [code, one_shot], "early": early, "answer": json.loads(answers.getvalue()),
                                 "after": [m for m in ("optuna", "torch") if m in sys.modules]}))
"""


def test_a_searchs_preflight_warms_the_long_lived_helper_up_and_writes_nothing(ws):
    """While the pre-flight's train.py --check runs, serve imports what a search's first rounds need
    (warm_up.py): optuna always; numpy and pandas (data.py, the naive baselines) only when config.py's
    task has none on file. A one-shot command, or a pre-flight failing before the check, does not; nothing is written."""
    from argparse import Namespace

    from nas_agent import baselines, warm_up
    from nas_agent.workspace import Workspace

    def workspace(d):
        return Workspace(Namespace(system_dir=str(d), space=None))

    assert warm_up.modules(workspace(ws))[:2] == ["numpy", "pandas"]  # no baselines on file yet (data.py: no torch)
    state = {"runs": [], "baselines": {baselines.key_of(ws / "config.py"): {"period": 24}}}
    (ws / "agent_state.json").write_text(json.dumps(state))
    assert "pandas" not in warm_up.modules(workspace(ws)) and "optuna" in warm_up.modules(workspace(ws))
    ok = ws / "ok-python"
    ok.write_text('#!/bin/sh\necho "config ok: informer, data at $PWD"\n')
    ok.chmod(0o755)
    files = sorted(p.name for p in ws.iterdir())
    proc = subprocess.run([sys.executable, "-c", WARM_UP_PROBE, str(ws), str(ok)], capture_output=True, text=True,
                          env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["before"] == [] and got["one_shot"] == [0, []] and got["early"] == []
    assert got["answer"]["exit"] == 0 and got["answer"]["result"]["preflight"]["ok"] is True
    assert got["after"] == ["optuna"]  # warmed up; never torch (the helper trains nothing)
    assert sorted(p.name for p in ws.iterdir()) == files and json.loads((ws / "agent_state.json").read_text()) == state
