"""The guard's model against fixtures/guard/vectors.json, the vectors `graphprof analyze` passes
too (tests/guard_vectors.rs): one model on both sides."""

import json
import os

import pytest

from graphprof.guard.model import ContentUse, assess, parse_bytes, totals

VECTORS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "guard", "vectors.json")


def _vectors():
    with open(VECTORS) as f:
        return json.load(f)["vectors"]


@pytest.mark.parametrize("vector", _vectors(), ids=lambda v: v["name"][:40])
def test_guard_model_agrees_with_the_vectors(vector):
    assessed = []
    for content, expected in zip(vector["contents"], vector["expected"]["contents"]):
        use = ContentUse(size_bytes=content["size_bytes"], copies=content["copies"],
                         objects=content["objects"], held_copies=content["held_copies"],
                         in_memory_bytes=content.get("in_memory_bytes"))
        a = assess(use)
        assessed.append(a)
        assert a.kind == expected["kind"]
        assert a.copies == expected["copies"]
        assert a.duplicated_bytes == expected["duplicated_bytes"]
        assert a.materialised_bytes == expected["materialised_bytes"]
        assert a.held_bytes == expected["held_bytes"]
        assert a.held_bytes_at_least == expected["held_bytes_at_least"]
        assert a.held_duplicated_bytes == expected["held_duplicated_bytes"]
    total = totals(assessed)
    for figure in ("duplicated_bytes", "materialised_bytes", "held_bytes", "held_bytes_at_least"):
        assert total[figure] == vector["expected"][figure], figure


def test_thresholds_read_as_dask_writes_them():
    assert parse_bytes("100 MB") == 100_000_000
    assert parse_bytes("1 GiB") == 2**30
    assert parse_bytes(5000) == 5000
    assert parse_bytes(None) is None and parse_bytes("off") is None
    with pytest.raises(ValueError):
        parse_bytes("ten megs")
