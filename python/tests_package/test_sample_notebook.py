"""graphprof.sample as a notebook sees it, on real LocalClusters: progress while it runs, the
title naming the collection, the HTML view in human units with the CLI's notes, escaping, the
table without empty columns, the plot above each run's baseline with its phases, the temporary
folder removed and an ``output=`` folder kept."""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("distributed")

import graphprof  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>&'\""


def _model_collection(name: str | None = None):
    """The README's collection: a bound method carrying 240 KB of weights, 64 chunks."""
    import dask.array as da
    import numpy as np

    class Model:
        def __init__(self):
            self.weights = np.random.default_rng(0).random(30_000)

        def predict(self, block):
            return block * self.weights[0]

    model = Model()
    kwargs = {"name": name} if name else {}
    return da.arange(64_000, chunks=1_000).map_blocks(model.predict, **kwargs)


def _temp_folders() -> set[str]:
    return {str(p) for p in Path(tempfile.gettempdir()).glob("graphprof-sample-*")}


@pytest.fixture(scope="module")
def given():
    """One run of the three strategies on a LocalCluster of its own, as a notebook cell does:
    the result, what it printed on stderr, the temporary folders it left."""
    before = _temp_folders()
    y = _model_collection()
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        result = graphprof.sample(y, workers=2, hold="0.3s")
    return result, stderr.getvalue(), _temp_folders() - before


def test_progress_is_a_few_lines_per_strategy(given):
    _, stderr, _ = given
    lines = stderr.splitlines()
    for expected in ("as-given: run 1 of 3", "as-given: compute", "scatter: held", "delayed: done"):
        assert any(expected in line for line in lines), stderr
    assert all(re.match(r"graphprof: \[ *\d+\.\d s\] ", line) for line in lines), stderr
    assert len(lines) <= 30, stderr


def test_the_title_names_the_variable_and_no_temporary_folder_is_left(given):
    result, _, left = given
    assert result.title == "y"
    assert not left, f"left behind: {left}"
    assert result.output is None
    assert result.memory_png and result.memory_png.startswith(b"\x89PNG")
    assert "graphprof_collection" not in repr(result) + result._repr_html_()


def test_the_html_view_has_human_units_and_the_notes(given):
    result, _, _ = given
    page = result._repr_html_()
    held = {row["strategy"]: row["held"] for row in result.summary_rows()}
    assert set(held) == {"as-given", "scatter", "delayed"}
    assert all(re.fullmatch(r"\d+(\.\d+)? (KiB|MiB)", value) for value in held.values()), held
    for value in held.values():
        assert f">{value}<" in page
    assert str(int(result.table["held_bytes"][0])) not in page  # no raw byte counts
    assert "Held memory, measured and predicted by analyze" in page
    assert "results equal to the as-given&#x27;s" in page
    assert "scatter: run 2; fresh workers" in page
    text = repr(result)
    assert text.startswith("<graphprof.SampleResult y: 3 runs on 2 workers") and "MiB" in text
    assert "results equal to the as-given's" in text


def test_the_table_has_no_empty_columns_and_names_bytes(given):
    result, _, _ = given
    table = result.table
    assert list(table["label"]) == ["as-given", "scatter", "delayed"]
    assert not table.isna().all().any(), table.columns
    assert "held_managed_bytes" not in table.columns  # empty for every strategy here
    assert {"held_bytes", "peak_bytes", "wire_bytes"} <= set(table.columns)
    assert table["held_bytes"][0] > table["held_bytes"][1]


def test_the_plot_starts_each_run_at_its_baseline_and_marks_the_phases(given):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    result, _, _ = given
    ax = result.plot()
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"as-given", "scatter", "delayed"}
    for label, line in lines.items():
        x, y = line.get_xdata(), line.get_ydata()
        assert x.dtype.kind == "f" and x[0] == 0.0, label
        assert abs(y[0]) < 0.5, (label, y[0])  # MiB above its own baseline
    assert max(lines["as-given"].get_ydata()) > 4 * max(lines["scatter"].get_ydata())
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("held") == 3 and texts.count("compute") == 3
    assert ax.get_title().startswith("y, 2 workers")
    assert "seconds" in ax.get_xlabel() and "MiB" in ax.get_ylabel()
    frame = result.to_pandas(baseline=True)
    assert frame.index.dtype.kind == "f" and frame.index[0] == 0.0


def test_an_output_folder_keeps_the_files_and_a_hostile_name_is_escaped(tmp_path):
    out = tmp_path / "kept"
    before = _temp_folders()
    result = graphprof.sample(_model_collection(HOSTILE), ("as-given", "scatter"), workers=2, hold="0.2s",
                              output=out, progress=False)
    assert _temp_folders() == before
    assert result.output == out
    for name in ("report.json", "samples.csv", "table.csv", "memory.png"):
        assert (out / name).is_file(), name
    assert result.title == f"dask.array.core.Array {HOSTILE}"
    page = result._repr_html_()
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;&amp;&#x27;&quot;" in page
    assert list(result.table["label"]) == ["as-given", "scatter"]


def test_interrupting_the_cell_stops_the_binary_and_its_cluster_and_leaves_no_folder(tmp_path):
    """A notebook's stop button sends SIGINT to the kernel only: sample() stops the binary (which
    stops its driver and workers), removes its temporary folder and raises KeyboardInterrupt."""
    psutil = pytest.importorskip("psutil")
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "cell.py"
    script.write_text(
        "import sys\nsys.path[:0] = [p for p in sys.argv[1:] if p]\n"
        "from test_sample_notebook import _model_collection\nimport graphprof\n"
        "y = _model_collection()\ngraphprof.sample(y, workers=2, hold='5s')\n", encoding="utf-8")
    before = _temp_folders()
    cell = subprocess.Popen([sys.executable, str(script), str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")],
                            stderr=subprocess.PIPE, text=True)
    assert cell.stderr is not None
    seen = []
    for line in cell.stderr:
        seen.append(line)
        if "as-given: held" in line:
            break
    children = psutil.Process(cell.pid).children(recursive=True)
    assert children, "".join(seen)
    os.kill(cell.pid, signal.SIGINT)
    rest = cell.stderr.read()
    assert cell.wait(timeout=60) != 0
    assert "KeyboardInterrupt" in rest, rest
    deadline = time.monotonic() + 30
    alive = children
    while alive and time.monotonic() < deadline:
        alive = [c for c in alive if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.5)
    assert not alive, [c.cmdline() for c in alive]
    assert _temp_folders() == before
