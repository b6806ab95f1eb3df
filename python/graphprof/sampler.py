"""``graphprof.MemorySampler``: a drop-in for ``distributed.diagnostics.MemorySampler``, and more.

Changing ``from distributed.diagnostics import MemorySampler`` to ``from graphprof import
MemorySampler`` keeps a notebook working with the same figures: ``sample(label=None, *,
client=None, measure="process", interval=0.5)`` is a sync or an async context manager (as the
client is), several may run at once, the first sample is taken at once, ``samples`` maps each
label to ``[(timestamp, bytes), ...]`` summed over the cluster, and ``to_pandas(align=...)`` and
``plot(align=..., **kwargs)`` have distributed's meaning.

What it adds: every sample also keeps the reading of each worker (``to_pandas(per_worker=True)``);
``measure="rss"`` reads the resident set size of local workers straight from the OS (psutil, or
``/proc`` when psutil is absent), with no heartbeat lag; ``save(dir)`` writes ``report.json``,
``samples.csv`` (the CLI's row format, ``label,time_s,measure,worker,bytes``) and
``memory.png``/``memory.svg``.

The scheduler-side recorder is graphprof's own (:func:`_recorder_start` runs on the scheduler
through ``run_on_scheduler``), so graphprof must be importable where the scheduler runs (it is,
for a LocalCluster or ``gen_cluster``). pandas and matplotlib are imported only by the methods
that need them.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import threading
import time
import uuid
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

from ._deps import require

#: Reading -> (timestamp, cluster total, {worker address: bytes}).
Reading = tuple[float, int, dict[str, int]]

#: The measure column of samples.csv for each distributed measure (the CLI's names where it has one).
CSV_MEASURE = {"process": "dask_process", "managed": "dask_managed", "rss": "rss"}

_STATE_ATTR = "_graphprof_memory_samplers"


# --- scheduler side ---------------------------------------------------------------------------


def _read(scheduler: Any, measure: str) -> Reading:
    total = getattr(scheduler.memory, measure)
    per_worker = {addr: int(getattr(ws.memory, measure)) for addr, ws in scheduler.workers.items()}
    return (time.time(), int(total), per_worker)


def _recorder_start(client_id: str, measure: str, interval: float, dask_scheduler: Any = None) -> str:
    """Start recording ``measure`` on the scheduler every ``interval`` s; returns the recording's key."""
    from tornado.ioloop import PeriodicCallback

    scheduler = dask_scheduler
    if measure.startswith("_") or not isinstance(getattr(scheduler.memory, measure, None), int):
        raise ValueError(f"measure={measure!r}: not a field of distributed's MemoryState")
    store: dict[str, list[Reading]] = scheduler.__dict__.setdefault(_STATE_ATTR, {})
    key = f"graphprof-{uuid.uuid4()}"
    readings: list[Reading] = []
    store[key] = readings

    def tick() -> None:
        if client_id not in scheduler.clients:  # the client went away: stop, keep nothing
            _recorder_stop(key, dask_scheduler=scheduler)
            return
        readings.append(_read(scheduler, measure))

    callback = PeriodicCallback(tick, interval * 1000)
    scheduler.periodic_callbacks[key] = callback
    callback.start()
    readings.append(_read(scheduler, measure))  # the first sample, at once
    return key


def _recorder_stop(key: str, dask_scheduler: Any = None) -> list[Reading]:
    """Stop the recording ``key`` and hand its readings back (nothing stays on the scheduler)."""
    callback = dask_scheduler.periodic_callbacks.pop(key, None)
    if callback is not None:
        callback.stop()
    return dask_scheduler.__dict__.get(_STATE_ATTR, {}).pop(key, [])


def recordings_in_progress(scheduler: Any) -> int:
    """How many graphprof recordings a scheduler holds (0 once every sampler has stopped)."""
    return len(scheduler.__dict__.get(_STATE_ATTR, {}))


# --- local RSS ----------------------------------------------------------------------------------


def _rss_of(pid: int) -> int:
    try:
        import psutil
    except ImportError:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
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

    def _keep(self, label: str | None, key: str, measure: str, readings: list[Reading]) -> None:
        name = label or key
        self.samples[name] = [(ts, total) for ts, total, _ in readings]
        workers: dict[str, list[tuple[float, int]]] = {}
        for ts, _, per_worker in readings:
            for addr, nbytes in per_worker.items():
                workers.setdefault(addr, []).append((ts, nbytes))
        self.worker_samples[name] = workers
        self.measures[name] = measure

    @contextmanager
    def _sync(self, label: str | None, client: Any, measure: str, interval: float) -> Iterator[None]:
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
                self._keep(label, f"rss-{uuid.uuid4()}", measure, readings)
            return
        key = client.run_on_scheduler(_recorder_start, client.id, measure, interval)
        try:
            yield
        finally:
            self._keep(label, key, measure, client.run_on_scheduler(_recorder_stop, key))

    @asynccontextmanager
    async def _async(self, label: str | None, client: Any, measure: str, interval: float) -> AsyncIterator[None]:
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
                self._keep(label, f"rss-{uuid.uuid4()}", measure, readings)
            return
        key = await client.run_on_scheduler(_recorder_start, client.id, measure, interval)
        try:
            yield
        finally:
            self._keep(label, key, measure, await client.run_on_scheduler(_recorder_stop, key))

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

    def save(self, directory: str | os.PathLike[str]) -> list[Path]:
        """Write ``report.json``, ``samples.csv`` and ``memory.png``/``.svg`` into ``directory``."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written = [self._write_csv(out / "samples.csv"), self._write_report(out / "report.json")]
        try:
            import matplotlib
        except ImportError:
            return written
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        if self.samples:
            ax = self.plot(align=True, title="memory: MemorySampler")
            for ext in ("png", "svg"):
                ax.figure.savefig(out / f"memory.{ext}")
                written.append(out / f"memory.{ext}")
            plt.close(ax.figure)
        return written

    def _write_csv(self, path: Path) -> Path:
        tmp = path.with_suffix(".csv.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["label", "time_s", "measure", "worker", "bytes"])
            for label, rows in self.samples.items():
                start = rows[0][0] if rows else 0.0
                column = CSV_MEASURE.get(self.measures.get(label, ""), f"dask_{self.measures.get(label, '')}")
                for ts, nbytes in rows:
                    writer.writerow([label, f"{ts - start:.6f}", column, "", nbytes])
                for addr, wrows in sorted(self.worker_samples.get(label, {}).items()):
                    for ts, nbytes in wrows:
                        writer.writerow([label, f"{ts - start:.6f}", column, addr, nbytes])
        os.replace(tmp, path)
        return path

    def _write_report(self, path: Path) -> Path:
        runs = []
        for label, rows in self.samples.items():
            values = [b for _, b in rows]
            runs.append({
                "label": label,
                "measure": self.measures.get(label),
                "samples": len(rows),
                "duration_s": round(rows[-1][0] - rows[0][0], 6) if rows else 0.0,
                "peak_bytes": max(values, default=0),
                "mean_bytes": int(sum(values) / len(values)) if values else 0,
                "workers": sorted(self.worker_samples.get(label, {})),
            })
        from . import __version__

        report = {"tool": "graphprof", "version": __version__, "kind": "memory-sampler", "runs": runs}
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path
