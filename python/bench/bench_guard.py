"""What the live guard adds to the scheduler's ``update_graph``, side by side in one run.

    nice -n 10 python python/bench/bench_guard.py [--tasks 100000] [--repeat 6]

Each send goes to a **fresh scheduler process** (no workers, so nothing runs), as in a real
deployment: the client (this process) builds and sends the seed case -- a Mapper embedded in every
block of a ``map_blocks`` -- with ``--tasks`` tasks, to a scheduler started for that send without
or with a :class:`GraphGuard` registered; the sends alternate in pairs (AB BA AB ...) so that a
slow spell of a shared machine falls on both. The scheduler first receives a small warm-up graph
(``--tasks``/20; imports and first-use caches, as a scheduler that has run before has them),
releases it, then the measured one, with the scheduler's periodic callbacks (its 20 ms tick,
the system monitor, the timeouts) stopped: they run by the clock, not by the graph. Measured in
the scheduler's process, per send:

- **CPU seconds of update_graph**: ``time.process_time()`` around its ``update-graph`` handler
  (deserialisation, materialisation and ordering in distributed's offload thread, task states,
  the plugins, the transitions). Only the scheduler lives in that process, so this is the
  scheduler's CPU: not the client's, and not the time it waits for a core.
- **The guard's own CPU seconds**: ``time.thread_time()`` around its hook (on the event loop).
- The garbage collector's passes during the send (per generation) and their wall seconds, since
  full collections are the largest source of send-to-send variance; and wall seconds.

Prints each send, then medians and the ratios.

Instruction counts, which the machine's load does not change:

    python python/bench/bench_guard.py --tasks 20000 --repeat 3 --callgrind

runs each scheduler under ``valgrind --tool=callgrind`` (``PYTHONHASHSEED=0``, its dumps in a
fresh temporary folder, one output per scheduler): it zeroes the counters when the measured send
starts (``getppid``) and dumps when it ends (``getsid``), and also just before and after the
plugin's hook (without the guard, a plugin that does nothing stands in its place). Each
scheduler's dumps are checked to be exactly those three; printed are each send's instructions
(update_graph's, the scheduler's threads only), each pair's ratio and their median, and the
difference with and without in each part: before the hook, the hook, after it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional


def serve(out: Path, guarded: bool, marks: bool) -> None:
    """The scheduler of one send: writes its address to ``out.addr`` and one JSON line of figures
    per update_graph to ``out`` (the first is the warm-up), until it is killed."""
    import asyncio

    import dask
    from distributed import Scheduler
    from distributed.diagnostics.plugin import SchedulerPlugin

    from graphprof.guard import GraphGuard

    def marked(base):
        """``base`` whose hook records its CPU time and, in the measured send under callgrind,
        has a dump just before and just after it."""

        class Timed(base):
            cpu_seconds = 0.0

            def update_graph(self, scheduler, **kwargs) -> None:
                measured = marks and sends == 1
                if measured:
                    os.getsid(0)  # callgrind: the hook's own instructions are the next dump
                started = time.thread_time()
                try:
                    super().update_graph(scheduler, **kwargs)
                finally:
                    self.cpu_seconds = time.thread_time() - started
                    if measured:
                        os.getsid(0)

        return Timed

    collections = [0, 0, 0]
    gc_seconds = [0.0]
    gc_started = [0.0]

    def on_gc(phase, info) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            collections[info["generation"]] += 1
            gc_seconds[0] += time.perf_counter() - gc_started[0]

    sends = 0

    async def run() -> None:
        async with Scheduler(host="127.0.0.1", port=0, dashboard=False, validate=False) as s:
            # Without the guard, a plugin that does nothing stands in its place: both sends
            # call one plugin, and both have the same three dumps to compare.
            guard = marked(GraphGuard)() if guarded else None
            s.add_plugin(guard or marked(SchedulerPlugin)(), name="graphprof-guard")
            handler = s.stream_handlers["update-graph"]

            async def timed(*args, **kwargs):
                nonlocal sends
                measured = marks and sends == 1
                if sends == 1:
                    # The loop's periodic callbacks (its 20 ms tick, the system monitor...) run
                    # by the clock, not by the graph: off for the measured send, so that a send
                    # which takes longer (under valgrind: minutes) does not count more of them.
                    for callback in s.periodic_callbacks.values():
                        callback.stop()
                collections[:] = [0, 0, 0]
                gc_seconds[0] = 0.0
                if measured:
                    os.getppid()  # callgrind --zero-before=getppid
                cpu, wall = time.process_time(), time.perf_counter()
                try:
                    return await handler(*args, **kwargs)
                finally:
                    if measured:
                        os.getsid(0)  # callgrind --dump-before=getsid
                    figures = {"cpu_s": time.process_time() - cpu,
                               "wall_s": time.perf_counter() - wall,
                               "tasks": len(s.tasks), "gc": list(collections),
                               "gc_s": gc_seconds[0]}
                    if guard is not None:
                        figures["guard_cpu_s"] = guard.cpu_seconds
                        found = [e for _, e in s.get_events("graphprof")
                                 if isinstance(e, dict) and e.get("verdict") != "error"]
                        figures["finding"] = found[-1]["culprits"][0] if found else None
                    with open(out, "a") as f:
                        f.write(json.dumps(figures) + "\n")
                    sends += 1

            s.stream_handlers["update-graph"] = timed
            tmp = out.with_suffix(".addr.tmp")
            tmp.write_text(s.address)
            tmp.rename(out.with_suffix(".addr"))
            await asyncio.Event().wait()  # until the benchmark kills this process

    gc.callbacks.append(on_gc)
    with dask.config.set({"distributed.admin.large-graph-warning-threshold": "10GB"}):
        asyncio.run(run())


def wait_for(path: Path, lines: int, proc: subprocess.Popen, timeout: float = 3600) -> list:
    """The JSON lines the scheduler wrote, once there are ``lines`` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            text = path.read_text().splitlines()
            if len(text) >= lines:
                return [json.loads(line) for line in text[:lines]]
        if proc.poll() is not None:
            raise RuntimeError(f"the scheduler exited with {proc.returncode} during the send")
        time.sleep(0.05)
    raise RuntimeError(f"no figures from the scheduler within {timeout:.0f} s")


def scheduler_command(out: Path, guarded: bool, callgrind_out: Optional[Path]) -> list:
    """The command of one send's scheduler, under callgrind when ``callgrind_out`` is given."""
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(out)]
    command += ["--guarded"] if guarded else []
    if callgrind_out is None:
        return command
    valgrind = [shutil.which("valgrind"), "--tool=callgrind",
                f"--callgrind-out-file={callgrind_out}.%p", "--zero-before=getppid",
                "--dump-before=getsid", "--dump-instr=no"]
    return valgrind + command + ["--marks"]


def one_send(chunks: int, mapper, guarded: bool, out: Path,
             callgrind_out: Optional[Path] = None) -> dict:
    """A fresh scheduler process receives a warm-up graph, then the measured seed collection;
    returns the measured send's figures."""
    import dask.array as da
    import numpy as np
    from distributed import Client

    from graphprof.seed import lookup

    def collection(n_chunks: int):
        return da.arange(n_chunks * 10, chunks=10).map_blocks(
            lookup, mapper, dtype=np.int64, meta=np.empty((0,), dtype=np.int64))

    env = dict(os.environ, PYTHONHASHSEED="0") if callgrind_out else None
    addr = out.with_suffix(".addr")
    with tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(scheduler_command(out, guarded, callgrind_out), env=env,
                                stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            while not addr.exists():
                if proc.poll() is not None:
                    stderr.seek(0)
                    raise RuntimeError(f"the scheduler exited with {proc.returncode}: "
                                       f"{stderr.read()[-2000:]}")
                time.sleep(0.05)
            client = Client(addr.read_text(), timeout=600)
            try:
                warm = client.persist(collection(max(1, chunks // 20)))
                wait_for(out, 1, proc)
                del warm
                while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)):
                    time.sleep(0.05)
                measured = client.persist(collection(chunks))
                figures = wait_for(out, 2, proc)[1]
            finally:
                # The scheduler goes first: closing the client would make it release every
                # task one by one, which is not part of the figure.
                proc.kill()
                proc.wait()
                client.close(timeout=30)
            del measured
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return figures


def fmt(values) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def callgrind_counts(prefix: Path) -> list[int]:
    """The instructions of update_graph before the plugin's hook, in it, and after it, from one
    scheduler's callgrind dumps."""
    dumps = sorted(prefix.parent.glob(prefix.name + ".*.*"), key=lambda p: int(p.suffix[1:]))
    counts = []
    for dump in dumps:
        text = dump.read_text(errors="replace")
        trigger = re.search(r"^desc: Trigger: (.*)$", text, re.M)
        summary = re.search(r"^summary: (\d+)", text, re.M)
        if trigger is None or "getsid" not in trigger.group(1) or summary is None:
            raise RuntimeError(f"{dump.name}: not a dump of the send "
                               f"({trigger.group(1) if trigger else 'no trigger'})")
        counts.append(int(summary.group(1)))
    if len(counts) != 3:
        raise RuntimeError(f"{prefix.name}: {len(counts)} callgrind dumps where a send makes 3 "
                           f"(before the hook, the hook, after): something else called getsid()")
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=6, help="sends with and without, each")
    parser.add_argument("--callgrind", action="store_true",
                        help="run each scheduler under valgrind --tool=callgrind and print its "
                             "instructions for update_graph, the pairs' ratios and their median")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the schedulers' figures and callgrind dumps in DIR (for "
                             "callgrind_annotate) instead of a temporary folder")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--guarded", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--marks", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quiet()
    if args.serve:
        serve(args.serve, args.guarded, args.marks)
        return 0
    if args.callgrind and shutil.which("valgrind") is None:
        print("bench_guard: --callgrind needs valgrind (apt install valgrind)", file=sys.stderr)
        return 2

    from graphprof.seed import Mapper

    chunks = max(1, args.tasks // 2)  # each chunk is a fused task plus its alias
    mapper = Mapper(30000)
    runs: dict[bool, list[dict]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="bench-guard-") as tmp:
        folder = Path(tmp) if args.keep is None else args.keep
        if args.keep is not None:
            folder.mkdir(parents=True, exist_ok=True)
            if any(folder.iterdir()):
                print(f"bench_guard: --keep {folder}: not empty", file=sys.stderr)
                return 2
        n = 0
        for i in range(args.repeat):
            for guarded in ((False, True) if i % 2 == 0 else (True, False)):
                n += 1
                prefix = folder / f"cg.{n}" if args.callgrind else None
                figures = one_send(chunks, mapper, guarded, folder / f"send{n}.jsonl", prefix)
                if prefix is not None:
                    figures["parts"] = callgrind_counts(prefix)
                    figures["instructions"] = sum(figures["parts"])
                runs[guarded].append(figures)
                extra = (f", guard {figures['guard_cpu_s']:.3f} s CPU" if guarded else "")
                if prefix is not None:
                    before, hook, after = figures["parts"]
                    extra += (f", {figures['instructions']:,} instructions (before the hook "
                              f"{before:,}, hook {hook:,}, after {after:,})")
                print(f"  {'with   ' if guarded else 'without'} guard: update_graph "
                      f"{figures['cpu_s']:.3f} s CPU, {figures['wall_s']:.3f} s wall, gc "
                      f"{figures['gc']} {figures['gc_s']:.3f} s{extra}", file=sys.stderr,
                      flush=True)
    report(args, chunks, runs[False], runs[True])
    return 0


def report(args, chunks: int, without: list, with_guard: list) -> None:
    """Medians, the pairs' own ratios and the guard's share, side by side."""
    tasks = without[0]["tasks"]
    print(f"update_graph of {tasks} tasks (seed case, {chunks} chunks), a fresh scheduler process "
          f"per send, {args.repeat} sends each, interleaved (pairs AB BA ...); medians:")
    measures = [("CPU", "cpu_s", "s")]
    if args.callgrind:
        measures.insert(0, ("instructions", "instructions", ""))
    for name, field, unit in measures:
        a = statistics.median(r[field] for r in without)
        b = statistics.median(r[field] for r in with_guard)
        pairs = [w[field] / o[field] for o, w in zip(without, with_guard)]
        show = (lambda v: f"{v:,.0f}") if field == "instructions" else (lambda v: f"{v:.3f} s")
        print(f"  {name} without guard: {show(a)}   ({', '.join(show(r[field]) for r in without)})")
        print(f"  {name} with guard:    {show(b)}   "
              f"({', '.join(show(r[field]) for r in with_guard)})")
        print(f"  {name} pairs with/without: {', '.join(f'{r:.4f}' for r in pairs)}; median "
              f"{statistics.median(pairs):.4f}x ({100 * (statistics.median(pairs) - 1):+.2f} %); "
              f"ratio of the medians {b / a:.4f}x")
    a = statistics.median(r["cpu_s"] for r in without)
    own = statistics.median(r["guard_cpu_s"] for r in with_guard)
    print(f"  guard's own CPU: {own:.3f} s ({fmt(r['guard_cpu_s'] for r in with_guard)}) "
          f"= {100 * own / a:.2f} % of update_graph's CPU without it")
    if args.callgrind:
        base = statistics.median(r["instructions"] for r in without)
        for part, name in ((1, "the guard's hook alone"), (0, "before the hook"),
                           (2, "after the hook")):
            mine = [r["parts"][part] for r in with_guard]
            theirs = statistics.median(r["parts"][part] for r in without)
            each = ", ".join(f"{100 * (h - theirs) / base:+.2f}" for h in mine)
            print(f"  {name}: median {statistics.median(mine):,.0f} instructions with the "
                  f"guard, {theirs:,.0f} without: "
                  f"{100 * (statistics.median(mine) - theirs) / base:+.2f} % of update_graph "
                  f"without it ({each} %)")
    print(f"  full collections (gen 2) per send: without {[r['gc'][2] for r in without]}, with "
          f"{[r['gc'][2] for r in with_guard]}")
    finding = with_guard[0].get("finding")
    if finding:
        print(f"  the guard's finding: {finding['copies']} copies of one {finding['type']}, "
              f"{finding['duplicated_bytes']:,} B duplicated")
    else:
        print("  the guard found nothing: check the benchmark")


def quiet() -> None:
    """distributed's loggers at CRITICAL (a client whose scheduler exits under it complains), and
    the guard's warning to this client ignored."""
    import logging
    import warnings

    import distributed  # noqa: F401  (its logging config first, then quieter)

    del distributed

    for name in [n for n in logging.root.manager.loggerDict if n.startswith("distributed")]:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore", UserWarning)


if __name__ == "__main__":
    sys.exit(main())
