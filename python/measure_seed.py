"""Measure the seed case for docs/DASK.md: distributed's wire bytes per
strategy vs the exporter's wire model, and held RSS per worker.

    .venv/bin/python python/measure_seed.py 256 1024
"""

import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "tests"))

PAYLOAD = 240 * 1024


def exporter_figures(chunks):
    import dask
    from distributed import Client, LocalCluster

    from graphcheck import check_graph, payload_uses, wire_model
    from graphprof.exporter import build_graph
    from graphprof.seed import Mapper, make_mapper, mapper_len_for_bytes, seed_collection

    n = mapper_len_for_bytes(PAYLOAD)
    out = {}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c, \
            Client(c) as client:
        for strat in ("inline", "scatter", "delayed"):
            if strat == "inline":
                arg = Mapper(n)
            elif strat == "delayed":
                arg = dask.delayed(make_mapper)(n)
            else:
                arg = client.scatter(Mapper(n), broadcast=True)
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
    cmd = [sys.executable, "-m", "graphprof.dask_run", "driver", "--strategy", "inline", "--strategy", "scatter",
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


if __name__ == "__main__":
    for chunks in [int(a) for a in sys.argv[1:]] or [256, 1024]:
        print(json.dumps({"chunks": chunks, "exporter": exporter_figures(chunks)}), flush=True)
        print(json.dumps({"chunks": chunks, "driver": driver_figures(chunks)}), flush=True)
