"""``graphprof_dask``, the old name of :mod:`graphprof`'s Dask side: a thin alias, kept for one release.

``import graphprof_dask.exporter`` is ``graphprof.exporter`` (the same module object, so a class
such as ``graphprof_dask.seed.Mapper`` is ``graphprof.seed.Mapper``); ``graphprof_dask.export``
still returns the graph document. New code imports :mod:`graphprof`. Standard library only.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from typing import Any

from graphprof import PROTOCOL, __version__, build_graph, rewrite


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``graphprof_dask.X`` as the already-imported (or imported now) ``graphprof.X``."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if not fullname.startswith(__name__ + ".") or fullname == __name__ + ".__main__":
            return None  # graphprof_dask/__main__.py is its own (graphprof's runs the binary)
        real = "graphprof." + fullname[len(__name__) + 1:]
        if importlib.util.find_spec(real) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: Any) -> Any:
        return importlib.import_module("graphprof." + spec.name[len(__name__) + 1:])

    def exec_module(self, module: Any) -> None:
        pass  # already executed as graphprof.X


if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
    sys.meta_path.insert(0, _Alias())


def export(collection: Any, path: Any, *, name: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """Write ``collection``'s task graph to ``path`` in graph format v1; return the document
    (``graphprof.export`` returns a short summary instead)."""
    from graphprof.exporter import export as _export

    return _export(collection, path, name=name, **kwargs)


__all__ = ["export", "build_graph", "rewrite", "PROTOCOL", "__version__"]
