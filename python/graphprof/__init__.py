"""graphprof from Python: the notebook API, a MemorySampler drop-in and a pytest plugin.

Importing this package needs only the standard library. Every function that needs dask,
distributed or pandas imports them when called, and raises :class:`MissingDependency` (an
``ImportError``) naming ``pip install "graphprof[dask]"`` when they are absent. The heavy work is
done by the ``graphprof`` binary installed beside this package (see :mod:`graphprof._binary`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
#: Version of the event protocol between the binary and :mod:`graphprof.run`.
PROTOCOL = 1

if TYPE_CHECKING:  # pragma: no cover - names for type checkers only
    from .api.analysis import Analysis, ExportSummary
    from .api.comparison import SampleResult
    from .sampler.memory_sampler import MemorySampler


class MissingDependency(ImportError):
    """A function needs an optional package (dask, distributed, pandas) that is not installed."""


def _lazy(module: str, name: str) -> Any:
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)


def analyze(collection_or_path: Any, **kwargs: Any) -> "Analysis":
    """Export a collection (or read a graph file) and analyse it with the binary; see :mod:`graphprof.api.analysis`."""
    return _lazy("api.analysis", "analyze")(collection_or_path, **kwargs)


def export(collection: Any, path: Any, **kwargs: Any) -> "ExportSummary":
    """Write ``collection``'s task graph to ``path`` (graph format v1); returns a short summary."""
    return _lazy("api.analysis", "export")(collection, path, **kwargs)


def sample(collection: Any, strategies: Any = ("as-given", "scatter", "delayed"), **kwargs: Any) -> "SampleResult":
    """Run ``collection`` as given and rewritten on real Dask; see :mod:`graphprof.api.comparison`."""
    return _lazy("api.comparison", "sample")(collection, strategies, **kwargs)


def build_graph(collection: Any, **kwargs: Any) -> dict[str, Any]:
    """The graph document (graph format v1) of ``collection``, as a dict."""
    return _lazy("collect.graph", "build_graph")(collection, **kwargs)


def rewrite(collection: Any, strategy: str, *, client: Any = None, **kwargs: Any) -> Any:
    """``collection`` with every object embedded in several tasks moved out: ``"scatter"`` (one
    broadcast future, needs ``client``) or ``"delayed"`` (one task in the graph); same keys and results."""
    return _lazy("run.rewriter", "rewrite")(collection, strategy, client=client, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "MemorySampler":
        return _lazy("sampler.memory_sampler", "MemorySampler")
    if name in ("Analysis", "ExportSummary"):
        return _lazy("api.analysis", name)
    if name == "SampleResult":
        return _lazy("api.comparison", name)
    if name == "GraphGuard":  # the scheduler plugin (issue 12): needs distributed
        from ._deps import require

        require("distributed", "GraphGuard")
        return _lazy("guard", name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Analysis",
    "ExportSummary",
    "GraphGuard",
    "MemorySampler",
    "MissingDependency",
    "PROTOCOL",
    "__version__",
    "analyze",
    "build_graph",
    "export",
    "rewrite",
    "sample",
    "SampleResult",
]
