"""What the live guard adds to the scheduler's ``update_graph``, side by side in one run.

    python python/bench_guard.py [--tasks 100000] [--repeat 5]

A scheduler (in this process, no workers, so nothing runs) receives the seed case -- a Mapper
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
import uuid


def one_send(client, cluster, chunks: int, mapper) -> float:
    """Persist a fresh seed collection, return the scheduler's update-graph duration, release."""
    import dask.array as da
    import numpy as np
    from distributed import futures_of

    from graphprof_dask.seed import lookup

    x = da.arange(chunks * 10, chunks=10).map_blocks(
        lookup, mapper, dtype=np.int64, meta=np.empty((0,), dtype=np.int64),
        name=f"lookup-{uuid.uuid4().hex}")
    before = len(client.get_events(client.id))
    persisted = x.persist()
    deadline = time.monotonic() + 600
    while True:
        events = [e for _, e in client.get_events(client.id)[before:]
                  if isinstance(e, dict) and e.get("action") == "update-graph"]
        if events or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    client.cancel(futures_of(persisted))
    del persisted
    while cluster.scheduler.tasks and time.monotonic() < deadline:
        time.sleep(0.05)
    return float(events[0]["metrics"]["duration_seconds"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import dask
    from distributed import Client, LocalCluster

    from graphprof_dask.guard import PLUGIN_NAME, GraphGuard
    from graphprof_dask.seed import Mapper

    # Each chunk is a fused task plus its alias: --tasks keys in all.
    chunks = max(1, args.tasks // 2)
    mapper = Mapper(30000)
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "10GB"}), \
            LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        one_send(client, cluster, chunks, mapper)  # warm up imports and caches
        without, with_guard, guard_own = [], [], []
        for _ in range(args.repeat):
            for guarded in (False, True):
                if guarded:
                    client.register_plugin(GraphGuard())
                before = len(client.get_events("graphprof"))
                seconds = one_send(client, cluster, chunks, mapper)
                if guarded:
                    client.unregister_scheduler_plugin(PLUGIN_NAME)
                    found = client.get_events("graphprof")[before:]
                    guard_own.extend(e["guard_seconds"] for _, e in found if "guard_seconds" in e)
                    with_guard.append(seconds)
                else:
                    without.append(seconds)
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
