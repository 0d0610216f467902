"""The search space: which config keys the search may change, and how (stdlib only).

Format (docs/contracts.md)::

    params.<key> = {type: float|int|bool|str|class, low?, high?, log?, choices?,
                    step: small|medium|radical, params_key?, when?, help}
    class_defaults.<class name> = {kwargs written to params_key when the class changes}
    family_defaults.<model family> = {dotted key: value written when model.family switches to it}
    recipes.<model family> = {source, epochs?, values: {dotted key: value}}: the family's published
        training recipe, also written when model.family switches to it (epochs is shown, not written:
        the search's epoch budget is its fidelity)
    constraints = [{rule: divisible|less_equal, keys: [a, b], help}]

A key with ``when: {"model.family": ["patchtst"]}`` is *conditional*: it applies only while
model.family has one of the listed values (a key of another family may stay in config.py and
is ignored). A config without a condition key has its IMPLICIT value (no model.family means
"informer", as config_check reads it).

``load_space`` validates the file; ``check_value`` and ``check_constraints`` validate
candidate values against it; ``SearchSpace.is_active`` evaluates ``when``.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config_check import DEFAULT_FAMILY

TYPES = ("float", "int", "bool", "str", "class")
STEPS = ("small", "medium", "radical")
RULES = ("divisible", "less_equal")
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
CLASS_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
INSTALLED_SPACE = Path(__file__).resolve().parent.parent / "search_space.json"
FAMILY_KEY = "model.family"
IMPLICIT = {FAMILY_KEY: DEFAULT_FAMILY}  # the value a config has when it does not set the key


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
    when: tuple[tuple[str, tuple], ...] = ()  # ((condition key, allowed values), ...): all must hold


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
    family_defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    recipes: dict[str, dict[str, Any]] = field(default_factory=dict)  # family -> {source, epochs, values}

    def switch_values(self, family: str) -> dict[str, Any]:
        """What a switch to ``family`` writes: its model defaults, then its training recipe."""
        return {**self.family_defaults.get(family, {}), **self.recipes.get(family, {}).get("values", {})}

    def class_keys(self) -> list[ParamSpec]:
        return [p for p in self.params.values() if p.type == "class"]

    def condition_keys(self) -> list[str]:
        """Keys that other keys' ``when`` refer to, in declaration order."""
        used = {k for p in self.params.values() for k, _ in p.when}
        return [k for k in self.params if k in used]

    def ordered_keys(self) -> list[str]:
        """Every key, condition keys first (so define-by-run sampling can test ``when``)."""
        first = self.condition_keys()
        return first + [k for k in self.params if k not in first]

    def is_active(self, key: str, values: dict[str, Any]) -> bool:
        """Does ``key`` apply to a config with these values? (an undeclared key always does)"""
        spec = self.params.get(key)
        return spec is None or all(_one_of(values.get(k, IMPLICIT.get(k)), allowed) for k, allowed in spec.when)

    def inactive_reason(self, key: str, values: dict[str, Any]) -> str | None:
        """Why ``key`` does not apply to these values (one clause), or None when it does."""
        for k, allowed in self.params[key].when if key in self.params else ():
            now = values.get(k, IMPLICIT.get(k))
            if not _one_of(now, allowed):
                return (f"{key} applies only when {k} is {' or '.join(map(str, allowed))} "
                        f"(here {k} is {now})")
        return None

    def failing_condition(self, key: str, values: dict[str, Any]) -> str | None:
        """The first condition key whose value keeps ``key`` from applying, or None."""
        for k, allowed in self.params[key].when if key in self.params else ():
            if not _one_of(values.get(k, IMPLICIT.get(k)), allowed):
                return k
        return None

    def active_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` without the keys that do not apply to them."""
        return {k: v for k, v in values.items() if self.is_active(k, values)}


def _one_of(value: Any, allowed: tuple) -> bool:
    return any(value == a and type(value) is type(a) for a in allowed)


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
        raise SpaceError(f"search space {path} is invalid: " + "; ".join(errors)
                         + " (fix the file; its format is in docs/contracts.md, 'search_space.json')")
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
    _check_conditions(params, errors)
    constraints = _constraints(raw.get("constraints", []), params, errors)
    space = SearchSpace(path, params, defaults, constraints, raw)
    space.family_defaults = _family_defaults(raw.get("family_defaults", {}), space, errors)
    space.recipes = _recipes(raw.get("recipes", {}), space, errors)
    return space


def _check_conditions(params: dict[str, ParamSpec], errors: list[str]) -> None:
    """``when`` names declared, unconditional keys with choices, and values among those choices."""
    for key, p in params.items():
        for cond, allowed in p.when:
            c = params.get(cond)
            if c is None or (c.choices is None and c.type != "bool"):
                errors.append(f"params[{key!r}].when: {cond} must be a declared key with choices")
            elif c.when:
                errors.append(f"params[{key!r}].when: {cond} is itself conditional; nest no deeper than one level")
            else:
                errors += [f"params[{key!r}].when: {err}" for a in allowed if (err := check_value(c, a))]


def _family_defaults(raw: Any, space: SearchSpace, errors: list[str]) -> dict[str, dict[str, Any]]:
    """family -> {dotted key: value}: the family must be a model.family choice; a search key's
    value must be allowed and apply to that family; other keys take plain literals."""
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        errors.append("'family_defaults' must map model families to objects of {dotted key: value}")
        return {}
    if raw and FAMILY_KEY not in space.params:
        errors.append(f"'family_defaults' needs {FAMILY_KEY} declared in params")
        return {}
    out = {}
    for family, values in raw.items():
        where = f"family_defaults[{family!r}]"
        if err := check_value(space.params[FAMILY_KEY], family):
            errors.append(f"{where}: {err}")
            continue
        for key, value in values.items():
            spec = space.params.get(key)
            if key == FAMILY_KEY or not _KEY_RE.match(key):
                errors.append(f"{where}: {key!r} must be a dotted key other than {FAMILY_KEY}")
            elif spec is None and (value is None or not isinstance(value, (bool, int, float, str))):
                errors.append(f"{where}.{key}: {value!r} is not a plain literal")
            elif spec is not None and spec.type == "class":
                errors.append(f"{where}: {key} is a class key; class changes reset kwargs through class_defaults")
            elif spec is not None and (err := check_value(spec, normalize_value(spec, value))):
                errors.append(f"{where}: {err}")
            elif spec is not None and not space.is_active(key, {FAMILY_KEY: family}):
                errors.append(f"{where}: {space.inactive_reason(key, {FAMILY_KEY: family})}")
        out[family] = {k: normalize_value(space.params[k], v) if k in space.params else v for k, v in values.items()}
    return out


def _recipes(raw: Any, space: SearchSpace, errors: list[str]) -> dict[str, dict[str, Any]]:
    """family -> {source, epochs, values}: a search key's value must be allowed (a class key must be
    one of its choices); other keys take plain literals; model keys belong in family_defaults."""
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        errors.append("'recipes' must map model families to {source, epochs, values}")
        return {}
    out = {}
    for family, recipe in raw.items():
        where = f"recipes[{family!r}]"
        if FAMILY_KEY not in space.params or check_value(space.params[FAMILY_KEY], family):
            errors.append(f"{where}: {family!r} is not a {FAMILY_KEY} choice")
            continue
        source, values = recipe.get("source"), recipe.get("values")
        if not isinstance(source, str) or not source.strip():
            errors.append(f"{where}: 'source' must name the paper or script the recipe comes from")
        if not isinstance(values, dict) or not values:
            errors.append(f"{where}: 'values' must be a non-empty object of {{dotted key: value}}")
            continue
        epochs = recipe.get("epochs")
        if epochs is not None and (not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1):
            errors.append(f"{where}.epochs: must be a positive integer")
        clean = {}
        for key, value in values.items():
            spec = space.params.get(key)
            if not _KEY_RE.match(key) or key.startswith("model."):
                errors.append(f"{where}: {key!r} must be a dotted training or data key (model keys go in family_defaults)")
            elif spec is None and (value is None or not isinstance(value, (bool, int, float, str))):
                errors.append(f"{where}.{key}: {value!r} is not a plain literal")
            elif spec is not None and (err := check_value(spec, normalize_value(spec, value))):
                errors.append(f"{where}: {err}")
            else:
                clean[key] = normalize_value(spec, value) if spec is not None else value
        out[family] = {"source": source, "epochs": epochs, "values": clean}
    return out


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
    when = spec.get("when", {})
    if not (isinstance(when, dict) and all(_KEY_RE.match(k) and isinstance(v, list) and v for k, v in when.items())):
        errors.append(f"{where}.when must map keys to non-empty lists of values, e.g. "
                      '{"model.family": ["patchtst"]}')
    elif key in when:
        errors.append(f"{where}.when cannot refer to the key itself")
    if len(errors) > n:
        return None
    return ParamSpec(
        key=key, type=typ, step=step, low=low, high=high, log=log,
        choices=tuple(choices) if choices is not None else None,
        params_key=spec.get("params_key"), help=str(spec.get("help", "")),
        when=tuple((k, tuple(v)) for k, v in when.items()),
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
    """Errors for constraints violated by ``values`` (constraints on absent keys, or on keys that
    do not apply to these values, are skipped)."""
    errors = []
    for c in space.constraints:
        if c.a not in values or c.b not in values:
            continue
        if not (space.is_active(c.a, values) and space.is_active(c.b, values)):
            continue
        a, b = values[c.a], values[c.b]
        if not (_is_num(a) and _is_num(b)):
            continue
        if c.rule == "divisible" and (b == 0 or a % b != 0):
            errors.append(f"{c.a}={a} must be divisible by {c.b}={b}" + (f" ({c.help})" if c.help else ""))
        if c.rule == "less_equal" and not a <= b:
            errors.append(f"{c.a}={a} must be <= {c.b}={b}" + (f" ({c.help})" if c.help else ""))
    return errors
