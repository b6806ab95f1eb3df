"""The pytest plugin (entry point ``pytest11``): the ``graphprof`` marker and ``graphprof_check``.

``@pytest.mark.graphprof(max_duplicated="1 MB", ...)`` on a test that returns a collection checks
what it returns; the ``graphprof_check(collection, max_duplicated=...)`` fixture checks one where
the test chooses. ``--graphprof-report=DIR`` writes every analysis as JSON into DIR. Hooks and
options live here, what a check means in :mod:`graphprof.pytest.marks`; dask is imported only when a
test is checked.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from .marks import ANALYZE_OPTIONS, Limits, failure_message, violations

_REPORT_DIR = pytest.StashKey[Path | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("graphprof")
    group.addoption("--graphprof-report", metavar="DIR", default=None,
                    help="graphprof: write the analysis of every checked collection as JSON into DIR")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "graphprof(max_duplicated='10 MB', max_materialised=None, max_wire=None, workers=4, threshold='10MB'): "
        "check the Dask collection the test returns with graphprof (no limit given: max_duplicated='10 MB')",
    )
    report = config.getoption("--graphprof-report")
    config.stash[_REPORT_DIR] = Path(report) if report else None


def _limits(options: dict[str, Any]) -> Limits:
    """The check's limits; a typo or a bad size fails the test with one line, no traceback."""
    try:
        return Limits.parse(options)
    except ValueError as e:
        pytest.fail(str(e), pytrace=False)


def _check(config: pytest.Config, nodeid: str, collection: Any, options: dict[str, Any]) -> Any:
    limits = _limits(options)
    from ..api.analysis import analyze

    analysis = analyze(collection, **{k: options[k] for k in ANALYZE_OPTIONS if k in options})
    report_dir = config.stash.get(_REPORT_DIR, None)
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        analysis.save(report_dir / (re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_") + ".json"))
    broken = violations(analysis, limits)
    if broken:
        pytest.fail(failure_message(analysis, broken), pytrace=False)
    return analysis


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    marker = pyfuncitem.get_closest_marker("graphprof")
    func = pyfuncitem.obj
    if marker is None or inspect.iscoroutinefunction(func):
        return None
    if marker.args:
        pytest.fail(f"graphprof marker takes keyword options only, got {marker.args!r}", pytrace=False)
    _limits(dict(marker.kwargs))  # a typo fails before the test runs
    names = pyfuncitem._fixtureinfo.argnames
    collection = func(**{name: pyfuncitem.funcargs[name] for name in names})
    if collection is None:
        pytest.fail("graphprof marker: the test returned None; return the collection to check", pytrace=False)
    _check(pyfuncitem.config, pyfuncitem.nodeid, collection, dict(marker.kwargs))
    return True


@pytest.fixture
def graphprof_check(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``graphprof_check(collection, max_duplicated="1 MB", ...)``: fail the test past a limit; returns the Analysis."""

    def check(collection: Any, **options: Any) -> Any:
        return _check(request.config, request.node.nodeid, collection, options)

    return check
