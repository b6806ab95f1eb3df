"""Benchmark: ``graphprof dask export`` of a large map_blocks collection against all the work Dask
does to send the same collection (issue 23 item 10).

    .venv/bin/python python/bench/bench_export.py [CHUNKS] [RUNS] [--no-persist]
    GRAPHPROF_BIN_BEFORE=OLD_BINARY .venv/bin/python python/bench/bench_export.py 65536 3

The collection is the seed script, fixtures/dask/seed_pipeline.py (``CHUNKS`` chunks of a
map_blocks whose every block looks up a Mapper of ~236 KiB defined in the script), loaded as
``graphprof dask export`` loads a script: its function and class are the user's ``__main__``'s,
pickled by value. Each step runs in a fresh child process, one after the other and alternating,
RUNS times (default 3). Steps:

- ``send``, the baseline: what ``Client.persist`` and the scheduler's ``update_graph`` do to the
  graph in distributed 2026.8.0, called as they call it, in one process, the collection built and
  every module imported before the clock starts. The client:
  ``collections_to_expr(collections, optimize_graph=True).optimize()``, ``__dask_keys__()``,
  ``validate_key`` on each key, ``serialize(to_serialize(expr))`` and the large-graph warning's
  ``nbytes`` sum (``Client._graph_to_futures``). The scheduler: ``deserialize``,
  ``_materialize_graph`` (``__dask_graph__()``, ``__dask_annotations__()``,
  ``convert_legacy_graph``), ``_cull`` for a low-level-graph expression, ``dask.order.order`` (the
  client sends no priorities), ``_find_lost_dependencies`` and ``_create_taskstate_from_graph`` (a
  TaskState per task, its dependencies, priorities, the transitions to waiting or queued) on a
  Scheduler that is not started. Left out: the comm (one message of a few hundred KiB whatever the
  chunk count), the client's Future per output key and the persisted collection it builds.
- ``persist``, a check of that baseline: a real ``client.persist`` to an in-process scheduler with
  no workers (``LocalCluster(n_workers=0, processes=False)``, started before the clock), timed
  until the scheduler logs its ``update-graph`` event: the work of client and scheduler, which
  share one process and its GIL here, plus the comm, the Futures and the event loop's hops.
  ``--no-persist`` leaves it out.
- ``graphprof``: the whole command ``graphprof dask export SCRIPT:result -o FILE`` as a user runs
  it (the release build under ``CARGO_TARGET_DIR`` or ./target, or ``GRAPHPROF_BIN``), timed from
  spawn to exit: it also pays the interpreter's start, the imports and the script, which the
  baselines do not. Peak RSS is its biggest process's (the Python exporter).
- ``before``, with ``GRAPHPROF_BIN_BEFORE``: the same command with another build.

Prints, per step, the median and best time and the median peak RSS, the ratios, and the 1-minute
load average before and after (a shared machine: medians side by side, never a timed assertion).

Until 2026-12-06 this benchmark compared ``graphprof.collect.graph.export`` in-process, on the seed
collection of the importable ``graphprof.seed`` module, with serialize + deserialize +
``__dask_graph__`` + ``convert_legacy_graph``: the baseline left out ``dask.order`` and the task
states (about half of update_graph's work), and the exporter's case left out the script's
functions pickled by value, which every task of a user's script pays (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # python/: the package, tests


REPO = os.path.dirname(HERE)
SCRIPT = os.path.join(REPO, "fixtures", "dask", "seed_pipeline.py")


def _collection(chunks: int):
    """The seed script's ``result``, loaded as ``graphprof dask export`` loads it (its functions
    and class are the user's ``__main__``'s, pickled by value)."""
    sys.path.insert(0, HERE)
    os.environ["CHUNKS"] = str(chunks)
    from graphprof.run.export_command import load_variable

    return load_variable(f"{SCRIPT}:result")[0]


def _send(x) -> int:
    """The baseline (see the module docstring); returns the number of tasks materialised."""
    import asyncio

    import dask.order
    from dask.base import collections_to_expr
    from dask.core import flatten, validate_key
    from distributed.protocol import deserialize, serialize, to_serialize
    from distributed.scheduler import LLGExpr, Scheduler, _cull, _materialize_graph
    from distributed.utils import nbytes

    import dask

    async def run() -> tuple[float, int]:
        scheduler = Scheduler(validate=False, dashboard=False)
        t0 = time.perf_counter()
        # The client (Client.persist, Client._graph_to_futures)
        expr = collections_to_expr([x], True).optimize()
        keys = list(flatten(expr.__dask_keys__()))
        for key in keys:
            validate_key(key)
        header, frames = serialize(to_serialize(expr), on_error="raise")
        sum(map(nbytes, [header] + list(frames)))
        del expr
        # The scheduler (Scheduler.update_graph)
        received = deserialize(header, frames)
        dsk, annotations_by_type = _materialize_graph(received, validate=False)
        if isinstance(received, LLGExpr):
            dsk = _cull(dsk, set(keys))
        del received
        priority = dask.order.order(dsk)
        assert not scheduler._find_lost_dependencies(dsk, set(keys))
        scheduler._create_taskstate_from_graph(
            start=time.time(), dsk=dsk, keys=set(keys), ordered=priority, client="bench",
            annotations_by_type=annotations_by_type, global_annotations=dask.get_annotations(),
            stimulus_id="bench", submitting_task=None, span_metadata={"collections": []})
        seconds = time.perf_counter() - t0
        assert len(scheduler.tasks) == len(dsk)
        return seconds, len(dsk)

    return asyncio.run(run())


def _persist(x) -> tuple[float, int]:
    """A real persist to a worker-less in-process scheduler, until its update-graph event."""
    import threading

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        scheduler = cluster.scheduler
        done = threading.Event()
        log_event = scheduler.log_event

        def logged(topic, msg):
            log_event(topic, msg)
            if isinstance(msg, dict) and msg.get("action") == "update-graph":
                done.set()

        scheduler.log_event = logged
        t0 = time.perf_counter()
        persisted = client.persist(x)
        done.wait()
        seconds = time.perf_counter() - t0
        tasks = len(scheduler.tasks)
        del persisted
    return seconds, tasks


def _binary() -> str:
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    return os.environ.get("GRAPHPROF_BIN") or os.path.join(target, "release", "graphprof")


def _cli(chunks: int, binary: str) -> dict:
    """The whole ``graphprof dask export`` command, as a user runs it: its wall time, and the
    peak RSS of its biggest process (the Python exporter)."""
    import resource

    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"graphprof-bench-export-{os.getpid()}.json")
    env = dict(os.environ, CHUNKS=str(chunks), GRAPHPROF_PYTHON=sys.executable)
    t0 = time.perf_counter()
    subprocess.run([binary, "dask", "export", f"{SCRIPT}:result", "-o", path], env=env,
                   check=True, capture_output=True)
    seconds = time.perf_counter() - t0
    with open(path, encoding="utf-8") as fh:
        tasks = len(json.load(fh)["tasks"])
    os.unlink(path)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": seconds, "peak_kib": peak, "tasks": tasks}


def _step(kind: str, chunks: int) -> dict:
    import resource

    if kind == "graphprof":
        return _cli(chunks, _binary())
    if kind == "before":
        return _cli(chunks, os.environ["GRAPHPROF_BIN_BEFORE"])
    x = _collection(chunks)
    # Imported before the clock: a user's client has them already.
    import dask.order  # noqa: F401
    import distributed.scheduler  # noqa: F401

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds, tasks = {"send": _send, "persist": _persist}[kind](x)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_kib": peak, "added_kib": peak - base, "tasks": tasks}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        print(json.dumps(_step(sys.argv[2], int(sys.argv[3]))))
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    chunks = int(args[0]) if args else 65_536
    runs = int(args[1]) if len(args) > 1 else 3
    kinds = ["send"] + ([] if "--no-persist" in sys.argv else ["persist"])
    kinds += (["before"] if os.environ.get("GRAPHPROF_BIN_BEFORE") else []) + ["graphprof"]
    rows: dict[str, list] = {k: [] for k in kinds}
    load_before = os.getloadavg()[0]
    for _ in range(runs):
        for kind in kinds:  # alternate, so drift hits all alike
            out = subprocess.run([sys.executable, __file__, "--step", kind, str(chunks)],
                                 capture_output=True, text=True, check=True)
            rows[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
    load_after = os.getloadavg()[0]
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in rows.items()}
    best = {k: min(r["seconds"] for r in v) for k, v in rows.items()}
    mem = {k: statistics.median(r["peak_kib"] for r in v) / 1024 for k, v in rows.items()}
    label = {"send": "dask send (client + update_graph)", "persist": "dask persist, no workers",
             "before": "graphprof dask export, build before",
             "graphprof": "graphprof dask export (command)"}
    print(f"map_blocks seed collection, {chunks:,} chunks, {rows['send'][0]['tasks']:,} tasks, "
          f"{runs} runs each, alternating; load average (1 min) {load_before:.2f} before, "
          f"{load_after:.2f} after")
    for kind in kinds:
        times = " ".join(f"{r['seconds']:.2f}" for r in rows[kind])
        print(f"  {label[kind]:<36} median {med[kind]:6.2f} s  best {best[kind]:6.2f} s  "
              f"peak RSS {mem[kind]:5.0f} MiB  (runs: {times})")
    for ours in [k for k in ("before", "graphprof") if k in rows]:
        for theirs in [k for k in kinds if k not in ("before", "graphprof")] + (
                ["before"] if ours == "graphprof" and "before" in rows else []):
            print(f"  {ours} / {theirs:<9} {med[ours] / med[theirs]:.2f}x median time, "
                  f"{best[ours] / best[theirs]:.2f}x best, {mem[ours] / mem[theirs]:.2f}x peak RSS")


if __name__ == "__main__":
    main()
