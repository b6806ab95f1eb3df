"""How soon a refused graph's futures fail: the guard's refusal timed on a real cluster.

    nice -n 10 python python/bench/bench_refusal.py [--chunks 1024] [--repeat 5] [--local-cluster]

A cluster as the guard's test starts it (``dask scheduler`` and 2 ``dask worker`` processes on
127.0.0.1, python/tests/guard_cluster.py; with ``--local-cluster``, a ``LocalCluster`` of 2 worker
processes, whose scheduler shares this process and its GIL with the client) with a
:class:`GraphGuard` registered
(``refuse_duplicated="100 MB"``) receives the seed case -- a 236 KiB Mapper embedded in each of
``--chunks`` blocks -- ``--repeat`` times by ``persist()`` (seconds from the call until every
future has erred) and as many by ``compute()`` of its sum (seconds until it raises), alternating,
after one small graph that runs (imports and first-use caches). Prints each send, then the
medians. The goal (issue 22, item 5): within 2 s of the call. A benchmark, not a test: the
test suite checks what makes it fast (the scheduler errs the tasks itself; no worker runs one,
python/tests/test_guard.py), not the seconds a shared machine happens to show.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--local-cluster", action="store_true",
                        help="a LocalCluster (the scheduler in this process) instead of separate processes")
    args = parser.parse_args()

    from contextlib import ExitStack

    from distributed import Client, LocalCluster, futures_of, wait
    from guard_cluster import Cluster

    from graphprof.guard import REFUSED, GraphGuard
    from graphprof.seed import Mapper, seed_collection

    mapper = Mapper(30_000)
    with ExitStack() as stack:
        if args.local_cluster:
            address = stack.enter_context(LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                       host="127.0.0.1", dashboard_address=None))
        else:
            address = stack.enter_context(Cluster(workers=2))
        client = stack.enter_context(Client(address, timeout=60))
        client.register_plugin(GraphGuard(refuse_duplicated="100 MB"))
        seed_collection(4, mapper).sum().compute()
        persists, computes = [], []
        for i in range(args.repeat):
            started = time.monotonic()
            futures = futures_of(seed_collection(args.chunks, mapper).persist())
            wait(futures, timeout=300)
            persists.append(time.monotonic() - started)
            assert all(f.status == "error" for f in futures), "a future did not err"
            del futures
            started = time.monotonic()
            try:
                seed_collection(args.chunks, mapper).sum().compute()
            except RuntimeError as error:
                assert str(error).startswith(REFUSED), error
            else:
                raise AssertionError("compute() was not refused")
            computes.append(time.monotonic() - started)
            print(f"send {i + 1}: persist's futures erred after {persists[-1]:.3f} s, "
                  f"compute() raised after {computes[-1]:.3f} s", flush=True)
    where = "LocalCluster" if args.local_cluster else "separate scheduler process"
    print(f"{where}: medians of {args.repeat}, {args.chunks} chunks: persist {statistics.median(persists):.3f} s, "
          f"compute {statistics.median(computes):.3f} s (goal: within 2 s)")


if __name__ == "__main__":
    main()
