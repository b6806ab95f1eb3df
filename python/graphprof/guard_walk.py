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

from .export_walk import _SCALARS, _TEXT, FUNCTION_PAYLOAD_BYTES, Walker, funcname

ARGUMENT, FUNCTION, DATA = "argument", "function", "data"
SKIP, TEXT, TASK, DATA_NODE, VALUE = range(5)


class SpecWalk:
    """``walk.objects(spec)`` appends to ``walk.ids`` the id of every object the spec embeds;
    ``walk.found[id]`` is ``(object, role, threshold, task)`` from its first sighting (``task``:
    the innermost task calling it, for the description)."""

    def __init__(self, min_payload_bytes: int):
        from dask import _task_spec as ts

        self.short_text = min_payload_bytes // 4
        self.found: dict[int, tuple[Any, str, Optional[int], Any]] = {}
        self.ids: list[int] = []
        self._walker = Walker(_NoCache(min_payload_bytes))  # its helpers, not its walk
        self._skip = (ts.TaskRef, ts.Alias)
        self._data_node, self._task = ts.DataNode, ts.Task
        self._subgraph = getattr(ts, "_execute_subgraph", None)
        self._future = self._walker._future_type
        self._containers = (list, tuple, set, frozenset, dict)
        self._kinds: dict[type, int] = {}

    def _record(self, obj, role: str, threshold: Optional[int], task) -> None:
        i = id(obj)
        if i not in self.found:
            self.found[i] = (obj, role, threshold, task)
        self.ids.append(i)

    def objects(self, spec) -> None:
        """The objects of one top-level spec (an Alias has none)."""
        if isinstance(spec, self._data_node):
            self._value(spec.value, DATA, None)
        else:
            self._leaf(spec, None)

    def _kind(self, obj) -> int:
        """What a leaf is, by its type (cached: one dict lookup per leaf on the hot path)."""
        t = type(obj)
        kind = self._kinds.get(t)
        if kind is None:
            if issubclass(t, _SCALARS) or issubclass(t, self._skip) or (
                    self._future and issubclass(t, self._future)):
                kind = SKIP
            elif issubclass(t, _TEXT):
                kind = TEXT
            elif issubclass(t, self._task):
                kind = TASK
            elif issubclass(t, self._data_node):
                kind = DATA_NODE
            else:
                kind = VALUE
            self._kinds[t] = kind
        return kind

    def _leaves(self, items, task) -> None:
        kinds = self._kinds
        for obj in items:
            kind = kinds.get(type(obj))
            if kind is None:
                kind = self._kind(obj)
            if kind == SKIP or (kind == TEXT and len(obj) < self.short_text):
                continue
            if kind == TASK:
                self._task_body(obj)
            elif kind == DATA_NODE:
                self._value(obj.value, DATA, task)
            else:
                self._value(obj, ARGUMENT, task)

    def _leaf(self, obj, task) -> None:
        self._leaves((obj,), task)

    def _value(self, obj, role: str, task) -> None:
        kind = self._kinds.get(type(obj))
        if kind is None:
            kind = self._kind(obj)
        if (kind == SKIP and isinstance(obj, _SCALARS)) or (
                kind == TEXT and len(obj) < self.short_text):
            return
        if type(obj) in self._containers and self._walker._holds_graph_objects(obj):
            self._leaves(obj.values() if type(obj) is dict else obj, task)
            return
        if role == ARGUMENT and callable(obj) and not isinstance(obj, type):
            self._record(obj, FUNCTION, FUNCTION_PAYLOAD_BYTES, task)
        else:
            self._record(obj, role, None, task)

    def _function(self, func, task) -> None:
        while isinstance(func, functools.partial):
            self._leaves(func.args, task)
            if func.keywords:
                self._leaves(func.keywords.values(), task)
            func = func.func
        self._record(func, FUNCTION, FUNCTION_PAYLOAD_BYTES, task)

    def _task_body(self, node) -> None:
        args = node.args
        if node.func is self._subgraph and args and isinstance(args[0], dict):
            self._leaves(args[0].values(), None)
            self._leaves(args[3:], None)
            return
        self._function(node.func, node)
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
