"""What the client sends for a collection: the expression ``Client.persist`` serializes
(``collections_to_expr(collections, optimize_graph=True).optimize()``, serialized with
``distributed.protocol.serialize`` as ``Client._graph_to_futures`` does), and, with a client, the
exact figure distributed's large-graph warning compares, caught by wrapping
``distributed.client.serialize`` during a persist of a copy (:func:`capture_send`). Used by the
exporter (:mod:`.graph`), the rewriter and the driver.
"""

from __future__ import annotations

import contextlib

from .isolate import copy_collections, fresh_expressions


def as_collections(collection) -> list:
    """A collection, or a list or tuple of them (as ``dask.compute`` takes)."""
    if isinstance(collection, (list, tuple)):
        return list(collection)
    return [collection]


@contextlib.contextmanager
def as_distributed_would(client):
    """Without a client, make dask choose what it chooses with one (p2p shuffles)."""
    if client is not None:
        yield
        return
    import dask

    try:
        import distributed  # noqa: F401
        import pyarrow  # noqa: F401
    except Exception:
        yield
        return
    if dask.config.get("dataframe.shuffle.method", None):
        yield
        return
    with dask.config.set({"dataframe.shuffle.method": "p2p"}):
        yield


def _persist_expr(collections):
    from dask.base import collections_to_expr

    return collections_to_expr(collections, True).optimize()


def serialized_graph(collection):
    """(expr, header, frames, wire_bytes) exactly as Client.persist serializes it."""
    from distributed.protocol import serialize, to_serialize
    from distributed.utils import nbytes

    expr = _persist_expr(as_collections(collection))
    header, frames = serialize(to_serialize(expr), on_error="raise")
    wire = sum(map(nbytes, [header] + list(frames)))
    return expr, header, frames, wire


class SentGraph:
    """What :func:`capture_send` saw: the bytes of every message ``distributed.client.serialize``
    made (what distributed's large-graph warning measures) and the warnings raised meanwhile."""

    def __init__(self):
        self.sizes: list[int] = []
        self.warnings: list = []

    @property
    def large_graph_warning(self) -> str | None:
        """distributed's "Sending large graph" text, None when it stayed silent."""
        texts = [str(w.message) for w in self.warnings if "Sending large graph" in str(w.message)]
        return texts[-1] if texts else None


@contextlib.contextmanager
def capture_send():
    """Wrap ``distributed.client.serialize`` and record every warning while a graph is sent in
    the block; yields the :class:`SentGraph` it fills."""
    import warnings

    import distributed.client as dc
    from distributed.utils import nbytes

    sent = SentGraph()
    orig = dc.serialize

    def wrapped(*a, **kw):
        header, frames = orig(*a, **kw)
        sent.sizes.append(sum(map(nbytes, [header] + list(frames))))
        return header, frames

    dc.serialize = wrapped
    try:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            sent.warnings = rec
            yield sent
    finally:
        dc.serialize = orig


#: How long the exporter waits for the scheduler to take a measured copy's graph.
SCHEDULED_TIMEOUT_S = 60.0


def _has_tasks(dask_scheduler=None, keys=()) -> bool:
    return any(key in dask_scheduler.tasks for key in keys)


def _wait_until_scheduled(client, keys: list, timeout_s: float = SCHEDULED_TIMEOUT_S) -> None:
    """Return once the scheduler knows one of ``keys`` (its update_graph has deserialised the
    graph), or after ``timeout_s`` (a graph the scheduler refused never arrives)."""
    import time

    deadline = time.monotonic() + timeout_s
    pause = 0.005
    while keys and time.monotonic() < deadline:
        try:
            if client.run_on_scheduler(_has_tasks, keys=keys):
                return
        except Exception:  # noqa: BLE001 - the scheduler cannot be asked: nothing to wait for
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def measure_wire_with_client(collection, client) -> tuple[int, str | None]:
    """Persist a copy of ``collection`` on ``client`` while wrapping
    ``distributed.client.serialize``; return the size distributed computed for
    its large-graph warning and the warning text, then release the futures.
    The copy keeps the user's collection as it was (persisting caches state
    that makes the next send bigger)."""
    import cloudpickle

    from distributed import futures_of

    with fresh_expressions():
        copies = copy_collections(as_collections(collection), cloudpickle)
        with capture_send() as sent:
            persisted = client.persist(copies)
        futures = futures_of(persisted)
        # A scheduler in this process (LocalCluster(processes=False)) deserialises the copy
        # after persist() returns: done outside this block, it would find the user's own
        # expressions in the registries and cache the copy's state in them (a merge's next send
        # doubled, in about half the runs). So the block ends once the scheduler has the tasks.
        _wait_until_scheduled(client, [f.key for f in futures])
        try:
            client.cancel(futures)
        except Exception:
            pass
        del persisted, copies, futures
    if not sent.sizes:
        raise RuntimeError("distributed.client.serialize was not called")
    return sent.sizes[0], sent.large_graph_warning


