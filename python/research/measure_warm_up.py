"""Does warming a user's collection up before the baseline hide the run's own memory?

On a fresh LocalCluster (2 workers x 1 thread, loopback), after the driver's warm-up (a tiny seed
computation, the libraries imported), optionally ``--collection``: the collection's graph
rewritten for scatter, culled to one output per worker, computed on that worker and released
(the scattered objects kept alive, so no deserialised copy of a payload is freed). Then each
worker holds N fresh deserialised copies of the script's ``TABLE`` (1,858,968 B each for
fixtures/dask/user_pipeline.py) and the workers' RSS growth above the baseline is compared with
what the copies take. A growth below that is memory the warm-up freed and the copies took over.

    .venv/bin/python python/research/measure_warm_up.py 12              # driver warm-up only
    .venv/bin/python python/research/measure_warm_up.py 12 --collection # and the collection's warm-up
"""

import argparse
import gc
import os
import pickle
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # python/: the package, tests
sys.path.insert(0, HERE)
SCRIPT = os.path.join(os.path.dirname(HERE), "fixtures", "dask", "user_pipeline.py")
MiB = 1 << 20


def _copies(blob, n):
    return [pickle.loads(blob) for _ in range(n)]


def _rss(pids):
    from graphprof.sampler.thread import read_rss

    return sum(read_rss(p) or 0 for p in pids)


def warm_up_collection(collection, client, addresses):
    """One output per worker of the collection's scatter rewrite, computed there and released;
    returns the scattered futures (kept by the caller)."""
    from dask.core import flatten
    from distributed import wait

    from graphprof.run.rewriter import _graph_copy, rewrite_graph
    from graphprof.run.workloads import cull_graph

    dsk, keys = _graph_copy(collection, client)
    dsk, moved = rewrite_graph(dsk, "scatter", client=client)
    outputs = list(flatten(keys)) if isinstance(keys, list) else [keys]
    n = min(len(addresses), len(outputs))
    picks = [outputs[i * len(outputs) // n] for i in range(n)]
    futures = [client.get(cull_graph(dsk, [k]), [k], sync=False, workers=[a])
               for k, a in zip(picks, addresses)]
    wait(list(flatten(futures)))
    return list(moved.futures)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("copies", type=int, help="deserialised copies of TABLE held per worker")
    p.add_argument("--collection", action="store_true", help="warm the collection up first")
    args = p.parse_args()
    from distributed import Client, LocalCluster, wait

    from graphprof import driver
    from graphprof.run.workloads import load_as_main

    collection = load_as_main(f"{SCRIPT}:result")
    blob = pickle.dumps(sys.modules["__main__"].TABLE)
    table_bytes = 1_858_968
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    client = Client(cluster)
    try:
        client.wait_for_workers(2)
        pid_of = client.run(os.getpid)
        addresses = sorted(pid_of)
        pids = [pid_of[a] for a in addresses]
        driver.warm_up(client, len(addresses))
        before = _rss(pids)
        kept = warm_up_collection(collection, client, addresses) if args.collection else []
        gc.collect()
        time.sleep(1.5)
        baseline = _rss(pids)
        held = [client.submit(_copies, blob, args.copies, workers=[a], pure=False)
                for a in addresses]
        wait(held)
        time.sleep(1.0)
        growth = _rss(pids) - baseline
        expected = len(addresses) * args.copies * table_bytes
        print(f"collection warm-up: {'yes' if args.collection else 'no'}; its charge "
              f"{(baseline - before) / MiB:.1f} MiB ({len(kept)} objects kept); "
              f"{args.copies} copies per worker held {growth / MiB:.1f} MiB of "
              f"{expected / MiB:.1f} MiB ({(growth - expected) / MiB:+.1f} MiB)")
        del held, kept
    finally:
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
