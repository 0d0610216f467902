"""Read a config file's AST (stdlib only, never imported or executed): the parsed file with the
byte offsets of its nodes, and the literal value of a node. config_id.py (a config's identity)
and config_edit.py (reading search keys and writing changes) both build on it.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigEditError(ValueError):
    """Changes refused or config unreadable; ``errors`` lists every problem."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = errors or [message]


class NotLiteral(Exception):
    """A config node that is neither a literal nor a dotted class reference."""


@dataclass
class ParsedConfig:
    """A parsed config file with byte offsets for its nodes."""

    path: str
    source: bytes
    tree: ast.Module
    roots: dict[str, ast.expr]
    aliases: dict[str, str]        # module-level import name -> what it names, e.g. optim -> torch.optim
    line_starts: list[int]
    quote: str = '"'

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.line_starts[node.lineno - 1] + node.col_offset
        end = self.line_starts[node.end_lineno - 1] + node.end_col_offset
        return start, end


_parsed: dict[tuple[str, bytes], ParsedConfig] = {}
_PARSED_KEPT = 16


def parse_config(path: str | Path, source: bytes | None = None) -> ParsedConfig:
    """Parse a config file (or given bytes); SyntaxError becomes a one-line ConfigEditError.

    The file is read on every call; the parse of the same path and bytes is reused (the long-lived
    helper records a run by reading its config_used.py five ways; nothing changes a ParsedConfig)."""
    path = str(path)
    if source is None:
        try:
            source = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigEditError(f"cannot read config {path}: {exc.strerror}") from None
    key = (path, bytes(source))
    if key in _parsed:
        return _parsed[key]
    cfg = _parse(path, key[1])
    if len(_parsed) >= _PARSED_KEPT:
        _parsed.pop(next(iter(_parsed)))
    _parsed[key] = cfg
    return cfg


def _parse(path: str, source: bytes) -> ParsedConfig:
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        raise ConfigEditError(
            f"config {path} is not valid Python (line {line}: {getattr(exc, 'msg', exc)}): fix it or restore a snapshot"
        ) from None
    roots: dict[str, ast.expr] = {}
    aliases: dict[str, str] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            roots[stmt.targets[0].id] = stmt.value
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
            roots[stmt.target.id] = stmt.value
        elif isinstance(stmt, ast.Import):
            for a in stmt.names:  # `import torch.optim` binds torch; `import torch.optim as o` binds o
                top = a.name.split(".")[0]
                aliases[a.asname or top] = a.name if a.asname else top
        elif isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
            aliases.update({(a.asname or a.name): f"{stmt.module}.{a.name}" for a in stmt.names if a.name != "*"})
    starts, pos = [], 0
    for line in source.splitlines(keepends=True):
        starts.append(pos)
        pos += len(line)
    starts.append(pos)
    cfg = ParsedConfig(path, source, tree, roots, aliases, starts)
    cfg.quote = _dominant_quote(cfg)
    return cfg


def _dominant_quote(cfg: ParsedConfig) -> str:
    """The quote character most string literals of the file use (double when tied)."""
    counts = {'"': 0, "'": 0}
    for node in ast.walk(cfg.tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and hasattr(node, "end_lineno"):
            start, _ = cfg.span(node)
            ch = chr(cfg.source[start]) if start < len(cfg.source) else ""
            if ch in counts:
                counts[ch] += 1
    return "'" if counts["'"] > counts['"'] else '"'


def _dotted(node: ast.AST) -> str | None:
    """``optim.lr_scheduler.StepLR`` for an attribute chain rooted at a Name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and parts:
        return ".".join([node.id, *reversed(parts)])
    return None


def node_value(node: ast.AST) -> Any:
    """Literal value of a node; dotted class references read as their dotted name."""
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise NotLiteral("dict with ** unpacking")
        return {node_value(k): node_value(v) for k, v in zip(node.keys, node.values)}
    dotted = _dotted(node)
    if dotted is not None:
        return dotted
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise NotLiteral(ast.unparse(node)[:60]) from None
