"""A refused graph on the real in-process scheduler and workers (``gen_cluster``, on 127.0.0.1, with
distributed's own validation of the scheduler's state after every transition): the scheduler errs
every task itself, none of them reaches a worker, it logs one line, its state stays consistent
(``validate_state``, no task left restricted, none left once the futures are released), the
client's next graph runs, and a retry of the refused futures runs nothing of the user's. A
refused graph whose tasks wait on another graph's running task errs at once too, and the other
graph finishes. Should erring fail inside the guard, the workers raise the refusal instead (the
old way) and the guard says so once."""

from __future__ import annotations

import asyncio

import pytest

distributed = pytest.importorskip("distributed")

from distributed import Event, wait  # noqa: E402
from distributed.utils_test import captured_logger, gen_cluster  # noqa: E402

from graphprof.guard import REFUSED, GraphGuard  # noqa: E402
from graphprof.guard.refusal import NO_WORKER  # noqa: E402

RAN: list[int] = []  # the user's function appends here when it runs (the workers are in-process)
DATA = b"x" * 65536  # one object the refused graph's tasks share


def _length(data: bytes, i: int) -> int:
    RAN.append(i)
    return len(data) + i


def _after(first: int, data: bytes, i: int) -> int:
    RAN.append(i)
    return first + len(data) + i


def _once_set(name: str) -> int:
    Event(name).wait()
    return 1


def _scheduler_consistent(s) -> None:
    s.validate_state()
    held = [ts.key for ts in s.tasks.values() if NO_WORKER in (ts.worker_restrictions or ())]
    assert held == [], "tasks left restricted to no worker"


def _untouched(worker, keys) -> None:
    assert not set(keys) & set(worker.state.tasks), "a refused task reached a worker"
    assert worker.state.story(*keys) == []


@gen_cluster(client=True, nthreads=[("127.0.0.1", 1), ("127.0.0.1", 1)])
async def test_the_scheduler_errs_a_refused_graph_and_no_worker_hears_of_it(c, s, a, b):
    import dask

    s.add_plugin(GraphGuard(refuse_duplicated=1))
    RAN.clear()
    parts = [dask.delayed(_length)(DATA, i) for i in range(8)]
    with captured_logger("distributed.scheduler.graphprof") as log:
        *futures, total = c.compute(parts + [dask.delayed(sum)(parts)])
        await wait(futures + [total])
    assert all(f.status == "error" for f in futures + [total])
    messages = {str(await f.exception()) for f in futures + [total]}
    assert len(messages) == 1 and messages.pop().startswith(REFUSED)
    lines = [line for line in log.getvalue().splitlines() if REFUSED in line]
    assert len(lines) == 1 and "bytes of 65,536 bytes" in lines[0], lines
    assert RAN == []
    keys = [f.key for f in futures] + [total.key]
    for worker in (a, b):
        _untouched(worker, keys)
    _scheduler_consistent(s)

    # A retry reruns the refused specs: they raise the refusal, the user's code still not run.
    # (Without the sum: distributed's validation fails retrying several erred inputs of one task,
    # as it would had the workers failed them.)
    message = str(await total.exception())
    total.release()
    while total.key in s.tasks:
        await asyncio.sleep(0.01)
    await c.retry(futures)
    await wait(futures)
    assert {str(await f.exception()) for f in futures} == {message}
    assert RAN == []
    _scheduler_consistent(s)

    # Released, the refused graph leaves nothing behind; only the sum wanted: its inputs
    # released as a worker's failure would leave them, then forgotten with it.
    for future in futures:
        future.release()
    while s.tasks:
        await asyncio.sleep(0.01)
    total = c.compute(dask.delayed(sum)(parts))
    await wait(total)
    assert str(await total.exception()) == message
    _scheduler_consistent(s)
    total.release()
    while s.tasks:
        await asyncio.sleep(0.01)
    assert RAN == []

    # The same client's fixed graph runs.
    data = await c.scatter(DATA, broadcast=True)
    fixed = [dask.delayed(_length)(data, i) for i in range(8)]
    assert await c.gather(c.compute(fixed)) == [len(DATA) + i for i in range(8)]
    _scheduler_consistent(s)


@gen_cluster(client=True, nthreads=[("127.0.0.1", 1), ("127.0.0.1", 1)])
async def test_a_refused_graph_waiting_on_another_graphs_task_errs_at_once(c, s, a, b):
    import dask

    event = Event("graphprof-test-first")
    first = c.submit(_once_set, event.name, key="first")  # not refused: nothing duplicated
    s.add_plugin(GraphGuard(refuse_duplicated=1))
    RAN.clear()
    refused = c.compute([dask.delayed(_after)(first, DATA, i) for i in range(8)])
    await wait(refused)
    assert first.status == "pending"
    messages = [str(await f.exception()) for f in refused]
    assert all(m.startswith(REFUSED) for m in messages), messages
    _scheduler_consistent(s)
    await event.set()
    assert await first == 1
    assert RAN == []
    for worker in (a, b):
        _untouched(worker, [f.key for f in refused])
    _scheduler_consistent(s)


def _broken_err(*args, **kwargs):
    raise ZeroDivisionError("a bug in erring the refused graph")


@gen_cluster(client=True, nthreads=[("127.0.0.1", 1)])
async def test_should_erring_fail_the_workers_raise_the_refusal_instead(c, s, a):
    import dask

    import graphprof.guard.plugin as plugin

    s.add_plugin(GraphGuard(refuse_duplicated=1))
    RAN.clear()
    plugin_err, plugin.err = plugin.err, _broken_err
    try:
        futures = c.compute([dask.delayed(_length)(DATA, i) for i in range(4)])
        await wait(futures)
    finally:
        plugin.err = plugin_err
    messages = {str(await f.exception()) for f in futures}
    assert len(messages) == 1 and messages.pop().startswith(REFUSED)
    assert RAN == []
    events = [e for _, e in s.get_events("graphprof")]
    assert [e["verdict"] for e in events] == ["refuse", "error"], events
    assert "a bug in erring the refused graph" in events[1]["message"]
    _scheduler_consistent(s)
    data = await c.scatter(DATA, broadcast=True)
    assert await c.compute(dask.delayed(_length)(data, 1)) == len(DATA) + 1
