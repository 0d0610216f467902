"""train.py dies with the launcher that asks for it (NAS_PARENT_PID, Linux parent-death signal)."""
import os
import subprocess
import sys
import time

import pytest

from conftest import TRAIN_PY, train_env

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_exits_at_once_when_the_parent_is_already_gone(tmp_path, tiny_config, data_dir):
    tiny_config()
    env = {**os.environ, **train_env(data_dir), "NAS_PARENT_PID": str(dead_pid())}
    started = time.time()
    res = subprocess.run([sys.executable, "-u", str(TRAIN_PY), "--config", "config.py", "--tag", "run_0001"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert time.time() - started < 10  # before torch is even imported
    assert not (tmp_path / "runs").exists()


def test_dies_when_its_parent_is_killed(tmp_path, tiny_config, data_dir):
    """A middle process starts train.py with NAS_PARENT_PID = itself, then is SIGKILLed."""
    tiny_config({"training.max_epochs": 50, "training.patience": 50})
    env = {**os.environ, **train_env(data_dir)}
    middle = subprocess.Popen(
        [sys.executable, "-c",
         "import os, subprocess, sys, time\n"
         "env = dict(os.environ, NAS_PARENT_PID=str(os.getpid()))\n"
         f"p = subprocess.Popen([sys.executable, '-u', {str(TRAIN_PY)!r}, '--config', 'config.py', '--tag', 'run_0001'], env=env)\n"
         "print(p.pid, flush=True)\n"
         "time.sleep(600)\n"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    child = int(middle.stdout.readline())
    try:
        for _ in range(600):  # until it trains (the run dir exists): the signal is set by then
            if (tmp_path / "runs" / "run_0001" / "config_used.py").exists():
                break
            time.sleep(0.1)
        middle.kill()
        middle.wait()
        for _ in range(50):
            if not _running(child):
                break
            time.sleep(0.1)
        assert not _running(child)
        assert not (tmp_path / "runs" / "run_0001" / "metrics.json").exists()
    finally:
        if _running(child):
            os.kill(child, 9)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
