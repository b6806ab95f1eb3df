"""Held memory per layer, measured on the workers themselves while the results are held.

:func:`held_layers` runs on each worker through ``client.run`` (distributed passes it the
worker as ``dask_worker``). It walks the worker's task states (``dask_worker.state.tasks``) and
returns, per layer (``dask.utils.key_split`` of the key):

- ``tasks_in_memory``: tasks in state ``memory`` (their result is on this worker);
- ``results_bytes``: their results' sizes as Dask measures them (``TaskState.nbytes``, the
  ``sizeof`` that ``managed`` memory sums; ``sizeof`` of the data when the state has none);
- ``released_kept``: tasks in any other state whose ``run_spec`` the worker still keeps (the
  released ancestors of a held result);
- ``run_spec_bytes``: the in-memory size of what the kept run_specs (of the tasks in memory and
  of the released kept ones) hold: the spec objects themselves (their own slots, shallow) and
  every distinct object they embed (by ``id()``: an object shared by several specs counts once,
  for the first layer that embeds it), sized deeply as the exporter sizes a payload: pickled,
  then loaded twice under ``tracemalloc``, the second load counted
  (:func:`graphprof.collect.payloads.object_in_memory_bytes`, the exporter's own). An importable function or class pickles as a reference and costs nothing;
  a function pickled by value (with the globals it carries) costs its copy;
- ``estimated``: true when part of ``run_spec_bytes`` is extrapolated, not measured object by
  object (see below);
- ``fetched`` and ``fetched_bytes``: the layer's results this worker received from another worker
  (``dask_worker.transfer_incoming_log``, since ``since`` when given: the run's submit, on the
  scheduler's clock that the log uses), and their sizes as Dask measured them. A result that
  moves is a copy on the receiving worker; a list, tuple, set or dict moves item by item, whose
  temporaries leave heap on both workers. graphprof's placement does not model the scheduler's
  moves (work stealing, a dependency that draws its dependents), so this column is where a
  measured layer that holds more than predicted shows why.

The cost is bounded: distinct objects are grouped by (type, length, shape, ``nbytes``, name) and
ONE object per group is measured, its size multiplied by the group's count (an estimate when the
group has more than one object); at most :data:`MAX_MEASUREMENTS` groups are measured per worker,
biggest groups first, and the rest are counted at their shallow ``sys.getsizeof`` (an estimate
too). Scalars and short strings are not collected.

Only the standard library at import; dask and distributed are imported inside the functions,
so that the module imports on any worker (the driver ships the package to an existing cluster;
a LocalCluster's workers share the driver's ``sys.path``).
"""

from __future__ import annotations

import sys
from typing import Any

from ..collect.payloads import object_in_memory_bytes

#: Measurements (pickle + two loads) per worker at most; further groups are estimated shallowly.
MAX_MEASUREMENTS = 50
#: Strings and bytes shorter than this are part of a spec's bookkeeping, not a payload.
SHORT_TEXT = 256
#: A plain container at most this long is searched for graph nodes (a fused task's subgraph).
SMALL_CONTAINER = 256

_SCALARS = (type(None), bool, int, float, complex)


def held_layers(dask_worker: Any = None, max_measurements: int = MAX_MEASUREMENTS,
                since: float | None = None) -> list[dict]:
    """Per layer, what this worker holds and what it fetched since ``since`` (see the module
    docstring); biggest first."""
    from dask.utils import key_split

    state = dask_worker.state
    rows: dict[str, dict] = {}
    objects: dict[int, tuple[Any, str]] = {}  # id -> (object, first layer that embeds it)

    def row(layer: str) -> dict:
        return rows.setdefault(layer, {"layer": layer, "tasks_in_memory": 0, "results_bytes": 0,
                                       "released_kept": 0, "run_spec_bytes": 0,
                                       "estimated": False, "fetched": 0, "fetched_bytes": 0})

    for key, ts in list(state.tasks.items()):
        in_memory = ts.state == "memory"
        run_spec = getattr(ts, "run_spec", None)
        if not in_memory and run_spec is None:
            continue
        layer = key_split(key)
        r = row(layer)
        if in_memory:
            r["tasks_in_memory"] += 1
            r["results_bytes"] += _result_bytes(dask_worker, key, ts)
        else:
            r["released_kept"] += 1
        if run_spec is not None:
            r["run_spec_bytes"] += _walk(run_spec, layer, objects)

    for layer, size, estimated in _size_objects(objects, max_measurements):
        r = row(layer)
        r["run_spec_bytes"] += size
        r["estimated"] = r["estimated"] or estimated
    for key, nbytes in _fetched(dask_worker, since):
        r = row(key_split(key))
        r["fetched"] += 1
        r["fetched_bytes"] += nbytes
    return sorted(rows.values(),
                  key=lambda r: (-(r["results_bytes"] + r["run_spec_bytes"]), r["layer"]))


def _fetched(dask_worker: Any, since: float | None) -> list[tuple[Any, int]]:
    """(key, bytes) of every result this worker received from another worker since ``since``
    (all the log keeps when None)."""
    fetched = []
    for entry in list(getattr(dask_worker, "transfer_incoming_log", ()) or ()):
        try:
            if since is not None and entry["start"] < since:
                continue
            for key, nbytes in entry["keys"].items():
                fetched.append((key, nbytes if isinstance(nbytes, int) and nbytes > 0 else 0))
        except (KeyError, TypeError, AttributeError):  # a log entry of another shape
            continue
    return fetched


def _result_bytes(dask_worker: Any, key: Any, ts: Any) -> int:
    nbytes = getattr(ts, "nbytes", None)
    if isinstance(nbytes, int) and nbytes >= 0:
        return nbytes
    try:
        from dask.sizeof import sizeof

        return int(sizeof(dask_worker.data[key]))
    except Exception:  # spilled, or gone meanwhile
        return 0


def _walk(spec: Any, layer: str, objects: dict[int, tuple[Any, str]]) -> int:
    """Collects the objects ``spec`` embeds into ``objects``; returns the shallow size of the
    spec's own structure (graph nodes, their argument tuples and keyword dicts)."""
    from dask._task_spec import Alias, DataNode, GraphNode, Task, TaskRef

    own = 0
    stack = [spec]
    seen: set[int] = set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, Task):
            own += _node_bytes(obj) + sys.getsizeof(obj.args) + sys.getsizeof(obj.kwargs)
            stack.append(obj.func)
            stack.extend(obj.args)
            stack.extend(obj.kwargs.values())
        elif isinstance(obj, DataNode):
            own += _node_bytes(obj)
            stack.append(obj.value)
        elif isinstance(obj, (Alias, TaskRef, GraphNode)):
            own += _node_bytes(obj)
        elif isinstance(obj, _SCALARS):
            continue
        elif isinstance(obj, (str, bytes)) and len(obj) < SHORT_TEXT:
            continue
        elif _holds_graph_nodes(obj):
            # A fused task's subgraph (a small dict of tasks) or a list of nodes: structure.
            own += sys.getsizeof(obj)
            stack.extend(obj.values() if isinstance(obj, dict) else obj)
        elif id(obj) not in objects:
            objects[id(obj)] = (obj, layer)
    return own


def _node_bytes(node: Any) -> int:
    """A graph node's own size: ``object.__sizeof__`` (its slots), as dask's ``GraphNode``
    defines a deep ``__sizeof__`` that ``sys.getsizeof`` would call."""
    return object.__sizeof__(node)


def _holds_graph_nodes(obj: Any) -> bool:
    from dask._task_spec import GraphNode, TaskRef

    if type(obj) not in (tuple, list, dict) or len(obj) > SMALL_CONTAINER:
        return False
    items = obj.values() if isinstance(obj, dict) else obj
    return any(isinstance(item, (GraphNode, TaskRef)) for item in items)


def _group_of(obj: Any) -> tuple:
    """Objects of one group are alike enough that one measurement stands for all."""
    t = type(obj)
    try:
        length = len(obj)
    except Exception:
        length = None
    shape = getattr(obj, "shape", None)
    nbytes = getattr(obj, "nbytes", None)
    name = None
    if callable(obj):
        inner = getattr(obj, "__func__", obj)
        name = (getattr(inner, "__module__", None), getattr(inner, "__qualname__", None),
                type(getattr(obj, "__self__", None)).__qualname__)
    return (t, length, shape if isinstance(shape, tuple) else None,
            nbytes if isinstance(nbytes, int) else None, name)


def _size_objects(objects: dict[int, tuple[Any, str]], max_measurements: int):
    """Yields (layer, bytes, estimated) for the collected objects, grouped and measured once
    per group (see the module docstring)."""
    groups: dict[tuple, list[tuple[Any, str]]] = {}
    for obj, layer in objects.values():
        try:
            group = _group_of(obj)
            hash(group)
        except Exception:
            group = (type(obj), id(obj))
        groups.setdefault(group, []).append((obj, layer))
    ordered = sorted(groups.values(), key=len, reverse=True)
    for index, members in enumerate(ordered):
        size = object_in_memory_bytes(members[0][0]) if index < max_measurements else None
        estimated = size is None or len(members) > 1
        for obj, layer in members:
            if size is None:
                yield layer, _shallow(obj), True
            else:
                yield layer, size, estimated


def _shallow(obj: Any) -> int:
    try:
        return int(sys.getsizeof(obj))
    except Exception:
        return 0


def probe(client: Any, proto: Any, label: str, since: float | None = None) -> None:
    """Runs :func:`held_layers` on every worker (``since``: the run's submit, ``time.time()``)
    and emits the driver's ``layers`` event
    (``workers``: per worker address, its rows; ``probe_s``: the wall time of the probe). A
    failure never fails the run: nothing is emitted, one line goes to stderr; a worker that
    failed is left out."""
    import time

    started = time.monotonic()
    try:
        answers = client.run(held_layers, since=since, on_error="return")
    except Exception as e:  # noqa: BLE001
        print(f"graphprof: the per-layer probe failed for '{label}': {type(e).__name__}: {e}",
              file=sys.stderr)
        return
    workers = {addr: rows for addr, rows in answers.items() if isinstance(rows, list)}
    failed = {addr: rows for addr, rows in answers.items() if not isinstance(rows, list)}
    if failed:
        addr, error = sorted(failed.items())[0]
        print(f"graphprof: the per-layer probe failed on {len(failed)} worker(s) for "
              f"'{label}' ({addr}: {type(error).__name__}: {error})", file=sys.stderr)
    if workers:
        proto.emit("layers", label=label, workers=workers,
                   probe_s=round(time.monotonic() - started, 4))
