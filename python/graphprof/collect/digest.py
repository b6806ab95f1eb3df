"""Content digests of payload objects (sha256 of a canonical pickle), stable across processes:
cloudpickle's random class ids made deterministic, buffers hashed out of band. Two objects with the
same content get the same digest, so :class:`.payloads.PayloadCache` groups copies by content.
"""

from __future__ import annotations

import contextlib
import hashlib
import types
from typing import Any


def _flat(buffer) -> memoryview:
    """An out-of-band buffer as flat bytes (a copy only where it is not contiguous)."""
    try:
        return buffer.raw()
    except (AttributeError, BufferError):
        return memoryview(memoryview(buffer).tobytes())


@contextlib.contextmanager
def _deterministic_class_ids():
    """cloudpickle marks each class it pickles by value with a random uuid; for sizes and
    digests a class gets an id made from its module and name instead, so one object has one
    digest in every process and whichever way it was exported. Nothing is recorded in
    cloudpickle's tracker, so what the user's client sends keeps cloudpickle's own ids."""
    try:
        from cloudpickle import cloudpickle as cp_module
    except Exception:  # pragma: no cover
        yield
        return
    original = cp_module._get_or_create_tracker_id

    def tracker_id(class_def):
        name = f"{class_def.__module__}.{class_def.__qualname__}"
        return hashlib.sha256(name.encode()).hexdigest()[:32]

    cp_module._get_or_create_tracker_id = tracker_id
    try:
        yield
    finally:
        cp_module._get_or_create_tracker_id = original


def content_digest(obj: Any, data: tuple) -> str:
    """``sha256:`` of ``obj``'s content: of its shipping pickle ``data`` (pickle, buffers), or,
    where that pickle carries code of the user's script by value (it names ``__main__``), of a
    canonical pickle (:func:`_canonical_pickle`) that does not depend on how the script was
    loaded, so one object has one digest whichever way it was exported."""
    head, buffers = data
    if b"__main__" in head:
        canonical = _canonical_pickle(obj)
        if canonical is not None:
            head, buffers = canonical
    digest = hashlib.sha256(head)
    for b in buffers:
        digest.update(b)
    return "sha256:" + digest.hexdigest()


def _canonical_pickle(obj: Any) -> tuple | None:
    """``obj`` pickled by cloudpickle as distributed ships it by value, less what depends on the
    route the script was loaded by: run as ``__main__`` (``graphprof.export`` in the script) its
    functions' globals say ``__package__`` None and their module ``__main__``; imported by
    ``graphprof dask export`` a module's namespace says ``__package__`` '' and a closure made
    while the script ran names the module's own name. cloudpickle writes those module attributes
    (the "base globals" it shares among the functions of one namespace) and each function's
    ``__module__`` into the pickle, and the memo numbering after them shifts with them: here
    each namespace's base globals are an empty dict (still one per namespace, so the memo layout
    is the same) and no function names a module. And dask's in-process graph holds a bound
    method whose function is a by-value copy of the class's, where the CLI's holds the class's
    own: here a bound method is its instance and the method's name. Code, qualified names,
    captured values, defaults and globals read are all kept. For digests only, never loaded;
    None if it cannot be pickled."""
    import io

    pickler_class = _canonical_pickler_class()
    if pickler_class is None:
        return None
    buffers: list = []
    out = io.BytesIO()
    with _deterministic_class_ids():
        try:
            pickler_class(out, protocol=5, buffer_callback=buffers.append).dump(obj)
        except BaseException:  # a user's __reduce__ may raise anything, KeyboardInterrupt too
            return None
    return out.getvalue(), [_flat(b) for b in buffers]


_CANONICAL_PICKLER: list = []


def _canonical_pickler_class():
    """cloudpickle's Pickler with route-independent function state (see
    :func:`_canonical_pickle`); None if this cloudpickle has no such hooks."""
    if _CANONICAL_PICKLER:
        return _CANONICAL_PICKLER[0]
    try:
        import cloudpickle
    except Exception:  # pragma: no cover
        return None
    base = cloudpickle.Pickler
    if not (hasattr(base, "_function_getnewargs") and hasattr(base, "_dynamic_function_reduce")):
        _CANONICAL_PICKLER.append(None)  # pragma: no cover - another cloudpickle layout
        return None

    class CanonicalPickler(base):
        def _function_getnewargs(self, func):
            code, _, name, argdefs, closure = super()._function_getnewargs(func)
            shared = self.__dict__.setdefault("_canonical_globals", {})
            return code, shared.setdefault(id(func.__globals__), {}), name, argdefs, closure

        def reducer_override(self, obj):
            # A bound method as ``getattr(instance, name)`` when the name finds its function on
            # the instance's class: dask's graph may hold a by-value copy of that function (an
            # in-process export does) or the class's own (the CLI's), the same content.
            if type(obj) is types.MethodType and not isinstance(obj.__self__, type):
                func, name = obj.__func__, getattr(obj.__func__, "__name__", None)
                own = getattr(type(obj.__self__), name, None) if isinstance(name, str) else None
                if (isinstance(func, types.FunctionType) and isinstance(own, types.FunctionType)
                        and own.__code__ == func.__code__):
                    return getattr, (obj.__self__, name)
            return super().reducer_override(obj)

        def _dynamic_function_reduce(self, func):
            reduced = list(super()._dynamic_function_reduce(func))
            state, slotstate = reduced[2]
            reduced[2] = (state, dict(slotstate, __module__=None))
            return tuple(reduced)

    _CANONICAL_PICKLER.append(CanonicalPickler)
    return CanonicalPickler


