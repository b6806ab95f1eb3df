"""Measure distributed's per-task bookkeeping on the seed case, and the built-in engine beside it,
for docs/DASK.md.

Real Dask: for chunks in 256/1024/4096 and strategies inline/scatter/delayed, a FRESH LocalCluster
(2 worker processes x 1 thread, 127.0.0.1) per strategy and chunk count; the workers' RSS is read
from /proc before submitting and while the persisted results are held (after the tasks finished
and a heartbeat passed); ``held RSS = a + b * chunks`` is fitted per strategy by least squares.
Per-task bookkeeping = b - 8,000 B of results per chunk (scatter, delayed). The measuring code is
``graphprof.run.calibrate`` (what ``graphprof calibrate`` runs).

Built-in engine (``--engine BINARY``): ``BINARY sample --strategy S --chunks N --workers 2``, one
process per strategy and chunk count (fresh, as the clusters are); its held RSS above the run's
baseline (``process``) and its exact ``managed`` count, per chunk, with the error against real Dask.

    .venv/bin/python python/research/measure_bookkeeping.py [--engine target/release/graphprof] [CHUNKS ...]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # python/

from graphprof.run.calibrate import run_all  # noqa: E402

STRATEGIES = ["inline", "scatter", "delayed"]


def engine_held(binary, strategy, chunks):
    """(held RSS above baseline, held managed) of one built-in engine run."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([binary, "sample", "--strategy", strategy, "--chunks", str(chunks), "--workers", "2",
                        "-o", out], check=True, capture_output=True)
        with open(os.path.join(out, "report.json"), encoding="utf-8") as fh:
            run = json.load(fh)["runs"][0]
    whole = {m["measure"]: m for m in run["measures"] if m.get("worker") is None}
    held = lambda m: whole[m]["held_bytes"] - whole[m]["baseline_bytes"]  # noqa: E731
    return held("process"), held("managed")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--engine", help="graphprof binary: also run the built-in engine and compare")
    p.add_argument("chunks", type=int, nargs="*", default=[256, 1024, 4096])
    args = p.parse_args()
    runs, fits, calibration = run_all(STRATEGIES, args.chunks, 2,
                                      emit=lambda line: print(line, file=sys.stderr, flush=True))
    print("strategy  chunks  held above baseline (B)  per chunk (B)  worker tasks")
    for r in runs:
        print(f"{r['strategy']:<8}  {r['chunks']:>6}  {r['held_above_baseline']:>23,}"
              f"  {r['held_above_baseline'] / r['chunks']:>13,.0f}  {r['worker_tasks']:>12}")
    print()
    print("strategy  intercept a (B)  slope b (B/chunk)  b - results (B/chunk)")
    for s, f in fits.items():
        print(f"{s:<8}  {f['intercept_bytes']:>15,}  {f['bytes_per_chunk']:>17,}  {f['beyond_results_per_chunk']:>21,}")
    print()
    print(json.dumps(calibration))
    if not args.engine:
        return
    real = {(r["strategy"], r["chunks"]): r["held_above_baseline"] for r in runs}
    engine = {key: engine_held(args.engine, *key) for key in real}
    print()
    print("| chunks | strategy | real Dask B/chunk | engine RSS B/chunk | error | engine managed B/chunk | error |")
    print("|---|---|---|---|---|---|---|")
    for chunks in args.chunks:
        for s in STRATEGIES:
            r = real[(s, chunks)] / chunks
            rss, managed = (v / chunks for v in engine[(s, chunks)])
            print(f"| {chunks} | {s} | {r:,.0f} | {rss:,.0f} | {100 * (rss / r - 1):+.1f}% "
                  f"| {managed:,.0f} | {100 * (managed / r - 1):+.1f}% |")
    print()
    print("| chunks | real inline/scatter | engine (RSS) | error | engine (managed) | error |")
    print("|---|---|---|---|---|---|")
    for chunks in args.chunks:
        r = real[("inline", chunks)] / real[("scatter", chunks)]
        e = engine[("inline", chunks)][0] / engine[("scatter", chunks)][0]
        m = engine[("inline", chunks)][1] / engine[("scatter", chunks)][1]
        print(f"| {chunks} | {r:.2f}x | {e:.2f}x | {100 * (e / r - 1):+.1f}% | {m:.2f}x | {100 * (m / r - 1):+.1f}% |")


if __name__ == "__main__":
    main()
