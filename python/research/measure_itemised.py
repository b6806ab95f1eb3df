"""Measure what a Python container leaves in worker RSS when a fix sends it on its own, for
docs/DASK.md and ``ITEMISED_*`` in src/graph/held.rs.

distributed sends a list, tuple, set or dict that travels on its own (``client.scatter``, a worker
fetching another task's result: ``to_serialize``) item by item: one sub-header and one frame per
item, not one pickle as inside a task. The per-item temporaries on both ends are freed, but the
workers' RSS keeps much of them (glibc keeps freed heap below its top; pymalloc keeps an arena
while one object in it lives; distributed's context meter keeps a float per item deserialised).

Workloads that are not the held-memory test programs: containers of ints, floats and strings,
each mapped over 32 chunks of 1,000 float64 by ``block + len(obj)`` with the container scattered
(``client.scatter([obj], broadcast=True)``) or built by a delayed task, one FRESH LocalCluster
(2 worker processes x 1 thread) per run, warmed as ``tests/test_held.py`` warms it. Residue =
RSS growth while the results are held, less the results (8,000 B), the bookkeeping (9,130 B) per
chunk and, for scatter, the container held on each worker (its in-memory size, measured as the
exporter does); per worker, per object (scatter: list items, dict keys and values, which stay
alive between the freed temporaries) and per item (delayed: the container is freed; what stays
is per item of the message).

    .venv/bin/python python/research/measure_itemised.py [KIND:N:STRATEGY ...]
"""

import os
import statistics
import sys
import time

KINDS = {
    "intlist": lambda n: list(range(10**6, 10**6 + n)),
    "floatlist": lambda n: [i * 0.37 for i in range(n)],
    "strfloatdict": lambda n: {f"k{i}": i * 0.5 for i in range(n)},
    "intstrdict": lambda n: {i: str(i) for i in range(n)},
}
DEFAULT = ["intlist:100000", "floatlist:200000", "strfloatdict:50000", "intstrdict:50000"]
CHUNKS = 32


def make(kind, n):
    return KINDS[kind](n)


def use(block, obj):
    return block + len(obj)


def in_memory(obj) -> int:
    """Bytes one deserialised copy holds: the second load under tracemalloc (as the exporter)."""
    import pickle
    import tracemalloc

    data = pickle.dumps(obj)
    pickle.loads(data)
    tracemalloc.start()
    copy = pickle.loads(data)  # noqa: F841 - held while measured
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return size


def _rss(pids) -> float:
    import psutil

    values = []
    for _ in range(5):
        values.append(sum(psutil.Process(p).memory_info().rss for p in pids))
        time.sleep(0.2)
    return statistics.median(values)


def run(kind: str, n: int, strategy: str) -> int:
    """RSS growth (bytes, both workers) while the results are held."""
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster, futures_of, wait

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        da.ones(8, chunks=2).map_blocks(lambda b: b + 1, dtype=float).sum().compute()
        [small] = client.scatter([list(range(1000))], broadcast=True)
        first, second = list(client.run(os.getpid))  # not scheduler_info(): see graphprof.sampler.cluster.scheduler_workers
        built = client.submit(lambda n: list(range(n)), 1000, workers=[first], pure=False)
        total = client.submit(lambda a, b: len(a) + len(b), built, small, workers=[second])
        assert total.result() == 2000
        del small, built
        time.sleep(1.0)
        before = _rss(pids)
        if strategy == "scatter":
            arg = client.scatter([make(kind, n)], broadcast=True)[0]
        else:
            arg = dask.delayed(make)(kind, n)
        blocks = da.ones(CHUNKS * 1000, chunks=1000)
        persisted = client.persist(blocks.map_blocks(use, arg, dtype=float))
        wait(futures_of(persisted))
        time.sleep(1.5)
        return int(_rss(pids) - before)


def main(argv: list) -> None:
    specs = argv or [f"{s}:{strategy}" for s in DEFAULT for strategy in ("scatter", "delayed")]
    print("| container | strategy | RSS growth | in-memory | residue | per worker per object "
          "| per worker per item |")
    print("|---|---|---|---|---|---|---|")
    for spec in specs:
        kind, n, strategy = spec.split(":")
        n = int(n)
        obj = make(kind, n)
        objects = 2 * n if isinstance(obj, dict) else n
        size = in_memory(obj)
        grew = run(kind, n, strategy)
        residue = grew - CHUNKS * (8000 + 9130) - (2 * size if strategy == "scatter" else 0)
        print(f"| {kind} {n:,} | {strategy} | {grew:,} | {size:,} | {residue:,} | "
              f"{residue / 2 / objects:.0f} B | {residue / 2 / n:.0f} B |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
