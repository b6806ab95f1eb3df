"""Graph-file replays for the driver (``--replay LABEL=FILE``): one graph file per label (graph
format v1, already rewritten by graphprof for the strategy). Every task returns a fresh
``output_bytes`` buffer; every payload becomes one synthetic object per object
(``synthetic_object``: a ``SyntheticPayload`` whose deserialised size is ``in_memory_bytes`` and
whose pickle is the recorded ``size_bytes``, or a ``numpy.uint8`` buffer of the pickled size where
that is all the file has), embedded as a literal in each task that names it, so Dask deserialises
one copy per task as it would the user's object; every data object is scattered (broadcast).
"""

from __future__ import annotations

import json

from .workloads import _Raw, _key, _who_has_summary


def _make_replay_task():
    # By value (a local function), so workers need not import graphprof.
    def replay_task(output_bytes, *inputs):
        import numpy as np

        # Ones, not zeros: a zeroed buffer can stay unbacked by memory.
        return np.ones(int(output_bytes), dtype=np.uint8)

    return replay_task


replay_task = _make_replay_task()


class SyntheticPayload:
    """A replay's stand-in for a user's object: a ``numpy.uint8`` buffer (pickled out of band,
    1 B in memory per byte of pickle) and a list of small Python objects (ints: ~3 B of pickle
    and ~40 B in memory each; empty lists: ~2 B and ~64 B), mixed so that one deserialised copy
    holds the recorded in-memory size and the pickle is the recorded pickled size. Importable (not
    ``__main__``), so it pickles by reference; Python containers, so a worker's allocator keeps
    their freed memory as it keeps a user's dicts'."""

    __slots__ = ("blob", "items")

    def __init__(self, blob, items):
        self.blob = blob
        self.items = items


# Up to this in-memory/pickle ratio a buffer and a list of ints (~13.5x) reach it; above,
# empty lists (~32x) make up the rest.
_INT_RATIO = 12.0
_ITEM_COSTS: dict = {}


def _items(kind: str, n: int) -> list:
    if kind == "ints":
        return [256 + k % 65000 for k in range(n)]  # 3-byte pickles, a new int per load
    return [[] for _ in range(n)]


def measured_sizes(obj) -> tuple[int, int]:
    """(pickled bytes, bytes held by one deserialised copy), the exporter's way: the pickle is
    loaded twice under tracemalloc and the second load's allocations still held are counted."""
    import pickle
    import tracemalloc

    buffers: list = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    pickled = len(data) + sum(memoryview(b.raw()).nbytes for b in buffers)
    pickle.loads(data, buffers=buffers)
    tracemalloc.start()
    try:
        copy = pickle.loads(data, buffers=[bytes(b.raw()) for b in buffers])
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del copy
    return pickled, held


def _item_cost(kind: str) -> tuple[float, float]:
    """(pickle, in-memory) bytes per item of a list of ``kind``, measured once per process."""
    if kind not in _ITEM_COSTS:
        n = 20_000
        pickled, held = measured_sizes(_items(kind, n))
        _ITEM_COSTS[kind] = (pickled / n, held / n)
    return _ITEM_COSTS[kind]


def synthetic_object(in_memory_bytes, pickled_bytes):
    """One synthetic object for a replay: held ``in_memory_bytes`` per deserialised copy and a
    pickle of ``pickled_bytes``. Where in-memory is unknown, or not above the pickle (an ndarray,
    a pandas Series), a ``numpy.uint8`` buffer of the in-memory (else pickled) size. Up to ~13x a
    buffer and ints; above, ints and as few empty lists (tracked by the garbage collector, slow
    to load) as reach the ratio; above ~32x the in-memory size wins over the pickle's."""
    import numpy as np

    held = int(in_memory_bytes if in_memory_bytes is not None else pickled_bytes or 0)
    pickled = int(pickled_bytes or held)
    if held <= 1.05 * pickled or held < 4096:
        return np.ones(held, dtype=np.uint8)
    int_pickle, int_held = _item_cost("ints")
    if held <= _INT_RATIO * pickled:
        ints = (held - pickled) / (int_held - int_pickle)
        blob = pickled - ints * int_pickle
        return SyntheticPayload(np.ones(int(blob), dtype=np.uint8), _items("ints", int(ints)))
    list_pickle, list_held = _item_cost("lists")
    # ints * int_pickle + lists * list_pickle = pickled; ints * int_held + lists * list_held = held
    det = int_pickle * list_held - list_pickle * int_held
    ints = (pickled * list_held - list_pickle * held) / det
    lists = (int_pickle * held - pickled * int_held) / det
    if ints < 0:
        ints, lists = 0, held / list_held
    items = _items("ints", int(ints)) + _items("lists", int(lists))
    return SyntheticPayload(np.ones(0, dtype=np.uint8), items)


def _in_memory(payload: dict, in_memory: dict | None):
    n = payload.get("in_memory_bytes")
    if n is None and in_memory:
        n = in_memory.get(payload.get("digest"))
    return n


class ReplayWorkload:
    def __init__(self, files: dict):
        self.files = files  # label -> path

    def build(self, label, strategy, client, proto):
        from dask._task_spec import Task, TaskRef

        path = self.files[label]
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        objects: dict = {}
        keep = []
        sized_from = set()
        in_memory = {c["digest"]: c["in_memory_bytes"] for c in doc.get("contents") or []
                     if c.get("in_memory_bytes") is not None and "digest" in c}
        data = doc.get("data") or []
        for d in data:
            sized_from.add("in_memory_bytes" if _in_memory(d, in_memory) is not None else "size_bytes")
        if data:
            scattered = {_key(d["key"]): synthetic_object(_in_memory(d, in_memory),
                                                          d.get("size_bytes"))
                         for d in data}
            futs = client.scatter(scattered, broadcast=True, hash=False)
            keep.extend(futs.values())
            proto.emit("broadcast", label=label, **_who_has_summary(client, list(futs.values())))
        dsk = {}
        used_as_dep = set()
        for t in doc["tasks"]:
            inputs = []
            for a in t.get("args", []):
                if "ref" in a:
                    ref = _key(a["ref"])
                    used_as_dep.add(ref)
                    inputs.append(TaskRef(ref))
                elif "payload" in a:
                    p = a["payload"]
                    ident = p.get("object_id") or p.get("digest")
                    if ident not in objects:
                        objects[ident] = synthetic_object(_in_memory(p, in_memory),
                                                          p.get("size_bytes"))
                        sized_from.add("in_memory_bytes" if _in_memory(p, in_memory) is not None
                                       else "size_bytes")
                    inputs.append(objects[ident])
            if not t.get("args") and t.get("output_bytes"):
                sized_from.add("output_bytes")
            key = _key(t["key"])
            dsk[key] = Task(key, replay_task, int(t.get("output_bytes") or 0), *inputs)
        outputs = [k for k in dsk if k not in used_as_dep]
        proto.emit("replay", label=label, file=str(path), tasks=len(dsk), outputs=len(outputs),
                   objects=len(objects), data=len(data), sized_from=sorted(sized_from))
        return _Raw(dsk, outputs), keep

    def check(self, label, strategy, client, futures, proto):
        pass


