"""ETT data for train.py: locate the file, split it, scale it, and batch windows.

The standard ETT protocol (see docs / informer.md):
- splits in rows: train [0, T); val [T - seq_len, T + V); test [T + V - seq_len, T + V + S)
  so that the first forecast target of val/test sits exactly on the split border;
- a standard scaler fitted on the train rows only (population std, ddof 0);
- "timeF" hourly time features: hour/23, weekday/6, (day-1)/30, (dayofyear-1)/365, each - 0.5;
- modes M (all in, all out), S (target in, target out), MS (all in, target out).

Batching is vectorized: the whole split is one scaled tensor, and a batch of windows is
one gather with an index tensor (no per-sample Python).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

# torch is imported where windows are built (WindowSet), not here: the helper reads a task's rows
# through this file for the naive baselines and the ensemble (numpy and pandas only), and a torch
# import there cost seconds once per search.

KNOWN_SHA256 = {
    "ETTh1.csv": "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
    "ETTh2.csv": "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b",
}


class DataError(Exception):
    """A data problem the user must fix; the message is one line: cause; fix."""


# ----------------------------------------------------------------------------- locate


def is_url(path: str) -> bool:
    return urlparse(str(path)).scheme in ("http", "https")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path) -> None:
    """Download url to dest: temp file in the same folder, sha256 check, then rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        try:
            urllib.request.urlretrieve(url, tmp)
        except Exception as exc:  # network errors come in many types
            raise DataError(f"cannot download {url} ({exc}); check the network, or set "
                            f"data.data_path to a local file or NAS_DATA_DIR to a folder holding {dest.name}"
                            + _data_dir_note(dest.name))
        expected = KNOWN_SHA256.get(dest.name)
        if expected is not None and sha256_of(Path(tmp)) != expected:
            raise DataError(f"downloaded {dest.name} has the wrong sha256; check the URL in data.data_path")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def resolve_data_file(data_path: str, workspace: Path, fetch: bool = True) -> Path | None:
    """Return a local file for data_path.

    NAS_DATA_DIR/<file name> wins when it exists. A URL is downloaded once into
    <workspace>/data/ (with fetch=False: None, nothing downloaded). A relative local
    path is taken relative to the workspace.
    """
    name = Path(urlparse(str(data_path)).path).name if is_url(data_path) else Path(data_path).name
    override = os.environ.get("NAS_DATA_DIR")
    if override and (Path(override) / name).is_file():
        return Path(override) / name
    if is_url(data_path):
        dest = Path(workspace) / "data" / name
        if not dest.is_file():
            if not fetch:
                return None
            download(str(data_path), dest)
        return dest
    path = Path(data_path)
    if not path.is_absolute():
        path = Path(workspace) / path
    if not path.is_file():
        raise DataError(f"data file {path} does not exist; set data.data_path to an existing CSV "
                        f"(or set NAS_DATA_DIR to a folder holding {name})" + _data_dir_note(name))
    return path


def _data_dir_note(name: str) -> str:
    """When NAS_DATA_DIR is set, say to what and that it lacks name ('' when unset)."""
    override = os.environ.get("NAS_DATA_DIR")
    if not override:
        return ""
    return f"; NAS_DATA_DIR is set to {override} but {Path(override) / name} is missing"


# ----------------------------------------------------------------------------- load


def time_features(dates: pd.DatetimeIndex) -> np.ndarray:
    """timeF features for hourly data, each in [-0.5, 0.5]: [N, 4]."""
    return np.stack([
        dates.hour / 23.0 - 0.5,
        dates.dayofweek / 6.0 - 0.5,
        (dates.day - 1) / 30.0 - 0.5,
        (dates.dayofyear - 1) / 365.0 - 0.5,
    ], axis=1).astype(np.float32)


def read_csv(path: Path, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read the 'date' column and the given value columns: values [N, C], marks [N, 4]."""
    try:
        frame = pd.read_csv(path)
    except Exception as exc:
        raise DataError(f"cannot read {path} as CSV ({exc}); point data.data_path to an ETT-style CSV")
    missing = [c for c in ["date", *columns] if c not in frame.columns]
    if missing:
        raise DataError(f"{path.name} has no column(s) {missing}; use columns among {list(frame.columns)}")
    try:
        dates = pd.DatetimeIndex(pd.to_datetime(frame["date"]))
        values = frame[columns].to_numpy(np.float32)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path.name} has unreadable dates or non-numeric values ({exc}); fix the CSV")
    return values, time_features(dates)


def mode_columns(features: list[str], target: str, mode: str) -> list[str]:
    """Columns the model reads, target last. S: the target only; M/MS: all features."""
    if mode == "S":
        return [target]
    return [c for c in features if c != target] + [target]


# ----------------------------------------------------------------------------- scale


class StandardScaler:
    """Per-column mean/std fitted on the train rows only (ddof 0)."""

    def __init__(self, values: np.ndarray):
        self.mean = values.mean(axis=0)
        self.std = values.std(axis=0)  # population std (ddof 0)
        self.std[self.std == 0] = 1.0

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std


# ----------------------------------------------------------------------------- windows


@dataclass
class Batch:
    x_enc: torch.Tensor       # [B, seq_len, C_in]
    x_mark_enc: torch.Tensor  # [B, seq_len, 4]
    x_dec: torch.Tensor       # [B, label_len + pred_len, C_in] (pred part zeros)
    x_mark_dec: torch.Tensor  # [B, label_len + pred_len, 4]
    y: torch.Tensor           # [B, pred_len, C_out] the forecast target


class WindowSet:
    """All sliding windows of one split, batched by index gathers.

    Window i: x = rows [i, i+seq_len); y = rows [i+seq_len-label_len, i+seq_len+pred_len).
    """

    def __init__(self, values: np.ndarray, marks: np.ndarray, seq_len: int, label_len: int,
                 pred_len: int, n_out: int):
        import torch

        self.values = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))  # [N, C]
        self.marks = torch.from_numpy(np.ascontiguousarray(marks, dtype=np.float32))    # [N, 4]
        self.seq_len, self.label_len, self.pred_len = seq_len, label_len, pred_len
        self.n_out = n_out  # the last n_out columns are the forecast target
        self.offsets = torch.arange(seq_len + pred_len)  # [W]

    def to(self, device) -> "WindowSet":
        """Move the split's tensors once, so batches are gathered on the device."""
        self.values, self.marks = self.values.to(device), self.marks.to(device)
        self.offsets = self.offsets.to(device)
        return self

    def __len__(self) -> int:
        return max(0, self.values.shape[0] - self.seq_len - self.pred_len + 1)

    def batch(self, starts: torch.Tensor) -> Batch:
        """Gather the windows starting at `starts` [B] in one indexing op."""
        import torch

        rows = starts[:, None] + self.offsets[None, :]        # [B, W], W = seq_len + pred_len
        window, marks = self.values[rows], self.marks[rows]    # [B, W, C], [B, W, 4]
        s, l, p = self.seq_len, self.label_len, self.pred_len
        x_dec = torch.zeros(len(starts), l + p, window.shape[-1], device=window.device)
        x_dec[:, :l] = window[:, s - l:s]
        return Batch(window[:, :s], marks[:, :s], x_dec, marks[:, s - l:],
                     window[:, s:, -self.n_out:])

    def batches(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None):
        """Yield Batch objects covering every window once (last batch may be smaller)."""
        import torch

        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
        order = order.to(self.values.device)
        for i in range(0, n, batch_size):
            yield self.batch(order[i:i + batch_size])

    def n_batches(self, batch_size: int) -> int:
        return -(-len(self) // batch_size)


@dataclass
class Splits:
    train: WindowSet
    val: WindowSet
    test: WindowSet
    scaler: StandardScaler | None
    columns: list[str]   # model input columns, target last
    n_in: int
    n_out: int


def split_borders(train_size: int, val_size: int, test_size: int, seq_len: int) -> list[tuple[int, int]]:
    """Row ranges [start, end) of train, val, test, with the seq_len overlap."""
    t, v = train_size, train_size + val_size
    return [(0, t), (t - seq_len, v), (v - seq_len, v + test_size)]


def build_splits(values: np.ndarray, marks: np.ndarray, data_cfg: dict, n_out: int) -> Splits:
    """Scale (fit on train rows only) and cut the three window sets."""
    seq_len, label_len, pred_len = data_cfg["seq_len"], data_cfg["label_len"], data_cfg["pred_len"]
    sizes = data_cfg["train_size"], data_cfg["val_size"], data_cfg["test_size"]
    if sum(sizes) > len(values):
        raise DataError(f"train_size + val_size + test_size = {sum(sizes)} exceeds the {len(values)} rows "
                        f"of the data file; lower the split sizes")
    scaler = StandardScaler(values[:sizes[0]]) if data_cfg.get("scale", True) else None
    scaled = scaler.transform(values) if scaler is not None else values
    sets = [WindowSet(scaled[a:b], marks[a:b], seq_len, label_len, pred_len, n_out)
            for a, b in split_borders(*sizes, seq_len)]
    for name, ws in zip(("train", "val", "test"), sets):
        if len(ws) == 0:
            raise DataError(f"the {name} split has no window of seq_len {seq_len} + pred_len {pred_len}; "
                            f"raise data.{name}_size or shorten the sequences")
    return Splits(*sets, scaler=scaler, columns=[], n_in=values.shape[1], n_out=n_out)


def check_data(data_cfg: dict, workspace: Path) -> str:
    """train.py --check: the data is reachable and splits as configured, with no download.
    Returns where it comes from (one phrase); raises DataError as load_splits would."""
    path = resolve_data_file(data_cfg["data_path"], workspace, fetch=False)
    if path is None:
        # NAS_DATA_DIR set means "use this copy": a download in its place would be a silent fallback
        name = Path(urlparse(str(data_cfg["data_path"])).path).name
        if os.environ.get("NAS_DATA_DIR"):
            raise DataError(f"NAS_DATA_DIR is set to {os.environ['NAS_DATA_DIR']} but {Path(os.environ['NAS_DATA_DIR']) / name} "
                            f"is missing; put {name} there, or unset NAS_DATA_DIR to download it from {data_cfg['data_path']}")
        return f"will be downloaded from {data_cfg['data_path']}"
    load_splits(data_cfg, workspace)
    return f"data {path}"


def load_splits(data_cfg: dict, workspace: Path) -> Splits:
    """Locate, read, scale and split the data described by config['data']."""
    path = resolve_data_file(data_cfg["data_path"], workspace)
    mode = data_cfg.get("mode", "MS")
    columns = mode_columns(list(data_cfg["features"]), data_cfg["target"], mode)
    values, marks = read_csv(path, columns)
    n_out = len(columns) if mode == "M" else 1
    splits = build_splits(values, marks, data_cfg, n_out)
    splits.columns = columns
    return splits
