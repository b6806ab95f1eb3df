"""How soon a refused graph's futures fail: the guard's refusal timed on a real cluster.

    nice -n 10 python python/bench/bench_refusal.py [--chunks 1024] [--repeat 5]

A ``LocalCluster`` of 2 worker processes on 127.0.0.1 with a :class:`GraphGuard` registered
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
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from distributed import Client, LocalCluster, futures_of, wait

    from graphprof.guard import REFUSED, GraphGuard
    from graphprof.seed import Mapper, seed_collection

    mapper = Mapper(30_000)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
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
    print(f"medians of {args.repeat}, {args.chunks} chunks: persist {statistics.median(persists):.3f} s, "
          f"compute {statistics.median(computes):.3f} s (goal: within 2 s)")


if __name__ == "__main__":
    main()
