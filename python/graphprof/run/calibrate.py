"""Measure what a Dask worker holds per task beyond the results: the per-task bookkeeping.

For each strategy (scatter, delayed, optionally inline) and each chunk count, the seed case
(``seed.seed_collection``) is persisted on FRESH workers (a new LocalCluster on 127.0.0.1, or,
with ``--scheduler``, the user's cluster after ``client.restart()``), the workers' RSS is read
before submitting and while the results are held (after the tasks finished and a heartbeat
passed), and ``held RSS = a + b * chunks`` is fitted by least squares per strategy. The per-task
bookkeeping is ``b`` minus the result bytes per chunk (8,000 B: 1,000 int64) for scatter and
delayed; inline's ``b`` also carries one live Mapper per task.

RSS: a local worker's process is read from ``/proc/<pid>/statm`` (pids from ``client.run``); a
remote worker reads its own (``client.run``). Line protocol (stdout, one JSON object a line):
``run`` per strategy and chunk count, ``fit`` per strategy, then ``calibration`` with
``task_overhead_bytes`` (the mean of the scatter and delayed figures measured). Errors go to
stderr with exit code 2 (a missing dependency) or 1.

    python -m graphprof.run calibrate --chunks 256 --chunks 1024 --chunks 4096 [--workers 2]
        [--strategy scatter --strategy delayed --strategy inline] [--scheduler tcp://HOST:PORT]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from ..sampler.cluster import scheduler_workers
from ..sampler.thread import read_rss

CHUNK_SIZE = 1000
RESULT_BYTES = CHUNK_SIZE * 8
PAYLOAD_BYTES = 240 * 1024
SETTLE_S = 1.0
READINGS = 5


def _own_rss() -> int:
    return read_rss(os.getpid()) or 0


def _worker_task_count(dask_worker) -> int:
    return len(dask_worker.state.tasks)


def _heartbeat_s(n_workers: int) -> float:
    try:
        from distributed.scheduler import heartbeat_interval

        return float(heartbeat_interval(n_workers))
    except Exception:  # an older distributed: its documented default
        return 0.5


def workers_rss(client, pids) -> int:
    """The workers' RSS summed, median of READINGS reads 0.1 s apart."""
    totals = []
    for _ in range(READINGS):
        if pids is not None:
            totals.append(sum(read_rss(p) or 0 for p in pids.values()))
        else:
            totals.append(sum(client.run(_own_rss).values()))
        time.sleep(0.1)
    return int(statistics.median(totals))


def _warm_up(client, n_workers):
    """A tiny seed computation on every worker, so that imports are not charged to the run."""
    from distributed import wait

    from .. import seed

    warm = seed.seed_collection(4 * max(1, n_workers), seed.Mapper(16)).persist()
    wait(warm)
    del warm
    time.sleep(0.2)


def measure_once(client, n_workers, strategy, chunks, local) -> dict:
    """Held RSS above the baseline of one strategy at one chunk count, on the client's workers
    (which the caller made fresh)."""
    from distributed import wait

    from .. import seed

    _warm_up(client, n_workers)
    pids = client.run(os.getpid) if local else None
    hb = _heartbeat_s(n_workers)
    time.sleep(max(SETTLE_S, hb))
    before = workers_rss(client, pids)
    n = seed.mapper_len_for_bytes(PAYLOAD_BYTES)
    arg = seed.strategy_argument(strategy, n, client)
    held = seed.seed_collection(chunks, arg).persist()
    wait(held)
    # The tasks finished; let the workers' reports and one heartbeat go by.
    time.sleep(max(SETTLE_S, 2 * hb))
    during = workers_rss(client, pids)
    tasks = sum(client.run(_worker_task_count).values())
    del held, arg
    return {"event": "run", "strategy": strategy, "chunks": chunks, "workers": n_workers,
            "baseline_rss": before, "held_rss": during, "held_above_baseline": during - before,
            "worker_tasks": tasks}


def fit(points):
    """Least squares of y = a + b x over (x, y) points: (a, b)."""
    xs = [float(x) for x, _ in points]
    ys = [float(y) for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        raise ValueError("at least two different chunk counts are needed")
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - b * mx, b


def run_all(strategies, chunk_counts, n_workers, scheduler=None, timeout_s=30.0, emit=print,
            local_directory=None):
    """Measures every strategy at every chunk count; returns the runs, the fits and the figure.
    ``local_directory``: where LocalClusters keep their scratch space (see the driver's
    ``local_directory_kwargs``)."""
    from distributed import Client, LocalCluster

    from .driver import local_directory_kwargs

    runs = []
    if scheduler is None:
        for strategy in strategies:
            for chunks in chunk_counts:
                with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  **local_directory_kwargs(local_directory)) as cluster, \
                        Client(cluster) as client:
                    run = measure_once(client, n_workers, strategy, chunks, local=True)
                emit(json.dumps(run))
                runs.append(run)
    else:
        with Client(scheduler, timeout=timeout_s) as client:
            from .driver import ship_package

            ship_package(client)
            n_workers = len(scheduler_workers(client))
            for strategy in strategies:
                for chunks in chunk_counts:
                    client.restart()
                    ship_package(client)
                    run = measure_once(client, n_workers, strategy, chunks, local=False)
                    emit(json.dumps(run))
                    runs.append(run)
    fits = {}
    for strategy in strategies:
        a, b = fit([(r["chunks"], r["held_above_baseline"]) for r in runs if r["strategy"] == strategy])
        per_task = b - RESULT_BYTES
        fits[strategy] = {"event": "fit", "strategy": strategy, "intercept_bytes": round(a),
                          "bytes_per_chunk": round(b), "result_bytes_per_chunk": RESULT_BYTES,
                          "beyond_results_per_chunk": round(per_task)}
        emit(json.dumps(fits[strategy]))
    overheads = [fits[s]["beyond_results_per_chunk"] for s in ("scatter", "delayed") if s in fits]
    calibration = {"event": "calibration", "workers": n_workers, "chunks": list(chunk_counts),
                   "strategies": [s for s in ("scatter", "delayed") if s in fits],
                   "task_overhead_bytes": round(statistics.fmean(overheads)) if overheads else None,
                   "versions": _versions()}
    emit(json.dumps(calibration))
    return runs, fits, calibration


def _versions():
    import dask
    import distributed

    return {"dask": dask.__version__, "distributed": distributed.__version__,
            "python": sys.version.split()[0]}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m graphprof.run calibrate",
                                description="measure Dask workers' RSS per held task beyond the results")
    p.add_argument("--chunks", type=int, action="append", help="repeatable; default 256, 1024")
    p.add_argument("--strategy", action="append", choices=["scatter", "delayed", "inline"],
                   help="repeatable; default scatter, delayed")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--scheduler", default=None)
    p.add_argument("--timeout-s", type=float, default=30.0)
    p.add_argument("--local-directory", default=None, metavar="DIR",
                   help="LocalClusters' scratch space (created 0700); default Dask's")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    chunks = args.chunks or [256, 1024]
    if len(set(chunks)) < 2 or min(chunks) < 1:
        print("calibrate: give at least two different positive --chunks", file=sys.stderr)
        return 2
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as error:
        print(f"calibrate: {error}; install dask and distributed", file=sys.stderr)
        return 2
    # Keep stdout for the protocol: Dask's logs and prints go to stderr.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def emit(line):
        out.write(line + "\n")
        out.flush()

    run_all(args.strategy or ["scatter", "delayed"], chunks, args.workers, args.scheduler,
            args.timeout_s, emit, local_directory=args.local_directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
