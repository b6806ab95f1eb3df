"""What a worker keeps of the tasks that led to a result it holds.

Persists ``SCRIPT.py``'s ``result`` on a fresh LocalCluster (2 workers x 1 thread, loopback),
waits 1.5 s after every output finished, then asks each worker which tasks its state still has,
in which state, and whether it still has their ``run_spec`` (the deserialised task, with every
object embedded in it). Prints, per worker and per layer, ``(state, run_spec kept): count``.

    .venv/bin/python python/research/measure_held_ancestors.py fixtures/dask/delayed_pipeline.py
    .venv/bin/python python/research/measure_held_ancestors.py fixtures/dask/chain_pipeline.py
"""

import argparse
import importlib.util
import os
import sys
import time


def _load(path):
    import cloudpickle

    # A module name with ``__main__`` in it: distributed then pickles the script's functions by
    # value, as when the script runs as ``__main__`` (workers cannot import it).
    spec = importlib.util.spec_from_file_location("__main__held_ancestors", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    cloudpickle.register_pickle_by_value(module)
    return module


def _tasks(dask_worker):
    from dask.utils import key_split

    out = {}
    for key, ts in dask_worker.state.tasks.items():
        k = (key_split(key), ts.state, ts.run_spec is not None)
        out[k] = out.get(k, 0) + 1
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script")
    args = parser.parse_args(argv)
    from distributed import Client, LocalCluster, futures_of, wait

    program = _load(os.path.abspath(args.script))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        held = client.persist(program.result)
        wait(futures_of(held))
        time.sleep(1.5)
        for worker, tasks in sorted(client.run(_tasks).items()):
            print(worker)
            for (layer, state, kept), n in sorted(tasks.items()):
                print(f"  {layer:<12} {state:<9} run_spec {'kept' if kept else 'gone'}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
