"""What the live guard adds to the scheduler's ``update_graph``, side by side in one run.

    python python/bench_guard.py [--tasks 100000] [--repeat 5]

A fresh scheduler per send (in this process, no workers, so nothing runs) receives the seed case -- a Mapper
embedded in every block of a ``map_blocks`` -- with ``--tasks`` tasks, alternately with and
without a :class:`GraphGuard` registered. Each send's time is distributed's own figure: the
``duration_seconds`` of the scheduler's ``update-graph`` event (deserialisation, materialisation,
ordering, task states and the plugins). The guard's own time is the ``guard_seconds`` of its
finding. Prints medians and the overhead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def one_send(chunks: int, mapper, guarded: bool) -> tuple[float, list]:
    """A fresh scheduler (releasing 100,000 tasks costs distributed far more than receiving
    them) receives the seed collection; returns its update-graph duration and the guard's
    own times."""
    import dask.array as da
    import numpy as np
    from distributed import Client, LocalCluster

    from graphprof_dask.guard import GraphGuard
    from graphprof_dask.seed import lookup

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        if guarded:
            client.register_plugin(GraphGuard())
        x = da.arange(chunks * 10, chunks=10).map_blocks(
            lookup, mapper, dtype=np.int64, meta=np.empty((0,), dtype=np.int64))
        persisted = x.persist()
        deadline = time.monotonic() + 600
        while True:
            events = [e for _, e in client.get_events(client.id)
                      if isinstance(e, dict) and e.get("action") == "update-graph"]
            if events or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        own = [e["guard_seconds"] for _, e in client.get_events("graphprof")
               if "guard_seconds" in e]
        del persisted
        return float(events[0]["metrics"]["duration_seconds"]), own


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import dask

    from graphprof_dask.seed import Mapper

    # Each chunk is a fused task plus its alias: --tasks keys in all.
    chunks = max(1, args.tasks // 2)
    mapper = Mapper(30000)
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "10GB"}):
        one_send(max(1, chunks // 10), mapper, True)  # warm up imports and caches
        without, with_guard, guard_own = [], [], []
        for _ in range(args.repeat):
            for guarded in (False, True):
                seconds, own = one_send(chunks, mapper, guarded)
                print(f"  {'with' if guarded else 'without'} guard: {seconds:.3f} s",
                      file=sys.stderr, flush=True)
                (with_guard if guarded else without).append(seconds)
                guard_own.extend(own)
        a, b = statistics.median(without), statistics.median(with_guard)
        print(f"update_graph, {chunks * 2} tasks (seed case, {chunks} chunks), "
              f"{args.repeat} sends each, medians:")
        print(f"  without guard: {a:.3f} s   ({', '.join(f'{s:.3f}' for s in without)})")
        print(f"  with guard:    {b:.3f} s   ({', '.join(f'{s:.3f}' for s in with_guard)})")
        print(f"  overhead:      {100 * (b - a) / a:+.1f} %")
        if guard_own:
            print(f"  guard's own time (median of its findings): "
                  f"{statistics.median(guard_own):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
