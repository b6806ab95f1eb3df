"""Shared fixtures, and the ``measured_on_pins`` marker: a test whose constants were measured on
the versions python/requirements.txt pins (CI's set) is skipped, with the versions named, when
other versions are installed (the ``[dask]`` extra's lower bounds are older: docs/DASK.md)."""

import os
import shutil
import sys
from importlib import metadata

import pytest

PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PYDIR not in sys.path:
    sys.path.insert(0, PYDIR)

from graphcheck import check_graph  # noqa: E402,F401

REQUIREMENTS = os.path.join(PYDIR, "requirements.txt")


def pinned_versions() -> dict[str, str]:
    """package -> the version python/requirements.txt pins (``name==version`` lines)."""
    pins = {}
    with open(REQUIREMENTS, encoding="utf-8") as fh:
        for line in fh:
            name, sep, version = line.split("#")[0].strip().partition("==")
            if sep:
                pins[name.strip().lower()] = version.strip()
    return pins


def versions_off_the_pins() -> list[str]:
    """``"dask 2025.9.0 (pinned 2026.8.0)"`` for every pinned package installed at another version."""
    off = []
    for name, pinned in pinned_versions().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != pinned:
            off.append(f"{name} {installed} (pinned {pinned})")
    return off


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "measured_on_pins: constants measured on python/requirements.txt's versions; "
        "skipped when other versions are installed")


def pytest_collection_modifyitems(config, items):
    marked = [item for item in items if item.get_closest_marker("measured_on_pins")]
    off = versions_off_the_pins() if marked else []
    if off:
        skip = pytest.mark.skip(reason="constants measured on python/requirements.txt's versions; installed: "
                                + ", ".join(off))
        for item in marked:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def embedded_pkg(tmp_path_factory):
    """The package's .py files written to a temp dir, as graphprof's binary
    does (include_str!), to be put on PYTHONPATH."""
    d = tmp_path_factory.mktemp("embedded")
    src = os.path.join(PYDIR, "graphprof")
    shutil.copytree(src, d / "graphprof", ignore=lambda _dir, names: [n for n in names if n == "__pycache__"])
    return str(d)
