"""The helper's errors: what is the user's to fix (exit 2, one line) and how it is worded."""
from __future__ import annotations

import sys

from . import agent_state as st
from . import baselines as naive
from . import ensemble
from . import fidelity as fid
from . import rebuild as rb
from . import standing
from .config_edit import ConfigEditError
from .search_space import SpaceError


class CliError(ValueError):
    """A user-facing error of the CLI (bad argument, unknown run, ...)."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = errors


USER_ERRORS = (CliError, SpaceError, ConfigEditError, st.AgentStateError, fid.FidelityError, naive.BaselineError,
               ensemble.EnsembleError, ensemble.PredictionsError, rb.RebuildError, standing.FidelityChoiceError)


def one_line(text: str) -> str:
    return " ".join(text.split())


def missing_package(exc: ModuleNotFoundError) -> str:
    return one_line(f"the Python at {sys.executable} lacks the package {exc.name!r} that nas_system needs: "
                     "run 'bash scripts/setup.sh' or set NAS_PYTHON to a Python with nas_system/requirements.txt")
