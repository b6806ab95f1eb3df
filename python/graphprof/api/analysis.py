"""The notebook API: ``analyze`` and ``export``, and the typed :class:`Analysis` they return.

``analyze`` exports a collection in-process with graphprof's exporter (or takes a graph file),
runs the binary's ``graphprof analyze --format json`` on it and wraps the report: sizes, the
warning verdict and its culprit, the findings, the strategy predictions, and ``duplicates`` as a
pandas DataFrame. A notebook cell shows :meth:`Analysis._repr_html_`, the first screen of
``graphprof analyze`` (bounded: at most :data:`ROWS` rows per table), never the whole graph.
The analysis itself is the binary's; nothing here re-computes it.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _binary
from .._deps import require

#: Rows shown per table in the notebook view and the plain repr.
ROWS = 10


def fmt_bytes(n: int | float | None) -> str:
    """Bytes as the CLI prints them (``248 KiB``, ``15.0 MiB``)."""
    if n is None:
        return "unknown"
    value, unit = float(n), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            break
        value /= 1024
    if unit == "B":
        return f"{int(value)} B"
    return f"{value:.0f} {unit}" if value >= 100 else f"{value:.2f} {unit}" if value < 10 else f"{value:.1f} {unit}"


@dataclass(frozen=True)
class Sizes:
    """The graph's sizes in bytes (see the README's table of what each is)."""

    wire_bytes: int
    materialised_bytes: int
    payload_bytes: int
    distinct_payload_bytes: int
    output_bytes: int
    duplicated_bytes: int
    duplication_ratio: float
    wire_bytes_measured: int | None = None


@dataclass(frozen=True)
class Finding:
    """One payload worth fixing: what it is, how many copies, what it wastes, and the fix."""

    kind: str
    type_name: str
    size_bytes: int
    copies: int
    held_wasted_bytes: int
    layer: str | None
    fix: str
    digest: str | None = None
    description: str | None = None
    variable: str | None = None
    example_key: str | None = None

    @property
    def what(self) -> str:
        """The payload in a few words: its variable or description, else its type and digest."""
        name = self.variable or self.description
        short = (self.digest or "")[:19]
        if name:
            return name if name.startswith(self.type_name) else f"{self.type_name} {name}"
        return f"{self.type_name} {short}".strip()


@dataclass(frozen=True)
class Verdict:
    """Dask's large-graph warning: whether it fires, and the payload to blame."""

    fires: bool
    silent_growth: bool
    wire_bytes: int
    threshold_bytes: int
    materialised_bytes: int
    explanation: str
    culprit: Finding | None


@dataclass(frozen=True)
class Strategy:
    """A strategy's predicted footprint (``as-given``, ``scatter``, ``delayed``)."""

    strategy: str
    #: How it runs ("dask.delayed(obj): sent once; ...").
    variant: str
    #: Pickled bytes of the client's message.
    wire_bytes: int
    #: Pickled bytes deserialised over the run.
    materialised_bytes: int
    #: What the workers' memory (RSS) grows by while the results are held: the one held figure
    #: (a lower bound when ``held_unknown_results`` is not 0).
    held_bytes: int
    #: Held results whose size is unknown.
    held_unknown_results: int
    #: What ``held_bytes`` leaves out (it is then a lower bound).
    held_unknown: list
    transient_bytes: int
    saved_held_bytes: int

    @property
    def held(self) -> str:
        """``held_bytes`` for a person: ``">= 12.4 MiB"`` when part of it is unknown."""
        return (">= " if self.held_unknown else "") + fmt_bytes(self.held_bytes)


def _signed(n: int) -> str:
    """A saving with its sign: ``+14.5 MiB`` saved, ``-1.2 MiB`` (the fix costs memory)."""
    return ("+" if n >= 0 else "-") + fmt_bytes(abs(n))


def _finding(raw: dict[str, Any]) -> Finding:
    return Finding(**{k: raw.get(k) for k in Finding.__dataclass_fields__})


@dataclass
class Analysis:
    """``graphprof analyze``'s report on one graph, typed; :meth:`to_dict` is the JSON itself."""

    name: str
    tasks: int
    sizes: Sizes
    warning: Verdict
    findings: list[Finding]
    strategies: list[Strategy]
    report: dict[str, Any] = field(repr=False)
    graph_path: Path | None = field(default=None, repr=False)

    @classmethod
    def from_report(cls, report: dict[str, Any], graph_path: Path | None = None) -> "Analysis":
        sizes, warn = report["sizes"], report["warning"]
        return cls(
            name=report["graph"]["name"],
            tasks=report["graph"]["tasks"],
            sizes=Sizes(
                wire_bytes=sizes["wire_bytes"], materialised_bytes=sizes["materialised_bytes"],
                payload_bytes=sizes["payload_bytes"], distinct_payload_bytes=sizes["distinct_payload_bytes"],
                output_bytes=sizes["output_bytes"], duplicated_bytes=report["duplicated_bytes"],
                duplication_ratio=report["duplication_ratio"], wire_bytes_measured=sizes.get("wire_bytes_measured"),
            ),
            warning=Verdict(
                fires=warn["fires"], silent_growth=warn["silent_growth"], wire_bytes=warn["wire_bytes"],
                threshold_bytes=warn["threshold_bytes"], materialised_bytes=warn["materialised_bytes"],
                explanation=warn["explanation"], culprit=_finding(warn["blame"]) if warn.get("blame") else None,
            ),
            findings=[_finding(f) for f in report.get("findings", [])],
            strategies=[Strategy(**{k: s[k] for k in Strategy.__dataclass_fields__}) for s in report["strategies"]],
            report=report,
            graph_path=graph_path,
        )

    @property
    def verdict(self) -> str:
        """``WARNING FIRES``, ``SILENT GROWTH`` or ``OK``."""
        return "WARNING FIRES" if self.warning.fires else "SILENT GROWTH" if self.warning.silent_growth else "OK"

    @property
    def duplicates(self) -> Any:
        """The duplicated payloads, most wasteful first, as a pandas DataFrame."""
        pd = require("pandas", "Analysis.duplicates")
        rows = [{
            "payload": d["digest"][:19], "type": d["type_name"], "kind": d["kind"],
            "what": d.get("variable") or d.get("description"), "size_bytes": d["size_bytes"],
            "in_memory_bytes": d.get("in_memory_bytes"), "copies": d["copies"], "objects": d["objects"],
            "held_wasted_bytes": d["held_wasted_bytes"], "wasted_bytes": d["wasted_bytes"],
            "layers": ", ".join(layer["layer"] for layer in d["layers"]),
            "example_key": (d.get("example_keys") or [None])[0],
        } for d in self.report.get("duplicates", [])]
        columns = ["payload", "type", "kind", "what", "size_bytes", "in_memory_bytes", "copies", "objects",
                   "held_wasted_bytes", "wasted_bytes", "layers", "example_key"]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """The report as the binary wrote it (schema ``graphprof-analysis`` v2)."""
        return json.loads(json.dumps(self.report))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as JSON to ``path`` (the file ``graphprof analyze --format json`` writes)."""
        out = Path(path)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(self.report, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out)
        return out

    def _size_rows(self) -> list[tuple[str, str, str]]:
        s = self.sizes
        return [
            ("wire", fmt_bytes(s.wire_bytes), "the one message the client sends; Dask's warning sees this"),
            ("materialised", fmt_bytes(s.materialised_bytes), "what the tasks hold once deserialised one by one"),
            ("duplicated", fmt_bytes(s.duplicated_bytes),
             f"pickled bytes of payload copies beyond the first (x{s.duplication_ratio:.1f})"),
            ("results", fmt_bytes(s.output_bytes), "sum of the tasks' result sizes"),
        ]

    def __repr__(self) -> str:
        lines = [f"<graphprof.Analysis {self.name!r}: {self.tasks} tasks, {self.verdict}>"]
        lines += [f"  {name:<13}{size:>10}" for name, size, _ in self._size_rows()]
        if self.warning.culprit is not None:
            c = self.warning.culprit
            lines.append(f"  culprit: {c.what} ({fmt_bytes(c.size_bytes)} x{c.copies}, layer {c.layer}): {c.fix}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        parts = [f"<div class='graphprof-analysis'><b>{e(self.name)}</b>: {self.tasks} tasks, "
                 f"<b>{e(self.verdict)}</b>", "<table>"]
        parts += [f"<tr><td>{e(n)}</td><td style='text-align:right'>{e(v)}</td><td>{e(w)}</td></tr>"
                  for n, v, w in self._size_rows()]
        parts.append("</table>")
        parts.append(f"<p>{e(self.warning.explanation[:600])}</p>")
        if self.findings:
            parts.append("<p>What to fix (most costly first):</p><ol>")
            parts += [f"<li>{e(f.what)} ({e(fmt_bytes(f.size_bytes))} x{f.copies}, layer {e(str(f.layer))}, "
                      f"extra copies hold {e(fmt_bytes(f.held_wasted_bytes))} in memory): {e(f.fix[:300])}</li>"
                      for f in self.findings[:ROWS]]
            parts.append("</ol>")
            if len(self.findings) > ROWS:
                parts.append(f"<p>... and {len(self.findings) - ROWS} more (see .findings)</p>")
        parts.append("<table><tr><th>strategy</th><th>wire (pickled)</th><th>materialised (pickled)</th>"
                     "<th>held (RSS)</th><th>saves (held)</th><th>how it runs</th></tr>")
        parts += [f"<tr><td>{e(s.strategy)}</td><td>{fmt_bytes(s.wire_bytes)}</td>"
                  f"<td>{fmt_bytes(s.materialised_bytes)}</td><td>{e(s.held)}</td>"
                  f"<td>{'-' if s.strategy == 'as-given' else _signed(s.saved_held_bytes)}</td>"
                  f"<td>{e(s.variant)}</td></tr>" for s in self.strategies[:ROWS]]
        parts.append("</table></div>")
        return "".join(parts)


@dataclass(frozen=True)
class ExportSummary:
    """What ``export`` wrote: a line, not the graph."""

    path: Path
    name: str
    tasks: int
    payloads: int
    wire_bytes: int
    file_bytes: int

    def __repr__(self) -> str:
        return (f"<graphprof export {str(self.path)!r}: {self.name!r}, {self.tasks} tasks, {self.payloads} "
                f"payloads, wire {fmt_bytes(self.wire_bytes)}, file {fmt_bytes(self.file_bytes)}>")


def _exporter(feature: str = "export") -> Any:
    require("dask", feature)
    require("distributed", feature)
    from ..collect import graph as exporter

    return exporter


def export(collection: Any, path: str | os.PathLike[str], *, name: str | None = None,
           client: Any = None, measure_wire: bool = False, **kwargs: Any) -> ExportSummary:
    """Write ``collection``'s task graph to ``path`` (graph format v1); return a short summary."""
    doc = _exporter().export(collection, path, name=name, client=client, measure_wire=measure_wire, **kwargs)
    return ExportSummary(
        path=Path(path), name=doc["name"], tasks=len(doc["tasks"]), payloads=len(doc.get("contents", {})),
        wire_bytes=int(doc["meta"].get("wire_bytes_offline", 0)), file_bytes=Path(path).stat().st_size,
    )


def analyze(collection_or_path: Any, *, workers: int = 4, threshold: int | str = "10MB",
            client: Any = None, name: str | None = None, measure_wire: bool = False,
            top: int = 10, run_outputs: bool = True) -> Analysis:
    """Analyse a collection (exported in-process) or a graph file with the binary.

    ``workers`` is what the strategy predictions assume; ``threshold`` Dask's
    ``large-graph-warning-threshold`` (bytes or ``"10MB"``); ``client`` the cluster whose
    serialisation the export follows (the default client when there is one). With
    ``run_outputs`` (the default) the results of dataframe, bag and delayed outputs are sized by
    running a few of their subgraphs in this process (bounded: at most 8, 10 s); with
    ``run_outputs=False`` none of the collection's tasks runs and those results count as unknown.
    """
    if isinstance(collection_or_path, (str, os.PathLike)):
        graph = Path(collection_or_path)
        return _analyze_file(graph, workers, threshold, top, graph)
    _exporter("analyze")  # the clear error when dask is missing, before any work
    with tempfile.TemporaryDirectory(prefix="graphprof-") as tmp:
        graph = Path(tmp) / "graph.json"
        export(collection_or_path, graph, name=name, client=client, measure_wire=measure_wire,
               run_outputs=run_outputs)
        return _analyze_file(graph, workers, threshold, top, None)


def _analyze_file(graph: Path, workers: int, threshold: int | str, top: int, keep: Path | None) -> Analysis:
    done = _binary.run(["analyze", str(graph), "--format", "json", "-q", "-o", "-", "--workers", str(workers),
                        "--warning-threshold", str(threshold), "--top", str(top)])
    return Analysis.from_report(json.loads(done.stdout), graph_path=keep)
