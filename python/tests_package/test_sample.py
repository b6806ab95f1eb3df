"""graphprof.sample: the seed collection on a LocalCluster of its own, one column per strategy."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("distributed")

import graphprof  # noqa: E402


def test_sample_the_seed_collection_on_a_localcluster(seed_mapper, tmp_path):
    from graphprof.seed import seed_collection

    result = graphprof.sample(seed_collection(64, seed_mapper), workers=2, hold="0.2s", output=tmp_path / "out")
    table = result.table
    assert list(table["label"]) == ["as-given", "scatter", "delayed"]
    assert set(table["engine"]) == {"dask"} and table["complete"].all()
    held = dict(zip(table["label"], table["held_bytes"]))
    assert held["as-given"] > held["scatter"] and held["as-given"] > held["delayed"]
    frame = result.to_pandas(align=True)
    assert list(frame.columns) == ["as-given", "scatter", "delayed"]
    assert frame.index[0] == 0.0 and frame["as-given"].max() > 0  # seconds, a float index
    assert (tmp_path / "out" / "report.json").is_file() and (tmp_path / "out" / "memory.png").is_file()
    # The kept report names the collection, not the loader script in the removed temporary folder.
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["parameters"]["source"] == f"notebook collection {result.title}"
    assert [run["label"] for run in report["runs"]] == ["as-given", "scatter", "delayed"]


def test_sample_refuses_an_unknown_strategy():
    from graphprof.api.comparison import _strategy_args

    assert _strategy_args(("as-given", "scatter", "delayed")) == []
    assert _strategy_args(("scatter",)) == ["--strategy", "scatter"]
    assert _strategy_args(("as-given",)) == ["--strategy", "as-given"]
    assert _strategy_args(("delayed", "as-given")) == ["--strategy", "delayed", "--strategy", "as-given"]
    with pytest.raises(ValueError, match="choose among"):
        _strategy_args(("teleport",))
