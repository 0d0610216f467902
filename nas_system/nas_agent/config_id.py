"""The identity of a config by value: ``config_id(path)`` (stdlib only, nothing is imported).

Two config files have the same id when every module-level literal assignment has the same
value, whatever their layout, comments, quotes or number spelling (``1e-3`` == ``0.001``).
The top-level ``seed`` is left out, so seed repeats of one config share an id.

The id is the first 12 hex characters of the sha256 of the canonical JSON (sorted keys,
compact separators) of ``{name: value}`` over the module-level assignments whose value is a
literal; dotted class references read as their dotted name (``optim.AdamW``), exactly as
``nas_agent.config_read.node_value`` reads them. Assignments that are not literals (calls,
names, expressions) are left out. Keep this definition stable: ids are stored in
agent_state.json and compared across versions.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .config_read import NotLiteral, node_value, parse_config

EXCLUDED = ("seed",)


def config_values(path: str | Path, source: bytes | None = None) -> dict[str, Any]:
    """``{name: value}`` of the module-level literal assignments, minus the seed."""
    cfg = parse_config(path, source)
    out: dict[str, Any] = {}
    for name, node in cfg.roots.items():
        if name in EXCLUDED:
            continue
        try:
            out[name] = node_value(node)
        except NotLiteral:
            continue
    return out


def _canonical(value: Any) -> Any:
    """JSON-ready form: tuples as lists, non-string dict keys and non-JSON scalars as tagged text."""
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else f"{type(k).__name__}:{k!r}"): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (set, frozenset)):  # sorted: set order varies with hash randomization
        return f"{type(value).__name__}:{sorted(repr(v) for v in value)!r}"
    return f"{type(value).__name__}:{value!r}"  # bytes, sets, complex: rare in a config


def config_id(path: str | Path, source: bytes | None = None) -> str:
    """First 12 hex chars of sha256(canonical JSON of the config's literal values minus seed);
    of ``source`` (the bytes the file would hold) when given."""
    text = json.dumps(_canonical(config_values(path, source)), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
