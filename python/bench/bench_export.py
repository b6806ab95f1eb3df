"""Benchmark: exporting a large map_blocks collection against Dask's own work on it.

    .venv/bin/python python/bench/bench_export.py [CHUNKS] [RUNS]

Side by side in one process, per run: (a) Dask's own serialize of the collection as
Client.persist does, plus the scheduler's materialisation of the deserialized graph
(``__dask_graph__`` + ``convert_legacy_graph``), and (b) ``graphprof.collect.graph.export``
of the same collection to a file. Prints the medians, their ratio, and the peak RSS
each step adds (ru_maxrss is per process, so each step runs in a fresh child).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # python/: the package, tests


def _collection(chunks: int):
    sys.path.insert(0, HERE)
    from graphprof.seed import Mapper, mapper_len_for_bytes, seed_collection

    return seed_collection(chunks, Mapper(mapper_len_for_bytes(240 * 1024)))


def _step(kind: str, chunks: int) -> dict:
    import resource

    x = _collection(chunks)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    if kind == "dask":
        from dask._task_spec import convert_legacy_graph
        from distributed.protocol import deserialize

        from graphprof.collect.send import serialized_graph

        _, header, frames, _ = serialized_graph(x)
        copy = deserialize(header, frames)
        dsk = convert_legacy_graph(dict(copy.__dask_graph__()))
        tasks = len(dsk)
    else:
        from graphprof.collect.graph import export

        doc = export(x, os.path.join(os.environ.get("TMPDIR", "/tmp"), "graphprof-bench-export.json"))
        tasks = len(doc["tasks"])
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_kib": peak, "added_kib": peak - base, "tasks": tasks}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--step":
        print(json.dumps(_step(sys.argv[2], int(sys.argv[3]))))
        return
    chunks = int(sys.argv[1]) if len(sys.argv) > 1 else 131_072
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    rows = {"dask": [], "graphprof": []}
    for _ in range(runs):
        for kind in rows:  # alternate, so drift hits both alike
            out = subprocess.run([sys.executable, __file__, "--step", kind, str(chunks)],
                                 capture_output=True, text=True, check=True)
            rows[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in rows.items()}
    mem = {k: statistics.median(r["peak_kib"] for r in v) / 1024 for k, v in rows.items()}
    print(f"map_blocks seed collection, {chunks:,} chunks, {rows['dask'][0]['tasks']:,} tasks "
          f"materialised, {runs} runs each, alternating")
    print(f"  dask serialize + materialise   median {med['dask']:.2f} s   peak RSS {mem['dask']:.0f} MiB")
    print(f"  graphprof.collect.graph.export      median {med['graphprof']:.2f} s   peak RSS {mem['graphprof']:.0f} MiB")
    print(f"  ratio                          {med['graphprof'] / med['dask']:.2f}x time, "
          f"{mem['graphprof'] / mem['dask']:.2f}x peak RSS")


if __name__ == "__main__":
    main()
