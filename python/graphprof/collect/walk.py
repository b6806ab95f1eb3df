"""Walking a materialised graph as distributed's scheduler holds it.

A task's dependencies are what the scheduler uses: the spec's own
``dependencies`` (``dask._task_spec``), so the keys inside a fused task
(``_execute_subgraph``: ``__dask_blockwise__N`` placeholders, the outputs of
fused inner tasks) are never taken for graph keys. Its payloads are the objects
embedded anywhere in its spec, nested fused tasks included, each sized by
:class:`~.payloads.PayloadCache` with its role: the function when it is
pickled by value (``function``), a literal data node's value (``data``), or an
argument (``argument``). The task's label names the user's function beside
Dask's wrapper where they differ (``f via apply_and_enforce``).
"""

from __future__ import annotations

import functools
import types
from typing import Any, Optional

from .payloads import PayloadCache

# A function pickled by reference ("module.name") is small; one pickled by
# value (a lambda or closure capturing data) is a payload above this size.
FUNCTION_PAYLOAD_BYTES = 1024

_SCALARS = (type(None), bool, int, float, complex)
# Strings and bytes are payloads only when long; most are names, checked by length alone.
_TEXT = (str, bytes)
_LIBRARY_PREFIXES = ("dask", "distributed", "pandas", "numpy", "toolz", "tlz", "builtins",
                     "operator", "functools", "xarray", "pyarrow", "_operator")


def funcname(func) -> str:
    try:
        from dask.utils import funcname as dask_funcname

        return str(dask_funcname(func))
    except Exception:  # pragma: no cover - very old dask
        return getattr(func, "__name__", type(func).__name__)


def _is_user_function(obj) -> bool:
    if isinstance(obj, functools.partial) or not callable(obj) or isinstance(obj, type):
        return False
    module = getattr(obj, "__module__", None) or ""
    return not module.split(".")[0] in _LIBRARY_PREFIXES


class LiteralContainers:
    """Dict arguments that Dask rebuilt in every task. ``convert_legacy_task`` turns a dict
    argument of a legacy task (dask.bag's ``map`` arguments, graphs written as dicts) into a task
    of its keys and values (``NestedContainer.to_container`` with ``constructor=Dict.constructor``;
    after a pickle round trip a plain ``Task`` calling it) in every task that passes it: the tasks
    share the items but no dict object, and every worker task builds its own dict. (A list, tuple
    or set argument becomes a new plain container per task instead: not handled here.)

    ``value(node)`` returns, for such a task that refers to no other task and has at least
    ``min_items`` items, one object per set of items, built once by dask's own constructor, and
    the same object for every task with the same items, so that its copies are counted like those
    of any object the tasks share. Items are the same when they are the same object, or, for
    scalars and text (which a pickle round trip copies apart), equal values of one type. Smaller
    containers, and ones holding tasks other than such containers, are walked item by item as
    before (None). ``nodes`` maps each container task to the object it stands for, so that the
    pickle of a task can leave it out as a payload and a rewrite can replace it."""

    _BY_VALUE = frozenset((type(None), bool, int, float, complex, str, bytes))

    @classmethod
    def for_payloads(cls, min_payload_bytes: int) -> "LiteralContainers":
        """Containers whose pickle could reach the payload size: at least 1 item per 8 bytes."""
        return cls(min_payload_bytes // 8)

    def __init__(self, min_items: int = 0):
        from dask import _task_spec as ts

        self.min_items = min_items
        self._task = ts.Task
        self._nested = ts.NestedContainer
        self._to_container = ts.NestedContainer.to_container
        self._built: dict[tuple, Any] = {}
        self.nodes: dict[int, tuple[Any, Any]] = {}  # id(node) -> (node, its object or None)

    def is_container(self, node) -> bool:
        """Whether a task builds a container of its arguments (referring to others or not)."""
        return node.func is self._to_container or isinstance(node, self._nested)

    def value(self, node):
        """The object a literal container task stands for (the same one for the same items), or
        None when it is walked item by item."""
        ent = self.nodes.get(id(node))
        if ent is not None:
            return ent[1]
        value = None
        if not node.dependencies and len(node.args) >= self.min_items:
            key = self._key(node)
            if key is not None:
                value = self._built.get(key, _UNBUILT)
                if value is _UNBUILT:
                    try:
                        value = node()  # dask's constructor on literal items only
                    except Exception:  # noqa: BLE001 - an item that cannot be hashed, say
                        value = None
                    self._built[key] = value
        self.nodes[id(node)] = (node, value)
        return value

    def _key(self, node) -> Optional[tuple]:
        """The container's items: its constructor, the items' types, and per item its value
        (scalars, text) or identity; None when an item is a task that is not such a container."""
        args = node.args
        types = tuple(map(type, args))
        by_value = self._BY_VALUE
        items = []
        for a, t in zip(args, types):
            if t in by_value:
                items.append(a)
            elif issubclass(t, self._task):
                if not self.is_container(a) or a.dependencies:
                    return None
                inner = self._key(a)
                if inner is None:
                    return None
                items.append(inner)
            else:
                items.append(id(a))
        return (id(node.kwargs.get("constructor")), types, tuple(items))


_UNBUILT = object()


class Walker:
    def __init__(self, cache: PayloadCache, literals: Optional[LiteralContainers] = None):
        from dask import _task_spec as ts

        self.ts = ts
        self.cache = cache
        self.literals = (literals if literals is not None
                         else LiteralContainers.for_payloads(cache.min_payload_bytes))
        self.futures: dict[Any, Any] = {}  # key -> Future (data objects)
        # The functions of the user's ``__main__`` that the last task walked calls, each with the
        # partials it is reached through: unless one of those is a payload (left out of the
        # task's pickle), the standard pickler cannot ship the task (it raises, or names
        # ``__main__``): see :meth:`names_main`.
        self.main_functions: list[tuple[Any, tuple]] = []
        self._labels: dict[Any, str] = {}  # (key name, function) -> label: a layer shares one
        try:
            from distributed import Future

            self._future_type = Future
        except Exception:  # pragma: no cover
            self._future_type = ()

    # ---------------------------------------------------------------- payloads
    def leaves(self, obj, out: list, context=None) -> None:
        """Append the payloads embedded in ``obj`` to ``out``."""
        ts = self.ts
        if isinstance(obj, _SCALARS) or isinstance(obj, (ts.TaskRef, ts.Alias)):
            return
        if isinstance(obj, _TEXT) and len(obj) < self.cache.min_payload_bytes // 4:
            return
        if isinstance(obj, ts.DataNode):
            self.value(obj.value, out, "data", context)
            return
        if isinstance(obj, ts.Task):
            literal = self.literals.value(obj) if self.literals.is_container(obj) else None
            if literal is not None:
                self.value(literal, out, "argument", context)
            else:
                self.task_body(obj, out)
            return
        if self._future_type and isinstance(obj, self._future_type):
            self.futures[obj.key] = obj
            return
        self.value(obj, out, "argument", context)

    def value(self, obj, out: list, role: str, context) -> None:
        """A literal value: one payload when it is big and holds no graph objects, else its
        elements (a list of task refs, a dict of fused inner tasks)."""
        if isinstance(obj, _SCALARS) or (
                isinstance(obj, _TEXT) and len(obj) < self.cache.min_payload_bytes // 4):
            return
        container = type(obj) in (list, tuple, set, frozenset, dict)
        if container and self._holds_graph_objects(obj):
            items = obj.values() if type(obj) is dict else obj
            for item in items:
                self.leaves(item, out, context)
            return
        threshold = None
        if callable(obj) and not isinstance(obj, type) and role == "argument":
            role, threshold = "function", FUNCTION_PAYLOAD_BYTES
        p = self.cache.payload_for(obj, role=role, context=context, threshold=threshold)
        if p is not None:
            out.append({"payload": p})

    def function(self, func, out: list, via: tuple = ()) -> None:
        if isinstance(func, functools.partial):
            self.function(func.func, out, via + (func,))
            def context() -> str:
                return f"held by partial({funcname(func.func)})"

            for a in func.args:
                self.leaves(a, out, context)
            for v in (func.keywords or {}).values():
                self.leaves(v, out, context)
            return
        p = self.cache.payload_for(func, role="function", threshold=FUNCTION_PAYLOAD_BYTES)
        if p is not None:
            out.append({"payload": p})
        elif type(func) is types.FunctionType and getattr(func, "__module__", None) == "__main__":
            self.main_functions.append((func, via))

    def task_body(self, node, out: list) -> None:
        ts = self.ts
        if node.func is getattr(ts, "_execute_subgraph", None) and node.args and isinstance(node.args[0], dict):
            for inner in node.args[0].values():
                self.leaves(inner, out)
            for a in node.args[3:]:
                self.leaves(a, out)
            return
        self.function(node.func, out)
        if not node.args and not node.kwargs:
            return

        def name() -> str:  # only asked for when a new content is described
            user = self._user_function(node)
            return funcname(user if user is not None else node.func)

        for a in node.args:
            self.leaves(a, out, lambda: f"an argument of {name()}")
        for k, v in node.kwargs.items():
            self.leaves(v, out, lambda k=k: f"argument {k} of {name()}")

    def _holds_graph_objects(self, obj, depth: int = 0) -> bool:
        ts = self.ts
        if depth > 50:
            return True
        if isinstance(obj, (ts.GraphNode, ts.TaskRef)) or (
                self._future_type and isinstance(obj, self._future_type)):
            return True
        if type(obj) in (list, tuple, set, frozenset):
            return any(self._holds_graph_objects(a, depth + 1) for a in obj)
        if type(obj) is dict:
            return any(self._holds_graph_objects(a, depth + 1) for a in obj.values())
        return False

    def names_main(self, main_functions: list) -> bool:
        """Whether a task whose :attr:`main_functions` were these reaches one of them in its
        pickle (none of the function and the partials it is reached through is a payload): the
        standard pickler then writes ``__main__`` or raises. Asked once the walk is over, when
        every payload is known."""
        is_payload = self.cache.is_payload_object
        return any(not is_payload(func) and not any(map(is_payload, via))
                   for func, via in main_functions)

    # ------------------------------------------------------------------ labels
    def label(self, node) -> str:
        ts = self.ts
        if isinstance(node, ts.Alias):
            return "alias"
        if isinstance(node, ts.DataNode):
            return "data"
        if not isinstance(node, ts.Task):
            return "data"
        if node.func is getattr(ts, "_execute_subgraph", None) and node.args and isinstance(node.args[0], dict):
            inner_dsk, outkey = node.args[0], node.args[1]
            for _ in range(100):
                inner = inner_dsk.get(outkey)
                if isinstance(inner, ts.Alias) and inner.target in inner_dsk:
                    outkey = inner.target
                    continue
                if isinstance(inner, ts.Task):
                    return self.label(inner)
                break
            return "subgraph"
        wrapper = funcname(node.func)
        user = self._user_function(node)
        if user is not None:
            name = funcname(user)
            if name != wrapper:
                return f"{name} via {wrapper}"
        return wrapper

    def _user_function(self, node):
        """The user's own function among what a wrapper task calls, if any."""
        func = node.func
        seen = 0
        while isinstance(func, functools.partial) and seen < 10:
            seen += 1
            for a in func.args:
                if _is_user_function(a):
                    return a
            func = func.func
        if _is_user_function(func):
            return func
        for v in list(node.kwargs.values()) + list(node.args):
            if isinstance(v, self.ts.DataNode):
                v = v.value
            if _is_user_function(v):
                return v
        return None

    def task(self, node, key=None) -> tuple[str, list]:
        """(label, payload args) of one top-level graph node; refs are added by the caller."""
        out: list = []
        ts = self.ts
        self.main_functions = []
        if isinstance(node, ts.Alias):
            return "alias", out
        if isinstance(node, ts.DataNode):
            self.value(node.value, out, "data", None)
            return "data", out
        if isinstance(node, ts.Task):
            self.task_body(node, out)
        else:
            self.leaves(node, out)
        name = key[0] if isinstance(key, tuple) and key else key
        memo = (name, id(getattr(node, "func", None)))
        label = self._labels.get(memo)
        if label is None:
            label = self._labels[memo] = self.label(node)
        return label, out


def dedupe_payloads(args: list) -> list:
    """A fused task that names the same payload object twice gets it once: pickle shares one
    object inside one task's message."""
    out, seen = [], set()
    for a in args:
        oid = a["payload"].get("object_id")
        if oid in seen:
            continue
        seen.add(oid)
        out.append(a)
    return out
