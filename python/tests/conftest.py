import os
import shutil
import sys

import pytest

PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PYDIR not in sys.path:
    sys.path.insert(0, PYDIR)

from graphcheck import check_graph  # noqa: E402,F401


@pytest.fixture(scope="session")
def embedded_pkg(tmp_path_factory):
    """The package's .py files written to a temp dir, as graphprof's binary
    does (include_str!), to be put on PYTHONPATH."""
    d = tmp_path_factory.mktemp("embedded")
    src = os.path.join(PYDIR, "graphprof")
    shutil.copytree(src, d / "graphprof", ignore=lambda _dir, names: [n for n in names if n == "__pycache__"])
    return str(d)
