"""What the ``graphprof`` pytest marker checks, and the one short message a failure prints.

Limits are sizes (``"1 MB"``, ``"10MiB"``, ``2_000_000``): ``max_duplicated`` bounds the bytes
wasted by payload copies, ``max_materialised`` what the tasks hold once deserialised, ``max_wire``
the message the client sends. With none of them given, ``max_duplicated`` is ``DEFAULT_MAX_DUPLICATED``
(10 MB, Dask's own large-graph warning threshold); ``max_duplicated=None`` turns it off. Only the
standard library is imported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

LIMITS = ("max_duplicated", "max_materialised", "max_wire")
#: Options of the marker and fixture that are passed to ``graphprof.analyze``.
ANALYZE_OPTIONS = ("workers", "threshold")
#: The limit a bare ``@pytest.mark.graphprof`` (no limit given) checks: Dask's own threshold for a
#: large graph (``distributed.admin.large-graph-warning-threshold``), applied to duplicated bytes.
DEFAULT_MAX_DUPLICATED = "10 MB"

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value: int | float | str, option: str) -> int:
    """``"1 MB"`` -> 1000000; raises ``ValueError`` naming the option for anything else."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return int(value)
    match = _SIZE.match(str(value))
    unit = match.group(2).lower() if match else None
    if not match or unit not in _UNITS:
        raise ValueError(f"graphprof marker: {option}={value!r} is not a size (try '1 MB', '10MiB' or bytes)")
    return int(float(match.group(1)) * _UNITS[unit])


@dataclass(frozen=True)
class Limits:
    """The limits of one check (None: not checked)."""

    max_duplicated: int | None = None
    max_materialised: int | None = None
    max_wire: int | None = None
    #: The limits as the test wrote them (``"1 MB"``), for the message.
    written: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, options: dict[str, Any]) -> "Limits":
        unknown = sorted(set(options) - set(LIMITS) - set(ANALYZE_OPTIONS))
        if unknown:
            raise ValueError(f"graphprof marker: unknown option {unknown[0]!r} (expected one of "
                             f"{', '.join(LIMITS + ANALYZE_OPTIONS)})")
        if not any(k in options for k in LIMITS):
            return cls(max_duplicated=parse_size(DEFAULT_MAX_DUPLICATED, "max_duplicated"),
                       written=(("max_duplicated", f"{DEFAULT_MAX_DUPLICATED} (the default)"),))
        given = {k: v for k, v in options.items() if k in LIMITS and v is not None}
        return cls(**{k: parse_size(v, k) for k, v in given.items()},
                   written=tuple((k, str(v)) for k, v in given.items()))


def violations(analysis: Any, limits: Limits) -> list[str]:
    """The limits ``analysis`` exceeds, as ``"duplicated 14.7 MiB > max_duplicated=1 MB"``."""
    from ..api.analysis import fmt_bytes

    measured = {
        "max_duplicated": ("duplicated", analysis.sizes.duplicated_bytes),
        "max_materialised": ("materialised", analysis.sizes.materialised_bytes),
        "max_wire": ("wire", analysis.sizes.wire_bytes),
    }
    out = []
    for option in LIMITS:
        limit = getattr(limits, option)
        what, value = measured[option]
        if limit is not None and value > limit:
            out.append(f"{what} {fmt_bytes(value)} > {option}={dict(limits.written).get(option, limit)}")
    return out


def failure_message(analysis: Any, broken: list[str]) -> str:
    """One short message: the limits broken, the payload to blame and its fix."""
    from ..api.analysis import fmt_bytes

    head = f"graphprof: {'; '.join(broken)}"
    culprit = analysis.warning.culprit or (analysis.findings[0] if analysis.findings else None)
    if culprit is None:
        return head + " (no duplicated payload: the size comes from the tasks themselves)"
    return (f"{head}\n  payload: {culprit.what} (type {culprit.type_name}, {fmt_bytes(culprit.size_bytes)}"
            f" pickled each, {culprit.copies} copies, {fmt_bytes(culprit.held_wasted_bytes)} in memory beyond"
            f" the first, layer {culprit.layer})\n  held: {held_line(analysis)}\n  fix: {culprit.fix}")


def held_line(analysis: Any) -> str:
    """One held figure per strategy and what each fix saves: ``as given 263 MiB; scatter saves
    +243 MiB; delayed saves +245 MiB`` (the figures ``graphprof analyze`` prints)."""
    from ..api.analysis import _signed

    rows = analysis.strategies
    if not rows:
        return "unknown"
    parts = [f"as given {rows[0].held}"]
    parts += [f"{s.strategy} {s.held} (saves {_signed(s.saved_held_bytes)})" for s in rows[1:]]
    return "; ".join(parts) + f" on {analysis.report['options']['workers']} workers"
