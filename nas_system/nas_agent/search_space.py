"""The search space: which config keys the search may change, and how (stdlib only).

Format (docs/contracts.md)::

    params.<key> = {type: float|int|bool|str|class, low?, high?, log?, choices?,
                    step: small|medium|radical, params_key?, help}
    class_defaults.<class name> = {kwargs written to params_key when the class changes}
    constraints = [{rule: divisible|less_equal, keys: [a, b], help}]

``load_space`` validates the file; ``check_value`` and ``check_constraints`` validate
candidate values against it.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TYPES = ("float", "int", "bool", "str", "class")
STEPS = ("small", "medium", "radical")
RULES = ("divisible", "less_equal")
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
CLASS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
INSTALLED_SPACE = Path(__file__).resolve().parent.parent / "search_space.json"


class SpaceError(ValueError):
    """The search space file is missing or malformed (one line, names the file and the fix)."""


@dataclass(frozen=True)
class ParamSpec:
    """One searchable config key."""

    key: str
    type: str
    step: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple | None = None
    params_key: str | None = None
    help: str = ""


@dataclass(frozen=True)
class Constraint:
    """A cross-key rule: divisible (a % b == 0) or less_equal (a <= b)."""

    rule: str
    a: str
    b: str
    help: str = ""


@dataclass
class SearchSpace:
    """A validated search space."""

    path: str
    params: dict[str, ParamSpec]
    class_defaults: dict[str, dict[str, Any]]
    constraints: list[Constraint]
    raw: dict[str, Any] = field(default_factory=dict)

    def class_keys(self) -> list[ParamSpec]:
        return [p for p in self.params.values() if p.type == "class"]


def resolve_space_path(system_dir: str | Path, override: str | Path | None = None) -> Path:
    """``--space`` if given, else ``<system-dir>/search_space.json``, else the installed one."""
    if override:
        path = Path(override)
        if not path.is_file():
            raise SpaceError(f"search space {path} not found: check the --space path")
        return path
    local = Path(system_dir) / "search_space.json"
    if local.is_file():
        return local
    if INSTALLED_SPACE.is_file():
        return INSTALLED_SPACE
    raise SpaceError(
        f"no search space: neither {local} nor {INSTALLED_SPACE} exists; pass --space PATH"
    )


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a search_space.json; raise SpaceError listing every problem."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpaceError(f"cannot read search space {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise SpaceError(
            f"search space {path} is not valid JSON (line {exc.lineno}: {exc.msg}): fix the file"
        ) from None
    errors: list[str] = []
    space = _build(raw, str(path), errors)
    if errors:
        raise SpaceError(f"search space {path} is invalid: " + "; ".join(errors))
    return space


def _build(raw: Any, path: str, errors: list[str]) -> SearchSpace:
    if not isinstance(raw, dict) or not isinstance(raw.get("params"), dict) or not raw["params"]:
        errors.append("it needs a non-empty 'params' object")
        return SearchSpace(path, {}, {}, [], {})
    defaults = raw.get("class_defaults", {})
    if not isinstance(defaults, dict) or not all(isinstance(v, dict) for v in defaults.values()):
        errors.append("'class_defaults' must map class names to objects of kwargs")
        defaults = {}
    params = {}
    for key, spec in raw["params"].items():
        p = _param(key, spec, defaults, errors)
        if p is not None:
            params[key] = p
    constraints = _constraints(raw.get("constraints", []), params, errors)
    return SearchSpace(path, params, defaults, constraints, raw)


def _param(key: str, spec: Any, defaults: dict, errors: list[str]) -> ParamSpec | None:
    where = f"params[{key!r}]"
    if not _KEY_RE.match(key):
        errors.append(f"{where}: key must be a dotted name like 'model.d_model'")
        return None
    if not isinstance(spec, dict):
        errors.append(f"{where} must be an object")
        return None
    typ, step = spec.get("type"), spec.get("step")
    if typ not in TYPES:
        errors.append(f"{where}.type must be one of {', '.join(TYPES)}")
        return None
    if step not in STEPS:
        errors.append(f"{where}.step must be one of {', '.join(STEPS)}")
        return None
    choices = spec.get("choices")
    low, high, log = spec.get("low"), spec.get("high"), bool(spec.get("log", False))
    n = len(errors)
    if typ in ("str", "class") and not (isinstance(choices, list) and choices):
        errors.append(f"{where}: type {typ} needs a non-empty 'choices' list")
    if typ in ("int", "float") and choices is None:
        if not (_is_num(low) and _is_num(high) and low <= high):
            errors.append(f"{where}: type {typ} needs 'choices' or numeric 'low' <= 'high'")
        elif log and low <= 0:
            errors.append(f"{where}: log scale needs low > 0")
        elif typ == "int" and not (isinstance(low, int) and isinstance(high, int)):
            errors.append(f"{where}: int bounds must be integers")
    if choices is not None:
        if not isinstance(choices, list) or not choices:
            errors.append(f"{where}.choices must be a non-empty list")
        else:
            spec_probe = ParamSpec(key, typ, step, choices=None if typ != "class" else tuple(choices))
            for c in choices:
                err = _type_error(spec_probe, c) if typ != "class" else None
                if err:
                    errors.append(f"{where}.choices: {err}")
    if typ == "class":
        pk = spec.get("params_key")
        if pk is not None and not (isinstance(pk, str) and _KEY_RE.match(pk)):
            errors.append(f"{where}.params_key must be a dotted key")
        for c in choices or []:
            if not (isinstance(c, str) and CLASS_RE.match(c)):
                errors.append(f"{where}.choices: {c!r} is not a dotted class name like 'optim.AdamW'")
            elif pk and c not in defaults:
                errors.append(f"{where}: class {c} has no entry in class_defaults")
    if len(errors) > n:
        return None
    return ParamSpec(
        key=key, type=typ, step=step, low=low, high=high, log=log,
        choices=tuple(choices) if choices is not None else None,
        params_key=spec.get("params_key"), help=str(spec.get("help", "")),
    )


def _constraints(raw: Any, params: dict, errors: list[str]) -> list[Constraint]:
    if not isinstance(raw, list):
        errors.append("'constraints' must be a list")
        return []
    out = []
    for i, c in enumerate(raw):
        keys = c.get("keys") if isinstance(c, dict) else None
        if not isinstance(c, dict) or c.get("rule") not in RULES:
            errors.append(f"constraints[{i}].rule must be one of {', '.join(RULES)}")
        elif not (isinstance(keys, list) and len(keys) == 2 and all(k in params for k in keys)):
            errors.append(f"constraints[{i}].keys must name two keys declared in params")
        else:
            out.append(Constraint(c["rule"], keys[0], keys[1], str(c.get("help", ""))))
    return out


def _is_num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _type_error(spec: ParamSpec, value: Any) -> str | None:
    """Type-only check (no range): None when ``value`` has the declared type."""
    t = spec.type
    if t == "bool":
        return None if isinstance(value, bool) else f"expects true or false, got {value!r}"
    if t == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expects an integer, got {value!r}"
        return None
    if t == "float":
        if not _is_num(value):
            return f"expects a finite number, got {value!r}"
        return None
    if not isinstance(value, str):
        return f"expects one of {list(spec.choices or [])}, got {value!r}"
    return None


def normalize_value(spec: ParamSpec, value: Any) -> Any:
    """Coerce lossless JSON forms: integral floats for int keys, ints for float keys."""
    if spec.type == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if spec.type == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def check_value(spec: ParamSpec, value: Any) -> str | None:
    """Return None if ``value`` (already normalized) is allowed for ``spec``, else the reason."""
    err = _type_error(spec, value)
    if err:
        return f"{spec.key} {err}"
    if spec.choices is not None and spec.type != "bool":
        if value not in spec.choices:
            return f"{spec.key} must be one of {list(spec.choices)}, got {value!r}"
        return None
    if spec.type in ("int", "float") and not (spec.low <= value <= spec.high):
        return f"{spec.key} must be in [{spec.low}, {spec.high}], got {value!r}"
    return None


def check_constraints(space: SearchSpace, values: dict[str, Any]) -> list[str]:
    """Errors for constraints violated by ``values`` (constraints on absent keys are skipped)."""
    errors = []
    for c in space.constraints:
        if c.a not in values or c.b not in values:
            continue
        a, b = values[c.a], values[c.b]
        if not (_is_num(a) and _is_num(b)):
            continue
        if c.rule == "divisible" and (b == 0 or a % b != 0):
            errors.append(f"{c.a}={a} must be divisible by {c.b}={b}" + (f" ({c.help})" if c.help else ""))
        if c.rule == "less_equal" and not a <= b:
            errors.append(f"{c.a}={a} must be <= {c.b}={b}" + (f" ({c.help})" if c.help else ""))
    return errors
