"""Cluster probes for the driver's sampling: the scheduler's workers now (:func:`_current_addrs`),
worker absence counting (a worker is gone only after several lookups in a row without it,
:class:`Absences`), waiting for a heartbeat from every worker (:func:`wait_heartbeats`) and for
memory to settle after a release (:func:`_wait_settled`).
"""

from __future__ import annotations

import time

from .thread import ABSENT_READINGS, _scheduler_memory, _scheduler_task_count, read_rss


_addr_cache = {"t": 0.0, "v": set()}




class Absences:
    """Counts, per worker, the successful lookups in a row that lacked it."""

    def __init__(self):
        self.count: dict[str, int] = {}

    def gone(self, expected, present):
        """Workers missing from ABSENT_READINGS lookups in a row; `present` None is no evidence."""
        if present is not None:
            for addr in expected:
                self.count[addr] = 0 if addr in present else self.count.get(addr, 0) + 1
        return {a for a, n in self.count.items() if n >= ABSENT_READINGS}


def scheduler_workers(client) -> dict:
    """The scheduler's workers now, ``{address: identity}``, fetched for this call.

    Not ``client.scheduler_info()["workers"]``: that fetches the scheduler's identity, then
    returns the client's cached copy, which the client's own periodic update (every
    ``distributed.client.scheduler-info-interval``, asking for ``n_workers=0``: no workers) can
    replace in between. With that interval at 2 ms, 28 to 36 of 300 lookups came back short; at the
    default 2 s it is rare, but a driver that counts absences reads every worker as gone."""
    return client.sync(client.scheduler.identity)["workers"]


def _current_addrs(client, cached=False):
    """The scheduler's workers now, or None when the lookup failed (a timeout under load)."""
    now = time.monotonic()
    if cached and now - _addr_cache["t"] < 0.5:
        return _addr_cache["v"]
    try:
        v = set(scheduler_workers(client))
    except Exception:  # noqa: BLE001 - a timeout under load is no evidence of anything
        return None
    _addr_cache.update(t=now, v=v)
    return v


def _scheduler_clock(dask_scheduler):
    """Runs on the scheduler: its clock, and when each worker's last heartbeat arrived."""
    return time.time(), {addr: float(ws.last_seen) for addr, ws in dask_scheduler.workers.items()}


def _heartbeat_view(client, scheduler):
    if scheduler is not None:  # a LocalCluster's scheduler, in this process
        try:
            return time.time(), {a: float(ws.last_seen) for a, ws in list(scheduler.workers.items())}
        except (RuntimeError, AttributeError):
            return None
    try:
        return client.run_on_scheduler(_scheduler_clock)
    except Exception:  # noqa: BLE001
        return None


async def _heartbeat_now(dask_worker):
    """Runs on a worker: reads its memory now (the figure a heartbeat carries is the system
    monitor's last reading, taken every 0.5 s) and sends a heartbeat with it, so that the
    scheduler's ``process`` and ``managed`` describe the worker as it is now."""
    dask_worker.monitor.update()
    await dask_worker.heartbeat()


def wait_heartbeats(client, scheduler, max_s=3.0, poll_s=0.02):
    """Makes the scheduler's ``process`` and ``managed`` figures current: asks every worker for
    a heartbeat now (its memory read at that moment), then checks that every worker's last
    heartbeat arrived after the call began; where that did not happen (a worker that cannot
    run graphprof's function, a timeout), waits for the workers' own heartbeats up to
    ``max_s``. Returns True when the view is current."""
    view = _heartbeat_view(client, scheduler)
    if view is None:
        time.sleep(min(max_s, 1.0))
        return False
    mark = view[0]
    end = time.monotonic() + max_s
    try:
        client.run(_heartbeat_now, wait=True)
    except Exception:  # noqa: BLE001 - fall back to the workers' own heartbeats
        pass
    poll = poll_s if scheduler is not None else max(poll_s, 0.1)
    while True:
        view = _heartbeat_view(client, scheduler)
        if view is not None and view[1] and all(seen >= mark for seen in view[1].values()):
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(poll)


def _amm_pass(dask_scheduler):
    """Runs on the scheduler: one pass of distributed's Active Memory Manager where it runs on
    this cluster (as it does by default, every 2 s), and the replicas that pass dropped as
    [(key, [worker address, ...])]; None where it does not run (graphprof does not start it)."""
    amm = dask_scheduler.extensions.get("amm")
    # A property in distributed 2026.8.0 (`client.amm.running()` is the client's proxy).
    if amm is None or not amm.running:
        return None
    before = {ts.key: {ws.address for ws in ts.who_has or ()} for ts in dask_scheduler.replicated_tasks}
    amm.run_once()
    dropped = []
    for key, holders in before.items():
        ts = dask_scheduler.tasks.get(key)
        gone = holders - ({ws.address for ws in ts.who_has or ()} if ts is not None else set())
        if gone:
            dropped.append((key, sorted(gone)))
    return dropped


def _still_held(keys, dask_worker=None):
    """Runs on a worker: which of ``keys`` it still holds."""
    return [key for key in keys if key in dask_worker.data]


def settle_replicas(client, max_s=3.0, poll_s=0.02):
    """Once the results are in memory: the state the cluster reaches on its own within the
    Active Memory Manager's interval, reached now. Its ``ReduceReplicas`` policy drops every
    replica no task waits for any more (a broadcast scatter's, a dependency fetched by another
    worker), and a dropped replica can give back a lot: dict_arg scattered held 51-52 MB with
    both replicas and 35 MB once the AMM's pass had dropped one (docs/DASK.md). Read before that
    pass, the held level depended on the AMM's clock. So: one pass now where the AMM runs (not
    where the cluster's configuration turned it off), then wait, at most ``max_s``, until each
    worker has let go of what it was told to drop. Returns the replicas dropped (0 when none),
    or None when the AMM does not run or could not be asked."""
    try:
        dropped = client.run_on_scheduler(_amm_pass)
    except Exception:  # noqa: BLE001 - a scheduler graphprof cannot ask: read the level as it is
        return None
    if dropped is None:
        return None
    waiting: dict = {}
    for key, addrs in dropped:
        for addr in addrs:
            waiting.setdefault(addr, []).append(key)
    end = time.monotonic() + max_s
    while waiting and time.monotonic() < end:
        for addr, keys in list(waiting.items()):
            try:
                left = client.run(_still_held, keys, workers=[addr]).get(addr, [])
            except Exception:  # noqa: BLE001 - a worker gone or unreachable: stop waiting on it
                left = []
            if left:
                waiting[addr] = left
            else:
                del waiting[addr]
        if waiting:
            time.sleep(poll_s)
    return sum(len(addrs) for _, addrs in dropped)


def _wait_settled(client, sampler, interval_s, max_s=8.0):
    """After release: wait until the scheduler holds no task, then until every worker has sent a
    heartbeat since (the scheduler's figures are current) and the workers' memory has stopped
    falling (two readings in a row within 1 MiB of the one before), at most max_s in all.
    No fixed wait: on a fresh LocalCluster this takes about half a heartbeat."""
    end = time.monotonic() + max_s
    scheduler = getattr(sampler, "scheduler", None)
    while time.monotonic() < end:
        try:
            if scheduler is not None:
                if not scheduler.tasks:
                    break
            elif client.run_on_scheduler(_scheduler_task_count) == 0:
                break
        except Exception:  # noqa: BLE001
            break
        time.sleep(0.02)
    wait_heartbeats(client, scheduler, max_s=max(0.0, end - time.monotonic()))
    spacing = max(min(interval_s, 0.1), 0.05) if sampler.local else 0.5
    steady, last = 0, None
    while time.monotonic() < end and steady < 2:
        if sampler.local:
            cur = sum(read_rss(w["pid"]) or 0 for w in sampler.workers)
        else:
            try:
                cur = sum(p for p, _ in client.run_on_scheduler(_scheduler_memory).values())
            except Exception:  # noqa: BLE001
                break
        if last is not None and abs(cur - last) < 1 << 20:
            steady += 1
        else:
            steady = 0
        last = cur
        if steady < 2:
            time.sleep(spacing)
