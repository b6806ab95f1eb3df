"""``graphprof.sample``: the real-Dask comparison of a collection's strategies, from Python.

The collection is pickled (cloudpickle, by value where it lives in ``__main__``) into a temporary
folder beside a two-line script that loads it, and ``graphprof sample SCRIPT.py:result --engine
dask`` runs it: as given, then rewritten (``scatter``, ``delayed``), on a LocalCluster of its own
with fresh workers per strategy, or on the client's scheduler (its workers restarted between
strategies only with ``restart_workers=True``). The result reads the files the CLI writes: the
table, the samples, and what the workers held per layer (``SampleResult.layers``, from
``report.json``).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .. import _binary
from .._deps import require

_LOADER = '''import pickle
with open({path!r}, "rb") as handle:
    result = pickle.load(handle)
'''


@dataclass
class SampleResult:
    """A ``graphprof sample --engine dask`` run: the table, the samples, the files."""

    output: Path
    table: Any
    samples_csv: Path

    def to_pandas(self, *, align: bool = True, measure: str | None = None) -> Any:
        """One column per strategy: whole-cluster bytes (``measure``, default the workers' RSS)
        against time since each run started; with ``align`` from each series' first sample."""
        pd = require("pandas", "SampleResult.to_pandas")
        rows = pd.read_csv(self.samples_csv, keep_default_na=False)
        rows = rows[rows["worker"] == ""]
        if measure is None:
            measure = "rss" if "rss" in set(rows["measure"]) else rows["measure"].iloc[0]
        rows = rows[rows["measure"] == measure]
        columns = {}
        for label, part in rows.groupby("label", sort=False):
            index = pd.to_timedelta(part["time_s"].to_numpy(), unit="s")
            if align:
                index = index - index[0]
            column = pd.Series(part["bytes"].to_numpy(), index=index, name=label)
            columns[label] = column[~column.index.duplicated()]
        frame = pd.DataFrame(columns)
        return frame.ffill().mask(frame.bfill().isna())

    @property
    def layers(self) -> Any:
        """What the workers held per layer while each strategy's results were held, measured on
        the workers, beside ``analyze``'s prediction: one row per strategy and layer (a pandas
        DataFrame; :meth:`layer_rows` gives the rows as dicts, or per worker)."""
        pd = require("pandas", "SampleResult.layers")
        return pd.DataFrame(self.layer_rows(), columns=list(LAYER_COLUMNS))

    def layer_rows(self, *, per_worker: bool = False) -> list[dict[str, Any]]:
        """The rows of :attr:`layers`, read from ``report.json``; with ``per_worker`` one row per
        strategy, layer and worker (``worker`` its id, ``address``), measured figures only."""
        report = json.loads((self.output / "report.json").read_text(encoding="utf-8"))
        rows: list[dict[str, Any]] = []
        for run in report.get("runs", []):
            for layer in (run.get("real_dask") or {}).get("held_layers", []):
                if per_worker:
                    for on in layer.get("per_worker", []):
                        rows.append({"run": run["label"], "layer": layer["layer"],
                                     "worker": on["worker"], "address": on["address"],
                                     **on["measured"]})
                    continue
                measured = layer.get("measured") or {}
                predicted = layer.get("predicted") or {}
                row = {"run": run["label"], "layer": layer["layer"]}
                for field in MEASURED_FIELDS:
                    row[field] = measured.get(field)
                for field in PREDICTED_FIELDS:
                    row[f"predicted_{field}"] = predicted.get(field)
                rows.append(row)
        return rows

    def plot(self, **kwargs: Any) -> Any:
        """Plot :meth:`to_pandas` in MiB; returns the matplotlib axes."""
        require("matplotlib", "SampleResult.plot", extra="plot")
        kwargs.setdefault("ylabel", "memory (MiB)")
        return (self.to_pandas() / 2**20).plot(**kwargs)


DEFAULT_STRATEGIES = ("as-given", "scatter", "delayed")

#: Measured per-layer figures (report.json ``held_layers[].measured``); ``results_bytes`` is Dask's
#: ``sizeof``, ``run_spec_bytes`` in memory, ``estimated`` when part of it is extrapolated.
MEASURED_FIELDS = ("tasks_in_memory", "results_bytes", "released_kept", "run_spec_bytes",
                   "estimated")
#: analyze's per-layer prediction (``held_layers[].predicted``), as ``predicted_<field>`` columns.
PREDICTED_FIELDS = ("tasks_in_memory", "results_bytes", "unknown_results", "released_kept",
                    "run_spec_bytes")
#: The columns of ``SampleResult.layers``.
LAYER_COLUMNS = ("run", "layer", *MEASURED_FIELDS, *(f"predicted_{f}" for f in PREDICTED_FIELDS))


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


def sample(collection: Any, strategies: Sequence[str] = DEFAULT_STRATEGIES, *,
           client: Any = None, restart_workers: bool | None = None, workers: int = 2,
           interval: str = "50ms", hold: str = "0.5s", output: str | os.PathLike[str] | None = None) -> SampleResult:
    """Run ``collection`` under each strategy on real Dask and return the measured table.

    Without ``client``: a LocalCluster of ``workers`` processes, fresh workers per strategy. With
    ``client``: its scheduler, left running; ``restart_workers=True`` restarts its workers
    before every strategy (else they are reused, and the report says so).
    """
    require("dask", "sample")
    require("pandas", "sample")
    cloudpickle = require("cloudpickle", "sample")
    out = Path(output) if output is not None else Path(tempfile.mkdtemp(prefix="graphprof-sample-"))
    with tempfile.TemporaryDirectory(prefix="graphprof-collection-") as tmp:
        pickled = Path(tmp) / "collection.pkl"
        pickled.write_bytes(cloudpickle.dumps(collection))
        script = Path(tmp) / "graphprof_collection.py"
        script.write_text(_LOADER.format(path=str(pickled)), encoding="utf-8")
        args = ["sample", f"{script}:result", "--engine", "dask", "-q", "--force", "-o", str(out),
                "--workers", str(workers), "--interval", interval, "--hold", hold,
                "--export-csv", str(out / "table.csv")]
        args += _strategy_args(strategies)
        args += ["--python", os.environ.get("GRAPHPROF_PYTHON") or sys.executable]
        if client is not None:
            args += ["--scheduler", client.scheduler.address]
            if restart_workers:
                args.append("--restart-workers")
        _binary.run(args)
    pd = require("pandas", "sample")
    return SampleResult(output=out, table=pd.read_csv(out / "table.csv"), samples_csv=out / "samples.csv")
