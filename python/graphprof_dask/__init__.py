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


__all__ = ["export", "build_graph", "PROTOCOL", "__version__"]
