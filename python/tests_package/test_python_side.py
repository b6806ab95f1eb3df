"""Which copy of its Python side the installed binary runs (``python -m graphprof.run``):
the installed package when its version is the binary's, else the copy the binary embeds, which
it then says. ``GRAPHPROF_VERBOSE=1`` makes the binary name the copy; a fake ``graphprof`` on
``PYTHONPATH`` whose ``run`` entry only reports itself shows which copy really ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import graphprof
from graphprof._binary import find_graphprof_bin

SCRIPT = "import dask\nresult = dask.delayed(sum)([dask.delayed(len)('abc'), 1])\n"
FAKE_RUN = "import sys\nprint('graphprof: the fake installed copy ran', file=sys.stderr)\nsys.exit(1)\n"


def _export(tmp_path: Path, python: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "tiny.py").write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GRAPHPROF_PYTHON")}
    env["GRAPHPROF_VERBOSE"] = "1"
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([find_graphprof_bin(), "dask", "export", f"{tmp_path / 'tiny.py'}:result",
                           "-o", str(tmp_path / "graph.json"), "--python", python],
                          capture_output=True, text=True, env=env)


def _fake(site: Path, version: str) -> Path:
    (site / "graphprof").mkdir(parents=True)
    (site / "graphprof" / "__init__.py").write_text(f"__version__ = {version!r}\n")
    (site / "graphprof" / "run").mkdir()
    for name in ("__init__.py", "commands.py"):  # what the binary's probe imports
        (site / "graphprof" / "run" / name).write_text("")
    (site / "graphprof" / "run" / "__main__.py").write_text(FAKE_RUN)
    return site


def test_the_installed_wheel_is_the_copy_that_runs(tmp_path):
    pytest.importorskip("dask")
    done = _export(tmp_path, sys.executable)
    assert done.returncode == 0, done.stderr
    assert f"Python side: installed graphprof {graphprof.__version__} ({graphprof.__file__})" in done.stderr
    assert "embedded" not in done.stderr
    # A package at the binary's version found first on the path is the one that runs.
    fake = _export(tmp_path, sys.executable, _fake(tmp_path / "site", graphprof.__version__))
    assert fake.returncode != 0 and "the fake installed copy ran" in fake.stderr, fake.stderr


def test_an_installed_package_of_another_version_is_passed_over(tmp_path):
    pytest.importorskip("dask")
    done = _export(tmp_path, sys.executable, _fake(tmp_path / "site", "0.0.1-other"))
    assert done.returncode == 0, done.stderr  # the embedded exporter ran, not the fake
    assert "fake installed copy" not in done.stderr
    assert "is version 0.0.1-other" in done.stderr
    assert "running the copy embedded in the binary instead" in done.stderr
    assert f"Python side: the copy embedded in graphprof {graphprof.__version__}" in done.stderr
    assert (tmp_path / "graph.json").is_file()


def test_a_python_without_graphprof_gets_the_embedded_copy(tmp_path):
    base = Path(sys.base_prefix) / "bin" / "python3"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = subprocess.run([str(base), "-c", "import graphprof"], capture_output=True, env=env)
    if not base.exists() or probe.returncode == 0:
        pytest.skip(f"{base} is missing or has graphprof installed")
    done = _export(tmp_path, str(base))
    assert f"Python side: the copy embedded in graphprof {graphprof.__version__}" in done.stderr
    assert "warning" not in done.stderr
    if subprocess.run([str(base), "-c", "import dask"], capture_output=True, env=env).returncode != 0:
        # The embedded exporter ran and named what is missing.
        assert done.returncode == 2 and "pip install" in done.stderr, done.stderr
    else:
        assert done.returncode == 0, done.stderr
