"""Sizing and naming the objects a graph embeds (its payloads).

Each distinct Python object is pickled with cloudpickle once (cached by
``id()`` while a reference is held) for its exact size and a sha256 content
digest. Each distinct content is then measured and described once:

The pickle is what distributed ships inside a task (its own ``dumps``, protocol 5,
buffers out of band, counted): sizes are the bytes a worker receives per copy.

- **in-memory size**: what one deserialised copy occupies in a worker's memory.
  The pickle is loaded twice with ``tracemalloc`` tracing; the second load is
  the figure (the first may create classes and caches that later copies share,
  as a worker's first task does), counting every allocation the copy still
  holds once ``pickle.loads`` returns (numpy and pandas buffers included, as
  numpy reports its allocations to tracemalloc).
- **items**: where distributed would send the object (or the container a function
  carries) item by item when it travels on its own, its items and the objects they are
  (see :func:`itemised`): what a scatter or delayed fix leaves in worker RSS scales with them.
- **role**: ``argument``, ``function`` (the task's function pickled by value: a
  closure, a lambda, a bound method) or ``data`` (a literal data node: input
  data embedded in the graph).
- **description**: what it is and why it is big ("bound method Model.predict,
  carries its Model instance (800 KiB)", "dict of 30,000 items").
- **variable**: the global of the user's script that holds it, or that it
  carries (found by content digest among the script's globals of the same type).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import threading
import types
from collections.abc import Iterator
from typing import Any

from .digest import _deterministic_class_ids, _flat, content_digest

_SCALARS = (type(None), bool, int, float, complex)


def human_bytes(n: int) -> str:
    """Sizes as the Rust side prints them (KiB, MiB, GiB)."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            if unit == "B":
                return f"{int(size)} B"
            return f"{size:.3g} {unit}" if size < 100 else f"{size:.0f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def in_memory_bytes(data: tuple) -> int | None:
    """Bytes one deserialised copy of ``data`` (a pickle and its out-of-band buffers) holds (see
    the module docstring)."""
    head, buffers = data
    # Buffers are copied, as a worker receives them: a copy owns its memory.
    return traced_load_bytes(lambda: pickle.loads(head, buffers=[bytearray(b) for b in buffers]))


def traced_load_bytes(load) -> int | None:
    """Bytes the second of two ``load()`` calls still holds, under tracemalloc (the first warms
    caches and interned objects); None when loading raised."""
    import tracemalloc

    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        first = load()
        before = tracemalloc.get_traced_memory()[0]
        second = load()
        after = tracemalloc.get_traced_memory()[0]
        del second, first
    except BaseException:  # a user's __setstate__ may raise anything, SystemExit too
        return None
    finally:
        if not tracing:
            tracemalloc.stop()
    return max(0, after - before)


def holds_arrow_strings(obj: Any) -> bool:
    """Whether ``obj`` is a pandas DataFrame, Series or Index holding strings in pyarrow's memory
    (pandas' ``str`` dtype with pyarrow storage, or an ``ArrowDtype`` of strings): a worker that
    sends such an object to another keeps heap of about twice its size (``arrow_strings`` in
    docs/FORMAT.md). Only looks at the dtypes, and only when pandas is already imported."""
    import sys

    pd = sys.modules.get("pandas")
    if pd is None or not isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
        return False
    dtypes = obj.dtypes.tolist() if isinstance(obj, pd.DataFrame) else [obj.dtype]
    for dtype in dtypes:
        if isinstance(dtype, pd.StringDtype) and str(getattr(dtype, "storage", "")).startswith("pyarrow"):
            return True
        arrow = getattr(dtype, "pyarrow_dtype", None)
        if isinstance(dtype, getattr(pd, "ArrowDtype", ())) and arrow is not None:
            import pyarrow as pa

            if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
                return True
    return False


def object_in_memory_bytes(obj: Any) -> int | None:
    """What one deserialised copy of ``obj`` holds (:func:`in_memory_bytes` of its pickle:
    the standard pickler, cloudpickle where that fails; protocol 5, buffers out of band)."""
    buffers: list = []
    try:
        head = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    except BaseException:  # noqa: BLE001 - a user's object may raise anything while pickled
        try:
            import cloudpickle

            buffers = []
            head = cloudpickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
        except BaseException:  # noqa: BLE001
            return None
    return in_memory_bytes((head, [b.raw() for b in buffers]))


def _in_ipython() -> bool:
    """Whether this process is an IPython kernel or shell (a notebook's)."""
    import sys

    return "IPython" in sys.modules and getattr(sys.modules["IPython"], "get_ipython", lambda: None)() is not None


def _count(n: int) -> str:
    return f"{n:,}"


def describe(obj: Any, pickled_size) -> str:
    """What ``obj`` is and, for functions, what makes it big."""
    if isinstance(obj, types.MethodType):
        owner = obj.__self__
        size = pickled_size(owner)
        return (f"bound method {type(owner).__qualname__}.{obj.__func__.__name__}, carries its "
                f"{type(owner).__name__} instance ({human_bytes(size)})" if size else
                f"bound method {type(owner).__qualname__}.{obj.__func__.__name__}")
    if isinstance(obj, types.FunctionType):
        name = obj.__qualname__
        carried = _function_carried(obj)
        if carried:
            label, value = max(carried, key=lambda lv: pickled_size(lv[1]) or 0)
            return (f"function {name} pickled by value, {label} ({_short_type(value)}, "
                    f"{human_bytes(pickled_size(value) or 0)})")
        return f"function {name} pickled by value"
    return _short_type(obj)


def _short_type(obj: Any) -> str:
    t = type(obj)
    name = t.__name__
    try:
        if t.__module__ == "numpy" and hasattr(obj, "shape"):
            return f"ndarray {tuple(obj.shape)} {obj.dtype}"
        if name == "DataFrame" and hasattr(obj, "shape"):
            return f"DataFrame of {_count(obj.shape[0])} rows x {obj.shape[1]} columns"
        if name in ("Series", "Index") and hasattr(obj, "__len__"):
            return f"{name} of {_count(len(obj))} items"
        if isinstance(obj, (dict, list, tuple, set, frozenset)):
            return f"{name} of {_count(len(obj))} items"
        if isinstance(obj, (str, bytes, bytearray)):
            return f"{name} of {_count(len(obj))} {'characters' if isinstance(obj, str) else 'bytes'}"
    except Exception:
        pass
    return name


def _function_carried(func: types.FunctionType) -> list[tuple[str, Any]]:
    """(label, value) of what a by-value function carries: captured cells, referenced globals."""
    out: list[tuple[str, Any]] = []
    code = func.__code__
    for name, cell in zip(code.co_freevars, func.__closure__ or ()):
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if not isinstance(value, (_SCALARS, types.ModuleType, type)) and not callable(value):
            out.append((f"its captured `{name}`", value))
    g = func.__globals__
    for name in code.co_names:
        value = g.get(name)
        if value is None or isinstance(value, (_SCALARS, types.ModuleType, type)) or callable(value):
            continue
        out.append((f"its global `{name}`", value))
    return out


def itemised(obj: Any, pickled_size=None) -> tuple[int, int] | None:
    """(items, objects) distributed serialises one by one when ``obj`` -- or, for a function
    pickled by value, the biggest thing it carries (what a fix moves out of it) -- travels on its
    own (``client.scatter``, a worker fetching a task's result: ``to_serialize``): the items of a
    list, tuple or set, or the entries of a dict whose keys msgpack packs, each with its own
    sub-header and frame, where inside a task the object is one pickle. ``objects`` counts what
    those items are: an item of a sequence, a key and a value of a dict. None when it travels as
    one pickle (anything else, a subclass, an empty container)."""
    if isinstance(obj, types.FunctionType) and pickled_size is not None:
        carried = _function_carried(obj)
        if not carried:
            return None
        obj = max(carried, key=lambda lv: pickled_size(lv[1]) or 0)[1]
    kind = type(obj)
    if kind in (list, tuple, set) and len(obj):
        return len(obj), len(obj)
    if kind is dict and len(obj):
        try:
            import msgpack

            msgpack.dumps(list(obj.keys()))
        except Exception:
            return None
        return len(obj), 2 * len(obj)
    return None


def carried_objects(obj: Any) -> list[Any]:
    """The object and what it carries, for finding the user's variable."""
    out = [obj]
    if isinstance(obj, types.MethodType):
        out.append(obj.__self__)
    elif isinstance(obj, types.FunctionType):
        out.extend(value for _, value in _function_carried(obj))
    return out


@contextlib.contextmanager
def _quiet_pickle_errors() -> Iterator[None]:
    """Drop, from this thread only, the ERROR and traceback distributed's pickler logs before it
    raises: an object that cannot be pickled (a notebook's ``get_ipython``, a connection) is
    expected here and skipped, and a notebook cell must not show it as a failure."""
    logger = logging.getLogger("distributed.protocol.pickle")
    thread = threading.get_ident()

    def other_threads(record: logging.LogRecord) -> bool:
        return record.thread != thread

    logger.addFilter(other_threads)
    try:
        yield
    finally:
        logger.removeFilter(other_threads)


class PayloadCache:
    """Pickle each distinct Python object once; give each payload an object_id; describe each
    distinct content once."""

    def __init__(self, min_payload_bytes: int, user_module=None):
        import cloudpickle

        self._cp = cloudpickle
        self.min_payload_bytes = min_payload_bytes
        self._by_id: dict[int, tuple[Any, dict | None]] = {}
        self._next_object_id = 1
        self.contents: dict[str, dict] = {}  # digest -> contents entry
        self._user_module = user_module
        self._user_digests: dict[str, str] | None = None

    def _pickle(self, obj: Any) -> tuple | None:
        """(pickle, out-of-band buffers) as distributed ships an object inside a task: its own
        ``dumps`` (the standard pickler, cloudpickle where needed), protocol 5."""
        from distributed.protocol.pickle import dumps

        buffers: list = []
        with _deterministic_class_ids(), _quiet_pickle_errors():
            try:
                head = dumps(obj, buffer_callback=buffers.append, protocol=5)
            except BaseException:  # a user's __reduce__ may raise anything, KeyboardInterrupt too
                return None
        return head, [_flat(b) for b in buffers]

    def info(self, obj: Any) -> dict | None:
        """size/digest/type of ``obj``, cached by identity; None if it cannot be pickled."""
        ent = self._by_id.get(id(obj))
        if ent is None:
            data = self._pickle(obj)
            info = None
            if data is not None:
                head, buffers = data
                info = {"size_bytes": len(head) + sum(b.nbytes for b in buffers),
                        "digest": content_digest(obj, data),
                        "type": type(obj).__name__}
                ent = (obj, info, data)
            else:
                ent = (obj, None, None)
            self._by_id[id(obj)] = ent  # hold a reference so id() stays unique
        return ent[1]

    def pickled_size(self, obj: Any) -> int | None:
        info = self.info(obj)
        return info["size_bytes"] if info else None

    def payload_for(self, obj: Any, *, role: str, context=None,
                    threshold: int | None = None) -> dict | None:
        """The payload dict for ``obj``, or None if it is too small to count."""
        info = self.info(obj)
        if info is None:
            return None
        limit = self.min_payload_bytes if threshold is None else threshold
        if info["size_bytes"] < limit:
            return None
        if "object_id" not in info:
            info["object_id"] = self._next_object_id
            self._next_object_id += 1
        digest = info["digest"]
        if digest not in self.contents:
            self.contents[digest] = self._describe(obj, role, context)
        return dict(info)

    def is_payload_object(self, obj: Any) -> bool:
        ent = self._by_id.get(id(obj))
        return bool(ent and ent[1] and "object_id" in ent[1])

    def payload_objects(self) -> list[tuple[Any, dict]]:
        return [(ent[0], ent[1]) for ent in self._by_id.values() if ent[1] and "object_id" in ent[1]]

    def _describe(self, obj: Any, role: str, context) -> dict:
        data = self._by_id[id(obj)][2]
        entry: dict = {"digest": self._by_id[id(obj)][1]["digest"], "role": role}
        size = in_memory_bytes(data)
        if size is not None:
            entry["in_memory_bytes"] = int(size)
        items = itemised(obj, self.pickled_size)
        if items is not None:
            entry["items"], entry["item_objects"] = items
        if holds_arrow_strings(obj):
            entry["arrow_strings"] = True
        text = describe(obj, self.pickled_size)
        if callable(context):
            context = context()
        if context:
            text = f"{text}, {context}"
        entry["description"] = text
        variable = self._variable_of(obj)
        if variable:
            entry["variable"] = variable
        return entry

    def _variable_of(self, obj: Any) -> str | None:
        """The user's global whose content is ``obj`` or something it carries."""
        module = self._user_module
        if module is None:
            return None
        candidates = carried_objects(obj)
        types_wanted = {type(c).__name__ for c in candidates}
        if self._user_digests is None:
            self._user_digests = {}
        where = os.path.basename(getattr(module, "__file__", "") or "")
        if not where:
            # A notebook or an interactive session: its globals live in __main__, with no file.
            where = "the notebook" if "get_ipython" in vars(module) or _in_ipython() else "__main__"

        for candidate in candidates:
            info = self.info(candidate)
            if info is None:
                continue
            for name, value in list(vars(module).items()):
                if name.startswith("__") or type(value).__name__ not in types_wanted:
                    continue
                if value is candidate:
                    return f"{name} in {where}"
                vinfo = self.info(value)
                if vinfo and vinfo["digest"] == info["digest"]:
                    return f"{name} in {where}"
        # A deserialised copy can differ from the user's object by state its pickle carries (a
        # pandas object's caches): the one global of the same type and nearly the same size.
        for candidate in candidates:
            info = self.info(candidate)
            if info is None:
                continue
            same = [name for name, value in list(vars(module).items())
                    if not name.startswith("__") and type(value).__name__ == type(candidate).__name__
                    and (self.info(value) or {}).get("size_bytes", -1) > 0
                    and abs(self.info(value)["size_bytes"] - info["size_bytes"]) <= 0.05 * info["size_bytes"]]
            if len(same) == 1:
                return f"{same[0]} in {where}"
        return None
