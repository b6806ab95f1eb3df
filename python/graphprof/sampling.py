"""The driver's sampling thread and cluster probes: per worker, the scheduler's
``WorkerState.memory.process`` and ``.managed`` (what ``MemorySampler`` reads) and, on a local
cluster, the worker process's RSS from ``/proc``; the held-phase medians; worker absence counting
(a worker is gone only after several lookups in a row without it); waiting for memory to settle
after a release.
"""

from __future__ import annotations

import os
import statistics
import threading
import time


def read_rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
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
    def __init__(self, proto, client, workers, local, interval_s):
        super().__init__(name="graphprof-sampler", daemon=True)
        self.proto = proto
        self.client = client
        self.workers = workers  # list of dicts id/address/pid
        self.local = local
        self.interval_s = interval_s
        self.stop_evt = threading.Event()
        self.lock = threading.Lock()
        self.label = None
        self.t0 = time.monotonic()
        self.phase = None
        self.samples: list[tuple[str, str, str, int, int]] = []  # label, phase, measure, worker, bytes
        self.seen_addrs: set[str] = {w["address"] for w in workers}
        # Consecutive readings in which each worker was absent (a failed reading is no evidence).
        self.absent: dict[str, int] = {}
        self.errors = 0
        self.cpu_s: dict[str, float] = {}  # per label, CPU seconds of this thread's sampling

    @property
    def missing(self) -> set[str]:
        """Workers absent from several readings in a row: gone, not just slow to report."""
        return {a for a, n in self.absent.items() if n >= ABSENT_READINGS}

    def reset_workers(self, workers):
        """New worker processes after a restart."""
        with self.lock:
            self.workers = workers
            self.seen_addrs = {w["address"] for w in workers}
            self.absent = {}

    def set_label(self, label, t0):
        with self.lock:
            self.label, self.t0, self.phase = label, t0, None

    def set_phase(self, phase):
        with self.lock:
            self.phase = phase

    def run(self):
        nxt = time.monotonic()
        while not self.stop_evt.is_set():
            self.sample_once()
            nxt += self.interval_s
            delay = nxt - time.monotonic()
            if delay < 0:
                nxt = time.monotonic()
                delay = 0
            self.stop_evt.wait(delay)

    def sample_once(self):
        with self.lock:
            label, t0, phase = self.label, self.t0, self.phase
        if label is None:
            return
        cpu_started = time.thread_time()
        now = time.monotonic()
        t = round(now - t0, 4)
        readings = []
        if self.local:
            for w in self.workers:
                rss = read_rss(w["pid"])
                if rss is not None:
                    readings.append(("rss", w["id"], rss))
        try:
            mem = self.client.run_on_scheduler(_scheduler_memory)
        except Exception:
            mem = None
            self.errors += 1
        if mem is not None:
            by_addr = {w["address"]: w["id"] for w in self.workers}
            for addr, wid in by_addr.items():
                if addr in mem:
                    self.absent[addr] = 0
                    proc, managed = mem[addr]
                    readings.append(("dask_process", wid, proc))
                    readings.append(("dask_managed", wid, managed))
                else:
                    self.absent[addr] = self.absent.get(addr, 0) + 1
        for measure, wid, b in readings:
            self.proto.emit("sample", label=label, t=t, measure=measure, worker=wid, bytes=int(b))
            self.samples.append((label, phase, measure, wid, int(b)))
        self.cpu_s[label] = self.cpu_s.get(label, 0.0) + time.thread_time() - cpu_started

    def held_summary(self, label):
        """Median per worker and measure over the label's held phase."""
        out: dict = {}
        for lab, ph, measure, wid, b in self.samples:
            if lab == label and ph == "held":
                out.setdefault(measure, {}).setdefault(wid, []).append(b)
        return {
            m: [int(statistics.median(v[w])) if w in v else None for w in range(len(self.workers))]
            for m, v in out.items()
        }


_addr_cache = {"t": 0.0, "v": set()}


# A worker is declared gone only after this many lookups in a row without it: under load a
# lookup can time out or a heartbeat can be late, and that is not a death.
ABSENT_READINGS = 3


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


def _current_addrs(client, cached=False):
    """The scheduler's workers now, or None when the lookup failed (a timeout under load)."""
    now = time.monotonic()
    if cached and now - _addr_cache["t"] < 0.5:
        return _addr_cache["v"]
    try:
        v = set(client.scheduler_info(n_workers=-1)["workers"])
    except TypeError:
        v = set(client.scheduler_info()["workers"])
    except Exception:
        return None
    _addr_cache.update(t=now, v=v)
    return v


def _wait_settled(client, sampler, interval_s, max_s=8.0):
    """After release: wait until the scheduler holds no task and the workers'
    memory readings stop falling (three steady readings, at most max_s)."""
    end = time.monotonic() + max_s
    while time.monotonic() < end:
        try:
            if client.run_on_scheduler(_scheduler_task_count) == 0:
                break
        except Exception:
            break
        time.sleep(0.05)
    steady, last = 0, None
    while time.monotonic() < end and steady < 3:
        time.sleep(max(interval_s, 0.2))
        if sampler.local:
            cur = sum(read_rss(w["pid"]) or 0 for w in sampler.workers)
        else:
            try:
                cur = sum(p for p, _ in client.run_on_scheduler(_scheduler_memory).values())
            except Exception:
                break
        if last is not None and abs(cur - last) < 1 << 20:
            steady += 1
        else:
            steady = 0
        last = cur


