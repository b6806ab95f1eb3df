"""The driver's sampling thread: per worker, the scheduler's ``WorkerState.memory.process`` and
``.managed`` (what ``MemorySampler`` reads) and, on a local cluster, the worker process's RSS from
``/proc``; the held-phase medians. The probes it and the driver share are in :mod:`.cluster`.
"""

from __future__ import annotations

import os
import statistics
import threading
import time


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# Readings are written at most this long after they were taken (the live samples file and the
# progress of the run stay current; one write per reading cost more than the reading).
FLUSH_S = 0.05

# A worker is declared gone only after this many lookups in a row without it: under load a
# lookup can time out or a heartbeat can be late, and that is not a death.
ABSENT_READINGS = 3


def read_rss(pid: int) -> int | None:
    """Resident bytes of a local process, from /proc (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


def _scheduler_memory(dask_scheduler):
    """Runs on the scheduler: the per-worker MemoryState that MemorySampler uses."""
    out = {}
    for addr, ws in dask_scheduler.workers.items():
        m = ws.memory
        out[addr] = (int(m.process), int(m.managed))
    return out


def _scheduler_task_count(dask_scheduler):
    return len(dask_scheduler.tasks)


class Sampler(threading.Thread):
    """Reads every worker's memory each interval and writes the readings as protocol lines.

    On a LocalCluster the scheduler lives in this process (``scheduler``): the readings are taken
    on the scheduler's event loop, where MemorySampler takes its own, by plain asyncio ticks (a
    thread of our own that woke every interval cost twice its CPU: each wake-up contends for the
    GIL with that loop), reading the scheduler's per-worker ``process``/``managed`` figures directly and each
    worker process's RSS from /proc; this thread then only waits to be stopped. On a ``--scheduler`` cluster the figures take a round trip
    (``run_on_scheduler``), and since the scheduler only learns them once per heartbeat they are
    read at most once per ``scheduler_every_s`` (the heartbeat interval): reading faster would
    only repeat the last heartbeat's values at the cost of an RPC each.
    """

    def __init__(self, proto, client, workers, local, interval_s, scheduler=None,
                 scheduler_every_s=0.0):
        super().__init__(name="graphprof-sampler", daemon=True)
        self.proto = proto
        self.client = client
        self.scheduler = scheduler  # the in-process Scheduler of a LocalCluster, else None
        self.scheduler_every_s = scheduler_every_s
        self._scheduler_read_at = float("-inf")
        self._heartbeats_seen = None  # (phase, last heartbeat per worker) at the last reading
        self._phase_read = None  # the phase of the last RPC reading (--scheduler)
        self.workers = workers  # list of dicts id/address/pid
        self.local = local
        self.interval_s = interval_s
        self.stop_evt = threading.Event()
        self.lock = threading.Lock()
        self.label = None
        self._label_json = "null"
        self.t0 = time.monotonic()
        self.phase = None
        # The readings by (label, phase), then measure, then worker: plain lists of ints.
        self.readings: dict[tuple, dict[str, dict[int, list[int]]]] = {}
        self.seen_addrs: set[str] = {w["address"] for w in workers}
        # Consecutive readings in which each worker was absent (a failed reading is no evidence).
        self.absent: dict[str, int] = {}
        self.errors = 0
        self.ticks = 0
        self.cpu_s: dict[str, float] = {}  # per label, CPU seconds spent taking readings
        self._callback = None  # (loop, stop) of the ticks on a LocalCluster's scheduler
        self._pending: list[str] = []  # protocol lines not yet written
        self._flush_lock = threading.Lock()
        self._last_tick = float("-inf")
        self._flushed_at = time.monotonic()
        self._statm: dict[int, object] = {}  # pid -> open /proc/PID/statm

    @property
    def missing(self) -> set[str]:
        """Workers absent from several readings in a row: gone, not just slow to report."""
        return {a for a, n in self.absent.items() if n >= ABSENT_READINGS}

    def reset_workers(self, workers, client=None, scheduler=None):
        """New worker processes after a restart (and, on a LocalCluster, a new cluster)."""
        with self.lock:
            self.workers = workers
            self.seen_addrs = {w["address"] for w in workers}
            self.absent = {}
            self._statm = {}
            if client is not None:
                self.client = client
            moved = scheduler is not None and scheduler is not self.scheduler
            if scheduler is not None:
                self.scheduler = scheduler
        if moved and self._callback is not None:
            self._stop_callback()
            self._start_callback()

    def _start_callback(self):
        """Readings on the scheduler's event loop, each tick one ``call_at`` of a plain function.

        Not tornado's ``PeriodicCallback`` (what MemorySampler uses): its tick is a coroutine,
        so every reading would also create and run an asyncio Task, which at 1 ms cost more
        than the reading. Ticks keep to a grid of the interval from the start; a tick that ran
        late is not made up for (as tornado does)."""
        loop = self.scheduler.loop.asyncio_loop
        interval = self.interval_s
        state = {"next": 0.0, "handle": None, "running": True}

        def tick():
            if not state["running"]:
                return
            try:
                self.sample_once()
            except Exception:  # noqa: BLE001 - one failed reading must not end the sampling
                self.errors += 1
            now = loop.time()
            nxt = state["next"] + interval
            if nxt <= now:
                nxt = now + interval - (now - state["next"]) % interval
            state["next"] = nxt
            state["handle"] = loop.call_at(nxt, tick)

        def start():
            state["next"] = loop.time()
            state["handle"] = loop.call_soon(tick)

        def stop():
            state["running"] = False
            if state["handle"] is not None:
                state["handle"].cancel()

        self._callback = (loop, stop)
        loop.call_soon_threadsafe(start)

    def _stop_callback(self):
        loop, stop = self._callback
        self._callback = None
        try:
            loop.call_soon_threadsafe(stop)
        except RuntimeError:  # the loop is closed: the callback went with it
            pass

    def flush(self):
        """Writes the readings not yet written (before a phase or the end of a label, so that
        they come before it in the protocol stream)."""
        with self._flush_lock:  # batches are written in the order they were taken
            with self.lock:
                pending, self._pending = self._pending, []
                self._flushed_at = time.monotonic()
            self.proto.emit_lines(pending)

    def set_label(self, label, t0):
        import json

        self.flush()
        with self.lock:
            self.label, self.t0, self.phase = label, t0, None
            self._label_json = json.dumps(label)
            self._scheduler_read_at = float("-inf")
            self._heartbeats_seen = None

    def set_phase(self, phase):
        self.flush()
        with self.lock:
            self.phase = phase

    def run(self):
        if self.scheduler is not None:
            self._start_callback()
            self.stop_evt.wait()
            if self._callback is not None:
                self._stop_callback()
            self.flush()
            return
        nxt = time.monotonic()
        while not self.stop_evt.is_set():
            self.sample_once()
            nxt += self.interval_s
            delay = nxt - time.monotonic()
            if delay < 0:
                nxt = time.monotonic()
                delay = 0
            self.stop_evt.wait(delay)
        self.flush()

    def _scheduler_readings(self, now, phase):
        """{address: (process, managed)}, or None when not read this tick or the read failed.

        The scheduler's figures are the last heartbeat's: on a LocalCluster they are taken again
        only once a heartbeat has arrived since the last reading, or at the first tick of a
        label or phase (so that every phase has them); in between they would only repeat."""
        if self.scheduler is not None:
            try:
                workers = list(self.scheduler.workers.items())
                seen = (phase, tuple(ws.last_seen for _, ws in workers))
                if seen == self._heartbeats_seen:
                    return None
                self._heartbeats_seen = seen
                out = {}
                for addr, ws in workers:
                    memory = ws.memory
                    out[addr] = (int(memory.process), int(memory.managed))
                return out
            except (RuntimeError, AttributeError, KeyError):  # changed while read: no evidence
                self.errors += 1
                return None
        if now - self._scheduler_read_at < self.scheduler_every_s and phase == self._phase_read:
            return None
        self._scheduler_read_at, self._phase_read = now, phase
        try:
            return self.client.run_on_scheduler(_scheduler_memory)
        except Exception:  # noqa: BLE001 - a timeout under load is no evidence of anything
            self.errors += 1
            return None

    def sample_once(self):
        with self.lock:
            label, t0, phase, label_json = self.label, self.t0, self.phase, self._label_json
            workers = self.workers
        if label is None:
            return
        now = time.monotonic()
        if now - self._last_tick < self.interval_s / 2:
            # A periodic callback that ran late can run again a few microseconds later: two
            # readings at one time would count twice wherever readings of a time are summed.
            return
        self._last_tick = now
        cpu_started = time.thread_time()
        # The lines formatted by hand (json.dumps per reading was most of the sampler's CPU at
        # 1 ms) and written together every FLUSH_S, not one write per reading.
        head = '{"event":"sample","label":' + label_json + ',"t":' + repr(round(now - t0, 4)) + ',"measure":"'
        lines = []
        store = self._store(label, phase)
        if self.local:
            rss_store = store["rss"]
            for w in workers:
                rss = self._rss(w["pid"])
                if rss is not None:
                    lines.append(f'{head}rss","worker":{w["id"]},"bytes":{rss}}}')
                    rss_store.setdefault(w["id"], []).append(rss)
        mem = self._scheduler_readings(now, phase)
        if mem is not None:
            process, managed = store["dask_process"], store["dask_managed"]
            for w in workers:
                addr, wid = w["address"], w["id"]
                if addr in mem:
                    self.absent[addr] = 0
                    p, m = mem[addr]
                    lines.append(f'{head}dask_process","worker":{wid},"bytes":{p}}}')
                    lines.append(f'{head}dask_managed","worker":{wid},"bytes":{m}}}')
                    process.setdefault(wid, []).append(p)
                    managed.setdefault(wid, []).append(m)
                else:
                    self.absent[addr] = self.absent.get(addr, 0) + 1
        self.ticks += 1
        with self.lock:
            self._pending.extend(lines)
            due = now - self._flushed_at >= FLUSH_S
        if due:
            self.flush()
        self.cpu_s[label] = self.cpu_s.get(label, 0.0) + time.thread_time() - cpu_started

    def _store(self, label, phase):
        """{measure: {worker: [bytes, ...]}} of the readings of one label's phase."""
        store = self.readings.get((label, phase))
        if store is None:
            store = self.readings[(label, phase)] = {"rss": {}, "dask_process": {}, "dask_managed": {}}
        return store

    def _rss(self, pid):
        """RSS from /proc/PID/statm, kept open between readings (one pread a reading)."""
        fh = self._statm.get(pid)
        try:
            if fh is None:
                fh = self._statm[pid] = open(f"/proc/{pid}/statm", "rb", buffering=0)  # noqa: SIM115
            return int(os.pread(fh.fileno(), 64, 0).split()[1]) * PAGE_SIZE
        except (OSError, ValueError, IndexError):
            self._statm.pop(pid, None)
            return None

    @property
    def samples(self) -> list[tuple[str, str, str, int, int]]:
        """Every reading as (label, phase, measure, worker, bytes), grouped by the first four."""
        return [(label, phase, measure, wid, b)
                for (label, phase), store in list(self.readings.items())
                for measure, by_worker in list(store.items())
                for wid, values in list(by_worker.items()) for b in values]

    def held_summary(self, label):
        """Median per worker and measure over the label's held phase."""
        out: dict = {}
        for measure, by_worker in list(self.readings.get((label, "held"), {}).items()):
            for wid, values in list(by_worker.items()):
                if values:
                    out.setdefault(measure, {}).setdefault(wid, []).extend(values)
        return {
            m: [int(statistics.median(v[w])) if w in v else None for w in range(len(self.workers))]
            for m, v in out.items()
        }


