"""``SampleResult.plot()``: each run's memory above its own baseline, phases marked, in matplotlib.

Drawn as the CLI's ``memory.png`` is, with one difference the notebook needs: every run is shown
above its own baseline (report.json ``measures[].baseline_bytes``), so runs on fresh workers whose
processes started at different levels compare at a glance. Time is seconds since each run's first
sample (a float axis); the y axis is MiB, or GiB when a run grows by 1 GiB. Each run's phases are a
thin band of its own along the top, in its colour (compute light, held stronger, the phase names
written in it), as in ``src/report/plot.rs``. matplotlib is imported here only, when plotting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .sample_result import SampleResult

#: Line styles and markers per run, in order (the CLI's: solid with circles, dashed with
#: triangles, dotted with crosses, ...).
STYLES = (("-", "o"), ("--", "^"), (":", "x"), ("-.", "s"), ((0, (5, 1, 1, 1)), "d"))
#: Share of the axes' height one run's phase band takes at the top.
ROW_SHARE = 0.045
#: How strongly each phase is shaded in its band.
PHASE_ALPHA = {"submit": 0.12, "compute": 0.25, "held": 0.55, "released": 0.12}


def phase_spans(run: dict[str, Any], origin: float, end: float) -> list[tuple[str, float, float]]:
    """``(phase, start, end)`` of a run, seconds since ``origin`` (its first sample); the last
    phase lasts until ``end``."""
    marks = sorted(run.get("phases", []), key=lambda m: m["time_s"])
    spans = []
    for index, mark in enumerate(marks):
        stop = marks[index + 1]["time_s"] - origin if index + 1 < len(marks) else end
        spans.append((mark["phase"], max(mark["time_s"] - origin, 0.0), max(stop, 0.0)))
    return spans


def plot(result: SampleResult, *, measure: str, ax: Any = None, figsize: tuple[float, float] = (10, 6),
         **kwargs: Any) -> Any:
    """Draw ``result`` on ``ax`` (a new figure when ``None``); ``kwargs`` go to every line."""
    import matplotlib.pyplot as plt

    samples = result.samples
    rows = samples[(samples["worker"] == "") & (samples["measure"] == measure)]
    series = []
    for label, part in rows.groupby("label", sort=False):
        times = part["time_s"].to_numpy(dtype=float)
        values = part["bytes"].to_numpy(dtype=float)
        baseline = result.baseline_bytes(label, measure)
        series.append((label, times, values - float(values[0] if baseline is None else baseline)))
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    highest = max((float(v.max()) for _, _, v in series), default=0.0)
    lowest = min((float(v.min()) for _, _, v in series), default=0.0)
    unit, scale = ("GiB", 2**30) if highest >= 2**30 else ("MiB", 2**20)
    colours = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0", "C1", "C2"])
    runs = {run["label"]: run for run in result.runs}
    x_max = 0.0
    for row, (label, times, values) in enumerate(series):
        origin = float(times[0])
        times = times - origin
        colour = colours[row % len(colours)]
        line, marker = STYLES[row % len(STYLES)]
        ax.plot(times, values / scale, color=colour, linestyle=line, marker=marker,
                markersize=3, label=label, **kwargs)
        end = float(times[-1])
        x_max = max(x_max, end)
        top = 0.98 - row * ROW_SHARE
        for phase, start, stop in phase_spans(runs.get(label, {}), origin, end):
            ax.axvspan(start, stop, ymin=top - ROW_SHARE * 0.9, ymax=top, color=colour,
                       alpha=PHASE_ALPHA.get(phase, 0.2), linewidth=0)
            if stop > start:
                ax.text((start + stop) / 2, top - ROW_SHARE * 0.45, phase, ha="center", va="center",
                        fontsize=7, transform=ax.get_xaxis_transform(), clip_on=True)
    low = min(0.0, lowest / scale)
    high = max(highest / scale, 1e-3) / (0.96 - ROW_SHARE * min(len(series), 8))
    ax.set_ylim(low - 0.02 * high, high)
    ax.set_xlim(0, x_max if x_max > 0 else 1.0)
    ax.set_xlabel("seconds since the run's first sample")
    ax.set_ylabel(f"memory above the run's baseline ({unit})")
    workers = result.report.get("parameters", {}).get("workers")
    ax.set_title(f"{result.title}, {workers} workers: {measure} above each run's baseline")
    ax.legend(loc="center right")
    ax.grid(True, alpha=0.3)
    return ax
