"""Export a Dask collection's task graph to graphprof's graph format v1.

The graph is taken exactly as distributed's scheduler would see it, without
changing what the user's client later sends:

1. With ``measure_wire`` and a client, a copy of the collection is persisted
   first while ``distributed.client.serialize`` is wrapped: the figure
   distributed's large-graph warning compares, for the user's first send.
2. The collection is turned into the expression ``Client.persist`` sends
   (``collections_to_expr(collections, optimize_graph=True).optimize()``) and
   serialized with ``distributed.protocol.serialize``, as
   ``Client._graph_to_futures`` does: that is the wire figure (within 0.1% of
   what distributed sends), so no byte is modelled twice.
3. A copy is deserialized from those bytes with fresh expression registries
   (see :mod:`.isolate`) and materialised there as the scheduler does
   (``__dask_graph__()`` + ``convert_legacy_graph``). Without a client,
   dataframe shuffles use ``p2p``, the method distributed picks with one.
4. Each task is walked (:mod:`.walk`) for its dependencies and its
   payloads, which are sized and described once per content
   (:mod:`.payloads`): pickled size, sha256 digest, in-memory size,
   role, description, the user's variable.
5. ``spec_bytes`` of a task is its own payload-free pickle, what a worker
   receives for it when it is shipped on its own (materialised = the sum of the
   tasks shipped one by one). ``wire_bytes`` is its share of the message: the
   message less the payload objects it carries, split in proportion to
   ``spec_bytes``. A payload whose content the message does not carry as such
   (a partition the scheduler slices from a frame the message holds once) is
   marked ``"sent": false``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import tempfile
from typing import Any

from .isolate import fresh_expressions
from .payloads import PayloadCache
from .results import partition_bytes, sample_output_bytes
from .send import as_collections, as_distributed_would, measure_wire_with_client, serialized_graph
from .task_sizes import _message_objects, _output_bytes, _shares, _SpecSizer
from .walk import Walker, dedupe_payloads

FORMAT = "graphprof-graph"
VERSION = 1
DEFAULT_MIN_PAYLOAD_BYTES = 1024


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


def _default_client():
    try:
        from distributed import default_client

        return default_client()
    except Exception:
        return None


def _data_object_info(client, key, future=None) -> dict | None:
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
        who = (client.who_has([future]) if future is not None else client.who_has()).get(key) or []
        if not who:
            return None
        size, hexd, typ = client.run(_probe, key, workers=[who[0]])[who[0]]
        return {"size_bytes": int(size), "digest": "sha256:" + hexd, "type": typ}
    except Exception:
        return None


@contextlib.contextmanager
def _no_cyclic_gc():
    """The walk allocates millions of small objects; the cyclic collector would rescan them
    all again and again. Reference counting still frees everything as usual."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _user_module(user_module):
    """Where the user's globals live: the script's module, else ``__main__`` (a notebook's or an
    interactive session's globals have no file, and are named all the same)."""
    import sys

    if user_module is not None:
        return user_module
    return sys.modules.get("__main__")


def build_graph(
    collection,
    *,
    name: str | None = None,
    measure_wire: bool = False,
    client=None,
    min_payload_bytes: int = DEFAULT_MIN_PAYLOAD_BYTES,
    meta: dict | None = None,
    user_module=None,
    run_outputs: bool = True,
) -> dict:
    """Return the graph document (a dict) for ``collection`` (or a list of collections).

    With ``run_outputs`` (the default), outputs whose result size the collection cannot say
    (dataframe, bag, delayed) are sized by running a few of their subgraphs here
    (:mod:`.results`, bounded in time); ``meta.output_bytes_sampled`` says what ran."""
    import cloudpickle
    import dask
    import distributed
    from dask._task_spec import convert_legacy_graph
    from distributed.protocol import deserialize

    collections = as_collections(collection)
    if client is None:
        client = _default_client()
    with as_distributed_would(client), _no_cyclic_gc():
        measured = measure_wire_with_client(collections, client) if measure_wire and client else None
        expr, header, frames, wire_offline = serialized_graph(collections)
        with fresh_expressions():
            copy = deserialize(header, frames)
            del header, frames
            dsk = convert_legacy_graph(dict(copy.__dask_graph__()))
            doc = _document(dsk, expr, collections, wire_offline, min_payload_bytes,
                            _user_module(user_module), client, run_outputs)
            del copy, dsk
    if name is None:
        first = collections[0]
        name = f"{type(first).__module__}.{type(first).__name__} {getattr(first, 'name', '')}".strip()
        if len(collections) > 1:
            name += f" and {len(collections) - 1} more"
    m = {
        "generator": "graphprof.export",
        "collection": ", ".join(f"{type(c).__module__}.{type(c).__name__}" for c in collections),
        "dask": dask.__version__,
        "distributed": distributed.__version__,
        "cloudpickle": cloudpickle.__version__,
        "python": platform.python_version(),
        "tasks": len(doc["tasks"]),
        "min_payload_bytes": min_payload_bytes,
        "wire_bytes_offline": int(wire_offline),
        "wire_bytes_offline_source": "distributed.protocol.serialize of collections_to_expr(...).optimize(), as Client.persist",
        "wire_model": "each task's wire_bytes is its share of the message less the payload objects it carries, in proportion to spec_bytes; the total is wire_bytes_offline",
        "spec_bytes_model": "each task's own payload-free pickle, as distributed ships it to a worker",
        "in_memory_model": "one deserialised copy, loaded twice under tracemalloc; the second load's allocations still held",
    }
    sampled = doc.pop("output_bytes_sampled", None)
    if sampled is not None:
        m["output_bytes_sampled"] = sampled
    if meta:
        m.update(meta)
    out: dict = {"format": FORMAT, "version": VERSION, "name": name, "meta": m}
    if measure_wire:
        if measured is not None:
            out["measured"] = {"wire_bytes": int(measured[0]), "source": "distributed.client.serialize"}
            m["large_graph_warning"] = measured[1]
        else:
            out["measured"] = {"wire_bytes": int(wire_offline),
                               "source": "distributed.protocol.serialize (offline, as Client.persist)"}
    out.update(doc)
    return out


def _document(dsk, expr, collections, wire_offline, min_payload_bytes, user_module, client,
              run_outputs: bool = True) -> dict:
    """The data, contents and tasks of the document."""
    from dask._task_spec import Alias

    cache = PayloadCache(min_payload_bytes, user_module)
    walker = Walker(cache)
    outsize = _output_bytes(collections)
    sampled = None
    if run_outputs:
        estimates, sampled = sample_output_bytes(dsk, outsize, fallback=partition_bytes(collections))
        outsize.update(estimates)
    rows = []
    main_functions = []  # per row: the functions of __main__ it calls (Walker.names_main)
    shared: dict = {}  # one tuple for the rows that call the same ones (a layer's tasks)
    for key, node in dsk.items():
        label, payloads = walker.task(node, key)
        main = tuple(walker.main_functions)
        main_functions.append(shared.setdefault(main, main) if main else None)
        deps = list(getattr(node, "dependencies", ()) or ())
        if len(deps) > 1:
            deps.sort(key=repr)  # a frozenset's order changes with the hash seed
        rows.append((key, node, label, deps, dedupe_payloads(payloads) if len(payloads) > 1 else payloads))

    _, hits = _message_objects(expr, cache)
    del expr
    # Which payload objects travel in the message: per content, as many objects as the message
    # holds of it; the rest are made by the scheduler when it materialises the graph.
    sent_left = dict(hits)
    sent_objects: dict[int, bool] = {}
    sent_bytes = 0
    for _, _, _, _, payloads in rows:
        for a in payloads:
            p = a["payload"]
            oid = p["object_id"]
            if oid in sent_objects:
                continue
            left = sent_left.get(p["digest"], 0)
            sent_objects[oid] = left > 0
            if left > 0:
                sent_left[p["digest"]] = left - 1
                sent_bytes += p["size_bytes"]
    # A literal container task (a dict argument Dask rebuilt from its items in every task) is
    # left out of its task's pickle as the payload it stands for.
    literal_nodes = [node for node, value in walker.literals.nodes.values()
                     if value is not None and cache.is_payload_object(value)]
    sizer = _SpecSizer([obj for obj, _ in cache.payload_objects()] + literal_nodes)
    spec = [sizer(node, bool(payloads), bool(main) and walker.names_main(main))
            for (_, node, _, _, payloads), main in zip(rows, main_functions)]
    # The message carries what is not sent as itself in another form (the frame a partition is
    # sliced from): weigh each task by its spec and the payloads it gets that way.
    weights = [s + sum(a["payload"]["size_bytes"] for a in payloads
                       if not sent_objects.get(a["payload"]["object_id"], True))
               for s, (_, _, _, _, payloads) in zip(spec, rows)]
    shares = _shares(max(0, wire_offline - sent_bytes), weights)

    known = set(dsk)
    data, tasks, data_keys = [], [], set()
    by_key: dict = {}
    for (key, node, label, deps, payloads), spec_bytes, share in zip(rows, spec, shares):
        args = []
        for d in deps:
            if d not in known and d not in data_keys:
                data_keys.add(d)
                data.append(_data_object(d, client, walker.futures.get(d)))
            args.append({"ref": key_to_json(d)})
        for a in payloads:
            p = a["payload"]
            if not sent_objects.get(p["object_id"], True):
                p["sent"] = False
            args.append(a)
        t: dict = {"key": key_to_json(key), "function": label}
        if args:
            t["args"] = args
        if key in outsize:
            t["output_bytes"] = int(outsize[key])
        t["spec_bytes"] = int(spec_bytes)
        t["wire_bytes"] = int(share)
        tasks.append(t)
        by_key[key] = (node, t)
    # Aliases: the fused task produces what its alias names.
    for node, t in by_key.values():
        if isinstance(node, Alias) and "output_bytes" in t and node.target in by_key:
            by_key[node.target][1].setdefault("output_bytes", t["output_bytes"])
    used = {a["payload"]["digest"] for t in tasks for a in t.get("args", ()) if "payload" in a}
    doc: dict = {}
    contents = [c for d, c in cache.contents.items() if d in used]
    if contents:
        doc["contents"] = contents
    if data:
        doc["data"] = data
    doc["tasks"] = tasks
    if sampled is not None:
        doc["output_bytes_sampled"] = sampled
    return doc


def _data_object(key, client, future) -> dict:
    info = _data_object_info(client, key, future)
    if info is None:
        # Not reachable: identity from the key, size unknown -> 0.
        info = {"size_bytes": 0,
                "digest": "sha256:" + hashlib.sha256(repr(key).encode()).hexdigest(),
                "type": "Future" if future is not None else "external"}
    d = {"key": key_to_json(key)}
    d.update(info)
    return d


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(doc: dict, path) -> None:
    """Write ``doc`` as JSON to ``path`` through a temporary file renamed into place; the file
    gets the usual mode (0666 less the umask)."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path)) or "."
    fd, tmp = tempfile.mkstemp(prefix=".graphprof-", suffix=".json.tmp", dir=d)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            # json.dumps encodes in C in one go; json.dump would walk the document in Python.
            fh.write(json.dumps(doc, separators=(",", ":")))
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
           meta: dict | None = None, user_module=None, run_outputs: bool = True) -> dict:
    """Write ``collection``'s graph to ``path`` (graph format v1); return the document."""
    doc = build_graph(collection, name=name, measure_wire=measure_wire, client=client,
                      min_payload_bytes=min_payload_bytes, meta=meta, user_module=user_module,
                      run_outputs=run_outputs)
    write_atomic(doc, path)
    return doc
