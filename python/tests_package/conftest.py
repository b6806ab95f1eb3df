"""Tests of the installed wheel: graphprof must come from site-packages, never from this clone.

Run with the wheel's venv (scripts/test.sh builds it): ``target/wheel-venv/bin/python -m pytest
python/tests_package`` from the repository's root. A module or the binary missing from the wheel
fails here, since the source tree is not on ``sys.path``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytest_plugins = ["pytester"]

try:  # distributed's own fixtures (loop, cleanup), for its MemorySampler tests
    from distributed.utils_test import cleanup, loop, loop_in_thread  # noqa: F401
except ImportError:  # the bare venv has no dask; its tests run in subprocesses
    pass


def pytest_sessionstart(session: pytest.Session) -> None:
    import graphprof

    where = Path(graphprof.__file__).resolve()
    if REPO / "python" in where.parents and not os.environ.get("GRAPHPROF_TEST_SOURCE"):
        raise pytest.UsageError(
            f"graphprof imported from the source tree ({where}), not from the installed wheel; "
            f"run these tests with the wheel's venv ({sys.executable} is not it)"
        )


@pytest.fixture(scope="session")
def seed_mapper():
    """The seed case's 240 KiB Mapper."""
    from graphprof.seed import Mapper, mapper_len_for_bytes

    return Mapper(mapper_len_for_bytes(240 * 1024))
