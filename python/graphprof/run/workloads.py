"""What the driver runs per label: the seed case, the user's own collection, or a graph file replay.

Each workload has ``build(label, strategy, client, proto)`` returning ``(collection or list of
futures' graph, futures to keep alive)`` and ``check(label, strategy, client, futures, proto)``
that compares up to three chunks' results with the as-given run's (exactly) and emits a
``results`` event.

- ``SeedWorkload``: graphprof's seed case (``graphprof/seed.py``), strategies inline/scatter/delayed.
- ``CollectionWorkload``: ``SCRIPT.py:VARIABLE`` imported as ``dask export`` does; ``as-given`` is
  the collection itself, ``scatter``/``delayed`` are ``rewriter.rewrite`` of it. Given output keys
  (``--outputs``, graphprof's culling of a ``sample --chunks`` sweep), every label runs the
  collection's graph, rewritten, culled to those keys and what they depend on.
- ``ReplayWorkload`` (:mod:`.replay`): one graph file per label.
"""

from __future__ import annotations

import sys

from ..sampler.cluster import scheduler_workers

COMPARED_CHUNKS = 3


def _equal(a, b) -> bool:
    try:
        import numpy as np

        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype \
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    except ImportError:  # pragma: no cover
        pass
    if hasattr(a, "equals") and type(a) is type(b):
        try:
            return bool(a.equals(b))
        except Exception:
            return False
    try:
        return bool(a == b)
    except Exception:
        return False


class _ResultCheck:
    """Keeps up to three chunks of the first run's results and compares later runs' with them."""

    def __init__(self):
        self.reference_label = None
        self.reference: dict = {}

    def check(self, label, client, futures, proto):
        # By chunk index: a rewritten dataframe's outputs get a new name, not new positions.
        by_key = {_chunk_index(f.key): f for f in futures}
        if not by_key:
            return
        keys = sorted(by_key, key=str)
        if self.reference_label is None:
            picks = [keys[0], keys[len(keys) // 2], keys[-1]][:COMPARED_CHUNKS]
            picks = list(dict.fromkeys(picks))
            values = client.gather([by_key[k] for k in picks])
            self.reference = dict(zip(picks, values))
            self.reference_label = label
            proto.emit("results", label=label, reference=label, compared=len(picks), equal=True)
            return
        picks = [k for k in self.reference if k in by_key]
        values = client.gather([by_key[k] for k in picks]) if picks else []
        equal = len(picks) == len(self.reference) and all(
            _equal(self.reference[k], v) for k, v in zip(picks, values))
        proto.emit("results", label=label, reference=self.reference_label, compared=len(picks),
                   equal=equal)


def _chunk_index(key):
    return tuple(key[1:]) if isinstance(key, tuple) and len(key) > 1 else key


class SeedWorkload:
    def __init__(self, chunks, payload_bytes):
        self.chunks = chunks
        self.payload_bytes = payload_bytes

    def build(self, label, strategy, client, proto):
        from .. import seed

        n = seed.mapper_len_for_bytes(self.payload_bytes)
        arg = seed.strategy_argument(strategy, n, client)
        keep = [arg] if strategy == "scatter" else []
        return seed.seed_collection(self.chunks, arg), keep

    def check(self, label, strategy, client, futures, proto):
        pass


class CollectionWorkload:
    def __init__(self, target, outputs=None):
        self.target = target
        self.collection = load_as_main(target)
        self.results = _ResultCheck()
        # Output keys graphprof chose (graph-format keys), or None for the whole collection.
        self.outputs = None if outputs is None else [_key(k) for k in outputs]

    def build(self, label, strategy, client, proto):
        if self.outputs is not None:
            return self._build_culled(label, strategy, client, proto)
        if strategy == "as-given":
            return self.collection, []
        from .rewriter import RewriteResult, rewrite

        moved = RewriteResult()
        new = rewrite(self.collection, strategy, client=client, result=moved)
        proto.emit("rewrite", label=label, moved=moved.moved)
        return new, list(moved.futures)

    def _build_culled(self, label, strategy, client, proto):
        """The collection's graph as persist sends it (materialised as the scheduler does, the
        way ``rewrite`` takes it), rewritten for the strategy, culled to the chosen outputs and
        their dependencies; persisted as those keys. Emits a ``subset`` event."""
        from dask.core import flatten

        from .rewriter import _graph_copy, rewrite_graph

        dsk, keys = _graph_copy(self.collection, client)
        keep: list = []
        if strategy != "as-given":
            dsk, moved = rewrite_graph(dsk, strategy, client=client)
            proto.emit("rewrite", label=label, moved=moved.moved)
        all_outputs = list(flatten(keys)) if isinstance(keys, list) else [keys]
        selected, matched_by = select_outputs(self.outputs, all_outputs, dsk)
        culled = cull_graph(dsk, selected)
        if strategy != "as-given":
            moved.scatter(client)
            keep = list(moved.futures)
        proto.emit("subset", label=label, outputs=len(selected), tasks=len(culled),
                   of=len(all_outputs), matched_by=matched_by)
        return _Raw(culled, selected), keep

    def check(self, label, strategy, client, futures, proto):
        self.results.check(label, client, futures, proto)


def select_outputs(wanted: list, outputs: list, dsk: dict) -> tuple[list, str]:
    """The keys of ``dsk`` that stand for ``wanted``: the keys themselves when the graph has them
    all (``"keys"``), else the outputs with the same chunk index (``"chunk index"``: a collection
    whose name differs from the exported one's). Raises ``ValueError`` when neither finds all."""
    if all(k in dsk for k in wanted):
        return list(wanted), "keys"
    by_index: dict = {}
    for k in outputs:
        by_index.setdefault(_chunk_index(k), []).append(k)
    selected = []
    for k in wanted:
        found = by_index.get(_chunk_index(k), [])
        if len(found) != 1:
            raise ValueError(f"output {k!r} chosen by graphprof is not in the collection's graph "
                             f"({len(found)} outputs have its chunk index)")
        selected.append(found[0])
    return selected, "chunk index"


def cull_graph(dsk: dict, keys: list) -> dict:
    """``dsk`` with only ``keys`` and every task they depend on, directly or not (dependencies
    outside ``dsk``, such as scattered futures, are left to the scheduler)."""
    kept: dict = {}
    stack = list(keys)
    while stack:
        k = stack.pop()
        if k in kept or k not in dsk:
            continue
        node = dsk[k]
        kept[k] = node
        stack.extend(getattr(node, "dependencies", ()) or ())
    # The graph's own order, as persist would send it.
    return {k: v for k, v in dsk.items() if k in kept}


def load_as_main(target):
    """The collection ``SCRIPT.py:VARIABLE``, imported as ``dask export`` does (its
    ``if __name__ == "__main__":`` block does not run), then made to pickle as the user's own run
    pickles it: the module stands as ``__main__`` and its functions and classes name ``__main__``,
    so distributed ships them by value (cloudpickle), as when the script itself sends its graph.
    Workers need not import the script."""
    import inspect

    from .export_command import load_variable

    before = set(sys.modules)
    loaded = load_variable(target)
    # (collection, module) since the exporter marks the script's definitions as __main__'s.
    collection = loaded[0] if isinstance(loaded, tuple) else loaded
    for name in set(sys.modules) - before:
        mod = sys.modules[name]
        if getattr(mod, "__file__", None) and name not in ("__main__",) and \
                name == _module_name(target):
            for value in vars(mod).values():
                if (inspect.isfunction(value) or inspect.isclass(value)) and \
                        getattr(value, "__module__", None) == name:
                    try:
                        value.__module__ = "__main__"
                    except (AttributeError, TypeError):
                        pass
            sys.modules["__main__"] = mod
    return collection


def _module_name(target: str) -> str:
    import os

    path = target.rsplit(":", 1)[0]
    return os.path.splitext(os.path.basename(path))[0].replace("-", "_").replace(".", "_")


def _key(k):
    return tuple(_key(p) for p in k) if isinstance(k, list) else k


class _Raw:
    """A raw task graph and the keys to persist (the tasks nothing depends on)."""

    def __init__(self, dsk, keys):
        self.dsk = dsk
        self.keys = keys

    def persist(self, client):
        return client.get(self.dsk, self.keys, sync=False)


def _who_has_summary(client, futures) -> dict:
    """How many workers hold each broadcast object, just after the scatter. Fewer than all is
    normal within seconds: distributed's Active Memory Manager (on by default) drops replicas
    that no task waits for yet, every 2 s (docs/DASK.md); a class defined in __main__ was also
    seen on one worker only."""
    try:
        workers = len(scheduler_workers(client))
        who = client.who_has(futures)
        held = [len(v) for v in who.values()]
    except Exception as e:  # noqa: BLE001
        print(f"graphprof: who_has failed: {e}", file=sys.stderr)
        return {"workers": None, "holders": []}
    return {"workers": workers, "holders": held}


def who_has_summary(client, futures) -> dict:
    return _who_has_summary(client, futures)
