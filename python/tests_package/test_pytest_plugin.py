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


def test_a_marker_typo_is_one_line_without_a_traceback(pytester):
    pytester.makepyfile(test_typo='''
import pytest

@pytest.mark.graphprof(max_duplicatd="1 MB")
def test_typo():
    raise AssertionError("the test body must not run")

def test_fixture_typo(graphprof_check):
    graphprof_check(object(), max_wir="1 MB")

@pytest.mark.graphprof("1 MB")
def test_positional():
    raise AssertionError("the test body must not run")
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*graphprof marker: unknown option 'max_duplicatd' (expected one of max_duplicated, *",
        "*graphprof marker: unknown option 'max_wir'*",
        "*graphprof marker takes keyword options only*",
    ])
    assert "Traceback" not in out and "plugin.py" not in out and "marks.py" not in out, out
    assert "the test body must not run" not in out, out


def test_a_bare_marker_checks_the_default_limit(pytester):
    pytester.makepyfile(test_bare='''
import pytest
from graphprof.seed import Mapper, make_mapper, mapper_len_for_bytes, seed_collection

import dask

N = mapper_len_for_bytes(240 * 1024)

@pytest.mark.graphprof
def test_bare_marker():
    return seed_collection(64, Mapper(N))

@pytest.mark.graphprof
def test_bare_marker_on_the_fix():
    return seed_collection(64, dask.delayed(make_mapper)(N))

@pytest.mark.graphprof(max_duplicated=None)
def test_default_turned_off():
    return seed_collection(64, Mapper(N))

def test_bare_fixture(graphprof_check):
    graphprof_check(seed_collection(64, Mapper(N)))
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*graphprof: duplicated 14.* MiB > max_duplicated=10 MB (the default)*",
    ])
    failed = [line for line in result.stdout.lines if line.startswith("FAILED")]
    assert sorted(line.split("::")[1].split(" ")[0] for line in failed) == ["test_bare_fixture", "test_bare_marker"]
