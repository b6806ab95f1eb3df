"""What the workers hold, per layer, for the held-memory corpus (python/tests/programs/held/).

For each program (every ``*.py`` in ``python/tests/programs/held/``, or the names given) and each
strategy (``as-given``, ``scatter``, ``delayed``: the program's ``result``, or ``fixed(strategy,
client)``), on a FRESH ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``:

1. warm the workers as ``python/tests/test_held.py::measure_held`` does (a first array task, a
   dataframe task, a scatter and a worker-to-worker transfer; the procedure is copied here), and
   register a scheduler plugin that records which worker ran each task (``processing -> memory``);
2. read both workers' RSS (psutil on the workers' pids, median of 5 readings 0.2 s apart), persist,
   wait, sleep 1.5 s, read it again: the growth is the measured held memory, per worker and summed;
3. while the results are still held, probe each worker with ``client.run``: per task prefix
   (``dask.utils.key_split``), the tasks in each state; those whose result is in ``dask_worker.data``
   and the sum of ``dask.sizeof.sizeof`` over those results; the tasks that still have a
   ``run_spec``, per state, and the distinct objects those run_specs embed.

What "embedded" means: the run_spec is walked through ``dask._task_spec`` nodes (``Task.func``,
``.args``, ``.kwargs``; ``DataNode.value``; the inner graph of a fused ``_execute_subgraph`` task;
``Alias``/``TaskRef`` are references and hold nothing; a ``List``/``Dict``/``Tuple``/``Set`` node
of more than 16 items, what a legacy tuple task's literal container becomes, is one embedded object),
through tuples, lists and dicts of at most
8 items (argument structure), through ``functools.partial`` and through the program's own
functions (module name containing ``__main__``: pickled by value, so each task has its own copy of
what they carry): their closure cells and the globals their code names. A bound method whose
instance's class is the program's contributes the instance. Everything else that is not a scalar
(None, bool, number, str/bytes under 1 KiB, type, module, slice, range, dtype, library function)
is an embedded object, collected by ``id()``: one distinct id is one copy. Each distinct object is
sized once by a deep in-memory measure: ``cloudpickle`` round-trip under ``tracemalloc`` (the
traced bytes of a second ``loads``, its out-of-band buffers copied in: the method of
``graphprof.collect.payloads.in_memory_bytes``, re-implemented here to run on the worker).
Objects of at least 64 KiB are "large" (the shared object, a data partition); the JSON keeps all.

One JSON per run goes to the output folder (default /tmp/held-corpus/), named
``<program>--<strategy>.json``; a markdown table is printed at the end.

    nice -n 5 .venv/bin/python python/research/measure_held_corpus.py [NAME ...] [--out DIR]
"""

import argparse
import glob
import hashlib
import json
import os
import statistics
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.join(os.path.dirname(HERE), "tests")
HELD = os.path.join(TESTS, "programs", "held")
STRATEGIES = ("as-given", "scatter", "delayed")
LARGE = 64 * 1024
MB = 1e6


# --- on the scheduler: which worker ran each task -------------------------------------------

try:
    from distributed.diagnostics.plugin import SchedulerPlugin
except ImportError:  # pragma: no cover
    SchedulerPlugin = object


class RanOn(SchedulerPlugin):
    """Records, per task prefix, how many tasks finished on each worker (processing -> memory)."""

    name = "held-corpus-ran-on"

    def __init__(self):
        self.ran = {}

    def transition(self, key, start, finish, *args, **kwargs):
        if start == "processing" and finish == "memory":
            from dask.utils import key_split

            worker = kwargs.get("worker", "?")
            per = self.ran.setdefault(key_split(key), {})
            per[worker] = per.get(worker, 0) + 1


def _ran(dask_scheduler):
    plugin = dask_scheduler.plugins.get(RanOn.name)
    return plugin.ran if plugin is not None else {}


# --- on each worker: what its state keeps ---------------------------------------------------

def probe(dask_worker):
    """Per prefix: states, results in memory and their sizeof, run_specs kept and what they embed."""
    import functools
    import tracemalloc
    import types

    import cloudpickle
    import numpy as np
    from dask._task_spec import (Alias, DataNode, GraphNode, NestedContainer, Task, TaskRef,
                                 _execute_subgraph)
    from dask.sizeof import sizeof
    from dask.utils import key_split

    scalar_types = (type(None), bool, int, float, complex, type, types.ModuleType, slice, range,
                    np.dtype, np.generic, types.BuiltinFunctionType)

    def user_module(name):
        return "__main__" in (name or "")

    def code_names(code, acc):
        acc.update(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                code_names(const, acc)
        return acc

    def visit_callable(f, out, seen):
        if id(f) in seen:
            return
        seen.add(id(f))
        if isinstance(f, functools.partial):
            visit_callable(f.func, out, seen)
            for a in f.args:
                visit(a, out, seen)
            for v in (f.keywords or {}).values():
                visit(v, out, seen)
        elif isinstance(f, types.MethodType):
            owner = f.__self__
            if user_module(type(owner).__module__):
                out.append(owner)
        elif isinstance(f, types.FunctionType):
            if not user_module(f.__module__):
                return
            for cell in f.__closure__ or ():
                try:
                    visit(cell.cell_contents, out, seen)
                except ValueError:  # empty cell
                    pass
            for name in code_names(f.__code__, set()):
                if name in f.__globals__:
                    value = f.__globals__[name]
                    if not isinstance(value, type):
                        visit(value, out, seen)
        elif user_module(type(f).__module__):
            out.append(f)

    def visit(v, out, seen):
        if isinstance(v, (TaskRef, Alias)):
            return
        if isinstance(v, DataNode):
            visit(v.value, out, seen)
            return
        if (isinstance(v, NestedContainer) or (isinstance(v, Task) and getattr(
                v.func, "__qualname__", "") == "NestedContainer.to_container")) and len(v.args) > 16:
            # A literal container that a legacy (tuple) task was converted into (bag graphs): the
            # run_spec holds it as a Dict/List of its items, rebuilt at run time: one copy. (On the
            # worker it arrives as a plain Task whose func is NestedContainer.to_container.)
            out.append(v)
            return
        if isinstance(v, Task):
            if v.func is _execute_subgraph and v.args and isinstance(v.args[0], dict):
                for inner in v.args[0].values():
                    visit(inner, out, seen)
                rest = v.args[1:]
            else:
                visit_callable(v.func, out, seen)
                rest = v.args
            for a in rest:
                visit(a, out, seen)
            for k, a in v.kwargs.items():
                if k == "constructor":
                    continue
                visit(a, out, seen)
            return
        if isinstance(v, GraphNode):
            return
        if isinstance(v, scalar_types):
            return
        if isinstance(v, (str, bytes)):
            if len(v) >= 1024:
                out.append(v)
            return
        if isinstance(v, (tuple, list)) and len(v) <= 8:
            for x in v:
                visit(x, out, seen)
            return
        if isinstance(v, dict) and len(v) <= 8:
            for x in v.values():
                visit(x, out, seen)
            return
        if isinstance(v, (types.FunctionType, types.MethodType, functools.partial)):
            visit_callable(v, out, seen)
            return
        out.append(v)

    def in_memory(obj):
        buffers = []
        try:
            head = cloudpickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
            raws = [b.raw() for b in buffers]
            first = cloudpickle.loads(head, buffers=[bytearray(b) for b in raws])
            before = tracemalloc.get_traced_memory()[0]
            second = cloudpickle.loads(head, buffers=[bytearray(b) for b in raws])
            after = tracemalloc.get_traced_memory()[0]
            del first, second
            return max(0, after - before)
        except Exception:
            return None

    prefixes = {}
    objects = {}  # id -> object (kept alive by the run_spec anyway)
    for key, ts in list(dask_worker.state.tasks.items()):
        prefix = key_split(key)
        p = prefixes.setdefault(prefix, {"states": {}, "in_memory": 0, "in_memory_sizeof": 0,
                                         "run_spec": {}, "_ids": {}, "_refs": {}})
        p["states"][ts.state] = p["states"].get(ts.state, 0) + 1
        if key in dask_worker.data:
            p["in_memory"] += 1
            try:
                p["in_memory_sizeof"] += int(sizeof(dask_worker.data[key]))
            except Exception:
                pass
        if ts.run_spec is not None:
            p["run_spec"][ts.state] = p["run_spec"].get(ts.state, 0) + 1
            out = []
            visit(ts.run_spec, out, set())
            ids = p["_ids"].setdefault(ts.state, set())
            p["_refs"][ts.state] = p["_refs"].get(ts.state, 0) + len(out)
            for obj in out:
                objects[id(obj)] = obj
                ids.add(id(obj))

    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    try:
        sizes = {i: in_memory(o) for i, o in objects.items()}
    finally:
        if not tracing:
            tracemalloc.stop()

    worker_large = set()
    for prefix, p in prefixes.items():
        embedded = {}
        for state, ids in p.pop("_ids").items():
            large = [i for i in ids if (sizes.get(i) or 0) >= LARGE]
            worker_large.update(large)
            kinds = {}
            for i in large:
                kind = type(objects[i]).__name__
                kinds[kind] = kinds.get(kind, 0) + 1
            embedded[state] = {
                "references": p["_refs"].get(state, 0),
                "distinct_objects": len(ids),
                "distinct_bytes": sum(sizes.get(i) or 0 for i in ids),
                "unsized": sum(1 for i in ids if sizes.get(i) is None),
                "large_copies": len(large),
                "large_bytes": sum(sizes[i] for i in large),
                "large_types": kinds,
                "large_each": sorted({sizes[i] for i in large})[:3] + (["..."] if len({sizes[i] for i in large}) > 3 else []),
            }
        p.pop("_refs")
        p["embedded"] = embedded
    return {"prefixes": prefixes,
            "data_keys": len(dask_worker.data),
            "data_sizeof": int(sum(sizeof(v) for v in dask_worker.data.values())),
            "large_distinct": len(worker_large),
            "large_distinct_bytes": int(sum(sizes[i] for i in worker_large)),
            "all_distinct_bytes": int(sum(s or 0 for s in sizes.values()))}


# --- the run -------------------------------------------------------------------------------

def _rss(pids) -> dict:
    import psutil

    return {p: psutil.Process(p).memory_info().rss for p in pids}


def _steady_rss(pids, readings: int = 5, gap_s: float = 0.2) -> dict:
    values = {p: [] for p in pids}
    for _ in range(readings):
        for p, v in _rss(pids).items():
            values[p].append(v)
        time.sleep(gap_s)
    return {p: statistics.median(v) for p, v in values.items()}


def measure(program, strategy: str) -> dict:
    """One run on a fresh cluster: RSS growth per worker, and each worker's probe while held."""
    import dask.array as da
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    from distributed import Client, LocalCluster, futures_of, wait

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        pid_of = client.run(os.getpid)
        pids = list(pid_of.values())
        assert len(pids) == 2
        # Warm-up: copied from python/tests/test_held.py::measure_held.
        da.ones(8, chunks=2).map_blocks(lambda b: b + 1, dtype=float).sum().compute()
        frame = pd.DataFrame({"a": np.arange(8), "b": [str(i) for i in range(8)]})
        dd.from_pandas(frame, npartitions=2).map_partitions(lambda p: p.assign(c=p.a * 2)).c.sum().compute()
        [small] = client.scatter([list(range(1000))], broadcast=True)
        first, second = list(client.run(os.getpid))  # not scheduler_info(): see graphprof.sampler.cluster.scheduler_workers
        built = client.submit(lambda n: list(range(n)), 1000, workers=[first], pure=False)
        assert client.submit(lambda a, b: len(a) + len(b), built, small, workers=[second]).result() == 2000
        del small, built
        client.register_plugin(RanOn())
        time.sleep(1.0)
        before = _steady_rss(pids)
        t0 = time.perf_counter()
        collection = program.result if strategy == "as-given" else program.fixed(strategy, client)
        persisted = client.persist(collection)
        futures = futures_of(persisted)
        wait(futures, timeout=300)
        elapsed = time.perf_counter() - t0
        time.sleep(1.5)  # past a heartbeat
        held = _steady_rss(pids)
        statuses = sorted({f.status for f in futures})
        who_has = client.who_has(futures)
        probes = client.run(probe)
        ran = client.run_on_scheduler(_ran)
        del persisted, collection, futures
    holds = {}
    for workers in who_has.values():
        for w in workers:
            holds[w] = holds.get(w, 0) + 1
    workers = {}
    for addr in sorted(pid_of):
        p = pid_of[addr]
        workers[addr] = {"pid": p, "rss_before": int(before[p]), "rss_held": int(held[p]),
                         "rss_growth": int(held[p] - before[p]), "holds_outputs": holds.get(addr, 0),
                         "probe": probes[addr]}
    return {"strategy": strategy, "statuses": statuses, "outputs": len(who_has),
            "persist_s": round(elapsed, 3),
            "rss_growth": int(sum(held.values()) - sum(before.values())),
            "workers": workers, "ran": ran}


# --- the table -----------------------------------------------------------------------------

def summary(run: dict) -> str:
    """Per prefix, per worker: results in memory, run_specs kept of tasks it ran, large copies."""
    addrs = sorted(run["workers"])
    label = {a: f"w{i}{'*' if run['workers'][a]['holds_outputs'] else ''}" for i, a in enumerate(addrs)}
    prefixes = sorted({p for a in addrs for p in run["workers"][a]["probe"]["prefixes"]} | set(run["ran"]))
    parts = []
    for prefix in prefixes:
        total_ran = sum(run["ran"].get(prefix, {}).values())
        cells = []
        for a in addrs:
            p = run["workers"][a]["probe"]["prefixes"].get(prefix)
            ran_here = run["ran"].get(prefix, {}).get(a, 0)
            if p is None:
                continue
            bits = []
            if p["in_memory"]:
                bits.append(f"mem {p['in_memory']} ({p['in_memory_sizeof'] / MB:.1f} MB)")
            kept = {s: n for s, n in p["run_spec"].items() if s != "memory"}
            if kept:
                bits.append("spec " + "+".join(f"{n} {s}" for s, n in sorted(kept.items())) + f" of {ran_here} ran")
            large = sum(e["large_copies"] for e in p["embedded"].values())
            large_b = sum(e["large_bytes"] for e in p["embedded"].values())
            if large:
                states = "+".join(f"{e['large_copies']}" + ("m" if s == "memory" else "r" if s == "released" else s[:2])
                                  for s, e in sorted(p["embedded"].items()) if e["large_copies"])
                bits.append(f"{states} copies {large_b / MB:.1f} MB")
            if not bits:
                other = "+".join(f"{n} {s}" for s, n in sorted(p["states"].items()))
                bits.append(other)
            cells.append(f"{label[a]}: " + ", ".join(bits))
        if cells:
            parts.append(f"**{prefix}** ({total_ran} ran) " + "; ".join(cells))
    return "<br>".join(parts)


def table(results) -> str:
    rows = ["| program | strategy | RSS growth MB (w0 / w1) | large embedded, distinct per worker MB | per prefix: in memory, run_specs kept, large copies |",
            "|---|---|---|---|---|"]
    for name, run in results:
        if "error" in run:
            rows.append(f"| {name} | {run['strategy']} | error | | {run['error'][:200]} |")
            continue
        addrs = sorted(run["workers"])
        per = " / ".join(f"{run['workers'][a]['rss_growth'] / MB:.1f}" for a in addrs)
        emb = " / ".join(f"{run['workers'][a]['probe']['large_distinct_bytes'] / MB:.1f}" for a in addrs)
        status = "" if run["statuses"] == ["finished"] else f" ({','.join(run['statuses'])})"
        rows.append(f"| {name} | {run['strategy']}{status} | {run['rss_growth'] / MB:.1f} ({per}) | {emb} | {summary(run)} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="programs in programs/held (default: all)")
    parser.add_argument("--out", default="/tmp/held-corpus/")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    args = parser.parse_args(argv)
    sys.path.insert(0, TESTS)
    import truth

    names = args.names or sorted(os.path.splitext(os.path.basename(p))[0]
                                 for p in glob.glob(os.path.join(HELD, "*.py")))
    os.makedirs(args.out, exist_ok=True)
    results = []
    for name in names:
        path = os.path.join(HELD, f"{name}.py")
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()[:16]  # which version of the program ran
        program = truth.load_program(path)
        for strategy in args.strategies.split(","):
            t0 = time.perf_counter()
            try:
                run = measure(program, strategy)
            except Exception as exc:  # report and go on
                run = {"strategy": strategy, "error": f"{type(exc).__name__}: {exc}",
                       "traceback": traceback.format_exc()}
            run["program"] = name
            run["program_sha256"] = digest
            run["wall_s"] = round(time.perf_counter() - t0, 1)
            with open(os.path.join(args.out, f"{name}--{strategy}.json"), "w", encoding="utf-8") as fh:
                json.dump(run, fh, indent=1, default=str)
            results.append((name, run))
            line = run.get("error") or f"{run['rss_growth'] / MB:.1f} MB, persist {run['persist_s']} s"
            print(f"{name} {strategy}: {line} (wall {run['wall_s']} s)", file=sys.stderr, flush=True)
    text = table(results)
    with open(os.path.join(args.out, "table.md"), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
