"""Structured training progress: one JSON object per line on a channel apart from the human log.

``train.py --progress PATH`` writes events to PATH (a file, e.g. on a Slurm job's shared
filesystem, or ``/dev/fd/3``, a pipe from the local launcher). Every event has ``event``,
``run`` (the tag) and ``t`` (unix seconds):

- ``start``: ``max_epochs``, ``batches`` (per epoch), ``n_params``, ``device``, ``seed``
- ``batch``: ``epoch``, ``batch``, ``batches`` (every few batches; counts only, no loss, so
  nothing forces a host sync on CUDA)
- ``epoch``: ``epoch``, ``max_epochs``, ``train_mse``, ``val_mse``, ``best_val_mse``,
  ``best_epoch``, ``seconds``, ``lr``
- ``end``: ``status`` (ok | diverged | interrupted | crashed), and ``val_mse``, ``best_epoch``,
  ``epochs_run`` when ok, ``reason`` otherwise

Test metrics are never sent here. A channel that breaks mid-run (the reader went away) is
closed with one notice on stderr; the training itself goes on.
"""
from __future__ import annotations

import json
import math
import os
import re
import sys
import time

# batch events per epoch (at most): enough for a smooth bar, few enough to cost nothing
BATCH_EVENTS_PER_EPOCH = 20


class ProgressError(ValueError):
    """The --progress path cannot be opened."""


class Progress:
    """Writer of progress events; a no-op when ``path`` is None."""

    def __init__(self, path: str | None, run: str):
        self.run = run
        self.every = 1
        self._fh = None
        if path:
            try:
                # /dev/fd/N is used as the inherited descriptor itself: Node's stdio "pipes" are
                # socket pairs, which cannot be reopened through /dev/fd (ENXIO)
                fd = re.fullmatch(r"/dev/fd/(\d+)", path)
                if fd:
                    self._fh = os.fdopen(int(fd.group(1)), "w", buffering=1, encoding="utf-8")
                else:
                    self._fh = open(path, "a", buffering=1, encoding="utf-8")
            except OSError as exc:
                raise ProgressError(f"cannot open --progress {path} ({exc.strerror or exc})") from None

    def set_batches(self, batches: int) -> None:
        self.every = max(1, math.ceil(batches / BATCH_EVENTS_PER_EPOCH))

    def emit(self, event: str, **fields) -> None:
        if self._fh is None:
            return
        obj = {"event": event, "run": self.run, "t": round(time.time(), 3), **fields}
        obj = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in obj.items()}
        try:
            self._fh.write(json.dumps(obj, allow_nan=False) + "\n")
        except BrokenPipeError:
            self.close()  # the reader went away (the launcher died): nobody is left to tell
        except (OSError, ValueError) as exc:
            print(f"progress channel closed ({exc}); training goes on", file=sys.stderr, flush=True)
            self.close()

    def batch(self, epoch: int, batch: int, batches: int) -> None:
        """Every ``self.every`` batches, and the last one of an epoch."""
        if self._fh is not None and (batch % self.every == 0 or batch == batches):
            self.emit("batch", epoch=epoch, batch=batch, batches=batches)

    def close(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass
