"""The guard's model: from what a graph embeds to duplicated, materialised and held bytes.

The same rules as ``graphprof analyze`` (docs/FORMAT.md, src/analyze/duplication.rs and
predict.rs), kept from diverging by test vectors both sides must pass
(``fixtures/guard/vectors.json``; ``tests/guard_vectors.rs`` and
``python/tests/test_guard_model.py``). Standard library only.

One :class:`ContentUse` is one payload content (one digest) as the arriving tasks embed it:

- ``copies``: embeddings, one per task per distinct object (pickle shares one object inside one
  task's message); each is deserialised on its own on a worker.
- ``objects``: distinct Python objects carrying that content (object identity).
- ``held_copies``: copies in tasks whose results stay held (no dependents, or only held aliases).

It is **copied** when one object is embedded more than once (``copies > objects``): the waste
scatter and delayed fix. Its **duplicated bytes** are ``(copies - 1) x size_bytes`` then, else 0
(equal objects: each task built its own; listed, never blamed). **Materialised** is
``copies x size_bytes``. **Held** is a range, because a worker also keeps the run_spec (every
copy in it) of each ancestor it ran of a result it holds, and the scheduler cannot know which
worker runs what (nor the results' sizes): at least ``held_copies x`` the in-memory size (the
pickled size where that is unknown), at most ``copies x`` that size (every task on one worker:
``graphprof analyze --workers 1`` gives the same figure). ``held_bytes`` is the upper end,
``held_bytes_at_least`` the lower; **held duplicated** is ``(copies - 1) x`` that size for a
copied content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

COPIED = "copied"
EQUAL_OBJECTS = "equal-objects"

_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12,
}


def parse_bytes(value) -> Optional[int]:
    """``"100 MB"`` -> 100_000_000 (as Dask's ``parse_bytes``); None, ``""``, ``"off"``,
    ``False`` -> None (the threshold is off)."""
    if value is None or value is False:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"a size cannot be negative: {value!r}")
        return int(value)
    text = str(value).strip().lower().replace(" ", "")
    if text in ("", "off", "none", "false", "null"):
        return None
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number):]
    if unit not in _UNITS or not number:
        raise ValueError(f"not a size: {value!r} (e.g. \"100 MB\", \"1 GiB\", 0, or \"off\")")
    return int(float(number) * _UNITS[unit])


@dataclass
class ContentUse:
    """One payload content as the arriving tasks embed it (see the module docstring)."""

    size_bytes: int
    copies: int
    objects: int = 1
    held_copies: int = 0
    in_memory_bytes: Optional[int] = None
    tasks: int = 0


@dataclass
class Assessment:
    """What one content costs."""

    kind: str
    copies: int
    duplicated_bytes: int
    materialised_bytes: int
    held_bytes: int
    held_duplicated_bytes: int
    held_bytes_at_least: int = 0


def held_size(use: ContentUse) -> int:
    """What one deserialised copy holds: its in-memory size, else its pickled size."""
    return use.size_bytes if use.in_memory_bytes is None else use.in_memory_bytes


def assess(use: ContentUse) -> Assessment:
    """Duplicated, materialised and held bytes of one content."""
    copied = use.copies > use.objects
    extra = max(0, use.copies - 1) if copied else 0
    return Assessment(
        kind=COPIED if copied else EQUAL_OBJECTS,
        copies=use.copies,
        duplicated_bytes=extra * use.size_bytes,
        materialised_bytes=use.copies * use.size_bytes,
        held_bytes=use.copies * held_size(use),
        held_duplicated_bytes=extra * held_size(use),
        held_bytes_at_least=use.held_copies * held_size(use),
    )


def totals(assessments) -> dict:
    """Sums over the contents: duplicated, materialised and held bytes."""
    out = {"duplicated_bytes": 0, "materialised_bytes": 0, "held_bytes": 0, "held_bytes_at_least": 0}
    for a in assessments:
        out["duplicated_bytes"] += a.duplicated_bytes
        out["materialised_bytes"] += a.materialised_bytes
        out["held_bytes"] += a.held_bytes
        out["held_bytes_at_least"] += a.held_bytes_at_least
    return out


def over(figure: int, threshold: Optional[int]) -> bool:
    """Whether a figure crosses a threshold (off when None)."""
    return threshold is not None and figure > threshold
