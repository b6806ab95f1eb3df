"""Ground truth for a Dask program, taken from distributed itself, with nothing from graphprof.

``python truth.py PROGRAM.py [-o truth.json]`` imports the program (a fresh process each time: a
dask-expr collection serialized once can send a bigger message the next time), starts an
in-process ``LocalCluster``, and persists the program's ``result`` on it while recording:

- ``wire_bytes``: the sum of ``nbytes`` over header and frames of every call to
  ``distributed.client.serialize`` during ``client.persist`` (the figure distributed's large-graph
  warning compares), and ``warned``: whether "Sending large graph" was warned;
- the tasks as the scheduler materialised them, taken in a scheduler plugin's ``update_graph`` hook
  (before anything runs or is released): each key, its dependencies, and its ``run_spec`` pickled
  on its own as the scheduler ships it to a worker (``distributed.protocol.pickle.dumps``,
  protocol 5, out-of-band buffers counted); ``materialised_bytes`` is their sum;
- ``duplicates``: the scheduler deserialises the graph once, so tasks that embed one object share
  it by identity.  Every ``run_spec`` is walked (task-spec nodes, their args and kwargs, partials,
  bound methods' ``__self__``, closures' cells, defaults, small containers); objects reached from
  two or more tasks whose pickle is at least 1 KiB are the duplicated objects, each reported at the
  outermost level (a partial holding a dict is reported as the partial, not again as the dict).
  A dict argument that Dask rebuilt from its items in every task (a task calling
  ``NestedContainer.to_container`` that refers to no other task, as dask.bag's ``map`` makes) is
  one object per content (the pickle of the dict it builds): the dict, at its own shipped size.

The program is imported as a module whose name contains ``__main__``, registered with cloudpickle
to be pickled by value: distributed then pickles its functions and classes by value, as it does
when the user runs the program as ``__main__``; its ``__main__`` block is not run.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import json
import os
import pickle
import sys
import types
import warnings
from collections import defaultdict

MIN_DUPLICATE_BYTES = 1024
MAX_CONTAINER_WALK = 2000  # bigger containers are leaves (their elements are literals here)


def load_program(path: str):
    """Import the program at ``path`` as a module; its functions pickle by value."""
    import cloudpickle

    path = os.path.abspath(path)
    # distributed pickles with plain pickle first and switches to cloudpickle (by value, where
    # registered) only when the bytes name `__main__`: a name that contains it gives the program
    # the treatment it gets when the user runs it as `__main__`, without running its main block.
    name = "__main___" + os.path.splitext(os.path.basename(path))[0]
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    cloudpickle.register_pickle_by_value(module)
    return module


def key_json(key):
    """A Dask key as JSON: a string, or a list for a tuple key."""
    if isinstance(key, tuple):
        return [k if isinstance(k, (int, str)) and not isinstance(k, bool) else str(k) for k in key]
    return str(key)


def shipped_bytes(obj) -> int:
    """Bytes of ``obj`` pickled on its own as distributed ships a run_spec (ToPickle)."""
    from distributed.protocol.pickle import dumps

    buffers: list = []
    head = dumps(obj, buffer_callback=buffers.append, protocol=5)
    return len(head) + sum(memoryview(b).nbytes for b in buffers)


def children(obj) -> list:
    """What ``obj`` embeds, for the walk: graph nodes, wrappers and small containers."""
    from dask import _task_spec as ts

    if isinstance(obj, (ts.TaskRef, ts.Alias)):
        return []
    if isinstance(obj, ts.DataNode):
        return [obj.value]
    if isinstance(obj, ts.Task):
        return [obj.func, *obj.args, *obj.kwargs.values()]
    if isinstance(obj, functools.partial):
        return [obj.func, *obj.args, *(obj.keywords or {}).values()]
    if isinstance(obj, types.MethodType):
        return [obj.__self__, obj.__func__]
    if isinstance(obj, types.FunctionType):
        out = []
        for cell in obj.__closure__ or ():
            try:
                out.append(cell.cell_contents)
            except ValueError:  # an empty cell
                pass
        out.extend(obj.__defaults__ or ())
        out.extend((obj.__kwdefaults__ or {}).values())
        return out
    if type(obj) in (list, tuple, set, frozenset) and len(obj) <= MAX_CONTAINER_WALK:
        return list(obj)
    if type(obj) is dict and len(obj) <= MAX_CONTAINER_WALK:
        return [*obj.keys(), *obj.values()]
    return []


def _is_literal(obj) -> bool:
    return obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)) and len(
        obj if isinstance(obj, (str, bytes)) else "") < MIN_DUPLICATE_BYTES


class _Containers:
    """Dask rebuilds a dict argument of a legacy task (dask.bag's ``map``) as a task of the
    dict's items in every task that passes it (``NestedContainer.to_container``): no dict object
    is shared on the scheduler, and every task deserialises a whole dict on the workers. Such a
    task that refers to no other task and holds no other task is counted here by **content**: the
    dict it builds, pickled; equal pickles are one object embedded in every task that builds it.
    (graphprof groups by the items' identity and value instead: a different rule that must agree.)"""

    def __init__(self):
        self.by_content: dict = {}

    def canonical(self, obj):
        from dask import _task_spec as ts

        if not isinstance(obj, ts.Task) or obj.dependencies or not (
                obj.func is ts.NestedContainer.to_container or isinstance(obj, ts.NestedContainer)):
            return obj
        if any(isinstance(a, ts.Task) and not (a.func is ts.NestedContainer.to_container
                                                or isinstance(a, ts.NestedContainer))
               for a in obj.args):
            return obj  # holds a task of the user's: structure, not a literal
        built = obj()
        try:
            digest = hashlib.sha256(pickle.dumps(built, protocol=5)).hexdigest()
        except Exception:  # noqa: BLE001 - not picklable on its own: not one object
            return obj
        return self.by_content.setdefault(digest, built)


def _reachable(root, containers: _Containers) -> dict:
    """id -> object of everything reachable from ``root`` (each once)."""
    seen: dict = {}
    stack = [root]
    while stack:
        obj = stack.pop()
        obj = containers.canonical(obj) if obj is not root else obj
        if id(obj) in seen or _is_literal(obj):
            continue
        seen[id(obj)] = obj
        stack.extend(children(obj))
    return seen


def is_structure(obj) -> bool:
    """Task-spec nodes, and containers of them (a fused task's inner graph, shared by all the
    fused tasks of a layer): the graph's own structure, walked through, never a duplicate."""
    from dask import _task_spec as ts

    if isinstance(obj, (ts.GraphNode, ts.TaskRef)):
        return True
    if type(obj) in (list, tuple, set, frozenset, dict):
        return any(isinstance(c, (ts.GraphNode, ts.TaskRef)) for c in children(obj))
    return False


def find_duplicates(run_specs: dict) -> list:
    """The objects shared by identity between two or more tasks, pickled >= 1 KiB, outermost."""
    from dask import _task_spec as ts

    tasks_of: dict = defaultdict(list)
    objects: dict = {}
    containers = _Containers()
    for key, spec in run_specs.items():
        for oid, obj in _reachable(spec, containers).items():
            tasks_of[oid].append(key)
            objects[oid] = obj
    sizes: dict = {}

    def qualifies(oid) -> bool:
        if len(tasks_of[oid]) < 2 or is_structure(objects[oid]):
            return False
        if oid not in sizes:
            try:
                sizes[oid] = shipped_bytes(objects[oid])
            except Exception:  # unpicklable: it could not be shipped either
                sizes[oid] = 0
        return sizes[oid] >= MIN_DUPLICATE_BYTES

    copies: dict = defaultdict(set)
    for key, spec in run_specs.items():
        stack, seen = [spec], set()
        while stack:
            obj = stack.pop()
            obj = containers.canonical(obj) if obj is not spec else obj
            if id(obj) in seen or _is_literal(obj):
                continue
            seen.add(id(obj))
            if qualifies(id(obj)):
                copies[id(obj)].add(key)
                continue  # outermost only
            stack.extend(children(obj))
    out = []
    for oid, keys in copies.items():
        obj = objects[oid]
        what = getattr(obj, "__qualname__", None) or getattr(getattr(obj, "__func__", None), "__qualname__", "")
        out.append({
            "type": type(obj).__name__,
            "what": what,
            "size_bytes": sizes[oid],
            "copies": len(keys),
            "example_key": key_json(sorted(keys, key=str)[0]),
        })
    out.sort(key=lambda d: (-d["size_bytes"] * d["copies"], d["type"]))
    return out


def measure(path: str) -> dict:
    """Persist the program's ``result`` on an in-process cluster; return the ground truth."""
    import dask
    import distributed
    import distributed.client as dclient
    from distributed import Client, LocalCluster, futures_of, wait
    from distributed.diagnostics.plugin import SchedulerPlugin
    from distributed.utils import nbytes

    program = load_program(path)
    collection = program.result

    graphs: list[dict] = []

    class Snapshot(SchedulerPlugin):
        """The tasks of every update_graph, before any of them runs."""

        def update_graph(self, scheduler, *, tasks=(), **kwargs):
            graph: dict = {}
            for key in tasks:
                state = scheduler.tasks.get(key)
                if state is not None and state.run_spec is not None:
                    graph[key] = (state.run_spec, [d.key for d in state.dependencies])
            graphs.append(graph)

    with LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        cluster.scheduler.add_plugin(Snapshot(), name="graphprof-truth")
        sent: list[int] = []
        original = dclient.serialize

        def recording(*args, **kwargs):
            header, frames = original(*args, **kwargs)
            sent.append(sum(map(nbytes, [header] + list(frames))))
            return header, frames

        dclient.serialize = recording
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                persisted = client.persist(collection)
        finally:
            dclient.serialize = original
        wait(futures_of(persisted), timeout=300)
        if not sent:
            raise RuntimeError("distributed.client.serialize was not called by persist")
        # A collection may compute a graph of its own while it is optimised (set_index computes
        # its divisions): that graph is sent first, on its own. The persist's graph is the last.
        graph = graphs[-1] if graphs else {}
        warned = [str(w.message) for w in caught if "Sending large graph" in str(w.message)]
        run_specs = {k: spec for k, (spec, _) in graph.items()}
        per_task = {k: shipped_bytes(spec) for k, spec in run_specs.items()}
        deps = {k: d for k, (_, d) in graph.items()}
        data_keys = sorted({d for ds in deps.values() for d in ds if d not in graph}, key=str)
        duplicates = find_duplicates(run_specs)
        del persisted
    return {
        "program": os.path.basename(path),
        "dask": dask.__version__,
        "distributed": distributed.__version__,
        "wire_bytes": int(sent[-1]),
        "serialize_calls": len(sent),
        "earlier_graphs": [{"tasks": len(g), "wire_bytes": int(w)} for g, w in zip(graphs[:-1], sent[:-1])],
        "warned": bool(warned),
        "warning_text": warned[0] if warned else None,
        "tasks": len(graph),
        "keys": sorted((key_json(k) for k in graph), key=json.dumps),
        "data_keys": [key_json(k) for k in data_keys],
        "edges": sum(len(d) for d in deps.values()),
        "materialised_bytes": int(sum(per_task.values())),
        "duplicates": duplicates,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="truth.py", description=__doc__.split("\n")[0])
    parser.add_argument("program")
    parser.add_argument("-o", "--output", default="-")
    args = parser.parse_args(argv)
    doc = measure(args.program)
    text = json.dumps(doc, indent=1)
    if args.output == "-":
        print(text)
    else:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
