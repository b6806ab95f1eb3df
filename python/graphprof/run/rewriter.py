"""Rewrite a real Dask collection so that objects embedded in several tasks reach them once
(named `rewriter`, not `rewrite`, so the submodule never shadows the `rewrite` function).


``rewrite(collection, "scatter", client=client)`` or ``rewrite(collection, "delayed")`` returns a
new collection with the same output keys and the same results:

- the graph is taken as distributed sees it (the expression ``Client.persist`` sends, serialized
  and deserialized into a copy, then materialised as the scheduler does; the user's collection is
  never materialised), and walked with the exporter's own walker, so the objects moved are the
  payloads ``graphprof analyze`` reports as embedded in several tasks;
- ``scatter``: each such object becomes one ``client.scatter(obj, broadcast=True)`` future that
  the tasks reference, scattered once the graph is built (the future must stay alive while the
  collection is used: the graph's references to its key keep it, and the ``RewriteResult``
  passed in lists it);
- ``delayed``: each such object is put in the graph once, as one ``DataNode`` task
  (``dask.delayed(obj)``) whose result the tasks depend on;
- when the object is the task's function (a bound method carrying its instance, a closure, a
  callable object, a function pickled by value with the globals it reads), the function itself is
  moved out and the task calls a tiny caller with the function as a dependency, so the instance or
  captured object travels once;
- fused blockwise tasks (``_execute_subgraph``) get the moved object as one more outer dependency.
"""

from __future__ import annotations

from typing import Any

STRATEGIES = ("scatter", "delayed")


def _make_caller():
    # Defined in a function so that cloudpickle ships it by value: workers need not have
    # graphprof installed.
    def call_function(function, *args, **kwargs):
        return function(*args, **kwargs)

    return call_function


call_function = _make_caller()


class RewriteResult:
    """What a rewrite moved: per moved object its type, pickled size, the tasks that embedded it,
    and the new key (the future's key for scatter)."""

    def __init__(self):
        self.moved: list[dict] = []
        self.futures: list = []
        # Objects to scatter under the keys the graph already names (see ``scatter``).
        self.pending: dict = {}

    def scatter(self, client) -> None:
        """Scatter the pending objects (``broadcast=True``) under the keys the rewritten graph
        names, keeping their futures. Called once the graph is built, just before it is sent:
        distributed's Active Memory Manager (a pass every 2 s) drops the replicas of a key no
        task waits for yet, and a worker that lost its replica fetches the object again, item by
        item for a container: a scatter made more than a pass before the submit (a slow rebuild
        on a loaded machine) held ~10 MB more for delayed_tree's 40,000-float list."""
        if self.pending:
            futures = client.scatter(dict(self.pending), broadcast=True, hash=False)
            self.futures.extend(futures[key] for key in self.pending)
            self.pending = {}

    def as_dict(self) -> dict:
        return {"moved": self.moved}


def _scattered_ref(key, holder: RewriteResult):
    """A reference to ``key``, which ``holder`` scatters once the graph is built, that keeps
    ``holder`` (and so the scattered futures) alive as long as the graph holds it: a collection
    that takes no attribute (a ``Delayed``) would otherwise drop the futures as soon as
    ``rewrite`` returns, and the scheduler could forget the object before the submit (a
    cancelled future on a loaded machine). It pickles as a plain ``TaskRef``."""
    from dask import _task_spec as ts

    global _ScatteredRef
    if _ScatteredRef is None:
        class ScatteredRef(ts.TaskRef):
            __slots__ = ("holder",)

            def __init__(self, key, holder):
                super().__init__(key)
                self.holder = holder

        _ScatteredRef = ScatteredRef
    return _ScatteredRef(key, holder)


_ScatteredRef = None


def _graph_copy(collection, client=None):
    """The materialised task graph of a copy of what Client.persist sends, and its output keys
    (taken as ``dask export`` takes it: the user's collection is never materialised)."""
    from dask._task_spec import convert_legacy_graph
    from distributed.protocol import deserialize

    from ..collect.isolate import fresh_expressions
    from ..collect.send import as_collections, as_distributed_would, serialized_graph

    with as_distributed_would(client):
        _, header, frames, _ = serialized_graph(as_collections(collection))
        with fresh_expressions():
            copy = deserialize(header, frames)
            dsk = convert_legacy_graph(dict(copy.__dask_graph__()))
            keys = copy.__dask_keys__()
    return dsk, (keys[0] if len(keys) == 1 else keys)


def shared_objects(dsk: dict, min_payload_bytes: int | None = None,
                   literals=None) -> list[tuple[Any, dict, int]]:
    """Objects embedded in two or more tasks of ``dsk``: ``(object, payload info, task count)``,
    found with the exporter's walker (same threshold, same identity rule). ``literals`` (an
    :class:`graphprof.collect.walk.LiteralContainers`) learns which container tasks stand for which object."""
    from ..collect.payloads import PayloadCache
    from ..collect.walk import Walker
    from ..collect.graph import DEFAULT_MIN_PAYLOAD_BYTES

    cache = PayloadCache(DEFAULT_MIN_PAYLOAD_BYTES if min_payload_bytes is None else min_payload_bytes)
    walker = Walker(cache, literals)
    counts: dict[int, int] = {}
    for node in dsk.values():
        _, args = walker.task(node)
        seen = {a["payload"]["object_id"] for a in args if "payload" in a}
        for oid in seen:
            counts[oid] = counts.get(oid, 0) + 1
    out = []
    for obj, info in cache.payload_objects():
        if counts.get(info.get("object_id"), 0) >= 2:
            out.append((obj, info, counts[info["object_id"]]))
    out.sort(key=lambda e: e[1]["object_id"])
    return out


class _Substituter:
    """Rebuilds graph nodes with each target object (by id) replaced by a reference."""

    def __init__(self, targets: dict[int, Any]):
        from dask import _task_spec as ts

        self.ts = ts
        self.targets = targets  # id(obj) -> TaskRef (or Future)
        self.refs = list({id(ref): ref for ref in targets.values()}.values())  # each once

    def value(self, obj):
        """``obj`` with targets replaced; ``obj`` itself when nothing changed."""
        ts = self.ts
        ref = self.targets.get(id(obj))
        if ref is not None:
            return ref
        if isinstance(obj, (ts.TaskRef, ts.Alias)):
            return obj
        if isinstance(obj, ts.DataNode):
            new = self.value(obj.value)
            if new is obj.value:
                return obj
            return new if isinstance(new, (ts.TaskRef, ts.GraphNode)) else ts.DataNode(obj.key, new)
        if isinstance(obj, ts.Task):
            return self.task(obj)
        if type(obj) in (list, tuple, set, frozenset):
            items = [self.value(a) for a in obj]
            if all(a is b for a, b in zip(items, obj)):
                return obj
            return ts.parse_input(type(obj)(items) if type(obj) is not frozenset else set(items))
        if type(obj) is dict:
            items = {k: self.value(v) for k, v in obj.items()}
            if all(items[k] is obj[k] for k in obj):
                return obj
            return ts.parse_input(items)
        return obj

    def task(self, node):
        ts = self.ts
        if isinstance(node, ts.NestedContainer):
            args = [self.value(a) for a in node.args]
            if all(a is b for a, b in zip(args, node.args)):
                return node
            return type(node)(args) if isinstance(node, ts.Dict) else type(node)(*args)
        if node.func is ts._execute_subgraph:
            return self.subgraph(node)
        func = node.func
        args = [self.value(a) for a in node.args]
        kwargs = {k: self.value(v) for k, v in node.kwargs.items()}
        func_ref = self.targets.get(id(func))
        if func_ref is None and all(a is b for a, b in zip(args, node.args)) and all(
            kwargs[k] is node.kwargs[k] for k in kwargs
        ):
            return node
        if func_ref is not None:
            args = [func_ref] + args
            func = call_function
        return ts.Task(node.key, func, *args, _data_producer=node.data_producer, **kwargs)

    def subgraph(self, node):
        ts = self.ts
        inner_dsk, outkey, inkeys, *deps = node.args
        new_inner = {k: self.value(v) for k, v in inner_dsk.items()}
        # An outer dependency can be the object itself, as a literal (a map_blocks argument fused
        # with its reduction's first step): it is replaced in place, its inner key kept.
        new_deps = [self.value(d) for d in deps]
        if all(new_inner[k] is inner_dsk[k] for k in inner_dsk) and all(
                a is b for a, b in zip(new_deps, deps)):
            return node
        inkeys = list(inkeys)
        deps = new_deps
        for ref in self.refs:
            used = any(ref.key in getattr(v, "dependencies", ()) or v is ref for v in new_inner.values())
            if used and ref.key not in inkeys:
                inkeys.append(ref.key)
                deps.append(ref)
        # Inner references to an outer key are plain TaskRefs; the outer dependency is the ref.
        return ts.Task(node.key, ts._execute_subgraph, new_inner, outkey, tuple(inkeys), *deps,
                       _data_producer=node.data_producer)


def rewrite_graph(dsk: dict, strategy: str, *, client=None, min_payload_bytes: int | None = None):
    """``(new graph, RewriteResult)`` for a materialised graph of task specs."""
    import uuid

    from dask import _task_spec as ts

    from ..collect.walk import LiteralContainers
    from ..collect.graph import DEFAULT_MIN_PAYLOAD_BYTES

    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    if strategy == "scatter" and client is None:
        raise ValueError("rewrite(..., 'scatter') needs client=")
    result = RewriteResult()
    limit = DEFAULT_MIN_PAYLOAD_BYTES if min_payload_bytes is None else min_payload_bytes
    literals = LiteralContainers.for_payloads(limit)  # as the exporter's walker has it
    shared = shared_objects(dsk, limit, literals)
    targets: dict[int, Any] = {}
    extra: dict = {}
    for obj, info, count in shared:
        if strategy == "scatter":
            # Named now, scattered by the caller once the graph is built (RewriteResult.scatter).
            key = f"{info['type']}-{uuid.uuid4().hex}"
            result.pending[key] = obj
            targets[id(obj)] = _scattered_ref(key, result)
        else:
            key = f"graphprof-shared-{info['type']}-{uuid.uuid4().hex}"
            extra[key] = ts.DataNode(key, obj)
            targets[id(obj)] = ts.TaskRef(key)
        result.moved.append({"type": info["type"], "size_bytes": info["size_bytes"],
                             "tasks": count, "key": str(key)})
    # A container Dask rebuilt from its items in every task is replaced where it is built.
    for node, value in literals.nodes.values():
        ref = targets.get(id(value)) if value is not None else None
        if ref is not None:
            targets[id(node)] = ref
    sub = _Substituter(targets)
    new = {k: sub.value(v) if isinstance(v, ts.GraphNode) else v for k, v in dsk.items()}
    new.update(extra)
    return new, result


def rewrite(collection, strategy: str, *, client=None, min_payload_bytes: int | None = None,
            result: RewriteResult | None = None):
    """``collection`` with every object embedded in several tasks moved out by ``strategy``
    (``"scatter"``: one broadcast future, needs ``client``; ``"delayed"``: one task in the
    graph). Same output keys and results. Pass a ``RewriteResult`` to learn what was moved."""
    if strategy == "scatter" and client is None:
        try:
            from distributed import get_client

            client = get_client()
        except Exception as e:
            raise ValueError("rewrite(..., 'scatter') needs client= (no default client)") from e
    dsk, keys = _graph_copy(collection, client)
    new, res = rewrite_graph(dsk, strategy, client=client, min_payload_bytes=min_payload_bytes)
    rewritten = _rebuild(collection, new, keys)
    res.scatter(client)
    if result is not None:
        result.moved, result.futures = res.moved, res.futures
    # The graph's references to each scattered key keep the futures alive (``_scattered_ref``).
    return rewritten


def _rebuild(collection, dsk: dict, keys):
    """A collection of ``collection``'s kind over ``dsk`` whose outputs are ``keys``."""
    try:
        from dask.dataframe.dask_expr._collection import FrameBase, from_graph
    except Exception:  # pragma: no cover - no dask.dataframe
        FrameBase = None
    if FrameBase is not None and isinstance(collection, FrameBase):
        from dask.core import flatten
        from dask.utils import key_split

        # Its postpersist takes every key of the graph as a partition: name the outputs.
        return from_graph(dsk, collection._meta, collection.divisions, list(flatten(keys)),
                          key_split(collection._name))
    rebuild, args = collection.__dask_postpersist__()
    return rebuild(dsk, *args)
