"""The ETT protocol: split borders, window counts, train-only scaler, timeF, batches, data files."""
import http.server
import shutil
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import FEATURES
from data import (DataError, StandardScaler, load_splits, mode_columns, read_csv, resolve_data_file,
                  split_borders, time_features)

STANDARD = {"data_path": "ETTh1.csv", "target": "OT", "features": FEATURES, "mode": "MS",
            "seq_len": 96, "label_len": 48, "pred_len": 24, "train_size": 8640, "val_size": 2880,
            "test_size": 2880, "batch_size": 32, "scale": True}


@pytest.fixture
def standard(data_dir, monkeypatch):
    monkeypatch.setenv("NAS_DATA_DIR", str(data_dir))
    return load_splits(dict(STANDARD), workspace=Path("."))


def test_standard_split_window_counts(standard):
    assert (len(standard.train), len(standard.val), len(standard.test)) == (8521, 2857, 2857)
    assert split_borders(8640, 2880, 2880, 96) == [(0, 8640), (8544, 11520), (11424, 14400)]


def test_scaler_is_fit_on_train_rows_only(standard, data_dir):
    raw, _ = read_csv(data_dir / "ETTh1.csv", mode_columns(FEATURES, "OT", "MS"))
    np.testing.assert_allclose(standard.scaler.mean, raw[:8640].mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(standard.scaler.std, raw[:8640].std(axis=0, ddof=0), rtol=1e-5)
    assert not np.allclose(standard.scaler.mean, raw[:14400].mean(axis=0), rtol=1e-3)
    train = standard.train.values.numpy()
    np.testing.assert_allclose(train.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(train.std(axis=0), 1, atol=1e-4)


def test_first_val_and_test_targets_sit_on_the_split_borders(standard, data_dir):
    raw, _ = read_csv(data_dir / "ETTh1.csv", ["OT"])
    ot = (raw[:, 0] - standard.scaler.mean[-1]) / standard.scaler.std[-1]
    first_val = standard.val.batch(torch.tensor([0])).y[0, :, 0].numpy()
    first_test = standard.test.batch(torch.tensor([0])).y[0, :, 0].numpy()
    np.testing.assert_allclose(first_val, ot[8640:8664], rtol=1e-5)
    np.testing.assert_allclose(first_test, ot[11520:11544], rtol=1e-5)


def test_batch_layout(standard):
    i = 100
    b = standard.train.batch(torch.tensor([i, i + 1]))
    rows = standard.train.values
    torch.testing.assert_close(b.x_enc[0], rows[i:i + 96])
    torch.testing.assert_close(b.x_dec[0, :48], rows[i + 48:i + 96])
    assert torch.count_nonzero(b.x_dec[0, 48:]) == 0
    torch.testing.assert_close(b.y[0], rows[i + 96:i + 120, -1:])      # MS: the target, last column
    torch.testing.assert_close(b.x_mark_dec[0], standard.train.marks[i + 48:i + 120])
    torch.testing.assert_close(b.x_enc[1], rows[i + 1:i + 97])


def test_batches_cover_every_window_once_and_shuffle_is_seeded(standard):
    ws = standard.val
    starts = [b.x_mark_enc[:, 0] for b in ws.batches(500)]
    assert sum(len(s) for s in starts) == len(ws)
    firsts = lambda seed: next(ws.batches(64, shuffle=True, generator=torch.Generator().manual_seed(seed))).x_enc
    assert torch.equal(firsts(1), firsts(1))
    assert not torch.equal(firsts(1), firsts(2))


def test_time_features_timef_hourly():
    feats = time_features(pd.DatetimeIndex(["2016-07-01 00:00:00", "2016-12-31 23:00:00"]))
    # 2016-07-01 is a Friday (weekday 4), day of year 183; 2016-12-31 a Saturday, day 366
    np.testing.assert_allclose(feats[0], [-0.5, 4 / 6 - 0.5, -0.5, 182 / 365 - 0.5], rtol=1e-6)
    np.testing.assert_allclose(feats[1], [0.5, 5 / 6 - 0.5, 30 / 30 - 0.5, 365 / 365 - 0.5], rtol=1e-6)


@pytest.mark.parametrize("mode,columns", [("S", ["OT"]), ("MS", ["HUFL", "HULL", "OT"]),
                                          ("M", ["HUFL", "HULL", "OT"])])
def test_mode_columns_put_the_target_last(mode, columns):
    assert mode_columns(["OT", "HUFL", "HULL"], "OT", mode) == columns


def test_scaler_ddof0_and_constant_columns():
    s = StandardScaler(np.array([[1.0, 5.0], [3.0, 5.0]], dtype=np.float32))
    np.testing.assert_allclose(s.std, [1.0, 1.0])
    np.testing.assert_allclose(s.transform(np.array([[3.0, 5.0]])), [[1.0, 0.0]])


def test_missing_local_file_is_a_data_error(tmp_path, monkeypatch):
    monkeypatch.delenv("NAS_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="does not exist"):
        resolve_data_file("nope.csv", tmp_path)


def test_nas_data_dir_without_the_file_names_the_folder_and_the_file(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("NAS_DATA_DIR", str(empty))
    with pytest.raises(DataError) as info:
        resolve_data_file("nope.csv", tmp_path)
    message = str(info.value)
    assert f"NAS_DATA_DIR is set to {empty}" in message
    assert str(empty / "nope.csv") in message and "\n" not in message


def test_nas_data_dir_overrides_a_url(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("NAS_DATA_DIR", str(data_dir))
    assert resolve_data_file("https://example.invalid/x/ETTh1.csv", tmp_path) == data_dir / "ETTh1.csv"


@pytest.fixture
def http_dir(tmp_path):
    """A local HTTP server over tmp_path/srv; yields (folder, base url)."""
    srv = tmp_path / "srv"
    srv.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(srv))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield srv, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_url_is_downloaded_once_and_sha256_checked(tmp_path, data_dir, http_dir, monkeypatch):
    monkeypatch.delenv("NAS_DATA_DIR", raising=False)
    srv, url = http_dir
    shutil.copy(data_dir / "ETTh1.csv", srv / "ETTh1.csv")
    ws = tmp_path / "ws"
    path = resolve_data_file(f"{url}/ETTh1.csv", ws)
    assert path == ws / "data" / "ETTh1.csv" and path.read_bytes() == (data_dir / "ETTh1.csv").read_bytes()
    (srv / "ETTh1.csv").unlink()  # a second call must not download again
    assert resolve_data_file(f"{url}/ETTh1.csv", ws) == path


def test_download_with_a_wrong_sha256_leaves_nothing(tmp_path, http_dir, monkeypatch):
    monkeypatch.delenv("NAS_DATA_DIR", raising=False)
    srv, url = http_dir
    (srv / "ETTh2.csv").write_text("date,OT\n2016-07-01 00:00:00,1.0\n")
    ws = tmp_path / "ws"
    with pytest.raises(DataError, match="sha256"):
        resolve_data_file(f"{url}/ETTh2.csv", ws)
    assert list((ws / "data").iterdir()) == []


def test_splits_larger_than_the_file_are_a_data_error(data_dir, monkeypatch):
    monkeypatch.setenv("NAS_DATA_DIR", str(data_dir))
    with pytest.raises(DataError, match="exceeds"):
        load_splits({**STANDARD, "train_size": 20000}, workspace=Path("."))


def test_unreadable_values_are_a_data_error(tmp_path):
    (tmp_path / "bad.csv").write_text("date,OT\n2016-07-01 00:00:00,abc\n")
    with pytest.raises(DataError, match="non-numeric"):
        read_csv(tmp_path / "bad.csv", ["OT"])
