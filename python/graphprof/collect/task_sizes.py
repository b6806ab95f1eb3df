"""Sizes of one task as distributed ships it, for the exporter (:mod:`.graph`): the task's own
payload-free pickle (:class:`_SpecSizer`), the message's payload-free size and which payload
contents it carries (:func:`_message_objects`), a whole split in proportion (:func:`_shares`), and
the results' sizes where they are cheaply known (dask.array chunks, :func:`_output_bytes`).
"""

from __future__ import annotations

import io
import pickle
import types
from typing import Any

from .payloads import PayloadCache


def _output_bytes(collections) -> dict:
    """Per-key result size where it is cheaply known (dask.array chunks)."""
    out: dict = {}
    try:
        from itertools import product

        import numpy as np
        from dask.array import Array
    except Exception:  # pragma: no cover
        return out
    for collection in collections:
        try:
            if not isinstance(collection, Array) or any(
                    (isinstance(c, float) and c != c) for cs in collection.chunks for c in cs):
                continue
            itemsize = np.dtype(collection.dtype).itemsize
            name = collection.name
            if collection.ndim == 0:
                out[(name,)] = itemsize
                out[name] = itemsize
            for idx in product(*(range(len(c)) for c in collection.chunks)):
                n = itemsize
                for d, i in enumerate(idx):
                    n *= int(collection.chunks[d][i])
                out[(name,) + tuple(idx)] = n
        except Exception:
            continue
    return out


def _message_objects(expr, cache: PayloadCache) -> tuple[int | None, dict]:
    """Pickle the message's expression (not materialised) with every payload content replaced
    by a reference: (payload-free size, {digest: objects of that content in the message})."""
    import cloudpickle

    payloads = {info["digest"] for _, info in cache.payload_objects()}
    types = {info["type"] for _, info in cache.payload_objects()}
    hits: dict[str, int] = {}
    seen: dict[int, tuple[Any, str | None]] = {}

    class MessagePickler(cloudpickle.CloudPickler):
        def persistent_id(self, obj):
            if type(obj).__name__ not in types or isinstance(obj, (int, float, str, bytes)):
                return None
            ent = seen.get(id(obj))
            if ent is None:
                info = cache.info(obj)
                digest = info["digest"] if info and info["digest"] in payloads else None
                ent = (obj, digest)
                seen[id(obj)] = ent
                if digest is not None:
                    hits[digest] = hits.get(digest, 0) + 1
            return (id(obj) & 0xFFFF) if ent[1] else None

    oob: list[int] = []
    buf = io.BytesIO()
    try:
        MessagePickler(buf, protocol=5, buffer_callback=lambda b: oob.append(b.raw().nbytes)).dump(expr)
    except Exception:
        return None, hits
    return len(buf.getvalue()) + sum(oob), hits


_BUILTIN_CONTAINERS = (dict, list, tuple, set, frozenset, str, bytes, bytearray)


class _SpecSizer:
    """Payload-free pickled size of one task, as distributed ships it: the standard pickler,
    cloudpickle when that fails or names ``__main__``; payload objects written as a reference.

    When no payload is a builtin container, payloads are caught by a ``dispatch_table`` entry for
    their types, which the C pickler consults only for objects of those types; otherwise by
    ``persistent_id``, which it calls for every object.

    A task known to hold a function of the user's ``__main__`` (``by_value``) goes to cloudpickle
    at once: the standard pickler would raise on it or write ``__main__``, and cloudpickle would
    follow all the same. Classes and functions that cloudpickle pickles by reference are
    remembered across tasks (its lookup of their module is the same every time), so each is
    looked up once rather than once per task."""

    def __init__(self, payload_objects: list):
        import cloudpickle

        ids = {id(obj) for obj in payload_objects}
        payload_types = {type(obj) for obj in payload_objects}

        def persistent_id(self, obj, _ids=ids, _id=id):
            i = _id(obj)
            return (i & 0xFFFF) if i in _ids else None

        by_reference: dict[int, Any] = {}  # id -> class or function cloudpickle saves by name
        cloud_reduce = cloudpickle.CloudPickler.reducer_override
        function_type = types.FunctionType

        def reducer_override(self, obj):
            # cloudpickle's own test first: anything but a class or a function is left to the
            # pickler's usual reduction.
            try:
                is_class = issubclass(type(obj), type)
            except TypeError:
                is_class = False
            if not is_class and not isinstance(obj, function_type):
                return NotImplemented
            if id(obj) in by_reference:
                return NotImplemented
            reduced = cloud_reduce(self, obj)
            if reduced is NotImplemented:
                by_reference[id(obj)] = obj  # held, so that its id stays its own
            return reduced

        Fast = type("Fast", (pickle.Pickler,), {"persistent_id": persistent_id})
        Cloud = type("Cloud", (cloudpickle.CloudPickler,),
                     {"persistent_id": persistent_id, "reducer_override": reducer_override})
        self._fast, self._cloud = Fast, Cloud
        self._table = None
        if payload_types and not any(issubclass(t, _BUILTIN_CONTAINERS) for t in payload_types):
            import copyreg

            def reduce_payload(obj):
                if id(obj) in ids:
                    return (int, (0,))
                return obj.__reduce_ex__(5)

            self._table = dict(copyreg.dispatch_table)
            self._table.update({t: reduce_payload for t in payload_types})

    def __call__(self, node, has_payloads: bool = True, by_value: bool = False) -> int:
        if not by_value:
            try:
                if has_payloads and self._table is not None:
                    buf = io.BytesIO()
                    pickler = pickle.Pickler(buf, protocol=5)
                    pickler.dispatch_table = self._table
                    pickler.dump(node)
                    data = buf.getvalue()
                elif has_payloads:
                    buf = io.BytesIO()
                    self._fast(buf, protocol=5).dump(node)
                    data = buf.getvalue()
                else:
                    # Nothing to leave out: the C pickler without a Python callback per object.
                    data = pickle.dumps(node, protocol=5)
                if b"__main__" not in data:
                    return len(data)
            except Exception:
                pass
        buf = io.BytesIO()
        try:
            self._cloud(buf, protocol=5).dump(node)
        except Exception:
            return 64
        return len(buf.getvalue())


def _shares(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights``, in whole bytes summing to ``total``."""
    whole = sum(weights) or 1
    exact = [total * w / whole for w in weights]
    floors = [int(e) for e in exact]
    rest = total - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in order[: max(0, rest)]:
        floors[i] += 1
    return floors


