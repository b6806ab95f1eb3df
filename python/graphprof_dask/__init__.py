"""graphprof's Python side for real Dask: graph exporter and sampling driver.

Only the standard library is imported here, so ``python -m graphprof_dask``
can report a missing dask/distributed itself.
"""

__version__ = "0.1.0"
PROTOCOL = 1


def export(collection, path, *, name=None, **kwargs):
    """Write ``collection``'s task graph to ``path`` in graphprof graph format v1."""
    from .exporter import export as _export

    return _export(collection, path, name=name, **kwargs)


def build_graph(collection, **kwargs):
    from .exporter import build_graph as _build

    return _build(collection, **kwargs)


def rewrite(collection, strategy, *, client=None, **kwargs):
    """``collection`` with every object embedded in several tasks moved out: ``"scatter"`` (one
    broadcast future) or ``"delayed"`` (one task in the graph); same keys and results."""
    from .rewriter import rewrite as _rewrite

    return _rewrite(collection, strategy, client=client, **kwargs)


__all__ = ["export", "build_graph", "rewrite", "PROTOCOL", "__version__"]
