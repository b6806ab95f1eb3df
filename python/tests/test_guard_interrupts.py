"""The guard sizing a user's object whose ``__reduce__`` raises ``KeyboardInterrupt`` or
``SystemExit`` on the scheduler: the guard swallows it (the object goes unsized), the scheduler
keeps running and the graph computes. On the real in-process scheduler (``gen_cluster``); the
object raises only when the guard pickles it, so the client's send and distributed's own pickles
of it work."""

from __future__ import annotations

import sys

import pytest

distributed = pytest.importorskip("distributed")

from distributed.core import Status  # noqa: E402
from distributed.utils_test import gen_cluster  # noqa: E402

from graphprof.guard import GraphGuard  # noqa: E402

RAISED: list[str] = []


def _called_by_graphprof() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("graphprof."):
            return True
        frame = frame.f_back
    return False


class Hostile:
    """64 KiB of data that cannot be pickled by graphprof: raises ``exception`` there."""

    def __init__(self, exception: str, data: bytes = b"x" * 65536):
        self.exception = exception
        self.data = data

    def __reduce__(self):
        if _called_by_graphprof():
            RAISED.append(self.exception)
            raise {"KeyboardInterrupt": KeyboardInterrupt, "SystemExit": SystemExit}[
                self.exception]()
        return (Hostile, (self.exception, self.data))


def _length(obj: Hostile, i: int) -> int:
    return len(obj.data) + i


@pytest.mark.parametrize("exception", ["KeyboardInterrupt", "SystemExit"])
def test_an_object_raising_an_interrupt_when_sized_leaves_the_scheduler_running(exception):
    @gen_cluster(client=True, nthreads=[("127.0.0.1", 1)])
    async def run(c, s, a):
        import dask

        s.add_plugin(GraphGuard(warn_duplicated=1))
        RAISED.clear()
        hostile = Hostile(exception)
        tasks = [dask.delayed(_length)(hostile, i) for i in range(4)]
        results = await c.compute(tasks, sync=True)
        assert results == [65536 + i for i in range(4)]
        assert RAISED, "the guard did not size the object"
        assert s.status == Status.running
        # The scheduler still takes graphs.
        assert await c.submit(sum, [1, 2]) == 3

    run()
