"""train.py --check (the pre-flight of run/resume/demo) through its real entry point: one line, exit 0 or 2,
nothing written into the workspace, nothing downloaded."""
import os
import subprocess
import sys

import pytest

from conftest import TRAIN_PY, train_env

URL = "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/main/ETT-small/ETTh1.csv"


def check(workspace, data_dir, extra_env=None):
    env = {**os.environ, **train_env(data_dir), **(extra_env or {})}
    if env.get("NAS_DATA_DIR") == "":
        del env["NAS_DATA_DIR"]
    return subprocess.run([sys.executable, "-u", str(TRAIN_PY), "--config", "config.py", "--check"],
                          cwd=workspace, env=env, capture_output=True, text=True, timeout=120)


def test_check_ok_prints_one_line_and_writes_nothing(tiny_config, tmp_path, data_dir):
    tiny_config({"model.family": "dlinear"})
    before = sorted(p.name for p in tmp_path.iterdir())
    res = check(tmp_path, data_dir)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines() == [f"config ok: dlinear, data {data_dir / 'ETTh1.csv'}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no runs/, no data/


def test_check_names_a_url_it_would_download_without_downloading(tiny_config, tmp_path, data_dir):
    tiny_config({"data.data_path": URL})
    res = check(tmp_path, data_dir, {"NAS_DATA_DIR": ""})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"config ok: informer, will be downloaded from {URL}"
    assert not (tmp_path / "data").exists() and not (tmp_path / "runs").exists()


BAD = {
    "unknown-family": ({"model.family": "bogus"}, None, "model.family is 'bogus'"),
    "missing-file": ({"data.data_path": "no_such_file.csv"}, None, "does not exist"),
    "nas-data-dir-empty": ({"data.data_path": URL}, "empty", "is missing; put ETTh1.csv there, or unset NAS_DATA_DIR"),
    "split-too-large": ({"data.train_size": 10 ** 6}, None, "exceeds the"),
    "heads": ({"model.n_heads": 3}, None, "n_heads"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_check_fails_with_one_line_and_exit_2(name, tiny_config, tmp_path, data_dir):
    changes, data, message = BAD[name]
    tiny_config(changes)
    if data == "empty":
        data_dir = tmp_path / "empty"
        data_dir.mkdir()
    res = check(tmp_path, data_dir)
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("config error: ") and message in lines[0], res.stderr
    assert res.stdout == ""
    assert not (tmp_path / "runs").exists() and not (tmp_path / "data").exists()
