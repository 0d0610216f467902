"""A config's identity by value: two files that set the same literals are the same config.

config_id(path) = the first 12 hex digits of sha256 over the canonical JSON (sorted keys) of
every module-level literal assignment of the file, dotted class references read as their
dotted names (as nas_agent.config_edit reads them), the top-level ``seed`` excluded: seed
repeats of one config share its id, while comments and layout never change it.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .config_edit import NotLiteral, node_value, parse_config


def config_values(path: str | Path, source: bytes | None = None) -> dict:
    """Every module-level literal assignment but ``seed``; names bound to non-literals are skipped."""
    cfg = parse_config(path, source)
    out = {}
    for name, node in cfg.roots.items():
        if name == "seed":
            continue
        try:
            out[name] = node_value(node)
        except NotLiteral:
            continue
    return out


def config_id(path: str | Path, source: bytes | None = None) -> str:
    """The id of a config file (or of ``source``, the bytes it would hold)."""
    text = json.dumps(config_values(path, source), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
