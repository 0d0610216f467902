"""Read and change config.py through its AST, never by importing or executing it (stdlib only).

Keys are dotted paths into module-level assignments (``training.optimizer_params.lr``,
``model.d_model``, ``seed``). A change replaces exactly the source bytes of the value node,
so comments and layout elsewhere are kept byte for byte. Only search-space keys and
literal values are accepted; class keys are written as attribute references from the
allow-list (``optim.AdamW``). On any error nothing is written.

Class keys are read and written in the config's own spelling: the search space names classes
as after ``from torch import nn, optim`` (``optim.AdamW``), and a config that writes
``torch.optim.AdamW`` under ``import torch``, or imports ``torch.optim as optim``, or
``from torch.optim import AdamW``, reads as the same choice and is written back its own way.

Conditional keys (``when``) are refused unless the resulting model.family lets them apply; a
change of model.family also writes that family's ``family_defaults`` and its training recipe
(``recipes``: optimizer, lr, scheduler, batch size, patience from the family's paper), except
the keys the same batch sets.
"""
from __future__ import annotations

import ast
import difflib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from .agent_state import atomic_write_text
from .config_read import ConfigEditError, NotLiteral, ParsedConfig, _dotted, node_value, parse_config
from .config_id import config_id
from .search_space import (FAMILY_KEY, IMPLICIT, SearchSpace, check_constraints, check_value,
                           normalize_value)

LEGACY_LENGTHS = ("seq_len", "label_len", "pred_len")
# How the search space spells class modules (its choices read as after `from torch import nn, optim`).
SPACE_ALIASES = {"torch": "torch", "optim": "torch.optim", "nn": "torch.nn"}
_REF_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class ConfigValues(NamedTuple):
    values: dict[str, Any]          # every search key present in the file (inactive ones too)
    missing: list[str]              # keys that apply to this config but are absent
    unreadable: dict[str, str]
    inactive: list[str] = []        # keys that do not apply to this config's model.family


def _expand(name: str, aliases: dict[str, str]) -> str:
    """The full dotted path of ``name`` under these import aliases (optim.AdamW -> torch.optim.AdamW)."""
    head, dot, rest = name.partition(".")
    return aliases[head] + dot + rest if head in aliases else name


def _spelling(full: str, aliases: dict[str, str]) -> str | None:
    """The shortest way to name ``full`` through these aliases, or None when none reaches it."""
    names = [alias + full[len(target):] for alias, target in aliases.items()
             if full == target or full.startswith(target + ".")]
    return min(names, key=lambda n: (len(n), n)) if names else None


def class_value(cfg: ParsedConfig, node: ast.AST, choices: tuple | None = None) -> Any:
    """A class reference of the config in the search space's spelling: the choice naming the
    same class (``torch.optim.AdamW`` under ``import torch`` reads as ``optim.AdamW``), else the
    space-style name; literals (None) read as themselves."""
    name = _dotted(node) or (node.id if isinstance(node, ast.Name) else None)
    if name is None:
        return node_value(node)
    full = _expand(name, cfg.aliases)
    for choice in choices or ():
        if isinstance(choice, str) and _expand(choice, SPACE_ALIASES) == full:
            return choice
    return _spelling(full, SPACE_ALIASES) or name


def config_spelling(cfg: ParsedConfig, space_name: str) -> str | None:
    """How this config names a class of the search space (None when it imports nothing that reaches it)."""
    return _spelling(_expand(space_name, SPACE_ALIASES), cfg.aliases)


def _read(cfg: ParsedConfig, key: str, node: ast.AST, space: SearchSpace) -> Any:
    spec = space.params.get(key)
    if spec is not None and spec.type == "class":
        return class_value(cfg, node, spec.choices)
    return node_value(node)


def _dict_entry(node: ast.Dict, key: str) -> ast.expr | None:
    found = None
    for k, v in zip(node.keys, node.values):
        if isinstance(k, ast.Constant) and k.value == key:
            found = v
    return found


def locate(cfg: ParsedConfig, key: str) -> tuple[ast.expr | None, ast.Dict | None, list[str]]:
    """(value node, None, []) if present; (None, deepest existing dict, missing parts) if not."""
    parts = key.split(".")
    if parts[0] not in cfg.roots:
        return None, None, parts
    node = cfg.roots[parts[0]]
    for i, part in enumerate(parts[1:], start=1):
        if not isinstance(node, ast.Dict):
            raise ConfigEditError(f"{cfg.path}: {'.'.join(parts[:i])} is not a dict literal, so {key} cannot be set")
        child = _dict_entry(node, part)
        if child is None:
            return None, node, parts[i:]
        node = child
    return node, None, []


def read_values(path: str | Path | ParsedConfig, space: SearchSpace) -> ConfigValues:
    """Search-space values of a config file (AST only): values, missing keys, unreadable keys."""
    cfg = path if isinstance(path, ParsedConfig) else parse_config(path)
    values, missing, unreadable = {}, [], {}
    for key in space.params:
        try:
            node, _, _ = locate(cfg, key)
        except ConfigEditError as exc:
            unreadable[key] = str(exc)
            continue
        if node is None:
            missing.append(key)
            continue
        try:
            values[key] = _read(cfg, key, node, space)
        except NotLiteral as exc:
            unreadable[key] = f"not a literal: {exc}"
    inactive = [k for k in space.params if not space.is_active(k, values)]
    return ConfigValues(values, [k for k in missing if k not in inactive], unreadable, inactive)


def normalize_changes(changes: Any) -> list[tuple[str, Any]]:
    """``[{key, value}]`` (or ``{key: value}``) to a list of pairs; malformed input is an error."""
    if isinstance(changes, dict):
        return list(changes.items())
    if not isinstance(changes, list):
        raise ConfigEditError("changes must be a JSON list of {\"key\": ..., \"value\": ...} objects")
    out = []
    for i, c in enumerate(changes):
        if not (isinstance(c, dict) and isinstance(c.get("key"), str) and "value" in c):
            raise ConfigEditError(f"change #{i + 1} must be an object with a string 'key' and a 'value', got {str(c)[:60]}")
        out.append((c["key"], c["value"]))
    return out


def _literal_or_none(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


class ClassRef(str):
    """An allow-listed class, written as a reference in the config's own spelling (the str);
    ``space_name`` is its name in the search space."""

    def __new__(cls, spelling: str, space_name: str | None = None):
        ref = super().__new__(cls, spelling)
        ref.space_name = space_name or spelling
        return ref


def render(value: Any, quote: str = '"') -> str:
    """Python source for a literal value (checked to round-trip through ast.literal_eval);
    a ClassRef (already checked against the allow-list) is written as ``optim.AdamW``."""
    if isinstance(value, ClassRef):
        if not _REF_RE.match(value):
            raise ConfigEditError(f"{value!r} is not a (dotted) class name")
        return str(value)
    if isinstance(value, dict):
        text = "{" + ", ".join(f"{render(k, quote)}: {render(v, quote)}" for k, v in value.items()) + "}"
    elif isinstance(value, float) and not math.isfinite(value):
        raise ConfigEditError(f"non-finite value {value!r} cannot be written")
    elif isinstance(value, str):
        text = json.dumps(value) if quote == '"' else repr(value)  # the config's own quote style
        if _literal_or_none(text) != value:
            text = repr(value)
    elif value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
    elif isinstance(value, list):
        text = "[" + ", ".join(render(v, quote) for v in value) + "]"
    else:
        raise ConfigEditError(f"value {value!r} is not a plain literal")
    if _literal_or_none(text) != value:
        raise ConfigEditError(f"value {value!r} does not round-trip as a literal")
    return text


@dataclass
class EditPlan:
    """Resolved changes: final values per dotted path, plus report rows."""

    assign: dict[str, Any]
    changed: list[dict[str, Any]]


def plan_changes(cfg: ParsedConfig, changes: list[tuple[str, Any]], space: SearchSpace) -> EditPlan:
    """Validate every change and resolve class resets and legacy duplicates; raise on any error."""
    errors: list[str] = []
    current = read_values(cfg, space).values
    requested = _validated(cfg, changes, space, errors)
    assign = {k: v for k, v in requested.items() if not _same(current.get(k, _MISSING), v)}
    _family_switch(cfg, space, current, requested, assign)
    resulting = _resulting(current, assign, space)
    errors += [reason + f": set {space.failing_condition(key, resulting)} in the same change, or drop {key}"
               for key in requested if (reason := space.inactive_reason(key, resulting))]
    for key in [k for k in assign if k in space.params and space.params[k].type == "class"]:
        pk = space.params[key].params_key
        if pk:
            assign[pk] = _reset_params(cfg, space, pk, assign[key], assign, errors, resulting)
    for x in LEGACY_LENGTHS:
        if f"data.{x}" in assign and _has(cfg, f"model.{x}"):
            assign[f"model.{x}"] = assign[f"data.{x}"]
    errors += check_constraints(space, _resulting(current, assign, space))
    if errors:
        raise ConfigEditError(f"{len(errors)} problem(s): " + "; ".join(errors), errors)
    changed = [{"key": path, "old": _old_value(cfg, path, space), "new": new} for path, new in assign.items()]
    for path in assign:
        if path in space.params and space.params[path].type == "class" and assign[path] is not None:
            assign[path] = ClassRef(config_spelling(cfg, assign[path]), assign[path])
    return EditPlan(assign, changed)


def _family_switch(cfg: ParsedConfig, space: SearchSpace, current: dict[str, Any], requested: dict[str, Any],
                   assign: dict[str, Any]) -> None:
    """On a change of model.family, add the new family's defaults and recipe that the batch does not set."""
    old = current.get(FAMILY_KEY, IMPLICIT[FAMILY_KEY])
    new = requested.get(FAMILY_KEY, old)
    if _same(new, old):
        return
    for key, value in space.switch_values(new).items():
        if key in requested:
            continue
        now = current.get(key, _MISSING) if key in space.params else _old_value(cfg, key, space, _MISSING)
        if not _same(now, value):
            assign[key] = value


_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b)


def _validated(cfg: ParsedConfig, changes, space: SearchSpace, errors: list[str]) -> dict[str, Any]:
    """Requested values that pass key, type, range, allow-list and import checks."""
    requested: dict[str, Any] = {}
    for key, raw in changes:
        spec = space.params.get(key)
        if spec is None:
            errors.append(f"unknown key {key}: only search-space keys may change (see the `space` command)")
            continue
        if key in requested:
            errors.append(f"key {key} is given twice")
            continue
        value = normalize_value(spec, raw)
        err = check_value(spec, value)
        if err:
            errors.append(err)
        elif spec.type == "class" and value is not None and config_spelling(cfg, value) is None:
            module = _expand(value, SPACE_ALIASES).rpartition(".")[0]
            errors.append(f"{key}: config does not import {module} (or a parent) at module level, so "
                          f"{value} cannot be written; add e.g. `from torch import nn, optim`")
        else:
            requested[key] = value
    return requested


def _resulting(current: dict[str, Any], assign: dict[str, Any], space: SearchSpace) -> dict[str, Any]:
    """Search-space values after the plan (a replaced params dict drops its old subkeys)."""
    result = dict(current)
    for path, value in assign.items():
        if isinstance(value, dict):
            for k in [k for k in result if k.startswith(path + ".")]:
                del result[k]
            result.update({f"{path}.{s}": v for s, v in value.items() if f"{path}.{s}" in space.params})
        elif path in space.params:
            result[path] = value
    return result


def _old_value(cfg: ParsedConfig, path: str, space: SearchSpace, absent: Any = None) -> Any:
    try:
        node, _, _ = locate(cfg, path)
        return _read(cfg, path, node, space) if node is not None else absent
    except (ConfigEditError, NotLiteral):
        return absent


def _has(cfg: ParsedConfig, key: str) -> bool:
    try:
        return locate(cfg, key)[0] is not None
    except ConfigEditError:
        return False


def _reset_params(cfg, space, pk, new_class, assign, errors, resulting) -> dict[str, Any]:
    """class_defaults[new] + old searchable subkeys of ``pk`` that apply to the new class (a key's
    ``when``: StepLR's gamma is not carried into CosineAnnealingLR) + explicit changes under ``pk``."""
    old: Any = {}
    try:
        node, _, _ = locate(cfg, pk)
        old = node_value(node) if node is not None else {}
    except (ConfigEditError, NotLiteral) as exc:
        errors.append(f"{pk} cannot be rebuilt for {new_class}: {exc}")
    if not isinstance(old, dict):
        errors.append(f"{pk} must be a dict literal to change its class")
        old = {}
    params = dict(space.class_defaults.get(new_class, {}))
    params.update({k: v for k, v in old.items() if f"{pk}.{k}" in space.params and space.is_active(f"{pk}.{k}", resulting)})
    for key in [k for k in assign if k.startswith(pk + ".") and "." not in k[len(pk) + 1:]]:
        params[key[len(pk) + 1:]] = assign.pop(key)
    return params


def _edits(cfg: ParsedConfig, plan: EditPlan) -> list[tuple[int, int, str]]:
    """Byte-range replacements implementing the plan."""
    edits, errors = [], []
    inserts: dict[int, tuple[ast.Dict, dict]] = {}
    for path, value in plan.assign.items():
        node, parent, rest = locate(cfg, path)
        if node is not None:
            start, end = cfg.span(node)
            edits.append((start, end, render(value, cfg.quote)))
        elif parent is not None:
            nested = inserts.setdefault(id(parent), (parent, {}))[1]
            for part in rest[:-1]:
                nested = nested.setdefault(part, {})
            nested[rest[-1]] = value
        else:
            errors.append(f"config has no module-level `{path.split('.')[0]} = ...`; add it by hand")
    if errors:
        raise ConfigEditError("; ".join(errors), errors)
    for parent, entries in inserts.values():
        edits += _insert(cfg, parent, entries)
    return edits


def _insert(cfg: ParsedConfig, node: ast.Dict, entries: dict) -> list[tuple[int, int, str]]:
    """Edits adding ``entries`` to dict ``node``: a new line per key for multi-line dicts."""
    start, end = cfg.span(node)
    brace = end - 1
    src = cfg.source
    items = [f"{render(k, cfg.quote)}: {render(v, cfg.quote)}" for k, v in entries.items()]
    last_end = cfg.span(node.values[-1])[1] if node.values else None
    has_comma = last_end is None or _next_significant(src, last_end, brace) == ord(",")
    line_start = src.rfind(b"\n", 0, brace) + 1
    if node.lineno != node.end_lineno and not src[line_start:brace].strip():
        if node.keys and node.keys[-1] is not None:
            indent = " " * node.keys[-1].col_offset
        else:
            indent = src[line_start:brace].decode() + "    "
        edits = [(line_start, line_start, "".join(f"{indent}{item},\n" for item in items))]
        if not has_comma:
            edits.append((last_end, last_end, ","))
        return edits
    if last_end is None:
        prefix = ""
    elif has_comma:
        prefix = "" if src[brace - 1:brace].isspace() else " "
    else:
        prefix = ", "
    return [(brace, brace, prefix + ", ".join(items))]


def _next_significant(src: bytes, pos: int, stop: int) -> int | None:
    """First byte after ``pos`` that is not whitespace or part of a comment."""
    while pos < stop:
        ch = src[pos]
        if ch == ord("#"):
            nl = src.find(b"\n", pos, stop)
            pos = stop if nl < 0 else nl
        elif chr(ch).isspace():
            pos += 1
        else:
            return ch
    return None


def apply_edits(source: bytes, edits: list[tuple[int, int, str]]) -> bytes:
    ordered = sorted(edits, key=lambda e: (e[0], e[1]))
    for (s1, e1, _), (s2, _, _) in zip(ordered, ordered[1:]):
        if s2 < e1:
            raise ConfigEditError("internal: overlapping config edits; nothing was written")
    out = source
    for start, end, text in reversed(ordered):
        out = out[:start] + text.encode("utf-8") + out[end:]
    return out


def apply_changes(config_path: str | Path, changes: Any, space: SearchSpace,
                  base_path: str | Path | None = None, dry_run: bool = False, with_text: bool = False) -> dict[str, Any]:
    """Validate ``changes`` against ``space``, apply them to ``base_path`` (default: the config
    itself) and write the result atomically to ``config_path`` unless ``dry_run``.

    Returns ``{changed: [{key, old, new}], diff, written, config_id}`` (and ``text``, the resulting
    file, with ``with_text``): the diff is against the base when one is given (else against the
    config's current text), config_id that of the result (config_id.py). Raises ConfigEditError and
    writes nothing on any problem.
    """
    config_path = Path(config_path)
    base = parse_config(base_path or config_path)
    plan = plan_changes(base, normalize_changes(changes), space)
    new_source = apply_edits(base.source, _edits(base, plan))
    check = parse_config(config_path, new_source)
    for path, value in plan.assign.items():
        node, _, _ = locate(check, path)
        expected = value.space_name if isinstance(value, ClassRef) else value
        if node is None or _read(check, path, node, space) != expected:
            raise ConfigEditError(f"internal: {path} did not read back as {expected!r}; nothing was written")
    old_text = _read_text_or_empty(config_path)
    new_text = new_source.decode("utf-8")
    shown = base.source.decode("utf-8") if base_path else old_text
    diff = "".join(difflib.unified_diff(
        shown.splitlines(keepends=True), new_text.splitlines(keepends=True),
        fromfile=f"a/{config_path.name}", tofile=f"b/{config_path.name}"))
    if not dry_run and new_text != old_text:
        atomic_write_text(config_path, new_text)
    out = {"changed": plan.changed, "diff": diff, "written": not dry_run,
           "config_id": config_id(config_path, new_source)}
    return {**out, "text": new_text} if with_text else out


def _read_text_or_empty(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def restore(from_path: str | Path, config_path: str | Path) -> None:
    """Atomically copy a config snapshot onto ``config_path``; the source must parse."""
    cfg = parse_config(from_path)
    atomic_write_text(Path(config_path), cfg.source.decode("utf-8"))


def literal_at(config_path, key: str) -> Any:
    """The literal value of a dotted key of a config file (AST, no import), or None when the
    file does not parse, the key is absent or its value is not a literal."""
    try:
        node, _, _ = locate(parse_config(config_path), key)
        return node_value(node) if node is not None else None
    except (ConfigEditError, NotLiteral):
        return None
