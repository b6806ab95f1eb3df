"""Sizing what a graph's outputs hold when the collection cannot say (dataframe and bag
partitions, delayed values): a few outputs' own subgraphs are run here, in the exporter's process
(which has already imported the user's script), with dask's synchronous scheduler; each result is
measured in memory (pickled and loaded under tracemalloc, as a payload is), and the layer's mean
stands for its other outputs. The document says so (``meta.output_bytes_sampled``).

A result is sized net of what its subgraph's tasks carry: objects it shares with them (a bag's
``lookup[n]`` returns the dict's own string, which a worker already holds in the task's copy of
the dict) are not counted again (:func:`_net_bytes`; bag_map_dict's results measured 690 KB each
counted whole, 80 KB of list net of the shared strings).

Bounded: at most :data:`SAMPLES_PER_LAYER` outputs per layer and :data:`MAX_SAMPLES` in all, and no
new run once :data:`BUDGET_S` has passed. A run that has started is never cut short: interrupting
dask in the middle of a compute (a timer's exception, as an earlier version did) left dask's state
changed for the rest of the process, so that the user's next send of a dataframe merge doubled
(778,845 -> 1,556,228 bytes, python/tests/test_export_fidelity.py). An output whose subgraph needs data that is not in the graph (a scattered future) is
not run. Outputs whose subgraph cannot run outside a cluster (a dataframe shuffle by p2p) are sized
through the collection itself: its first and last partitions computed on a copy with the
synchronous scheduler and the ``tasks`` shuffle (:func:`partition_bytes`), when the collection's
partitions are those outputs. Outputs left without a size stay without one: the analysis counts
them as unknown. Never
used for a graph file (a graph file is data; nothing in it is run): only for a live collection, and
``run_outputs=False`` (``graphprof dask export --no-run-outputs``) turns it off.
"""

from __future__ import annotations

import time
from functools import partial

from .payloads import object_in_memory_bytes as _result_bytes
from .payloads import traced_load_bytes

SAMPLES_PER_LAYER = 2
MAX_SAMPLES = 8
BUDGET_S = 10.0


#: Objects walked at most to find what a subgraph's tasks carry (beyond it, a shared object may
#: be counted in the result too).
MAX_CARRIED_OBJECTS = 2_000_000


def _carried_ids(roots) -> set:
    """``id()`` of every object reachable from ``roots`` (a subgraph's task specs): containers'
    items, objects' attributes, functions' closures, defaults and the globals their code names;
    not modules, classes or a function's whole globals."""
    import gc
    import types

    seen: set = set()
    stack = list(roots)
    while stack and len(seen) < MAX_CARRIED_OBJECTS:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType)):
            continue
        seen.add(id(obj))
        if isinstance(obj, types.FunctionType):
            stack.extend(cell.cell_contents for cell in obj.__closure__ or ()
                         if _has_contents(cell))
            stack.extend(obj.__defaults__ or ())
            stack.extend((obj.__kwdefaults__ or {}).values())
            stack.extend(obj.__globals__[name] for name in _code_names(obj.__code__)
                         if name in obj.__globals__)
        elif isinstance(obj, (str, bytes, int, float, complex, bool, type(None))):
            continue
        else:
            stack.extend(gc.get_referents(obj))
    return seen


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _code_names(code) -> set:
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _code_names(const)
    return names


def _net_bytes(result, carried: set) -> int | None:
    """In-memory bytes of ``result`` less the objects it shares with what its tasks carry
    (``carried``: their ids): those are pickled as references and not loaded again."""
    import io
    import pickle

    if id(result) in carried:
        return 0
    shared: list = []

    class Net(pickle.Pickler):
        def persistent_id(self, obj):
            if id(obj) in carried:
                shared.append(obj)
                return len(shared) - 1
            return None

    class Load(pickle.Unpickler):
        def persistent_load(self, pid):
            return shared[pid]

    buffers: list = []
    out = io.BytesIO()
    try:
        Net(out, protocol=5, buffer_callback=buffers.append).dump(result)
    except BaseException:  # noqa: BLE001 - a user's object may raise anything while pickled
        return _result_bytes(result)
    head, raw = out.getvalue(), [b.raw() for b in buffers]
    return traced_load_bytes(lambda: Load(io.BytesIO(head), buffers=[bytearray(b) for b in raw]).load())


def _size(compute, carried_by=()) -> int | None:
    """In-memory bytes of ``compute()``'s result, net of the objects it shares with
    ``carried_by`` (the task specs that computed it); None when the user's code failed there or
    the result cannot be sized."""
    try:
        result = compute()
    except Exception:  # noqa: BLE001 - the user's code failed here: no size
        return None
    if not carried_by:
        return _result_bytes(result)
    return _net_bytes(result, _carried_ids(carried_by))


def _mean(sizes: list) -> int | None:
    return int(sum(sizes) / len(sizes)) if sizes else None


def _ancestors(dsk: dict, key) -> set | None:
    """``key`` and every key it depends on, or None when one is not in ``dsk``."""
    seen = {key}
    stack = [key]
    while stack:
        node = dsk.get(stack.pop())
        if node is None:
            return None
        for dep in getattr(node, "dependencies", ()) or ():
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return seen


def _layer(key) -> str:
    from dask.utils import key_split

    return key_split(key)


def partition_bytes(collections: list):
    """A fallback for :func:`sample_output_bytes`: ``size(outputs, seconds) -> (mean bytes or
    None, runs)`` that computes the first and last partitions of the one dataframe or bag
    collection with ``outputs`` partitions, on a copy (the user's collection is left as it was),
    with the synchronous scheduler and the ``tasks`` shuffle."""

    def size(outputs: int, seconds: float):
        import cloudpickle
        import dask

        from .isolate import copy_collections, fresh_expressions

        found = [c for c in collections if getattr(c, "npartitions", None) == outputs
                 and hasattr(c, "partitions")]
        if len(found) != 1 or seconds <= 0:
            return None, 0
        sizes, runs = [], 0
        started = time.monotonic()
        with fresh_expressions():
            [copy] = copy_collections(found, cloudpickle)
            for index in sorted({0, outputs - 1}):
                left = seconds - (time.monotonic() - started)
                if left <= 0:
                    break
                runs += 1
                part = copy.partitions[index]
                with dask.config.set({"dataframe.shuffle.method": "tasks"}):
                    value = _size(partial(part.compute, scheduler="sync"))
                if value is not None:
                    sizes.append(value)
        return _mean(sizes), runs

    return size


def sample_output_bytes(dsk: dict, known: dict, *, budget_s: float | None = None,
                        fallback=None) -> tuple[dict, dict | None]:
    """``(key -> estimated result bytes, meta)`` for the outputs of ``dsk`` (the keys nothing
    depends on) whose size ``known`` lacks; meta is None when nothing needed sizing. ``fallback``
    (:func:`partition_bytes`) sizes the one layer left unsized. ``budget_s`` defaults to
    :data:`BUDGET_S`."""
    from dask.local import get_sync

    budget_s = BUDGET_S if budget_s is None else budget_s

    depended = set()
    for node in dsk.values():
        depended.update(getattr(node, "dependencies", ()) or ())
    wanted = [k for k in dsk if k not in depended and k not in known]
    if not wanted:
        return {}, None
    by_layer: dict[str, list] = {}
    for key in wanted:
        by_layer.setdefault(_layer(key), []).append(key)
    started = time.monotonic()
    layers: dict[str, dict] = {}
    runs = 0
    for layer, keys in by_layer.items():
        picks = [keys[0]] if len(keys) == 1 else [keys[0], keys[-1]][:SAMPLES_PER_LAYER]
        sizes = []
        for key in picks:
            left = budget_s - (time.monotonic() - started)
            if runs >= MAX_SAMPLES or left <= 0:
                break
            needed = _ancestors(dsk, key)
            if needed is None:
                continue  # needs data from the cluster (a scattered future)
            runs += 1
            subgraph = {k: dsk[k] for k in needed}
            size = _size(partial(get_sync, subgraph, key), carried_by=list(subgraph.values()))
            if size is not None:
                sizes.append(size)
        layers[layer] = {"outputs": len(keys), "sampled": len(sizes), "mean_bytes": _mean(sizes)}
    if fallback is not None:
        unsized = [layer for layer, info in layers.items() if info["mean_bytes"] is None]
        if len(unsized) == 1:
            left = budget_s - (time.monotonic() - started)
            mean, ran = fallback(layers[unsized[0]]["outputs"], left)
            runs += ran
            if mean is not None:
                layers[unsized[0]].update(mean_bytes=mean, sampled=ran, through="partitions")
    estimates = {key: layers[_layer(key)]["mean_bytes"] for key in wanted
                 if layers[_layer(key)]["mean_bytes"] is not None}
    meta = {
        "model": "a few outputs' subgraphs run in the exporter's process (dask's synchronous "
                 "scheduler); each result's in-memory size; the layer's mean for its other outputs",
        "outputs": len(wanted),
        "sized": len(estimates),
        "runs": runs,
        "seconds": round(time.monotonic() - started, 3),
        "layers": layers,
    }
    return estimates, meta
