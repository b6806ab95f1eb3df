"""The pytest plugin, as a user's suite meets it: a separate pytest run through pytester."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("dask")

SUITE = '''
import numpy as np
import pytest
from graphprof.seed import Mapper, make_mapper, mapper_len_for_bytes, seed_collection

import dask

N = mapper_len_for_bytes(240 * 1024)

@pytest.mark.graphprof(max_duplicated="1 MB")
def test_embeds_a_large_object():
    return seed_collection(64, Mapper(N))

@pytest.mark.graphprof(max_duplicated="1 MB", max_wire="10 MB")
def test_fixed_with_delayed():
    return seed_collection(64, dask.delayed(make_mapper)(N))

def test_fixture_form(graphprof_check):
    graphprof_check(seed_collection(64, Mapper(N)), max_materialised="100 MB")
    graphprof_check(seed_collection(64, Mapper(N)), max_materialised="2 MB")
'''


def test_plugin_fails_the_embedded_object_and_passes_the_fix(pytester):
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--graphprof-report=reports", "-W",
                                           "error::pytest.PytestReturnNotNoneWarning")
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*graphprof: duplicated 14.* MiB > max_duplicated=1 MB*",
        "*payload: Mapper, an argument of lookup (type Mapper, 239 KiB pickled each, 64 copies, 14.* MiB in memory beyond the first, layer *",
        "*held: as given 1*.* MiB; scatter *.* MiB (saves +1*.* MiB); delayed *.* MiB (saves +1*.* MiB) on 4 workers*",
        "*fix: send it once: pass client.scatter(obj, broadcast=True)*dask.delayed(obj)*",
        "*graphprof: materialised 15.* MiB > max_materialised=2 MB*",
    ])
    assert "Traceback" not in out  # one short message, not a stack
    reports = sorted(p.name for p in (pytester.path / "reports").iterdir())
    assert len(reports) == 3 and all(name.startswith("test_suite.py_") for name in reports)
    doc = json.loads((pytester.path / "reports" / reports[0]).read_text())
    assert doc["schema"] == "graphprof-analysis"


def test_plugin_imports_no_dask_until_a_test_uses_it(pytester):
    pytester.makepyfile(test_light='''
import sys

def test_nothing_heavy():
    assert "graphprof.pytest.plugin" in sys.modules  # the entry point loaded it
    assert "dask" not in sys.modules and "pandas" not in sys.modules
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_marker_options_are_checked(pytester):
    pytester.makepyfile(test_bad='''
import pytest

@pytest.mark.graphprof(max_duplicated="lots")
def test_bad():
    import dask.array as da
    return da.ones(10, chunks=5)
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*max_duplicated='lots' is not a size*"])
