"""``graphprof.MemorySampler``: a drop-in for ``distributed.diagnostics.MemorySampler``, and more.

Changing ``from distributed.diagnostics import MemorySampler`` to ``from graphprof import
MemorySampler`` keeps a notebook working with the same figures: ``sample(label=None, *,
client=None, measure="process", interval=0.5)`` is a sync or an async context manager (as the
client is), several may run at once, the first sample is taken at once, ``samples`` maps each
label to ``[(timestamp, bytes), ...]`` summed over the cluster, and ``to_pandas(align=...)`` and
``plot(align=..., **kwargs)`` have distributed's meaning.

What it adds: every sample also keeps the reading of each worker (``to_pandas(per_worker=True)``);
``measure="rss"`` reads the resident set size of local workers straight from the OS (psutil, or
``/proc`` when psutil is absent), with no heartbeat lag; ``mark(phase)`` marks graphprof's phases
(submit, compute, held, released) on the running samples; ``save(dir)`` writes the files of
``graphprof sample -o DIR`` (``report.json``, ``samples.csv``, the plots), rendered by the binary
(``graphprof render``) so that they are the CLI's own.

The scheduler needs distributed only, not graphprof: the recorder that runs there (the functions
:func:`_scheduler_side` makes) is sent by value, as cloudpickle sends a function it cannot import
by name, and uses nothing of this module. ``measure="rss"`` samples from the client's side.
pandas and matplotlib are imported only by the methods that need them.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
import warnings
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

from .._deps import require

#: Reading -> (timestamp, cluster total, {worker address: bytes}).
Reading = tuple[float, int, dict[str, int]]

#: The CLI's measure (report.json, samples.csv) for each measure it has a name for.
CSV_MEASURE = {"process": "dask_process", "managed": "dask_managed", "rss": "rss"}

#: graphprof's phases, in run order (``mark`` takes these).
PHASES = ("submit", "compute", "held", "released")

_STATE_ATTR = "_graphprof_memory_samplers"


# --- scheduler side, sent by value ----------------------------------------------------------


def _scheduler_side() -> tuple[Callable[..., str], Callable[..., list[Reading]]]:
    """The recorder's ``start`` and ``stop``, to run on the scheduler with ``run_on_scheduler``.

    Made afresh on each call, they are local functions: pickle cannot name them, so distributed
    sends them with cloudpickle by value, and they refer to nothing of graphprof (what they need
    is imported inside them). A scheduler without graphprof runs them.
    """
    attr = _STATE_ATTR

    def stop(key: str, dask_scheduler: Any = None) -> list[Reading]:
        callback = dask_scheduler.periodic_callbacks.pop(key, None)
        if callback is not None:
            callback.stop()
        return dask_scheduler.__dict__.get(attr, {}).pop(key, [])

    def start(client_id: str, measure: str, interval: float, dask_scheduler: Any = None) -> str:
        import time
        import uuid

        from tornado.ioloop import PeriodicCallback

        scheduler = dask_scheduler
        if measure.startswith("_") or not isinstance(getattr(scheduler.memory, measure, None), int):
            raise ValueError(f"measure={measure!r}: not a field of distributed's MemoryState")
        store = scheduler.__dict__.setdefault(attr, {})
        key = f"graphprof-{uuid.uuid4()}"
        readings: list[Reading] = []
        store[key] = readings

        def read() -> Reading:
            total = getattr(scheduler.memory, measure)
            per_worker = {addr: int(getattr(ws.memory, measure)) for addr, ws in scheduler.workers.items()}
            return (time.time(), int(total), per_worker)

        def tick() -> None:
            if client_id not in scheduler.clients:  # the client went away: stop, keep nothing
                stop(key, dask_scheduler=scheduler)
                return
            readings.append(read())

        callback = PeriodicCallback(tick, interval * 1000)
        scheduler.periodic_callbacks[key] = callback
        callback.start()
        readings.append(read())  # the first sample, at once
        return key

    return start, stop


def recordings_in_progress(scheduler: Any) -> int:
    """How many graphprof recordings a scheduler holds (0 once every sampler has stopped)."""
    return len(scheduler.__dict__.get(_STATE_ATTR, {}))


# --- local RSS ----------------------------------------------------------------------------------


def _rss_of(pid: int) -> int:
    try:
        import psutil
    except ImportError:
        from .thread import read_rss

        rss = read_rss(pid)
        if rss is None:
            raise ProcessLookupError(pid) from None
        return rss
    return int(psutil.Process(pid).memory_info().rss)


def _read_rss(pids: dict[str, int]) -> Reading:
    per_worker: dict[str, int] = {}
    by_pid: dict[int, int] = {}
    for addr, pid in pids.items():
        try:
            by_pid[pid] = by_pid.get(pid) or _rss_of(pid)
        except (OSError, ProcessLookupError):
            continue  # the worker died or was restarted: it stops contributing
        except Exception as exc:  # psutil.NoSuchProcess and friends
            if type(exc).__name__ in ("NoSuchProcess", "ZombieProcess", "AccessDenied"):
                continue
            raise
        per_worker[addr] = by_pid[pid]
    return (time.time(), sum(by_pid.values()), per_worker)  # one process counted once


def _local_pids(pids: dict[str, int]) -> dict[str, int]:
    missing = [addr for addr, pid in pids.items() if not _pid_exists(pid)]
    if missing:
        raise ValueError(
            f'measure="rss" reads worker RSS from this machine, but worker {missing[0]} is not a '
            'local process; use measure="process" for remote workers'
        )
    return pids


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the sampler --------------------------------------------------------------------------------


class MemorySampler:
    """Sample cluster-wide (and per-worker) memory every ``interval`` seconds.

    Usage, as distributed's::

        ms = MemorySampler()
        with ms.sample("run 1"):
            run_first_workflow()
        ms.plot(align=True)
    """

    samples: dict[str, list[tuple[float, int]]]

    def __init__(self) -> None:
        self.samples = {}
        self.worker_samples: dict[str, dict[str, list[tuple[float, int]]]] = {}
        self.measures: dict[str, str] = {}
        self.intervals: dict[str, float] = {}
        #: Per label, the phases marked while it sampled: ``[(phase, seconds since its first
        #: reading)]``, the time base of its samples in ``save``'s report.
        self.phases: dict[str, list[tuple[str, float]]] = {}
        #: Running samples: when each began and its marks, ``(phase, time.time())``.
        self._running: dict[object, tuple[float, list[tuple[str, float]]]] = {}

    def sample(
        self,
        label: str | None = None,
        *,
        client: Any = None,
        measure: str = "process",
        interval: float = 0.5,
    ) -> Any:
        """Context manager recording ``measure`` under ``label`` (a fresh key when None).

        Synchronous when the client is, asynchronous when it is asynchronous. ``measure`` is a
        field of :class:`distributed.scheduler.MemoryState` (``process``, ``managed``,
        ``unmanaged``, ``spilled``, ...) or ``"rss"`` (local workers' resident set, read by
        graphprof itself).
        """
        if client is None:
            require("distributed", "MemorySampler")
            from distributed.client import get_client

            client = get_client()
        if client.asynchronous:
            return self._async(label, client, measure, interval)
        return self._sync(label, client, measure, interval)

    def mark(self, phase: str) -> None:
        """Mark the start of ``phase`` (submit, compute, held, released) on every running sample.

        The marks become the phases of ``save``'s report: the level at the end of ``held`` is
        the run's held memory, the one at the end of ``released`` what stays after release.
        Mark a phase before the step that begins it (``mark("released")``, then drop the
        results): a reading taken once the release has begun would otherwise count as held.
        """
        if phase not in PHASES:
            raise ValueError(f"phase={phase!r}: choose among {PHASES!r}")
        now = time.time()
        for _, marks in self._running.values():
            marks.append((phase, now))

    def _begin(self) -> object:
        token = object()  # one running sample, until _keep
        self._running[token] = (time.time(), [])
        return token

    def _keep(self, label: str | None, key: str, measure: str, interval: float,
              token: object, readings: list[Reading]) -> None:
        name = label or key
        self.samples[name] = [(ts, total) for ts, total, _ in readings]
        workers: dict[str, list[tuple[float, int]]] = {}
        for ts, _, per_worker in readings:
            for addr, nbytes in per_worker.items():
                workers.setdefault(addr, []).append((ts, nbytes))
        self.worker_samples[name] = workers
        self.measures[name] = measure
        self.intervals[name] = interval
        # The marks are placed on the samples' time base, the first reading: counted from when
        # the sample began, each would sit later by the time the first reading took to come
        # (a call to the scheduler: up to seconds under load), and a reading taken after
        # `mark("released")` would count as held.
        started, marks = self._running.pop(token, (0.0, []))
        origin = readings[0][0] if readings else started
        self.phases[name] = [(phase, at - origin) for phase, at in marks]

    @contextmanager
    def _sync(self, label: str | None, client: Any, measure: str, interval: float) -> Iterator[None]:
        token = self._begin()
        if measure == "rss":
            pids = _local_pids(client.run(os.getpid))
            readings = [_read_rss(pids)]
            stop = threading.Event()

            def loop() -> None:
                while not stop.wait(interval):
                    readings.append(_read_rss(pids))

            thread = threading.Thread(target=loop, name="graphprof-rss", daemon=True)
            thread.start()
            try:
                yield
            finally:
                stop.set()
                thread.join()
                self._keep(label, f"rss-{uuid.uuid4()}", measure, interval, token, readings)
            return
        start, stop_recording = _scheduler_side()
        try:
            key = client.run_on_scheduler(start, client.id, measure, interval)
        except BaseException:
            self._running.pop(token, None)
            raise
        try:
            yield
        finally:
            readings = client.run_on_scheduler(stop_recording, key)
            self._keep(label, key, measure, interval, token, readings)

    @asynccontextmanager
    async def _async(self, label: str | None, client: Any, measure: str, interval: float) -> AsyncIterator[None]:
        token = self._begin()
        if measure == "rss":
            pids = _local_pids(await client.run(os.getpid))
            readings = [_read_rss(pids)]

            async def loop() -> None:
                while True:
                    await asyncio.sleep(interval)
                    readings.append(_read_rss(pids))

            task = asyncio.ensure_future(loop())
            try:
                yield
            finally:
                task.cancel()
                self._keep(label, f"rss-{uuid.uuid4()}", measure, interval, token, readings)
            return
        start, stop_recording = _scheduler_side()
        try:
            key = await client.run_on_scheduler(start, client.id, measure, interval)
        except BaseException:
            self._running.pop(token, None)
            raise
        try:
            yield
        finally:
            readings = await client.run_on_scheduler(stop_recording, key)
            self._keep(label, key, measure, interval, token, readings)

    # --- tables and plots ---------------------------------------------------------------------

    def to_pandas(self, *, align: bool = False, per_worker: bool = False) -> Any:
        """The series as a DataFrame: one column per label (``per_worker``: per (label, worker)).

        The index is a DatetimeIndex, or with ``align`` a TimedeltaIndex from each series' first
        sample. Gaps where series overlap are forward-filled, never past a series' last sample.
        """
        pd = require("pandas", "MemorySampler.to_pandas")
        columns: dict[Any, Any] = {}
        for label, rows in self.samples.items():
            series = {label: rows} if not per_worker else {
                (label, addr): wrows for addr, wrows in sorted(self.worker_samples.get(label, {}).items())
            }
            start = rows[0][0] if rows else 0.0
            for name, points in series.items():
                stamps = pd.to_datetime([ts for ts, _ in points], unit="s")
                if align:
                    stamps = stamps - pd.to_datetime(start, unit="s")
                column = pd.Series([b for _, b in points], index=stamps, name=name)
                columns[name] = column[~column.index.duplicated(keep="first")]
        frame = pd.DataFrame(columns)
        if per_worker and columns:
            frame.columns = pd.MultiIndex.from_tuples(list(columns), names=["label", "worker"])
        if len(columns) > 1:
            ended = frame.bfill().isna()  # true after a series' last sample
            frame = frame.ffill().mask(ended)
        return frame

    def plot(self, *, align: bool = False, **kwargs: Any) -> Any:
        """Plot every series in GiB against time; returns the matplotlib axes.

        ``kwargs`` go to :meth:`pandas.DataFrame.plot`.
        """
        require("matplotlib", "MemorySampler.plot", extra="plot")
        frame = self.to_pandas(align=align)
        gib = frame.resample("1s").nearest() / 2**30
        if len(gib) < 2:  # a run shorter than a second: a 1 s grid has one point
            gib = frame.resample("1ms").nearest() / 2**30
        kwargs.setdefault("xlabel", "time")
        kwargs.setdefault("ylabel", "Cluster memory (GiB)")
        return gib.plot(**kwargs)

    # --- files --------------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str], *, force: bool = False,
             title: str = "graphprof.MemorySampler") -> list[Path]:
        """Write the files of ``graphprof sample -o DIR`` into ``directory``; returns their paths.

        ``report.json`` (schema ``graphprof-sample``), ``samples.csv``
        (``label,time_s,measure,worker,bytes``) and the plots (``memory.png``/``.svg`` for
        ``process`` or ``rss``, ``dask-managed.png``/``.svg`` for ``managed``), rendered by the
        binary (``graphprof render``). Measures are named as the CLI names them: ``process`` ->
        ``dask_process``, ``managed`` -> ``dask_managed``, ``rss``; a label sampled with another
        measure is left out, with a warning. Workers are numbered 0, 1, ... in the order of their
        addresses (``parameters.source`` lists them). As with the CLI, a non-empty folder that
        graphprof did not write is refused unless ``force``.
        """
        from .. import _binary

        document = self._render_document(title)
        out = Path(directory)
        args = ["render", "-", "-o", str(out), "--quiet"] + (["--force"] if force else [])
        _binary.run(args, input=json.dumps(document))
        manifest = out / ".graphprof-files"
        return [out / name for name in manifest.read_text(encoding="utf-8").split()]

    def _render_document(self, title: str) -> dict[str, Any]:
        """The ``graphprof-samples`` document ``graphprof render`` reads."""
        skipped = [label for label in self.samples if self.measures.get(label) not in CSV_MEASURE]
        if skipped:
            warnings.warn(
                f"MemorySampler.save leaves out {', '.join(map(repr, skipped))}: the CLI's files "
                f"name the measures {', '.join(CSV_MEASURE)} only", stacklevel=3)
        labels = [label for label in self.samples if label not in skipped]
        if not labels:
            raise ValueError("MemorySampler.save: nothing to save (sample process, managed or rss first)")
        addresses = sorted({addr for label in labels for addr in self.worker_samples.get(label, {})})
        index = {addr: number for number, addr in enumerate(addresses)}
        runs = []
        for label in labels:
            rows = self.samples[label]
            start = rows[0][0] if rows else 0.0
            measure = CSV_MEASURE[self.measures[label]]
            samples = [{"time_s": ts - start, "measure": measure, "worker": None, "bytes": int(nbytes)}
                       for ts, nbytes in rows]
            for addr, wrows in sorted(self.worker_samples.get(label, {}).items()):
                samples += [{"time_s": ts - start, "measure": measure, "worker": index[addr],
                             "bytes": int(nbytes)} for ts, nbytes in wrows]
            runs.append({
                "label": label,
                "interval_ms": self.intervals.get(label, 0.5) * 1000,
                "phases": [{"phase": phase, "time_s": max(at, 0.0)} for phase, at in self.phases.get(label, [])],
                "samples": samples,
            })
        workers = "; workers " + ", ".join(f"{n}={addr}" for addr, n in index.items()) if index else ""
        return {"schema": "graphprof-samples", "version": 1, "engine": "dask",
                "source": f"graphprof.MemorySampler{workers}", "title": title,
                "workers": len(addresses) or None, "runs": runs}
