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


@pytest.fixture(scope="session", autouse=True)
def private_tmpdir(tmp_path_factory):
    """TMPDIR of this test session's own: the tests that check that ``graphprof.sample()`` leaves
    no ``graphprof-sample-*`` folder compare the temporary folder before and after, and another
    run on the same machine (a second clone's suite) creates and removes its own folders there
    meanwhile. The kernels, binaries and clusters the tests start inherit it."""
    import tempfile

    private = tmp_path_factory.mktemp("tmpdir")
    saved_env, saved_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = str(private)
    tempfile.tempdir = str(private)
    yield private
    tempfile.tempdir = saved_dir
    if saved_env is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = saved_env


@pytest.fixture(scope="session")
def seed_mapper():
    """The seed case's 240 KiB Mapper."""
    from graphprof.seed import Mapper, mapper_len_for_bytes

    return Mapper(mapper_len_for_bytes(240 * 1024))
