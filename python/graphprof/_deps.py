"""Optional dependencies: import one when a function needs it, or say which pip command installs it."""

from __future__ import annotations

from importlib import import_module
from typing import Any


def require(module: str, feature: str, *, extra: str = "dask") -> Any:
    """Import ``module`` for ``feature``; raise one clear ``MissingDependency`` when it is absent."""
    try:
        return import_module(module)
    except ImportError as exc:
        from . import MissingDependency

        raise MissingDependency(
            f'graphprof.{feature} needs {module}, which is not installed: pip install "graphprof[{extra}]"'
        ) from exc
