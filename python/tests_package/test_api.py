"""graphprof.analyze / export from Python: the typed Analysis, its notebook views, its files."""

from __future__ import annotations

import json

import pytest

import graphprof
from graphprof.api.analysis import Analysis


def _seed(chunks, mapper):
    from graphprof.seed import seed_collection

    return seed_collection(chunks, mapper)


@pytest.fixture(scope="module")
def analysis(seed_mapper) -> Analysis:
    return graphprof.analyze(_seed(64, seed_mapper), workers=4, threshold="10MB")


def test_analyze_a_collection_in_process_reads_its_fields(analysis):
    assert analysis.tasks == 128
    assert analysis.verdict == "SILENT GROWTH"
    assert not analysis.warning.fires and analysis.warning.silent_growth
    culprit = analysis.warning.culprit
    assert culprit is not None and culprit.type_name == "Mapper" and culprit.copies == 64
    assert culprit.size_bytes > 200 * 1024 and "scatter" in culprit.fix
    assert analysis.sizes.materialised_bytes > 60 * analysis.sizes.distinct_payload_bytes
    assert analysis.sizes.duplicated_bytes > 14 * 2**20
    assert [s.strategy for s in analysis.strategies] == ["as-given", "scatter", "delayed"]
    assert analysis.strategies[1].saved_held_bytes > 10 * 2**20
    assert analysis.findings and analysis.findings[0].type_name == "Mapper"


def test_duplicates_is_a_dataframe_with_the_copies(analysis):
    import pandas as pd

    dup = analysis.duplicates
    assert isinstance(dup, pd.DataFrame)
    assert len(dup) == 1
    row = dup.iloc[0]
    assert row["type"] == "Mapper" and row["copies"] == 64 and row["held_wasted_bytes"] > 14 * 2**20


def test_repr_is_a_few_lines_and_to_dict_save_are_the_report(analysis, tmp_path):
    text = repr(analysis)
    assert 3 <= len(text.splitlines()) <= 8 and "SILENT GROWTH" in text and "Mapper" in text
    report = analysis.to_dict()
    assert report["schema"] == "graphprof-analysis" and report["version"] == 2
    path = analysis.save(tmp_path / "a.json")
    assert json.loads(path.read_text()) == report


def test_analyze_a_graph_file_needs_no_export(seed_mapper, tmp_path):
    summary = graphprof.export(_seed(16, seed_mapper), tmp_path / "g.json")
    assert summary.tasks == 32 and summary.payloads == 1
    assert len(repr(summary)) < 300 and "tasks" in repr(summary)
    assert summary.file_bytes == (tmp_path / "g.json").stat().st_size
    a = graphprof.analyze(tmp_path / "g.json", workers=2)
    assert a.tasks == 32 and a.report["options"]["workers"] == 2
    assert a.verdict == "OK" and a.warning.culprit is None
    assert a.findings[0].copies == 16 and a.findings[0].type_name == "Mapper"


def test_repr_html_stays_small_for_a_4096_chunk_graph(seed_mapper):
    a = graphprof.analyze(_seed(4096, seed_mapper))
    page = a._repr_html_()
    assert a.tasks == 8192
    assert a.warning.culprit is not None and a.warning.culprit.copies == 4096
    assert "Mapper" in page and "<table>" in page
    assert len(page) < 20_000, len(page)
