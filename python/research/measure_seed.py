"""Measure the seed case for docs/DASK.md: distributed's wire bytes per
strategy vs the exporter's wire model, and held RSS per worker.

    .venv/bin/python python/research/measure_seed.py 256 1024
    .venv/bin/python python/research/measure_seed.py --plain 1024   # by hand: fresh cluster per strategy, psutil RSS
"""

import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # python/: the package, tests
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "tests"))

PAYLOAD = 240 * 1024


def exporter_figures(chunks):
    from distributed import Client, LocalCluster

    from graphcheck import check_graph, payload_uses, wire_model
    from graphprof.collect.graph import build_graph
    from graphprof.seed import mapper_len_for_bytes, seed_collection, strategy_argument

    n = mapper_len_for_bytes(PAYLOAD)
    out = {}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c, \
            Client(c) as client:
        for strat in ("inline", "scatter", "delayed"):
            arg = strategy_argument(strat, n, client)
            doc = build_graph(seed_collection(chunks, arg), measure_wire=True, client=client)
            check_graph(doc)
            dup = {d: len(u) for d, u in payload_uses(doc).items() if len(u) > 1}
            out[strat] = {"measured": doc["measured"]["wire_bytes"], "model": wire_model(doc),
                          "tasks": len(doc["tasks"]), "duplicated_digests": dup,
                          "materialised": sum(t.get("spec_bytes", 64) for t in doc["tasks"]) + sum(
                              a["payload"]["size_bytes"] for t in doc["tasks"] for a in t.get("args", [])
                              if "payload" in a)}
            del arg
    return out


def driver_figures(chunks):
    env = dict(os.environ, PYTHONPATH=HERE)
    cmd = [sys.executable, "-m", "graphprof.run", "driver", "--strategy", "inline", "--strategy", "scatter",
           "--strategy", "delayed", "--chunks", str(chunks), "--payload-bytes", str(PAYLOAD),
           "--workers", "2", "--interval-ms", "100", "--hold-s", "2"]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    ev = [json.loads(x) for x in r.stdout.splitlines()]
    res = {"rc": r.returncode, "cmd": " ".join(cmd[1:])}
    for e in ev:
        if e["event"] == "wire":
            res.setdefault(e["label"], {})["wire"] = e["wire_bytes"]
            res[e["label"]]["warning"] = e["warning"]
        if e["event"] == "done":
            res.setdefault(e["label"], {})["held_median"] = e["held_median"]
            res[e["label"]]["complete"] = e["complete"]
    # baseline: median RSS before submit
    return res




def plain_ratio(chunks, strategies=("inline", "scatter", "delayed"), hold_s=1.5):
    """The seed case done by hand, without graphprof's driver: a new LocalCluster per strategy,
    psutil RSS of the worker pids (summed) read at four points, so each choice of baseline can be
    compared with graphprof's (after the warm-up, before the strategy builds its argument):

    - ``start``: right after the cluster came up, before any task ran (no warm-up);
    - ``warm``: after a tiny seed computation (pandas imported, first-task costs paid) and 1 s;
    - ``submit``: after the argument exists (for scatter: the broadcast Mapper on the workers);
    - ``held``: median of 5 reads 0.1 s apart, ``hold_s`` (> 2 heartbeats) after every result finished.
    """
    import psutil
    from distributed import Client, LocalCluster, wait

    from graphprof.seed import Mapper, mapper_len_for_bytes, seed_collection, strategy_argument

    def rss(pids):
        return sum(psutil.Process(p).memory_info().rss for p in pids)

    def settled(pids):
        values = []
        for _ in range(5):
            values.append(rss(pids))
            time.sleep(0.1)
        return statistics.median(values)

    n = mapper_len_for_bytes(PAYLOAD)
    out = {}
    for strat in strategies:
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            pids = list(client.run(os.getpid).values())
            time.sleep(1.0)
            start = settled(pids)
            warm = seed_collection(8, Mapper(16)).persist()
            wait(warm)
            del warm
            time.sleep(1.0)
            warm_rss = settled(pids)
            arg = strategy_argument(strat, n, client)
            if strat == "scatter":
                time.sleep(0.5)
            submit = settled(pids)
            x = seed_collection(chunks, arg).persist()
            wait(x)
            time.sleep(hold_s)
            held = settled(pids)
            tasks = sum(client.run(lambda dask_worker: len(dask_worker.state.tasks)).values())
            holders = len(client.who_has([arg])[arg.key]) if strat == "scatter" else None
            del x, arg
        out[strat] = {"start": start, "warm": warm_rss, "submit": submit, "held": held,
                      "worker_tasks": tasks, "scatter_holders": holders,
                      "held_above_warm": held - warm_rss, "held_above_start": held - start,
                      "held_above_submit": held - submit}
    s = out.get("scatter")
    if s and "inline" in out:
        i = out["inline"]
        out["ratio"] = {k: round(i[k] / s[k], 2) for k in
                        ("held_above_warm", "held_above_start", "held_above_submit")}
    return out


if __name__ == "__main__":
    args = sys.argv[1:]
    if args and args[0] == "--plain":
        for chunks in [int(a) for a in args[1:]] or [1024]:
            print(json.dumps({"chunks": chunks, "plain": plain_ratio(chunks)}), flush=True)
    else:
        for chunks in [int(a) for a in args] or [256, 1024]:
            print(json.dumps({"chunks": chunks, "exporter": exporter_figures(chunks)}), flush=True)
            print(json.dumps({"chunks": chunks, "driver": driver_figures(chunks)}), flush=True)
