"""``graphprof_dask``, kept for one release as a thin alias of ``graphprof``: same modules, old API."""

import subprocess
import sys

import graphprof


def test_old_module_names_are_the_new_modules():
    import graphprof_dask
    import graphprof_dask.seed
    from graphprof_dask.exporter import build_graph

    assert graphprof_dask.seed is graphprof.seed
    assert graphprof_dask.seed.Mapper is graphprof.seed.Mapper
    assert build_graph is graphprof.exporter.build_graph
    assert graphprof_dask.rewrite is graphprof.rewrite and graphprof_dask.PROTOCOL == graphprof.PROTOCOL


def test_old_export_still_returns_the_document(tmp_path):
    import graphprof_dask
    from graphprof.seed import Mapper, seed_collection

    doc = graphprof_dask.export(seed_collection(4, Mapper(100)), tmp_path / "g.json")
    assert doc["format"] and len(doc["tasks"]) == 8
    assert doc["meta"]["generator"] == "graphprof.export"


def test_python_m_graphprof_dask_is_the_dask_run_module(embedded_pkg):
    import os

    env = dict(os.environ, PYTHONPATH=embedded_pkg)
    done = subprocess.run([sys.executable, "-m", "graphprof_dask", "--help"], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and "python -m graphprof.dask_run export" in done.stderr
