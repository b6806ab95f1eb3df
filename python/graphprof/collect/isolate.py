"""Keep the user's collection exactly as it was while the exporter works on it.

dask's expressions are singletons: deserialising an expression, or building one
by optimising, returns the instance already registered under the same name
(``SingletonExpr._instances``). A "copy" deserialised in the user's process is
therefore the user's own objects, and materialising it (or persisting it)
caches state in them that makes the user's next send bigger -- a merge's
message doubled in a measured case. Inside :func:`fresh_expressions` every
expression class starts from an empty registry, so what is deserialised or
built there is distinct from the user's; the registries are put back after.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Iterator


def _all_subclasses(cls) -> list:
    seen, stack = [], [cls]
    while stack:
        c = stack.pop()
        seen.append(c)
        stack.extend(s for s in c.__subclasses__() if s not in seen)
    return seen


@contextlib.contextmanager
def fresh_expressions() -> Iterator[None]:
    """Every SingletonExpr class gets an empty instance registry for the block."""
    try:
        from dask._expr import SingletonExpr
    except Exception:  # pragma: no cover - dask without expressions
        yield
        return
    classes = _all_subclasses(SingletonExpr)
    saved = {c: c.__dict__["_instances"] for c in classes if "_instances" in c.__dict__}
    for c in classes:
        c._instances = weakref.WeakValueDictionary()
    try:
        yield
    finally:
        for c in _all_subclasses(SingletonExpr):
            if c in saved:
                c._instances = saved[c]
            elif "_instances" in c.__dict__:
                delattr(c, "_instances")


def copy_collections(collections: list, pickle_module) -> list:
    """Distinct copies of the collections (call inside :func:`fresh_expressions`)."""
    import pickle

    data = pickle_module.dumps(collections, protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.loads(data)
