"""Does this interpreter have what nas_system needs? (stdlib only; nothing heavy is imported).

``missing_modules()`` looks the packages of nas_system/requirements.txt up with
importlib.util.find_spec, which finds a package without importing it (torch alone takes
seconds to import). The CLI runs this once at the start of ``run`` and ``resume``.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import platform
import re
import sys

# import names of nas_system/requirements.txt (pytest, pytest-xdist and hypothesis are for the tests only)
REQUIRED_MODULES = ("torch", "numpy", "pandas", "matplotlib", "optuna")
# the lowest version the code calls into (kept equal to requirements.txt): optuna 5.0 brought
# the constraint API that suggest.py calls; torch 2.3 torch.amp.GradScaler(device), which speed.py builds for fp16
MIN_VERSIONS = {"torch": (2, 3), "optuna": (5, 0)}


def missing_modules(modules=REQUIRED_MODULES) -> list[str]:
    out = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            out.append(name)
    return out


def _leading_ints(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version.split("+")[0])[:2])


def outdated_modules(minimums=MIN_VERSIONS) -> list[dict]:
    """Installed packages older than the code needs (read from their metadata, not imported)."""
    out = []
    for name, least in minimums.items():
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # missing, not outdated: missing_modules says so
        if _leading_ints(have) < least:
            out.append({"name": name, "version": have, "required": ".".join(map(str, least))})
    return out


def check_env() -> dict:
    return {"python": sys.executable, "version": platform.python_version(),
            "required": list(REQUIRED_MODULES), "missing": missing_modules(), "outdated": outdated_modules()}
