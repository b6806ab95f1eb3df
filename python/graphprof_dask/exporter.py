"""Export a Dask collection's task graph to graphprof's graph format v1.

The graph is taken exactly as distributed's scheduler would see it:

1. the collection is turned into the expression ``Client.persist`` sends
   (``collections_to_expr([c], optimize_graph=True).optimize()``);
2. that expression is serialized with ``distributed.protocol.serialize`` -- the
   same call ``Client._graph_to_futures`` makes, so the sum of header and frame
   ``nbytes`` is the figure distributed's large-graph warning compares;
3. the serialized bytes are deserialized into a COPY and materialised there the
   way the scheduler does (``expr.__dask_graph__()`` + ``convert_legacy_graph``).
   The user's collection is never materialised, so exporting does not change
   what the client later sends (materialising caches tasks in the layers).

Every embedded argument object is pickled with cloudpickle once per distinct
Python object (cached by ``id()`` while a reference is held) for its exact size
and a sha256 content digest.  Objects whose pickled size is below
``min_payload_bytes`` (default 1024) are not payloads: they are folded into the
task's ``spec_bytes``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import pickle
import platform
import sys
import tempfile
from typing import Any

FORMAT = "graphprof-graph"
VERSION = 1
DEFAULT_MIN_PAYLOAD_BYTES = 1024
# A function pickled by reference ("module.name") is small; one pickled by
# value (a lambda or closure capturing data) is a payload above this size.
FUNCTION_PAYLOAD_BYTES = 1024

_SCALARS = (type(None), bool, int, float, complex)


# --------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------
def key_to_json(key: Any):
    """A Dask key as the format writes it: a string, or a list for a tuple key
    (first element a string, the others integers or strings)."""
    if isinstance(key, tuple):
        out: list = []
        for i, k in enumerate(key):
            if i > 0 and isinstance(k, int) and not isinstance(k, bool):
                out.append(int(k))
            elif isinstance(k, str):
                out.append(k)
            else:
                out.append(str(k))
        return out if out else ["()"]
    if isinstance(key, bytes):
        return key.decode("utf-8", "replace")
    return str(key)


def _funcname(func) -> str:
    try:
        from dask.utils import funcname

        return str(funcname(func))
    except Exception:  # pragma: no cover - very old dask
        return getattr(func, "__name__", type(func).__name__)


# --------------------------------------------------------------------------
# pickling helpers
# --------------------------------------------------------------------------
class _PayloadCache:
    """Pickle each distinct Python object once; give each an object_id."""

    def __init__(self, min_payload_bytes: int):
        import cloudpickle

        self._cp = cloudpickle
        self.min_payload_bytes = min_payload_bytes
        self._by_id: dict[int, tuple[Any, dict | None]] = {}
        self._next_object_id = 1

    def payload_for(self, obj: Any, *, threshold: int | None = None) -> dict | None:
        """The payload dict for ``obj``, or None if it is too small to count."""
        ent = self._by_id.get(id(obj))
        if ent is None:
            try:
                data = self._cp.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                # Unpicklable objects cannot be sent either; record nothing.
                self._by_id[id(obj)] = (obj, None)
                return None
            info = {
                "size_bytes": len(data),
                "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
                "type": type(obj).__name__,
            }
            ent = (obj, info)  # hold a reference so id() stays unique
            self._by_id[id(obj)] = ent
        info = ent[1]
        if info is None:
            return None
        limit = self.min_payload_bytes if threshold is None else threshold
        if info["size_bytes"] < limit:
            return None
        if "object_id" not in info:
            info["object_id"] = self._next_object_id
            self._next_object_id += 1
        return dict(info)

    def is_payload_object(self, obj: Any) -> bool:
        ent = self._by_id.get(id(obj))
        return bool(ent and ent[1] and "object_id" in ent[1])


def _spec_pickler(cp_module, payload_ids: set[int]):
    """A cloudpickle Pickler that writes payload objects as a tiny reference."""

    class SpecPickler(cp_module.CloudPickler):
        def persistent_id(self, obj):  # noqa: D401
            if id(obj) in payload_ids:
                return id(obj) & 0xFFFF
            return None

    return SpecPickler


# --------------------------------------------------------------------------
# graph walking
# --------------------------------------------------------------------------
class _Walker:
    def __init__(self, dsk: dict, cache: _PayloadCache):
        from dask import _task_spec as ts

        self.ts = ts
        self.dsk = dsk
        self.cache = cache
        self.futures: dict[Any, Any] = {}  # key -> Future (data objects)

    def _is_future(self, obj) -> bool:
        try:
            from distributed import Future
        except Exception:  # pragma: no cover
            return False
        return isinstance(obj, Future)

    def leaves(self, obj, out: list, inner: set | None = None):
        """Flatten an argument into graphprof args (refs and payloads)."""
        ts = self.ts
        if isinstance(obj, _SCALARS):
            return
        if isinstance(obj, ts.TaskRef):
            if inner is None or obj.key not in inner:
                out.append({"ref": obj.key})
            return
        if isinstance(obj, ts.Alias):
            if inner is None or obj.target not in inner:
                out.append({"ref": obj.target})
            return
        if isinstance(obj, ts.DataNode):
            self.leaves(obj.value, out, inner)
            return
        if isinstance(obj, ts.Task):  # nested task, incl. List/Tuple/Dict/Set
            self.function_leaf(obj.func, out, inner)
            for a in obj.args:
                self.leaves(a, out, inner)
            for k, v in obj.kwargs.items():
                if k == "constructor":
                    continue
                self.leaves(v, out, inner)
            return
        if self._is_future(obj):
            self.futures[obj.key] = obj
            out.append({"ref": obj.key})
            return
        if type(obj) in (list, tuple, set, frozenset):
            # Legacy tuple task: (callable, *args)
            if type(obj) is tuple and obj and callable(obj[0]) and not isinstance(obj[0], type):
                self.function_leaf(obj[0], out, inner)
                for a in obj[1:]:
                    self.leaves(a, out, inner)
                return
            # A key inside a legacy container?
            if self._is_key_ref(obj, inner):
                out.append({"ref": obj})
                return
            p = self.cache.payload_for(obj)
            if p is not None and not self._contains_graph_stuff(obj):
                # A big container of literals: one payload, like pickle sends it.
                out.append({"payload": p})
                return
            for a in obj:
                self.leaves(a, out, inner)
            return
        if type(obj) is dict:
            p = self.cache.payload_for(obj)
            if p is not None and not self._contains_graph_stuff(obj):
                out.append({"payload": p})
                return
            for v in obj.values():
                self.leaves(v, out, inner)
            return
        if isinstance(obj, (str, bytes)) and self._is_key_ref(obj, inner):
            out.append({"ref": obj})
            return
        p = self.cache.payload_for(obj)
        if p is not None:
            out.append({"payload": p})

    def function_leaf(self, func, out, inner):
        if isinstance(func, functools.partial):
            self.function_leaf(func.func, out, inner)
            for a in func.args:
                self.leaves(a, out, inner)
            for v in (func.keywords or {}).values():
                self.leaves(v, out, inner)
            return
        p = self.cache.payload_for(func, threshold=FUNCTION_PAYLOAD_BYTES)
        if p is not None:
            out.append({"payload": p})

    def _is_key_ref(self, obj, inner) -> bool:
        try:
            hash(obj)
        except TypeError:
            return False
        if inner is not None and obj in inner:
            return False
        try:
            return obj in self.dsk
        except Exception:
            return False

    def _contains_graph_stuff(self, obj, depth: int = 0) -> bool:
        ts = self.ts
        if depth > 50:
            return True
        if isinstance(obj, (ts.GraphNode, ts.TaskRef)) or self._is_future(obj):
            return True
        if type(obj) in (list, tuple, set, frozenset):
            return any(self._contains_graph_stuff(a, depth + 1) for a in obj) or self._is_key_ref(obj, None)
        if type(obj) is dict:
            return any(self._contains_graph_stuff(a, depth + 1) for a in obj.values())
        if isinstance(obj, (str, bytes)):
            return self._is_key_ref(obj, None)
        return False

    def task(self, key, node) -> tuple[str, list]:
        """(function label, flattened args) of one top-level graph node."""
        ts = self.ts
        out: list = []
        if isinstance(node, ts.Alias):
            return "alias", [{"ref": node.target}]
        if isinstance(node, ts.DataNode):
            self.leaves(node.value, out)
            return "data", out
        if isinstance(node, ts.Task):
            if node.func is getattr(ts, "_execute_subgraph", None) and node.args and isinstance(node.args[0], dict):
                inner_dsk, outkey = node.args[0], node.args[1]
                inner = set(inner_dsk)
                for k in inner_dsk:
                    self.leaves(inner_dsk[k], out, inner)
                for a in node.args[3:]:
                    self.leaves(a, out, None)
                label = self._inner_label(inner_dsk, outkey)
                return label, out
            self.function_leaf(node.func, out, None)
            for a in node.args:
                self.leaves(a, out, None)
            for v in node.kwargs.values():
                self.leaves(v, out, None)
            return _funcname(node.func), out
        # legacy / literal
        self.leaves(node, out)
        if type(node) is tuple and node and callable(node[0]):
            return _funcname(node[0]), out
        return "data", out

    def _inner_label(self, inner_dsk, outkey) -> str:
        ts = self.ts
        seen = 0
        k = outkey
        while seen < 100:
            seen += 1
            n = inner_dsk.get(k)
            if isinstance(n, ts.Alias) and n.target in inner_dsk:
                k = n.target
                continue
            if isinstance(n, ts.Task):
                return _funcname(n.func)
            break
        return "subgraph"


def _dedupe_args(args: list) -> list:
    """A fused task that names the same payload object twice gets it once:
    pickle shares one object inside one task's message."""
    out, seen_obj, seen_ref = [], set(), set()
    for a in args:
        if "payload" in a:
            oid = a["payload"].get("object_id")
            if oid in seen_obj:
                continue
            seen_obj.add(oid)
        else:
            r = json.dumps(key_to_json(a["ref"]))
            if r in seen_ref:
                continue
            seen_ref.add(r)
        out.append(a)
    return out


# --------------------------------------------------------------------------
# output sizes
# --------------------------------------------------------------------------
def _output_bytes(collection) -> dict:
    """Per-key result size where it is cheaply known (dask.array chunks)."""
    out: dict = {}
    try:
        import numpy as np
        from dask.array import Array
        from itertools import product

        if isinstance(collection, Array) and not any(
            (isinstance(c, float) and c != c) for cs in collection.chunks for c in cs
        ):
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
        pass
    return out


# --------------------------------------------------------------------------
# the expression as distributed sends it
# --------------------------------------------------------------------------
def _persist_expr(collection):
    from dask.base import collections_to_expr

    return collections_to_expr([collection], True).optimize()


def serialized_graph(collection):
    """(expr, header, frames, wire_bytes) exactly as Client.persist serializes it."""
    from distributed.protocol import serialize, to_serialize
    from distributed.utils import nbytes

    expr = _persist_expr(collection)
    header, frames = serialize(to_serialize(expr), on_error="raise")
    wire = sum(map(nbytes, [header] + list(frames)))
    return expr, header, frames, wire


def measure_wire_with_client(collection, client) -> tuple[int, str | None]:
    """Persist ``collection`` on ``client`` while wrapping
    ``distributed.client.serialize``; return the size distributed computed
    for its large-graph warning and the warning text, then release the
    futures."""
    import warnings

    import distributed.client as dc
    from distributed.utils import nbytes

    sizes: list[int] = []
    orig = dc.serialize

    def wrapped(*a, **kw):
        header, frames = orig(*a, **kw)
        sizes.append(sum(map(nbytes, [header] + list(frames))))
        return header, frames

    dc.serialize = wrapped
    try:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            fut = client.persist(collection)
    finally:
        dc.serialize = orig
    text = None
    for w in rec:
        if "Sending large graph" in str(w.message):
            text = str(w.message)
    try:
        from distributed import futures_of

        client.cancel(futures_of(fut))
    except Exception:
        pass
    del fut
    if not sizes:
        raise RuntimeError("distributed.client.serialize was not called")
    return sizes[-1], text


def _message_spec_bytes(expr, cache: _PayloadCache):
    """Payload-free size of the message distributed sends for ``expr``."""
    import cloudpickle

    payloads = {info["digest"]: info for _, info in cache._by_id.values() if info and "object_id" in info}
    if not payloads:
        pass
    types = {info["type"] for info in payloads.values()}
    seen: dict[int, tuple[Any, bool]] = {}

    class P(cloudpickle.CloudPickler):
        def persistent_id(self, obj):
            t = type(obj)
            if t.__name__ not in types or isinstance(obj, _SCALARS):
                return None
            ent = seen.get(id(obj))
            if ent is None:
                try:
                    b = cloudpickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
                    hit = ("sha256:" + hashlib.sha256(b).hexdigest()) in payloads
                except Exception:
                    hit = False
                ent = (obj, hit)
                seen[id(obj)] = ent
            return (id(obj) & 0xFFFF) if ent[1] else None

    oob: list[int] = []
    buf = io.BytesIO()
    try:
        P(buf, protocol=5, buffer_callback=lambda b: oob.append(b.raw().nbytes)).dump(expr)
    except Exception:
        return None, None
    return len(buf.getvalue()) + sum(oob), (
        "share of the payload-free message (the expression as Client.persist "
        "serializes it, payload objects replaced by a reference), split among "
        "tasks in proportion to each task's own payload-free pickle"
    )


def _data_object_info(client, key, fut=None) -> dict | None:
    """size/digest of a scattered object, pickled on the worker that holds it."""
    if client is None:
        return None

    def _probe(key, dask_worker=None):
        import cloudpickle as _cp
        import hashlib as _h
        import pickle as _p

        v = dask_worker.data[key]
        b = _cp.dumps(v, protocol=_p.HIGHEST_PROTOCOL)
        return len(b), _h.sha256(b).hexdigest(), type(v).__name__

    try:
        if fut is not None:
            who = client.who_has([fut]).get(key) or []
        else:
            who = client.who_has().get(key) or []
        if not who:
            return None
        res = client.run(_probe, key, workers=[who[0]])
        size, hexd, typ = res[who[0]]
        return {"size_bytes": int(size), "digest": "sha256:" + hexd, "type": typ}
    except Exception:
        return None


def _default_client():
    try:
        from distributed import default_client

        return default_client()
    except Exception:
        return None


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def build_graph(
    collection,
    *,
    name: str | None = None,
    measure_wire: bool = False,
    client=None,
    min_payload_bytes: int = DEFAULT_MIN_PAYLOAD_BYTES,
    meta: dict | None = None,
) -> dict:
    """Return the graph document (a dict) for ``collection``."""
    import cloudpickle
    import dask
    from distributed.protocol import deserialize

    try:
        from dask._task_spec import convert_legacy_graph
    except Exception:  # pragma: no cover - dask without task specs
        convert_legacy_graph = dict  # type: ignore

    if client is None:
        client = _default_client()

    expr, header, frames, wire_offline = serialized_graph(collection)
    del expr
    copy = deserialize(header, frames)  # a copy: the user's graph stays as is
    pristine = deserialize(header, frames)  # never materialised: for spec sizes
    del header, frames
    dsk = convert_legacy_graph(dict(copy.__dask_graph__()))

    cache = _PayloadCache(min_payload_bytes)
    walker = _Walker(dsk, cache)
    outsize = _output_bytes(collection)

    tasks = []
    for key, node in dsk.items():
        label, args = walker.task(key, node)
        t: dict = {"key": key_to_json(key), "function": label}
        if args:
            t["args"] = _dedupe_args(args)
        ob = outsize.get(key)
        if ob is None and hasattr(node, "target"):
            pass
        if ob is not None:
            t["output_bytes"] = int(ob)
        tasks.append((key, node, t))

    # Aliases: the fused task produces what its alias names.
    by_key = {k: t for k, _, t in tasks}
    from dask._task_spec import Alias

    for k, node, t in tasks:
        if isinstance(node, Alias) and "output_bytes" in t and node.target in by_key:
            by_key[node.target].setdefault("output_bytes", t["output_bytes"])

    # spec_bytes.  What the client sends is ONE message holding the
    # expression (for dask.array: the high-level layers, not the per-chunk
    # tasks).  Its payload-free size is measured by pickling a second,
    # pristine copy of the expression with every payload object (matched by
    # type and content digest) replaced by a tiny persistent reference, the
    # buffers counted as distributed counts out-of-band frames.  That total
    # is shared among the tasks in proportion to each task's own payload-free
    # pickle (what a worker receives for it), whose sum goes into meta.
    payload_ids = {i for i, (o, info) in cache._by_id.items() if info and "object_id" in info}
    SpecPickler = _spec_pickler(cloudpickle, payload_ids)

    def spec_size(obj) -> int:
        buf = io.BytesIO()
        try:
            SpecPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
        except Exception:
            return 64
        return len(buf.getvalue())

    standalone = [spec_size((k, node)) for k, node, _ in tasks]
    total_standalone = sum(standalone) or 1
    whole, whole_model = _message_spec_bytes(pristine, cache)
    del pristine
    if whole is None:
        whole = spec_size({k: node for k, node, _ in tasks})
        whole_model = "the materialised graph pickled as one message without payloads"
    scale = whole / total_standalone
    exact = [s * scale for s in standalone]
    floors = [int(e) for e in exact]
    rest = whole - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in order[: max(0, rest)]:
        floors[i] += 1
    for (k, node, t), sb in zip(tasks, floors):
        t["spec_bytes"] = sb

    # data objects: scattered futures referenced by the tasks
    futures = dict(walker.futures)
    # (distributed.futures_of(collection) would materialise the user's
    # layers, so keys are looked up on the cluster instead)
    data = []
    task_keys = set(dsk)
    known = set(task_keys)
    for _, _, t in tasks:
        for a in t.get("args", []):
            if "ref" not in a:
                continue
            r = a["ref"]
            if r not in known:
                known.add(r)
                info = None
                if client is not None:
                    info = _data_object_info(client, r, futures.get(r))
                if info is None:
                    # Not reachable: identity from the key, size unknown -> 0.
                    info = {
                        "size_bytes": 0,
                        "digest": "sha256:" + hashlib.sha256(repr(r).encode()).hexdigest(),
                        "type": "Future" if r in futures else "external",
                    }
                d = {"key": key_to_json(r)}
                d.update(info)
                data.append(d)
            a["ref"] = key_to_json(r)

    import distributed

    doc: dict = {"format": FORMAT, "version": VERSION}
    if name is None:
        name = f"{type(collection).__module__}.{type(collection).__name__} {getattr(collection, 'name', '')}".strip()
    doc["name"] = name
    m = {
        "generator": "graphprof_dask.export",
        "collection": f"{type(collection).__module__}.{type(collection).__name__}",
        "dask": dask.__version__,
        "distributed": distributed.__version__,
        "cloudpickle": cloudpickle.__version__,
        "python": platform.python_version(),
        "tasks": len(tasks),
        "min_payload_bytes": min_payload_bytes,
        "spec_bytes_model": whole_model,
        "spec_bytes_standalone_total": int(total_standalone),
        "wire_bytes_offline": int(wire_offline),
        "wire_bytes_offline_source": "distributed.protocol.serialize of collections_to_expr(...).optimize(), as Client.persist",
    }
    if meta:
        m.update(meta)
    doc["meta"] = m
    if measure_wire:
        if client is not None:
            wb, text = measure_wire_with_client(collection, client)
            doc["measured"] = {"wire_bytes": int(wb), "source": "distributed.client.serialize"}
            m["large_graph_warning"] = text
        else:
            doc["measured"] = {
                "wire_bytes": int(wire_offline),
                "source": "distributed.protocol.serialize (offline, as Client.persist)",
            }
    if data:
        doc["data"] = data
    doc["tasks"] = [t for _, _, t in tasks]
    return doc


def write_atomic(doc: dict, path: str) -> None:
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".graphprof-", suffix=".json.tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, separators=(",", ":"))
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def export(collection, path, *, name: str | None = None, measure_wire: bool = False,
           client=None, min_payload_bytes: int = DEFAULT_MIN_PAYLOAD_BYTES,
           meta: dict | None = None) -> dict:
    """Write ``collection``'s graph to ``path`` (graph format v1); return the document."""
    doc = build_graph(collection, name=name, measure_wire=measure_wire, client=client,
                      min_payload_bytes=min_payload_bytes, meta=meta)
    write_atomic(doc, path)
    return doc
