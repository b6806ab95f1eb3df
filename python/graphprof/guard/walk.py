"""The guard's pass over one task spec: which objects it embeds, by identity, without pickling.

The exporter's rules (:class:`.export_walk.Walker`: what a payload is, where the function is
pickled by value, fused subgraphs, partials, literal data nodes, containers of graph objects),
in one tight function for the scheduler's hot path: no closures per argument, no payload dicts.
``python/tests/test_guard_walk.py`` checks that it finds exactly the objects the Walker finds on
ordinary graphs, so the two cannot drift apart unnoticed. Sizing and describing stay the
exporter's (:class:`.export_payloads.PayloadCache`, :func:`.export_payloads.describe`).
"""

from __future__ import annotations

import functools
from typing import Any, Optional

from ..collect.walk import _SCALARS, _TEXT, FUNCTION_PAYLOAD_BYTES, LiteralContainers, Walker, funcname

ARGUMENT, FUNCTION, DATA = "argument", "function", "data"
# What a leaf is, by its type; the first two are dropped where a task's arguments are walked.
SCALAR, GRAPH_REF, TEXT, TASK, DATA_NODE, CONTAINER, CALLABLE, VALUE = range(8)
_CONTAINERS = (list, tuple, set, frozenset, dict)


class SpecWalk:
    """``walk.objects(spec)`` appends to ``walk.ids`` the id of every object the spec embeds;
    ``walk.found[id]`` is ``(object, role, threshold, task)`` from its first sighting (``task``:
    the innermost task calling it, for the description).

    The scheduler's hot path: what a leaf is comes from one dict lookup on its type (scalars,
    short text and graph references are dropped there, before anything else is looked at); a
    ``functools.partial`` that embeds nothing but its function (Dask builds a new
    ``partial(arange, like=None)`` per chunk) is read inline, and one that embeds more and that
    many tasks share is walked once: its objects are remembered by the partial's identity."""

    def __init__(self, min_payload_bytes: int, literals: Optional[LiteralContainers] = None):
        from dask import _task_spec as ts

        self.short_text = min_payload_bytes // 4
        self.found: dict[int, tuple[Any, str, Optional[int], Any]] = {}
        self.ids: list[int] = []
        self._walker = Walker(_NoCache(min_payload_bytes), literals)  # its helpers, not its walk
        # A dict argument Dask rebuilt from its items in every task: one object.
        self._literals = self._walker.literals
        self._to_container = self._literals._to_container  # for the fused tasks' loop
        self._graph_refs = (ts.TaskRef, ts.Alias)
        self._data_node, self._task = ts.DataNode, ts.Task
        self._subgraph = getattr(ts, "_execute_subgraph", None)
        self._future = self._walker._future_type
        self._kinds: dict[type, int] = {}
        self._partials: dict[int, tuple[Any, tuple[int, ...]]] = {}

    def _kind(self, obj) -> int:
        """What a leaf is, by its type alone (cached per type)."""
        t = type(obj)
        kind = self._kinds.get(t)
        if kind is not None:
            return kind
        if issubclass(t, _SCALARS):
            kind = SCALAR
        elif issubclass(t, self._graph_refs) or (self._future and issubclass(t, self._future)):
            kind = GRAPH_REF
        elif issubclass(t, _TEXT):
            kind = TEXT
        elif issubclass(t, self._task):
            kind = TASK
        elif issubclass(t, self._data_node):
            kind = DATA_NODE
        elif t in _CONTAINERS:
            kind = CONTAINER
        elif callable(obj) and not isinstance(obj, type):
            kind = CALLABLE
        else:
            kind = VALUE
        self._kinds[t] = kind
        return kind

    def objects(self, spec) -> None:
        """The objects of one top-level spec (an Alias has none)."""
        t = type(spec)
        if t is self._task:  # the common case: no tuple, no dispatch
            self._task_body(spec)
        elif isinstance(spec, self._data_node):
            self._value(spec.value, DATA, None)
        elif isinstance(spec, self._task):  # a Dict/List task spec: its items, as the exporter
            self._task_body(spec)
        else:
            self._leaves((spec,), None)

    def _leaves(self, items, task) -> None:
        """Task arguments (and fused inner tasks): each a graph object to go into or a value."""
        kinds, found, ids = self._kinds, self.found, self.ids
        for obj in items:
            kind = kinds.get(type(obj))
            if kind is None:
                kind = self._kind(obj)
            if kind <= GRAPH_REF:
                continue
            if kind == TASK:
                if self._literals.is_container(obj):
                    value = self._literals.value(obj)
                    if value is not None:  # a container of literal items: one argument
                        i = id(value)
                        if i not in found:
                            found[i] = (value, ARGUMENT, None, task)
                        ids.append(i)
                        continue
                self._task_body(obj)
                continue
            if kind == DATA_NODE:
                value = obj.value
                kind = kinds.get(type(value))
                if kind is None:
                    kind = self._kind(value)
                if kind >= TASK and kind != CONTAINER:  # one object (the common case), inline
                    i = id(value)
                    if i not in found:
                        found[i] = (value, DATA, None, task)
                    ids.append(i)
                else:
                    self._value(value, DATA, task)
                continue
            if kind == TEXT:
                if len(obj) < self.short_text:
                    continue
                role, threshold = ARGUMENT, None
            elif kind == CONTAINER and self._walker._holds_graph_objects(obj):
                self._leaves(obj.values() if type(obj) is dict else obj, task)
                continue
            elif kind == CALLABLE:
                role, threshold = FUNCTION, FUNCTION_PAYLOAD_BYTES
            else:
                role, threshold = ARGUMENT, None
            i = id(obj)
            if i not in found:
                found[i] = (obj, role, threshold, task)
            ids.append(i)

    def _value(self, obj, role: str, task) -> None:
        """A literal (a data node's value): one object, or the elements of a container of graph
        objects. Only scalars and short text are dropped: a graph reference here is a value."""
        kind = self._kinds.get(type(obj))
        if kind is None:
            kind = self._kind(obj)
        if kind == SCALAR or (kind == TEXT and len(obj) < self.short_text):
            return
        if kind == CONTAINER and self._walker._holds_graph_objects(obj):
            self._leaves(obj.values() if type(obj) is dict else obj, task)
            return
        threshold = None
        if kind == CALLABLE and role == ARGUMENT:
            role, threshold = FUNCTION, FUNCTION_PAYLOAD_BYTES
        self._record(obj, role, threshold, task)

    def _record(self, obj, role: str, threshold: Optional[int], task) -> None:
        i = id(obj)
        if i not in self.found:
            self.found[i] = (obj, role, threshold, task)
        self.ids.append(i)

    def _function(self, func, task) -> None:
        """A task's function: partials unwrapped (their arguments are the task's too); the
        objects of a partial are remembered by its identity, for the next task calling it."""
        start = len(self.ids)
        inner = func
        while isinstance(inner, functools.partial):
            self._leaves(inner.args, task)
            if inner.keywords:
                self._leaves(inner.keywords.values(), task)
            inner = inner.func
        self._record(inner, FUNCTION, FUNCTION_PAYLOAD_BYTES, task)
        self._partials[id(func)] = (func, tuple(self.ids[start:]))

    def _bare(self, func) -> bool:
        """A partial of a plain function that embeds nothing else (only scalars and graph
        references, whose kinds are known): Dask builds one per task (``partial(arange,
        like=None)``), so remembering it by identity would never hit."""
        if type(func.func) is functools.partial:
            return False
        kinds = self._kinds
        for value in func.args:
            if kinds.get(type(value), VALUE) > GRAPH_REF:
                return False
        if func.keywords:
            for value in func.keywords.values():
                if kinds.get(type(value), VALUE) > GRAPH_REF:
                    return False
        return True

    def _task_body(self, node) -> None:
        args, func = node.args, node.func
        if func is self._subgraph and args and isinstance(args[0], dict):
            task_body, task_type, to_container = self._task_body, self._task, self._to_container
            for inner in args[0].values():
                if type(inner) is task_type and inner.func is not to_container:  # straight in
                    task_body(inner)
                else:  # in their order, so that first sightings stay the same
                    self._leaves((inner,), None)
            if len(args) > 3:
                self._leaves(args[3:], None)
            return
        if isinstance(func, functools.partial):
            memo = self._partials.get(id(func))
            if memo is not None:
                self.ids.extend(memo[1])
            elif self._bare(func):  # partial(arange, like=None): a new one per task, inline
                inner = func.func
                i = id(inner)
                found = self.found
                if i not in found:
                    found[i] = (inner, FUNCTION, FUNCTION_PAYLOAD_BYTES, node)
                self.ids.append(i)
            else:
                self._function(func, node)
        else:  # the common case, inline
            i = id(func)
            found = self.found
            if i not in found:
                found[i] = (func, FUNCTION, FUNCTION_PAYLOAD_BYTES, node)
            self.ids.append(i)
        if args:
            self._leaves(args, node)
        if node.kwargs:
            self._leaves(node.kwargs.values(), node)

    def context(self, task) -> Optional[str]:
        """"an argument of f" for an object a task calls with (the user's function where Dask
        wraps it), as the exporter says it."""
        if task is None:
            return None
        user = self._walker._user_function(task)
        return f"an argument of {funcname(user if user is not None else task.func)}"


class _NoCache:
    """What the Walker's helpers need of a cache; they never size anything."""

    def __init__(self, min_payload_bytes: int):
        self.min_payload_bytes = min_payload_bytes

    def payload_for(self, *args, **kwargs):  # pragma: no cover - the helpers never call it
        return None
