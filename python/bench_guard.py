"""What the live guard adds to the scheduler's ``update_graph``, side by side in one run.

    nice -n 10 python python/bench_guard.py [--tasks 100000] [--repeat 8]

A fresh in-process scheduler per send (no workers, so nothing runs) receives the seed case -- a
Mapper embedded in every block of a ``map_blocks`` -- with ``--tasks`` tasks, without and with a
:class:`GraphGuard` registered, interleaved (pairs in alternating order: AB BA AB ...), so that
a slow spell of a shared machine falls on both. Measured per send:

- **CPU seconds of update_graph**: ``time.process_time()`` around the scheduler's own
  ``update-graph`` handler (deserialisation, materialisation and ordering in distributed's offload
  thread, task states, the plugins, the transitions). The client shares the scheduler's event loop
  and is idle while it runs, so this is the scheduler's CPU and not the machine's load: it does not
  count the time the process waits for a core, which is what makes wall-clock figures on a busy
  2-core machine untrustworthy.
- **The guard's own CPU seconds**: ``time.thread_time()`` around its ``update_graph`` hook (it runs
  on the event-loop thread), the direct measure of what it adds.
- Wall seconds of update_graph, for reference.

Prints each send, then medians and the ratios; a ``--profile FILE`` writes a cProfile of the
guard's hook on one more send.

Instruction counts, which the machine's load does not change:

    python python/bench_guard.py --tasks 20000 --repeat 3 --callgrind-run

runs this script again under ``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``, its dumps in a
fresh temporary folder), one dump per send: callgrind zeroes its counters when a send starts
(``getppid``) and dumps them when it ends (``getsid``), and also just before and after the
guard's hook. It checks that the dumps are exactly those, in the order the sends were made, and
prints each send's instructions (update_graph's, all threads), each pair's ratio and their median,
and the guard hook's own instructions: a synchronous call on the scheduler's loop, so its count
holds nothing else, where a with/without pair also carries what the loop does meanwhile (its
periodic callbacks, more of them the longer a send takes under valgrind). ``--callgrind`` alone only adds the two calls,
for a valgrind command of your own.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


MARKS = False  # --callgrind: mark the start and end of each update_graph with two libc calls


def guard_class():
    """A GraphGuard that records the CPU time of its own hook."""
    from graphprof.guard import GraphGuard

    class TimedGuard(GraphGuard):
        cpu_seconds: list

        def update_graph(self, scheduler, **kwargs) -> None:
            if MARKS:
                os.getsid(0)  # callgrind: the guard's own instructions are the next dump
            started = time.thread_time()
            try:
                super().update_graph(scheduler, **kwargs)
            finally:
                self.cpu_seconds.append(time.thread_time() - started)
                if MARKS:
                    os.getsid(0)

    return TimedGuard


async def one_send(chunks: int, mapper, guarded: bool, profile=None) -> dict:
    """One fresh scheduler receives the seed collection; returns the update-graph figures."""
    import dask.array as da
    import numpy as np
    from distributed import Client, Scheduler

    from graphprof.seed import lookup

    figures: dict = {}
    finished = asyncio.Event()
    async with Scheduler(dashboard=False, port=0, validate=False) as scheduler:
        guard = None
        if guarded:
            guard = guard_class()()
            guard.cpu_seconds = []
            if profile is not None:
                hook = guard.update_graph

                def profiled(*args, **kwargs):
                    profile.enable()
                    try:
                        hook(*args, **kwargs)
                    finally:
                        profile.disable()

                guard.update_graph = profiled
            scheduler.add_plugin(guard, name="graphprof-guard")
        handler = scheduler.stream_handlers["update-graph"]

        async def timed(*args, **kwargs):
            if MARKS:
                os.getppid()  # callgrind --zero-before=getppid
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                return await handler(*args, **kwargs)
            finally:
                if MARKS:
                    os.getsid(0)  # callgrind --dump-before=getsid
                figures["cpu_s"] = time.process_time() - cpu
                figures["wall_s"] = time.perf_counter() - wall
                finished.set()

        scheduler.stream_handlers["update-graph"] = timed
        async with Client(scheduler.address, asynchronous=True) as client:
            x = da.arange(chunks * 10, chunks=10).map_blocks(
                lookup, mapper, dtype=np.int64, meta=np.empty((0,), dtype=np.int64))
            persisted = client.persist(x)
            await asyncio.wait_for(finished.wait(), timeout=1800)
            figures["tasks"] = len(scheduler.tasks)
            if guard is not None:
                figures["guard_cpu_s"] = sum(guard.cpu_seconds)
                findings = [e for _, e in scheduler.get_events("graphprof")
                            if isinstance(e, dict) and e.get("verdict") != "error"]
                figures["finding"] = findings[0]["culprits"][0] if findings else None
            del persisted, x
            # Closing the scheduler first spares distributed releasing every task one by one.
            await scheduler.close()
    return figures


def fmt(values) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=8, help="sends with and without, each")
    parser.add_argument("--profile", help="write a cProfile of the guard's hook to this file")
    parser.add_argument("--callgrind", action="store_true",
                        help="call getppid() before and getsid() after each update_graph, for "
                             "valgrind --tool=callgrind --zero-before=getppid --dump-before=getsid "
                             "(one dump per send, in the order printed: instruction counts)")
    parser.add_argument("--callgrind-run", action="store_true",
                        help="run this benchmark under valgrind --tool=callgrind itself and print "
                             "each send's instruction count, the pairs' ratios and their median")
    parser.add_argument("--no-warm-up", action="store_true")
    args = parser.parse_args(argv)
    if args.callgrind_run:
        return callgrind_run(args)
    global MARKS
    MARKS = args.callgrind

    import logging
    import warnings

    import dask

    from graphprof.seed import Mapper

    import distributed  # noqa: F401  (its logging config first, then quieter)

    for name in [n for n in logging.root.manager.loggerDict if n.startswith("distributed")]:
        # The client's reconnect error after its scheduler is closed under it is expected.
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore", UserWarning)  # the guard's warning, sent to this client
    # Each chunk is a fused task plus its alias: --tasks keys in all.
    chunks = max(1, args.tasks // 2)
    mapper = Mapper(30000)
    config = {"distributed.admin.large-graph-warning-threshold": "10GB",
              "distributed.scheduler.validate": False}
    with dask.config.set(config):
        if not args.no_warm_up:  # imports, caches
            asyncio.run(one_send(max(1, chunks // 20), mapper, True))
        runs: dict[bool, list[dict]] = {False: [], True: []}
        for i in range(args.repeat):
            for guarded in ((False, True) if i % 2 == 0 else (True, False)):
                figures = asyncio.run(one_send(chunks, mapper, guarded))
                runs[guarded].append(figures)
                extra = (f", guard {figures['guard_cpu_s']:.3f} s CPU" if guarded else "")
                print(f"  {'with   ' if guarded else 'without'} guard: update_graph "
                      f"{figures['cpu_s']:.3f} s CPU, {figures['wall_s']:.3f} s wall{extra}",
                      file=sys.stderr, flush=True)
        if args.profile:
            import cProfile

            profile = cProfile.Profile()
            asyncio.run(one_send(chunks, mapper, True, profile))
            profile.dump_stats(args.profile)

    without, with_guard = runs[False], runs[True]
    tasks = without[0]["tasks"]
    a = statistics.median(r["cpu_s"] for r in without)
    b = statistics.median(r["cpu_s"] for r in with_guard)
    own = statistics.median(r["guard_cpu_s"] for r in with_guard)
    pairs = [w["cpu_s"] / o["cpu_s"] for o, w in zip(without, with_guard)]
    wall_a = statistics.median(r["wall_s"] for r in without)
    wall_b = statistics.median(r["wall_s"] for r in with_guard)
    finding = with_guard[0].get("finding")
    print(f"update_graph of {tasks} tasks (seed case, {chunks} chunks), fresh scheduler per send, "
          f"{args.repeat} sends each, interleaved (pairs AB BA ...); medians:")
    print(f"  CPU without guard: {a:.3f} s   ({fmt(r['cpu_s'] for r in without)})")
    print(f"  CPU with guard:    {b:.3f} s   ({fmt(r['cpu_s'] for r in with_guard)})")
    print(f"  CPU ratio with/without: {b / a:.3f}x ({100 * (b - a) / a:+.1f} %); median of the "
          f"{len(pairs)} pairs' own ratios {statistics.median(pairs):.3f}x "
          f"({', '.join(f'{r:.3f}' for r in pairs)})")
    print(f"  guard's own CPU:   {own:.3f} s   ({fmt(r['guard_cpu_s'] for r in with_guard)}) "
          f"= {100 * own / a:.1f} % of update_graph without it")
    print(f"  wall without / with: {wall_a:.3f} s / {wall_b:.3f} s "
          f"({100 * (wall_b - wall_a) / wall_a:+.1f} %, for reference only)")
    if finding:
        print(f"  the guard's finding: {finding['copies']} copies of one {finding['type']}, "
              f"{finding['duplicated_bytes']:,} B duplicated")
    else:
        print("  the guard found nothing: check the benchmark")
    return 0


def callgrind_run(args) -> int:
    """This benchmark under callgrind, one dump per send; prints the instructions side by side."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("bench_guard: --callgrind-run needs valgrind (apt install valgrind)", file=sys.stderr)
        return 2
    inner = [sys.executable, str(Path(__file__).resolve()), "--tasks", str(args.tasks),
             "--repeat", str(args.repeat), "--callgrind"] + (["--no-warm-up"] if args.no_warm_up
                                                              else [])
    with tempfile.TemporaryDirectory(prefix="bench-guard-cg-") as folder:
        command = [valgrind, "--tool=callgrind", f"--callgrind-out-file={folder}/cg.%p",
                   "--zero-before=getppid", "--dump-before=getsid", "--dump-instr=no"] + inner
        env = dict(os.environ, PYTHONHASHSEED="0")
        print("$ PYTHONHASHSEED=0 " + " ".join(command), file=sys.stderr,
              flush=True)
        proc = subprocess.run(command, env=env, cwd=Path(__file__).parent,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sends = [line.split()[0] for line in proc.stderr.splitlines()
                 if " guard: update_graph " in line]
        if proc.returncode != 0 or not sends:
            sys.stderr.write(proc.stderr[-4000:])
            print(f"bench_guard: the run under callgrind failed (exit {proc.returncode})",
                  file=sys.stderr)
            return 1
        dumps = sorted(Path(folder).glob("cg.*.*"), key=lambda p: int(p.suffix[1:]))
        counts = []
        for dump in dumps:
            text = dump.read_text(errors="replace")
            trigger = re.search(r"^desc: Trigger: (.*)$", text, re.M)
            summary = re.search(r"^summary: (\d+)", text, re.M)
            if trigger is None or "getsid" not in trigger.group(1) or summary is None:
                print(f"bench_guard: {dump.name}: not a dump of one send "
                      f"({trigger.group(1) if trigger else 'no trigger'})", file=sys.stderr)
                return 1
            counts.append(int(summary.group(1)))
    # A send without the guard is one dump; one with it three: before its hook, the hook, after.
    order = (["with"] if not args.no_warm_up else []) + sends
    expected = sum(3 if label == "with" else 1 for label in order)
    if len(counts) != expected:
        print(f"bench_guard: {len(counts)} callgrind dumps where {len(order)} sends make "
              f"{expected}: something else called getsid(); the dumps cannot be paired with the "
              f"sends", file=sys.stderr)
        return 1
    per_send = []  # (label, update_graph's instructions, the guard hook's)
    at = 0
    for label in order:
        if label == "with":
            per_send.append((label, sum(counts[at:at + 3]), counts[at + 1]))
            at += 3
        else:
            per_send.append((label, counts[at], None))
            at += 1
    print(f"update_graph of {args.tasks} tasks under callgrind (PYTHONHASHSEED=0), instructions "
          f"per send (all threads), in the order sent:")
    if not args.no_warm_up:
        _, total, hook = per_send.pop(0)
        print(f"  warm-up (with guard, {max(1, args.tasks // 40)} chunks): {total:,}")
    for label, total, hook in per_send:
        print(f"  {label + ' guard:':14} {total:,}"
              + (f"   of which the guard's hook {hook:,}" if hook is not None else ""))
    without = [total for label, total, _ in per_send if label == "without"]
    with_guard = [total for label, total, _ in per_send if label == "with"]
    hooks = [hook for label, _, hook in per_send if label == "with"]
    ratios = [w / o for o, w in zip(without, with_guard)]
    base = statistics.median(without)
    print(f"  pairs with/without: {', '.join(f'{r:.4f}' for r in ratios)}; median "
          f"{statistics.median(ratios):.4f}x ({100 * (statistics.median(ratios) - 1):+.2f} %)")
    print(f"  medians: without {base:,.0f}, with {statistics.median(with_guard):,.0f}")
    print(f"  the guard's hook alone: median {statistics.median(hooks):,.0f} = "
          f"{100 * statistics.median(hooks) / base:.2f} % of update_graph without it "
          f"({', '.join(f'{100 * h / base:.2f}' for h in hooks)} %); the with/without pairs also "
          f"carry what the scheduler's loop does meanwhile, which grows with the (much longer "
          f"under valgrind) wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
