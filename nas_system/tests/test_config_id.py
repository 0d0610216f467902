"""config_id (identity of a config by value, minus the seed) and the pre-flight's package check, through `python -m nas_agent`."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_cli import NAS_SYSTEM, cli

REQUIREMENTS = NAS_SYSTEM / "requirements.txt"


@pytest.fixture()
def ws(tmp_path):
    (tmp_path / "config.py").write_text((NAS_SYSTEM / "config.py").read_text())
    return tmp_path


def cid(ws, path=None):
    args = ["config-id"] + (["--config", str(path)] if path else [])
    _, out = cli(ws, *args, check=0)
    return out["config_id"]


def test_id_is_12_hex_and_stable(ws):
    a = cid(ws)
    assert len(a) == 12 and int(a, 16) >= 0
    assert cid(ws) == a
    from nas_agent.config_id import config_id  # the same function the CLI calls
    assert config_id(ws / "config.py") == a


def test_compares_values_not_bytes(ws):
    base = cid(ws)
    text = (ws / "config.py").read_text()
    other = ws / "other.py"
    # layout, comments, quotes and number spelling do not change the id
    other.write_text(text.replace('"lr": 5e-05', '"lr": 0.00005').replace('"target": "OT"', "'target':   'OT'")
                     .replace("seed = 42", "# a comment\nseed = 42"))
    assert cid(ws, other) == base
    # the seed is left out: seed repeats of one config share the id
    other.write_text(text.replace("seed = 42", "seed = 7"))
    assert cid(ws, other) == base
    # any value change changes it, class references included
    for old, new in [('"lr": 5e-05', '"lr": 0.001'), ('"pred_len": 96', '"pred_len": 48'),
                     ("optim.AdamW", "optim.Adam"), ('"scale": True', '"scale": 1'), ('"distil": True', '"distil": False')]:
        assert old in text
        other.write_text(text.replace(old, new))
        assert cid(ws, other) != base, new
    # a new module-level literal counts; a non-literal assignment does not
    other.write_text(text + "\nextra = {'a': [1, 2]}\n")
    assert cid(ws, other) != base
    other.write_text(text + "\nderived = len(data)\n")
    assert cid(ws, other) == base


def test_unparsable_config_is_a_user_error(ws):
    (ws / "bad.py").write_text("data = {\n")
    code, out = cli(ws, "config-id", "--config", str(ws / "bad.py"))
    assert code == 2 and "is not valid Python" in out["error"]


def test_check_env_lists_the_requirements(ws):
    _, out = cli(ws, "preflight", check=0)
    out = out["preflight"]["env"]
    assert out["missing"] == []
    assert out["python"] == sys.executable
    names = {line.split("#")[0].split(">=")[0].split("==")[0].strip() for line in REQUIREMENTS.read_text().splitlines()
             if line.strip() and not line.startswith("#")}
    assert set(out["required"]) == names - {"pytest", "pytest-xdist", "hypothesis"}  # the tests' own


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """A venv with no packages at all: what a new user's system python looks like."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    return venv / "bin" / "python"


def bare_cli(python, ws, *args):
    env = {**os.environ, "PYTHONPATH": str(NAS_SYSTEM), "PYTHONNOUSERSITE": "1"}
    proc = subprocess.run([str(python), "-m", "nas_agent", "--system-dir", str(ws), *args],
                          capture_output=True, text=True, env=env, cwd=ws, timeout=60)
    return proc.returncode, json.loads(proc.stdout)


def test_missing_packages_are_an_environment_error(bare_python, ws):
    code, out = bare_cli(bare_python, ws, "preflight")
    assert code == 0 and out["preflight"]["env"]["missing"] == ["torch", "numpy", "pandas", "matplotlib", "optuna"]
    assert out["preflight"]["ok"] is False and "space" not in out["preflight"]  # nothing after a missing package
    # suggest imports optuna: before, "internal error ...; please report it" (exit 1)
    code, out = bare_cli(bare_python, ws, "suggest")
    assert code == 2, out
    missing = out["error"].split("lacks the package ")[1].split(" ")[0]
    assert missing in ("'numpy'", "'optuna'")  # the first one suggest imports
    assert out["error"] == (f"the Python at {bare_python} lacks the package {missing} that nas_system needs: "
                            "run 'bash scripts/setup.sh' or set NAS_PYTHON to a Python with nas_system/requirements.txt")
