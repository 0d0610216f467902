"""``python -m nas_agent serve``: the long-lived helper's request loop (one JSON line in, one out)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from . import agent_state as st
from . import warm_up
from .helper_errors import one_line


def serve(requests, answers, execute) -> int:
    """Answer ``{"id", "argv"}`` lines with ``{"id", "exit", "result"}`` lines, in order, until EOF;
    ``execute(argv) -> (exit code, answer)`` runs one command (cli.execute).

    Modules stay imported between requests (optuna once per search, not once per call); every
    command still reads its files afresh. A stray print goes to stderr, never into the answers.
    Ctrl-C belongs to the parent (which ends this helper by closing stdin)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up.enabled = True  # a search's pre-flight starts importing what its first rounds need
    sys.stdout = sys.stderr
    for line in requests:
        if not line.strip():
            continue
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id") if isinstance(req, dict) else None
            argv = req.get("argv") if isinstance(req, dict) else None
            if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
                raise ValueError("argv must be a list of strings")
        except ValueError as exc:
            code, obj = 2, {"ok": False, "error": one_line(f"bad request line ({exc}): send {{\"id\": n, \"argv\": [...]}}")}
        else:
            _test_kill_point(argv)
            code, obj = execute(argv)
        answers.write(json.dumps({"id": rid, "exit": code, "result": st.json_safe(obj or {})}, allow_nan=False) + "\n")
        answers.flush()
    return 0


_served: dict[str, int] = {}


def _test_kill_point(argv: list[str]) -> None:
    """The fault suite's helper crash: NAS_TEST_KILL_HELPER_AT=<command>:<n> makes this helper
    SIGKILL itself on its n-th request of that command, once per file named by
    NAS_TEST_KILL_HELPER_ONCE (created first). Nothing happens when they are unset."""
    spec, once = os.environ.get("NAS_TEST_KILL_HELPER_AT"), os.environ.get("NAS_TEST_KILL_HELPER_ONCE")
    if not spec or not once:
        return
    command, _, n = spec.partition(":")
    if command not in argv:
        return
    _served[command] = _served.get(command, 0) + 1
    if _served[command] == int(n or 1) and not os.path.exists(once):
        Path(once).touch()
        os.kill(os.getpid(), 9)
