"""The driver behind ``graphprof sample --engine dask``.

Runs the seed case (``da.arange(chunks*1000, chunks=1000).map_blocks(lookup,
arg)`` with a Mapper of about ``--payload-bytes``), the user's collection
(``--collection SCRIPT.py:VARIABLE``: as given, then rewritten) or graph-file
replays (``--replay LABEL=FILE``) on a real Dask cluster, one label after
another on fresh workers (:mod:`.workloads`; one label's run: :mod:`.strategy`), and speaks the line protocol (docs/DASK.md) on stdout:
one JSON object per line, nothing else.  Dask's logs and anything else that
would reach stdout go to stderr.

Exit codes: 0 all strategies complete; 2 a dependency is missing; 3 the
scheduler is unreachable; 4 the run is incomplete (a worker died, a task
failed, the compute timed out); 130 interrupted (SIGINT/SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import time

from .. import PROTOCOL
from .protocol import Proto, check_dependencies
from ..sampler.cluster import _addr_cache, scheduler_workers
from .strategy import baseline_seconds, make_sampler, run_strategy

EXIT_OK = 0
EXIT_MISSING = 2
EXIT_UNREACHABLE = 3
EXIT_INCOMPLETE = 4
EXIT_INTERRUPTED = 130

class Interrupted(BaseException):
    pass


def _raise_interrupt(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m graphprof.run driver",
                                description="graphprof's real-Dask sampling driver (line protocol on stdout)")
    p.add_argument("--strategy", action="append", choices=["inline", "scatter", "delayed", "as-given"],
                   help="repeatable; default: inline, scatter, delayed (as-given, scatter, delayed "
                        "with --collection)")
    p.add_argument("--collection", default=None,
                   help="SCRIPT.py:VARIABLE: run the user's collection as given and rewritten")
    p.add_argument("--replay", action="append", default=[], metavar="LABEL=GRAPH.json",
                   help="replay a graph file under LABEL (repeatable; replaces --strategy)")
    p.add_argument("--outputs", default=None, metavar="KEYS.json",
                   help="with --collection: run its graph culled to these output keys (a JSON "
                        "list of graph-format keys) and what they depend on")
    p.add_argument("--restart-workers", action="store_true",
                   help="with --scheduler: restart the workers before every label")
    p.add_argument("--chunks", type=int, default=256)
    p.add_argument("--payload-bytes", type=int, default=240 * 1024)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--interval-ms", type=float, default=100.0)
    p.add_argument("--scheduler", default=None, help="tcp://HOST:PORT of an existing cluster (left running)")
    p.add_argument("--local-directory", default=None, metavar="DIR",
                   help="a LocalCluster's workers' scratch space (created 0700); default Dask's")
    p.add_argument("--timeout-s", type=float, default=10.0, help="connect timeout")
    p.add_argument("--hold-s", type=float, default=2.0)
    p.add_argument("--compute-timeout-s", type=float, default=600.0)
    return p.parse_args(argv)


def local_directory_kwargs(folder) -> dict:
    """LocalCluster's ``local_directory`` keyword: the folder graphprof gave (created private,
    0700 whatever the umask), or nothing (Dask's default, ``dask-scratch-space`` in TMPDIR).
    Dask's ``temporary-directory`` is set to it too: the scheduler and the nannies make their own
    ``dask-scratch-space`` there (0777 under umask 000), which ``local_directory`` alone leaves in
    TMPDIR."""
    if not folder:
        return {}
    import dask

    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    dask.config.set({"temporary-directory": folder})
    return {"local_directory": folder}


def ship_package(client):
    """Workers of an existing cluster may not have graphprof (the seed case's Mapper and
    functions live there, importable so that broadcast reaches every worker): upload it."""
    import tempfile

    from .ship import package_zip

    with tempfile.TemporaryDirectory() as folder:
        client.upload_file(package_zip(folder))


def _discover(client, proto, local, fresh):
    """The workers now (ids by sorted address), announced with a `workers` event."""
    pids = client.run(os.getpid)
    addrs = sorted(pids)
    limits = _memory_limits(client)
    workers = [{"id": i, "address": a, "pid": int(pids[a]), "memory_limit": limits.get(a)}
               for i, a in enumerate(addrs)]
    proto.emit("workers", workers=workers, local=local)
    return workers


def _memory_limits(client) -> dict:
    """Each worker's ``memory_limit`` in bytes as the scheduler knows it (None: no limit)."""
    try:
        workers = scheduler_workers(client)
    except Exception:  # noqa: BLE001
        return {}
    return {a: (int(w["memory_limit"]) if w.get("memory_limit") else None)
            for a, w in workers.items()}


def warm_up(client, n_workers, dataframes=False):
    """Run a tiny seed computation on every worker first, so that imports and first-task costs
    are not charged to the first strategy's growth; with ``dataframes`` (a user's collection,
    with pandas imported), a first dataframe task too."""
    from distributed import wait

    from .. import seed

    warm = seed.seed_collection(4 * max(1, n_workers), seed.Mapper(16)).persist()
    wait(warm)
    del warm
    # The libraries the user's collection brought in (imported here by loading the script) are
    # imported on the workers too, so their import is not charged to the first run's held memory.
    modules = [m for m in WARM_MODULES if m in sys.modules]
    try:
        client.run(_import_all, modules)
        _warm_transfers(client)
        if dataframes:  # dataframes, or a pandas object inside a bag or a task
            _warm_dataframes(client)
    except Exception as e:  # noqa: BLE001
        print(f"graphprof: warm-up failed: {type(e).__name__}: {e}", file=sys.stderr)


def _warm_transfers(client):
    """A first scatter to every worker and a first worker-to-worker transfer on each (every
    worker sends one result to the next and fetches one from the previous): their comm buffers
    and threads stay, ~25 MB over 2 workers (measured, python/tests/test_held.py), and are no
    program's."""
    [small] = client.scatter([list(range(1000))], broadcast=True)
    addrs = sorted(scheduler_workers(client))
    built = [client.submit(list, range(1000 + i), workers=[a], pure=False)
             for i, a in enumerate(addrs)]
    used = [client.submit(len, part, workers=[addrs[(i + 1) % len(addrs)]], pure=False)
            for i, part in enumerate(built)] if len(addrs) > 1 else []
    client.gather(used + [small])
    del small, built, used


def _double(part):
    return part.assign(c=part.a * 2)


def _warm_dataframes(client):
    """A first dataframe task on every worker (pandas' and pyarrow's first use beyond import,
    which the first run otherwise charges to itself: bag_closure_frame as given held 91.0 MiB
    without it, 84.8 MiB with it, both before the results check moved past the held level),
    when the user's script uses pandas."""
    import dask.dataframe as dd
    import pandas as pd

    n = 4 * max(1, len(scheduler_workers(client)))
    frame = pd.DataFrame({"a": range(2 * n), "b": [str(i) for i in range(2 * n)]})
    dd.from_pandas(frame, npartitions=n).map_partitions(_double).c.sum().compute()


def _uses_pandas(workload) -> bool:
    """A user's collection loaded with pandas imported (the seed case's own warm-up computation
    already uses pandas on the workers)."""
    from .workloads import CollectionWorkload

    return isinstance(workload, CollectionWorkload) and "pandas" in sys.modules


WARM_MODULES = ("numpy", "pandas", "pyarrow", "dask.array", "dask.dataframe", "dask.bag", "scipy",
                "sklearn", "xarray")


def _import_all(modules):
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001
            pass


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    proto = Proto()
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        return _main(args, proto)
    except Interrupted as e:
        proto.emit("error", kind="interrupted", text=f"interrupted by {e}")
        proto.emit("end")
        return EXIT_INTERRUPTED


def _main(args, proto) -> int:
    if not check_dependencies(proto):
        proto.emit("end")
        return EXIT_MISSING
    import logging

    import dask
    import distributed
    from distributed import Client, LocalCluster

    # Dask's logs go to stderr (never stdout).
    for name in ("distributed", "dask", "tornado", "asyncio"):
        lg = logging.getLogger(name)
        for h in list(lg.handlers):
            if getattr(h, "stream", None) is not None and h.stream is not sys.stderr:
                h.stream = sys.stderr
    proto.emit("hello", protocol=PROTOCOL, dask=dask.__version__, distributed=distributed.__version__,
               python=platform.python_version(), pid=os.getpid())

    from .workloads import CollectionWorkload, SeedWorkload
    from .replay import ReplayWorkload

    replays = dict(r.split("=", 1) for r in args.replay)
    if replays:
        strategies = list(replays)
    elif args.collection:
        strategies = args.strategy or ["as-given", "scatter", "delayed"]
    else:
        strategies = args.strategy or ["inline", "scatter", "delayed"]
    interval_s = max(args.interval_ms, 1.0) / 1000.0
    cluster = None
    client = None
    sampler = None
    exit_code = EXIT_OK
    try:
        if args.scheduler:
            try:
                client = Client(args.scheduler, timeout=args.timeout_s)
            except Exception as e:  # OSError / TimeoutError
                text = f"cannot reach the Dask scheduler at {args.scheduler} within {args.timeout_s:g} s: {type(e).__name__}: {e}"
                print(f"graphprof: {text}", file=sys.stderr)
                proto.emit("error", kind="unreachable", text=text)
                proto.emit("end")
                return EXIT_UNREACHABLE
            local = False
        else:
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   **local_directory_kwargs(args.local_directory))
            client = Client(cluster)
            client.wait_for_workers(args.workers, timeout=120)
            local = True

        try:
            client.wait_for_workers(1, timeout=args.timeout_s)
        except Exception:
            text = f"the Dask scheduler at {args.scheduler} has no workers after {args.timeout_s:g} s"
            print(f"graphprof: {text}", file=sys.stderr)
            proto.emit("error", kind="unreachable", text=text)
            proto.emit("end")
            return EXIT_UNREACHABLE
        if not local:
            ship_package(client)
        if replays:
            workload = ReplayWorkload(replays)
        elif args.collection:
            outputs = None
            if args.outputs:
                with open(args.outputs, encoding="utf-8") as fh:
                    outputs = json.load(fh)
            workload = CollectionWorkload(args.collection, outputs)
        else:
            workload = SeedWorkload(args.chunks, args.payload_bytes)
        workers = _discover(client, proto, local, fresh=True)
        try:
            from distributed.scheduler import heartbeat_interval

            hb = float(heartbeat_interval(len(workers)))
        except Exception:
            hb = 0.5
        baseline_s = baseline_seconds(interval_s, local, hb)
        warm_up(client, len(workers), dataframes=_uses_pandas(workload))
        sampler = make_sampler(proto, client, cluster, workers, local, interval_s, hb)
        sampler.start()
        initial = {w["address"] for w in workers}
        restart = local or args.restart_workers
        labels_seen: dict[str, int] = {}
        for i, strategy in enumerate(strategies):
            if replays:
                label = strategy
                strategy = label.split("/")[-1].split("#")[0]
            else:
                labels_seen[strategy] = labels_seen.get(strategy, 0) + 1
                label = strategy if labels_seen[strategy] == 1 else f"{strategy}#{labels_seen[strategy]}"
            fresh = i == 0 and local
            if restart and (i > 0 or not local):
                # Fresh workers per label: heap an earlier run freed but the allocator kept
                # would otherwise hide part of this run's memory.
                sampler.set_label(None, time.monotonic())
                if local:
                    # A new cluster: client.restart() on a LocalCluster sometimes waited its
                    # whole timeout for workers that had restarted (busy 2-core machine).
                    with sampler.lock:
                        old_client, old_cluster = client, cluster
                        client = None
                    try:
                        old_client.close(timeout=10)
                        old_cluster.close(timeout=20)
                    except Exception:  # noqa: BLE001
                        pass
                    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                           processes=True, host="127.0.0.1", dashboard_address=None,
                                           **local_directory_kwargs(args.local_directory))
                    client = Client(cluster)
                    client.wait_for_workers(args.workers, timeout=120)
                else:
                    client.restart(wait_for_workers=True)
                    client.wait_for_workers(len(workers), timeout=120)
                _addr_cache.update(t=0.0, v=set())
                workers = _discover(client, proto, local, fresh=True)
                sampler.reset_workers(workers, client=client,
                                      scheduler=cluster.scheduler if local else None)
                initial = {w["address"] for w in workers}
                warm_up(client, len(workers), dataframes=_uses_pandas(workload))
                fresh = True
            proto.emit("label", label=label, strategy=strategy, fresh_workers=fresh, order=i + 1)
            complete, err = run_strategy(proto, client, sampler, label, strategy, workload,
                                         args.hold_s, args.compute_timeout_s, initial, interval_s,
                                         baseline_s)
            if not complete:
                exit_code = EXIT_INCOMPLETE
                if err == "worker_died":
                    break
    except Interrupted:
        raise
    except Exception as e:  # noqa: BLE001
        import traceback

        traceback.print_exc(file=sys.stderr)
        proto.emit("error", kind="driver_failed", text=f"{type(e).__name__}: {e}")
        exit_code = EXIT_INCOMPLETE
    finally:
        # Never leave a cluster behind, also on error and Ctrl-C; a
        # --scheduler cluster is only disconnected from.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if sampler is not None:
            sampler.stop_evt.set()
            sampler.join(timeout=5)
        if client is not None:
            try:
                client.close(timeout=10)
            except Exception:
                pass
        if cluster is not None:
            try:
                cluster.close(timeout=20)
            except Exception:
                pass
    proto.emit("end")
    return exit_code
