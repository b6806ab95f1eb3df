"""Measure what a pandas object's first transfer between processes leaves in the workers' RSS,
on each end, for docs/DASK.md and ``PANDAS_FIRST_*`` in src/graph/held.rs.

One FRESH LocalCluster (2 worker processes x 1 thread) per run, warmed as
``tests/test_held.py`` warms it (a first array task, dataframe task, scatter and
worker-to-worker transfer). Then, with the workers' RSS read before and after (steady, once the
scheduler has forgotten every key):

- ``fetch``: the object is embedded in a task on worker A (``dask.delayed(obj)``'s data task:
  it arrives from the client in the task's run_spec) and used by a task on worker B (``len``),
  B fetching it from A: both results are then released. A received it from the client and sent
  it to B; B received it from A.
- ``scatter``: the client scatters it to both workers (``broadcast=True``: distributed sends it
  to one worker, A, which sends it on to the other, B), a task on each uses it, all is
  released.

Nothing of the object is held at the end, so what either worker grew by is heap its transfer
left. ``KIND``: ``table`` (df_table_arg's table: 30,000 rows, an int, a float and a string
column), ``widetable`` (the same with 8 more float columns), ``labels`` (its string
column alone, a Series), ``objtable`` (the strings as Python objects), ``numframe`` (3 numeric columns, 44,000
rows), ``ndarray`` (131,072 random float64).

    .venv/bin/python python/research/measure_whole_transfer.py [RUNS [KIND ...]]
"""

import os
import statistics
import sys
import time

KINDS = ("table", "widetable", "labels", "objtable", "numframe", "ndarray")


def make(kind):
    import numpy as np
    import pandas as pd

    n = 30_000
    table = pd.DataFrame({"code": np.arange(n), "rate": np.arange(n) * 0.01,
                          "label": [f"label-{i:05d}" for i in range(n)]})
    if kind == "table":
        return table
    if kind == "widetable":
        return table.assign(**{f"x{i}": np.arange(n) * 0.5 + i for i in range(8)})
    if kind == "labels":
        return table["label"]
    if kind == "objtable":
        return table.astype({"label": object})
    if kind == "numframe":
        rng = np.random.default_rng(0)
        return pd.DataFrame({"a": rng.random(44_000), "b": rng.random(44_000), "c": np.arange(44_000)})
    if kind == "ndarray":
        return np.random.default_rng(0).random(131_072)
    raise SystemExit(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")


def _same(obj):
    return obj


def in_memory(obj) -> int:
    return int(obj.nbytes) if hasattr(obj, "dtype") else int(obj.memory_usage(deep=True).sum() if hasattr(obj, "columns") else obj.memory_usage(deep=True))


def _steady(pids) -> dict:
    import psutil

    readings = []
    for _ in range(5):
        readings.append({p: psutil.Process(p).memory_info().rss for p in pids})
        time.sleep(0.1)
    return {p: statistics.median(r[p] for r in readings) for p in pids}


def _forgotten(client, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
            return
        time.sleep(0.2)


def run(kind: str, mode: str) -> tuple[float, float]:
    """(end A, end B) RSS growth in bytes."""
    import dask.array as da
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        a, b = sorted(client.run(os.getpid))  # not scheduler_info(): see graphprof.sampler.cluster.scheduler_workers
        pids = client.run(os.getpid)
        da.ones(8, chunks=2).map_blocks(lambda x: x + 1, dtype=float).sum().compute()
        frame = pd.DataFrame({"a": np.arange(8), "b": [str(i) for i in range(8)]})
        dd.from_pandas(frame, npartitions=2).map_partitions(lambda p: p.assign(c=p.a * 2)).c.sum().compute()
        [small] = client.scatter([list(range(1000))], broadcast=True)
        built = client.submit(lambda n: list(range(n)), 1000, workers=[a], pure=False)
        client.submit(lambda x, y: len(x) + len(y), built, small, workers=[b]).result()
        del small, built
        _forgotten(client)
        before = _steady(pids.values())
        if mode == "fetch":
            obj = client.submit(_same, make(kind), workers=[a], pure=False)
            assert client.submit(len, obj, workers=[b], pure=False).result() > 0
        else:
            [obj] = client.scatter([make(kind)], broadcast=True)
            for w in (a, b):
                assert client.submit(len, obj, workers=[w], pure=False).result() > 0
        del obj
        _forgotten(client)
        time.sleep(0.5)
        after = _steady(pids.values())
        return after[pids[a]] - before[pids[a]], after[pids[b]] - before[pids[b]]


def main(argv):
    runs = int(argv[0]) if argv else 3
    for kind in argv[1:] or KINDS:
        size = in_memory(make(kind))
        for mode in ("fetch", "scatter"):
            ends = [run(kind, mode) for _ in range(runs)]
            a = [e[0] / size for e in ends]
            b = [e[1] / size for e in ends]
            print(f"{kind} ({size / 1e6:.2f} MB in memory) {mode}: end A "
                  + " / ".join(f"{x:.2f}" for x in a) + f" (median {statistics.median(a):.2f}), end B "
                  + " / ".join(f"{x:.2f}" for x in b) + f" (median {statistics.median(b):.2f}) x its size",
                  flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
