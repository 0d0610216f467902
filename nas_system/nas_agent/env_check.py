"""Does this interpreter have what nas_system needs? (stdlib only; nothing heavy is imported).

``missing_modules()`` looks the packages of nas_system/requirements.txt up with
importlib.util.find_spec, which finds a package without importing it (torch alone takes
seconds to import). The CLI runs this once at the start of ``run`` and ``resume``.
"""
from __future__ import annotations

import importlib.util
import platform
import sys

# import names of nas_system/requirements.txt (pytest is for the tests only)
REQUIRED_MODULES = ("torch", "numpy", "pandas", "matplotlib", "optuna")


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


def check_env() -> dict:
    return {"python": sys.executable, "version": platform.python_version(),
            "required": list(REQUIRED_MODULES), "missing": missing_modules()}
