"""What the pytest marker checks when it is given no limit, and how a misspelt option is reported
(graphprof.pytest.marks; the marker itself, in a user's suite, is python/tests_package/test_pytest_plugin.py)."""

from __future__ import annotations

import pytest

from graphprof.pytest.marks import DEFAULT_MAX_DUPLICATED, Limits, parse_size


def test_no_limit_given_checks_dask_s_own_10_mb_on_duplicated_bytes():
    limits = Limits.parse({})
    assert DEFAULT_MAX_DUPLICATED == "10 MB"
    assert limits.max_duplicated == parse_size("10 MB", "max_duplicated") == 10_000_000
    assert limits.max_materialised is None and limits.max_wire is None
    assert dict(limits.written) == {"max_duplicated": "10 MB (the default)"}
    # Options that are not limits (workers, threshold) do not turn the default off.
    assert Limits.parse({"workers": 2}).max_duplicated == 10_000_000


def test_a_limit_given_replaces_the_default_and_none_turns_it_off():
    assert Limits.parse({"max_wire": "1 MB"}).max_duplicated is None
    assert Limits.parse({"max_duplicated": None}).max_duplicated is None
    assert Limits.parse({"max_duplicated": "2 MiB"}).max_duplicated == 2 * 2**20


def test_a_misspelt_option_names_itself_and_the_options():
    with pytest.raises(ValueError, match=r"unknown option 'max_duplicatd' \(expected one of max_duplicated"):
        Limits.parse({"max_duplicatd": "1 MB"})
