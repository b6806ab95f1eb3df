"""The README's notebook cells cannot rot: the ```python blocks of its notebook section run, in
order, as one notebook in a real Jupyter kernel (nbclient and ipykernel, from
``python/requirements-notebook.txt``) in the wheel's venv, where the README's install line for
notebooks (``pip install ".[dask,plot]"``, the wheel with those extras) put graphprof.
``graphprof.sample`` starts its own LocalCluster. A ```text block right after a cell is what the
cell's result prints (``text/plain``), compared with the README test's rules (tests/readme.rs): a
line ``...`` ends the comparison, a shown line ending in ``...`` only has to start the printed one.
A cell calling ``.plot()`` must show a PNG, a ``graphprof.sample`` cell its progress on stderr and
its HTML view; no cell logs an error or a traceback, and no temporary folder is left behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## The first notebook cells"
#: Seconds a cell may take (graphprof.sample runs three strategies on fresh workers).
CELL_TIMEOUT = 600


def notebook_cells(text: str) -> list[tuple[str, list[str] | None]]:
    """The README's notebook section as cells: each ```python block's source and the lines of the
    ```text block right after it, if any."""
    section = text[text.index(SECTION):]
    end = section.find("\n## ", len(SECTION))
    section = section if end < 0 else section[:end]
    blocks: list[tuple[str, list[str]]] = []
    current: tuple[str, list[str]] | None = None
    for line in section.splitlines():
        if line.startswith("```"):
            if current is None:
                current = (line[3:].strip(), [])
            else:
                blocks.append(current)
                current = None
        elif current is not None:
            current[1].append(line)
    cells: list[tuple[str, list[str] | None]] = []
    for index, (kind, lines) in enumerate(blocks):
        if kind == "python":
            after = blocks[index + 1] if index + 1 < len(blocks) else None
            cells.append(("\n".join(lines), after[1] if after and after[0] == "text" else None))
    return cells


def mismatch(shown: list[str], printed: str) -> str | None:
    """Where ``printed`` differs from ``shown`` under the README test's elision rules, or None."""
    actual = printed.splitlines()
    for index, line in enumerate(shown):
        if line == "...":
            return None
        got = actual[index] if index < len(actual) else "<missing>"
        prefix = line[:-3].rstrip() if line.endswith("...") else None
        if (prefix is not None and not got.startswith(prefix)) or (prefix is None and got != line):
            return f"line {index + 1}\nshown:   {line}\nprinted: {got}"
    return None


def _require_nbclient():
    try:
        import nbclient
        import nbformat
    except ImportError:
        if os.environ.get("GRAPHPROF_WHEEL"):  # the wheel stage installs them: missing is a failure
            raise
        pytest.skip("nbclient/nbformat not installed (pip install -r python/requirements-notebook.txt)")
    return nbclient, nbformat


def test_the_readme_cells_parse_into_cells_with_their_shown_output():
    cells = notebook_cells(README.read_text(encoding="utf-8"))
    assert len(cells) >= 3
    assert "graphprof.analyze(y)" in cells[0][0] and cells[0][1]
    assert any("graphprof.sample(" in source and shown for source, shown in cells)
    assert any(".plot()" in source for source, _ in cells)
    assert mismatch(["a ...", "b", "..."], "a x\nb\nc") is None
    assert mismatch(["a", "b"], "a\nc") is not None


def test_the_readme_notebook_cells_run_in_a_kernel(tmp_path):
    pytest.importorskip("distributed")
    pytest.importorskip("matplotlib")
    nbclient, nbformat = _require_nbclient()
    cells = notebook_cells(README.read_text(encoding="utf-8"))
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source, _ in cells]
    before = set(Path(tempfile.gettempdir()).glob("graphprof-sample-*"))
    client = nbclient.NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    finally:
        nbformat.write(notebook, tmp_path / "readme.ipynb")  # kept for a look when a cell fails
    for (source, shown), cell in zip(cells, notebook.cells):
        outputs = cell.get("outputs", [])
        data = {}
        for output in outputs:
            data.update(output.get("data", {}))
        stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
        assert "Traceback" not in stderr and " - ERROR - " not in stderr, f"cell {source!r}:\n{stderr}"
        if shown is not None:
            printed = data.get("text/plain", "")
            problem = mismatch(shown, printed)
            assert problem is None, f"cell {source!r}: {problem}\n--- printed:\n{printed}"
        if ".plot()" in source:
            assert "image/png" in data, f"cell {source!r} shows no plot: {list(data)}"
        if "graphprof.sample(" in source:
            assert "as-given: run 1 of 3" in stderr and "delayed: done" in stderr, stderr
            assert "Held memory, measured and predicted by analyze" in data.get("text/html", ""), list(data)
    assert set(Path(tempfile.gettempdir()).glob("graphprof-sample-*")) == before
