"""``graphprof.sample``: the real-Dask comparison of a collection's strategies, from Python.

The collection is pickled (cloudpickle, by value where it lives in ``__main__``) into a private
temporary folder (0700) beside a two-line script that loads it, and ``graphprof sample
SCRIPT.py:result --engine dask`` runs it: as given, then rewritten (``scatter``, ``delayed``), on
a LocalCluster of its own with fresh workers per strategy, or on the client's scheduler (its
workers restarted between strategies only with ``restart_workers=True``). While it runs, the
binary's progress lines (``--progress-lines``: a few per strategy) and warnings go to stderr,
which a notebook shows under the cell; interrupting the cell stops the binary, which stops its
cluster. The plots are titled with the collection's name (:func:`collection_title`), never the
temporary script. Everything the binary wrote is read into the :class:`SampleResult`; without
``output=`` the temporary folder is then removed, so nothing is left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import _binary
from .._deps import require
from .sample_result import LAYER_COLUMNS, MEASURED_FIELDS, PREDICTED_FIELDS, SampleResult

__all__ = ["LAYER_COLUMNS", "MEASURED_FIELDS", "PREDICTED_FIELDS", "SampleResult", "collection_title",
           "sample"]

_LOADER = '''import pickle
with open({path!r}, "rb") as handle:
    result = pickle.load(handle)
'''


DEFAULT_STRATEGIES = ("as-given", "scatter", "delayed")


def _strategy_args(strategies: Sequence[str]) -> list[str]:
    """The CLI's ``--strategy`` flags: none for the default set (as-given, scatter, delayed), else
    one per strategy in order (any subset, repeats allowed: the CLI labels a repeat ``#2``)."""
    chosen = tuple(strategies)
    unknown = [s for s in chosen if s not in DEFAULT_STRATEGIES]
    if unknown or not chosen:
        raise ValueError(f"strategies={chosen!r}: choose among {DEFAULT_STRATEGIES!r}")
    if chosen == DEFAULT_STRATEGIES:
        return []
    return [arg for s in chosen for arg in ("--strategy", s)]




def collection_title(collection: Any, *, depth: int = 1) -> str:
    """What the plots call ``collection``: the name of the caller's variable holding it (the
    first frame outside graphprof, ``depth`` frames up; its locals, then its globals), else its
    type and key name (``dask.array.core.Array arange-3f2a...``)."""
    frame = sys._getframe(depth)
    while frame is not None and str(frame.f_globals.get("__name__", "")).split(".")[0] == "graphprof":
        frame = frame.f_back
    if frame is not None:
        for scope in (frame.f_locals, frame.f_globals):
            for name, value in list(scope.items()):
                if value is collection and not name.startswith("_"):
                    return name
    kind = f"{type(collection).__module__}.{type(collection).__name__}"
    key = getattr(collection, "name", None) or getattr(collection, "key", None) or ""
    return f"{kind} {key}".strip()


def _run_binary(args: list[str], *, show: Any) -> str:
    """Run the binary with ``args``; every stderr line (progress, warnings) goes to ``show`` as
    it comes; returns stdout. Interrupted (Ctrl-C, a notebook's stop button), the binary gets
    SIGTERM, which it treats as Ctrl-C: it stops its driver and cluster, then this re-raises."""
    command = [_binary.find_graphprof_bin(), *args]
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as stdout:
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, text=True,
                                   encoding="utf-8", errors="replace", bufsize=1)
        last = ""
        try:
            assert process.stderr is not None
            for line in process.stderr:
                line = line.rstrip("\n")
                last = line or last
                show(line)
            process.wait()
        except BaseException:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise
        stdout.seek(0)
        text = stdout.read()
    if process.returncode != 0:
        raise RuntimeError(f"graphprof sample: {last or f'exit {process.returncode}'}")
    return text


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def sample(collection: Any, strategies: Sequence[str] = DEFAULT_STRATEGIES, *,
           client: Any = None, restart_workers: bool | None = None, workers: int = 2,
           interval: str = "50ms", hold: str = "0.5s", output: str | os.PathLike[str] | None = None,
           name: str | None = None, progress: bool = True) -> SampleResult:
    """Run ``collection`` under each strategy on real Dask and return the measured table.

    Without ``client``: a LocalCluster of ``workers`` processes, fresh workers per strategy. With
    ``client``: its scheduler, left running; ``restart_workers=True`` restarts its workers
    before every strategy (else they are reused, and the report says so). ``output``: a folder
    that keeps the run's files (report.json, samples.csv, table.csv, memory.png, ...); without
    it they are read into the result and removed. ``name``: what the plots call the collection
    (default: the caller's variable holding it). ``progress``: print the binary's progress lines
    (a few per strategy) on stderr while it runs.
    """
    require("dask", "sample")
    require("pandas", "sample")
    cloudpickle = require("cloudpickle", "sample")
    title = name or collection_title(collection, depth=2)
    with tempfile.TemporaryDirectory(prefix="graphprof-sample-") as scratch:
        pickled = Path(scratch) / "collection.pkl"
        pickled.write_bytes(cloudpickle.dumps(collection))
        script = Path(scratch) / "graphprof_collection.py"
        script.write_text(_LOADER.format(path=str(pickled)), encoding="utf-8")
        out = Path(output) if output is not None else Path(scratch) / "out"
        table = out / "table.csv"
        args = ["sample", f"{script}:result", "--engine", "dask", "--force", "-o", str(out),
                "--workers", str(workers), "--interval", interval, "--hold", hold,
                "--export-csv", str(table), f"--title={title}"]
        args += _strategy_args(strategies)
        args += ["--python", os.environ.get("GRAPHPROF_PYTHON") or sys.executable]
        if progress:
            args.append("--progress-lines")
        if client is not None:
            args += ["--scheduler", client.scheduler.address]
            if restart_workers:
                args.append("--restart-workers")
        stdout = _run_binary(args, show=_to_stderr)
        if output is not None:
            _name_the_source(out / "report.json", title)
        return SampleResult.read(out, title, stdout, table, keep=output is not None)


def _name_the_source(report: Path, title: str) -> None:
    """The kept report names the collection (``notebook collection NAME``), not the loader
    script in the temporary folder that is gone once ``sample`` returns; written atomically."""
    from ..collect.graph import write_atomic

    if not report.is_file():
        return
    data = json.loads(report.read_text(encoding="utf-8"))
    data.setdefault("parameters", {})["source"] = f"notebook collection {title}"
    write_atomic(data, report)
