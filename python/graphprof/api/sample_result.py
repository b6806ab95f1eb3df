""":class:`SampleResult`: what ``graphprof.sample`` measured, read from the files the binary wrote.

Everything is read into the result when the run ends (``report.json``, ``samples.csv``, the
``--export-csv`` table, ``memory.png`` and the notes the CLI prints under its table), so the
temporary folder can go at once; ``output`` is the folder only when the user named one. The
notebook views: :meth:`SampleResult._repr_html_` (one held figure per strategy in KiB/MiB as the
CLI prints them, the prediction beside it, the CLI's notes, its ``memory.png``), a plain
``repr`` of the same, and :meth:`SampleResult.plot` (each run above its own baseline, phases
marked; :mod:`.sample_plot`). Nothing here re-computes a figure the binary wrote.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._deps import require
from .analysis import fmt_bytes

#: Measured per-layer figures (report.json ``held_layers[].measured``); ``results_bytes`` is Dask's
#: ``sizeof``, ``run_spec_bytes`` in memory, ``estimated`` when part of it is extrapolated;
#: ``fetched`` (``fetched_bytes``): the layer's results the scheduler moved to another worker.
MEASURED_FIELDS = ("tasks_in_memory", "results_bytes", "released_kept", "run_spec_bytes",
                   "estimated", "fetched", "fetched_bytes")
#: analyze's per-layer prediction (``held_layers[].predicted``), as ``predicted_<field>`` columns.
PREDICTED_FIELDS = ("tasks_in_memory", "results_bytes", "unknown_results", "released_kept",
                    "run_spec_bytes")
#: The columns of ``SampleResult.layers``.
LAYER_COLUMNS = ("run", "layer", *MEASURED_FIELDS, *(f"predicted_{f}" for f in PREDICTED_FIELDS))
#: The CLI's notes a notebook shows first (by their heading); the rest is folded away.
KEY_NOTES = ("Held memory, measured and predicted", "Memory is above")


def _signed_percent(value: float | None) -> str:
    return "-" if value is None else f"{value:+.0f}%"


@dataclass(repr=False)
class SampleResult:
    """A ``graphprof sample --engine dask`` run: the table, the samples, the notes, the plot."""

    #: What ran, as the plots' titles name it (the collection's variable, or its type and name).
    title: str
    #: ``report.json`` as the binary wrote it (schema ``graphprof-sample``).
    report: dict[str, Any]
    #: One row per strategy (``--export-csv``): bytes in ``*_bytes`` columns (above each run's
    #: baseline), seconds in ``*_s``; columns empty for every strategy are left out.
    table: Any
    #: ``samples.csv``: ``label, time_s, measure, worker, bytes`` (``worker`` empty for the
    #: whole cluster).
    samples: Any = field(default=None)
    #: The lines the CLI prints under its table: held measured beside predicted, results
    #: compared, broadcasts, fresh or reused workers, per-layer figures.
    notes: list[str] = field(default_factory=list)
    #: The folder the run's files were kept in (``output=``), or ``None`` (they were removed).
    output: Path | None = None
    #: The CLI's ``memory.png`` (absolute memory per run, phases along the top), as bytes.
    memory_png: bytes | None = None

    @classmethod
    def read(cls, folder: Path, title: str, stdout: str, table_csv: Path,
             keep: bool) -> SampleResult:
        """Everything the binary wrote to ``folder`` (and printed), read into a result."""
        pd = require("pandas", "sample")
        table = pd.read_csv(table_csv)
        table = table.dropna(axis="columns", how="all")
        samples = pd.read_csv(folder / "samples.csv", keep_default_na=False,
                              dtype={"worker": str, "label": str})
        png = folder / "memory.png"
        return cls(
            title=title,
            report=json.loads((folder / "report.json").read_text(encoding="utf-8")),
            table=table, samples=samples, notes=cli_notes(stdout),
            output=folder if keep else None,
            memory_png=png.read_bytes() if png.is_file() else None,
        )

    # -- the figures -----------------------------------------------------------------------

    @property
    def runs(self) -> list[dict[str, Any]]:
        """The report's runs, one per strategy, in the order they ran."""
        return list(self.report.get("runs", []))

    @property
    def measure(self) -> str:
        """The main measure: the workers' RSS when sampled, else the first one sampled."""
        measures = list(dict.fromkeys(self.samples["measure"])) if self.samples is not None else []
        return "rss" if "rss" in measures or not measures else measures[0]

    def baseline_bytes(self, label: str, measure: str | None = None) -> int | None:
        """The whole cluster's level before ``label`` ran (report.json ``measures``)."""
        measure = measure or self.measure
        for run in self.runs:
            if run["label"] == label:
                for m in run.get("measures", []):
                    if m.get("worker") is None and m.get("measure") == measure:
                        return m.get("baseline_bytes")
        return None

    def to_pandas(self, *, align: bool = True, measure: str | None = None,
                  baseline: bool = False) -> Any:
        """One column per strategy: whole-cluster bytes (``measure``, default the workers' RSS)
        indexed by seconds (floats, ``time_s``); with ``align`` since each series' first sample,
        with ``baseline`` minus each run's baseline (so every run starts near 0)."""
        pd = require("pandas", "SampleResult.to_pandas")
        measure = measure or self.measure
        rows = self.samples[(self.samples["worker"] == "") & (self.samples["measure"] == measure)]
        columns = {}
        for label, part in rows.groupby("label", sort=False):
            times = part["time_s"].to_numpy(dtype=float)
            if align and len(times):
                times = times - times[0]
            values = part["bytes"].to_numpy(dtype=float)
            if baseline:
                values = values - float(self.baseline_bytes(label, measure) or values[0])
            column = pd.Series(values, index=pd.Index(times, name="time_s"), name=label)
            columns[label] = column[~column.index.duplicated()]
        frame = pd.DataFrame(columns)
        frame.index.name = "time_s"
        return frame.ffill().mask(frame.bfill().isna())

    def plot(self, *, measure: str | None = None, ax: Any = None, **kwargs: Any) -> Any:
        """Each run above its own baseline against seconds since its first sample, phases marked
        along the top in each run's colour (as the CLI's memory.png); returns the axes."""
        require("matplotlib", "SampleResult.plot", extra="plot")
        from .sample_plot import plot

        return plot(self, measure=measure or self.measure, ax=ax, **kwargs)

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
        rows: list[dict[str, Any]] = []
        for run in self.runs:
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
                for name in MEASURED_FIELDS:
                    row[name] = measured.get(name)
                for name in PREDICTED_FIELDS:
                    row[f"predicted_{name}"] = predicted.get(name)
                rows.append(row)
        return rows

    # -- the views -------------------------------------------------------------------------

    def summary_rows(self) -> list[dict[str, str]]:
        """One row per strategy in human units: held (the one held figure, above the baseline),
        analyze's prediction and the error, peak, after release, wire, wall time, complete."""
        table = {row["label"]: row for row in self.table.to_dict("records")} if self.table is not None else {}
        rows = []
        for run in self.runs:
            label = run["label"]
            held = run.get("held_vs_model") or {}
            row = table.get(label, {})

            def size(name: str, row: dict[str, Any] = row) -> str:
                value = row.get(name)
                return "-" if value is None or math.isnan(value) else fmt_bytes(int(value))

            rows.append({
                "strategy": label,
                "held": size("held_bytes"),
                "predicted": ((">= " if held.get("lower_bound") else "") + fmt_bytes(held["predicted_bytes"])
                              if held else "-"),
                "error": ("-" if not held or held.get("lower_bound")
                          else _signed_percent(held.get("error_percent"))),
                "peak": size("peak_bytes"),
                "after release": size("after_release_bytes"),
                "wire": fmt_bytes(run["wire_bytes"]) if run.get("wire_bytes") is not None else "-",
                "wall": f"{run.get('wall_time_s', 0):.2f} s",
                "complete": "yes" if run.get("complete") else f"no: {run.get('error') or 'stopped'}",
            })
        return rows

    def key_notes(self) -> tuple[list[str], list[str]]:
        """:attr:`notes` in two parts: the ones a notebook shows (held measured beside predicted,
        each run's facts: fresh workers, results compared, what moved, broadcasts; how to read
        the table) and the rest (per chunk, per layer), each in the CLI's order."""
        labels = {run["label"] for run in self.runs}
        key: list[str] = []
        facts: list[str] = []
        rest: list[str] = []
        heading = ""
        for line in self.notes:
            if not line.startswith(" "):
                heading = line
            label = line[2:].split(": ", 1)[0] if line.startswith("  ") and not line.startswith("   ") else None
            if label in labels and ": " in line and not heading.startswith("Held memory per chunk"):
                facts.append(line)
            elif heading.startswith(KEY_NOTES):
                key.append(line)
            else:
                rest.append(line)
        return key + facts, rest

    def _heading(self) -> str:
        parameters = self.report.get("parameters", {})
        return (f"{self.title}: {len(self.runs)} runs on {parameters.get('workers', '?')} workers, "
                f"memory ({self.measure}) above each run's baseline")

    def __repr__(self) -> str:
        rows = self.summary_rows()
        lines = [f"<graphprof.SampleResult {self._heading()}>"]
        if rows:
            names = list(rows[0])
            widths = {n: max(len(n), *(len(r[n]) for r in rows)) for n in names}
            lines.append("  " + "  ".join(n.ljust(widths[n]) for n in names).rstrip())
            lines += ["  " + "  ".join(r[n].ljust(widths[n]) for n in names).rstrip() for r in rows]
        key, rest = self.key_notes()
        lines += ["  " + note for note in key]
        if rest:
            lines.append(f"  ... {len(rest)} more lines in .notes (per chunk, per layer)")
        if self.output is not None:
            lines.append(f"  files: {self.output}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        rows = self.summary_rows()
        heading = self._heading()[len(self.title) + 2:]
        parts = [f"<div class='graphprof-sample'><b>{e(self.title)}</b>: {e(heading)}"]
        if rows:
            names = list(rows[0])
            parts.append("<table><tr>" + "".join(f"<th>{e(n)}</th>" for n in names) + "</tr>")
            parts += ["<tr>" + "".join(f"<td style='text-align:{'left' if n == 'strategy' else 'right'}'>"
                                       f"{e(r[n])}</td>" for n in names) + "</tr>" for r in rows]
            parts.append("</table>")
        key, rest = self.key_notes()
        if key:
            parts.append(f"<pre>{e(chr(10).join(key))}</pre>")
        if rest:
            parts.append(f"<details><summary>{len(rest)} more lines of notes (per chunk, per layer)"
                         f"</summary><pre>{e(chr(10).join(rest))}</pre></details>")
        if self.memory_png:
            data = base64.b64encode(self.memory_png).decode("ascii")
            parts.append("<details><summary>memory.png (the CLI's plot: absolute memory per run; "
                         ".plot() draws each run above its baseline)</summary>"
                         f"<img alt='memory.png' src='data:image/png;base64,{data}'/></details>")
        if self.output is not None:
            parts.append(f"<p>files: <code>{e(str(self.output))}</code></p>")
        parts.append("</div>")
        return "".join(parts)


def cli_notes(stdout: str) -> list[str]:
    """The notes the CLI printed under its table: the lines after the table's first blank line,
    without the closing ``Wrote ...`` line of files that may no longer exist."""
    lines = stdout.splitlines()
    try:
        start = lines.index("") + 1
    except ValueError:
        return []
    notes = [line.rstrip() for line in lines[start:] if line.strip()]
    return [line for line in notes if not line.startswith("Wrote ")]
