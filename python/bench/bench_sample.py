"""What ``graphprof sample --engine dask`` costs, side by side in one run.

    nice -n 10 python python/bench/bench_sample.py [--graphprof target/release/graphprof]
        [--chunks 1024] [--repeat 3] [--interval 10ms] [--cpu-intervals 10,1] [--cpu-window 5]

Two measures, each repeated and reported as medians:

1. **Wall time.** ``graphprof sample --engine dask --chunks N --workers 2`` (three strategies,
   inline, scatter and delayed, each on a fresh LocalCluster) against a bare script that does the
   same three runs with a fresh LocalCluster each: start the cluster, build the seed collection
   (the same Mapper, the same functions: graphprof.seed), persist, wait, hold the results for
   the same ``--hold``, release, close the cluster. Both start a new Python process, so imports
   count on both sides. The runs alternate (graphprof, bare, graphprof, bare, ...) so that load
   from other jobs on the machine falls on both.

2. **Sampler CPU.** On one LocalCluster of 2 workers, idle, the CPU-seconds the client's process
   (which also hosts LocalCluster's scheduler, where MemorySampler's periodic callback runs)
   spends over ``--cpu-window`` seconds with no sampler, with distributed's ``MemorySampler`` and
   with graphprof's driver sampler (graphprof.sampler.thread.Sampler, its protocol lines written to
   /dev/null), at the same interval. The sampler's cost is the difference to no sampler. The
   windows alternate too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # python/: the package, tests

BARE = r"""
import sys, time
sys.path.insert(0, {here!r})
from distributed import Client, LocalCluster, wait
from graphprof import seed

chunks, workers, hold_s = {chunks}, {workers}, {hold_s}
n = seed.mapper_len_for_bytes({payload})
for strategy in ("inline", "delayed", "scatter"):  # the order graphprof runs them
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers)
        arg = seed.strategy_argument(strategy, n, client)
        x = seed.seed_collection(chunks, arg).persist()
        wait(x)
        time.sleep(hold_s)
        del x, arg
"""


def seconds(text: str) -> float:
    text = text.strip()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    if text.endswith("s"):
        return float(text[:-1])
    return float(text)


def timed(cmd: list[str], env: dict) -> float:
    started = time.monotonic()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall


def wall_times(args) -> None:
    env = dict(os.environ)
    env.setdefault("GRAPHPROF_PYTHON", sys.executable)
    bare = BARE.format(here=HERE, chunks=args.chunks, workers=args.workers,
                       hold_s=seconds(args.hold), payload=240 * 1024)
    ours, theirs = [], []
    with tempfile.TemporaryDirectory() as folder:
        for i in range(args.repeat):
            out = os.path.join(folder, f"run-{i}")
            ours.append(timed([args.graphprof, "sample", "--engine", "dask", "--chunks",
                               str(args.chunks), "--workers", str(args.workers), "--interval",
                               args.interval, "--hold", args.hold, "-o", out, "--quiet"], env))
            theirs.append(timed([sys.executable, "-c", bare], env))
            print(f"  run {i + 1}: graphprof {ours[-1]:.2f} s, bare {theirs[-1]:.2f} s", flush=True)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"wall, 3 strategies x {args.chunks} chunks, {args.workers} workers, interval "
          f"{args.interval}, hold {args.hold}, {args.repeat} runs each:")
    print(f"  graphprof sample --engine dask  median {a:.2f} s  ({', '.join(f'{t:.2f}' for t in ours)})")
    print(f"  bare script, fresh cluster each median {b:.2f} s  ({', '.join(f'{t:.2f}' for t in theirs)})")
    print(f"  ratio {a / b:.3f}x")


def sampler_cpu(args) -> None:
    sys.path.insert(0, HERE)
    from distributed import Client, LocalCluster
    from distributed.diagnostics import MemorySampler

    from graphprof.run.strategy import make_sampler
    from graphprof.run.protocol import Proto

    window = args.cpu_window
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client:
        client.wait_for_workers(args.workers)
        pids = client.run(os.getpid)
        workers = [{"id": i, "address": a, "pid": int(pids[a])} for i, a in enumerate(sorted(pids))]
        sink = open(os.devnull, "w", encoding="utf-8")
        time.sleep(1.0)

        def cpu_over(start, stop) -> tuple[float, int]:
            c0 = time.process_time()
            state = start()
            time.sleep(window)
            ticks = stop(state)
            return time.process_time() - c0, ticks

        for interval_ms in [float(x) for x in args.cpu_intervals.split(",")]:
            interval_s = interval_ms / 1000
            results = {"none": [], "MemorySampler": [], "graphprof": []}
            ticks = {"MemorySampler": [], "graphprof": []}

            def none_start():
                return None

            def none_stop(_):
                return 0

            def ms_start():
                ms = MemorySampler()
                ctx = ms.sample("bench", measure="process", interval=interval_s)
                ctx.__enter__()
                return ms, ctx

            def ms_stop(state):
                ms, ctx = state
                ctx.__exit__(None, None, None)
                return len(ms.samples["bench"])

            def gp_start():
                # Exactly as the driver makes it for a LocalCluster.
                sampler = make_sampler(Proto(sink), client, cluster, workers, True, interval_s, 0.5)
                sampler.set_label("bench", time.monotonic())
                sampler.set_phase("held")
                sampler.start()
                return sampler

            def gp_stop(sampler):
                sampler.stop_evt.set()
                sampler.join()
                return sampler.ticks

            kinds = {"none": (none_start, none_stop), "MemorySampler": (ms_start, ms_stop),
                     "graphprof": (gp_start, gp_stop)}
            for _ in range(args.repeat):
                for name, (start, stop) in kinds.items():
                    cpu, n = cpu_over(start, stop)
                    results[name].append(cpu)
                    if name in ticks:
                        ticks[name].append(n)
            base = statistics.median(results["none"])
            print(f"sampler CPU at {interval_ms:g} ms, {window:g} s windows, {args.repeat} each "
                  f"(CPU-seconds of the client+scheduler process; cost = minus 'none'):")
            print(f"  none           median {base:.3f} s")
            cost = {}
            for name in ("MemorySampler", "graphprof"):
                med = statistics.median(results[name])
                cost[name] = med - base
                print(f"  {name:<14} median {med:.3f} s, cost {cost[name]:.3f} s "
                      f"({cost[name] / window * 100:.1f}% of a core), readings {statistics.median(ticks[name]):g}")
            if cost["MemorySampler"] > 0:
                print(f"  graphprof / MemorySampler cost ratio {cost['graphprof'] / cost['MemorySampler']:.2f}x")
        sink.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphprof", default=os.path.join(HERE, "..", "target", "release", "graphprof"))
    parser.add_argument("--chunks", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--interval", default="10ms")
    parser.add_argument("--hold", default="0.5s")
    parser.add_argument("--cpu-intervals", default="10,1")
    parser.add_argument("--cpu-window", type=float, default=5.0)
    parser.add_argument("--skip-wall", action="store_true")
    parser.add_argument("--skip-cpu", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_cpu:
        sampler_cpu(args)
    if not args.skip_wall:
        wall_times(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
