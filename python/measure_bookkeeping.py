"""Measure distributed's per-task bookkeeping on the seed case, for docs/DASK.md.

For chunks in 256/1024/4096 and strategies inline/scatter/delayed, a FRESH LocalCluster
(2 worker processes x 1 thread, 127.0.0.1) per strategy and chunk count; the workers' RSS is read
from /proc before submitting and while the persisted results are held (after the tasks finished
and a heartbeat passed); ``held RSS = a + b * chunks`` is fitted per strategy by least squares.
Per-task bookkeeping = b - 8,000 B of results per chunk (scatter, delayed). The measuring code is
``graphprof_dask.calibrate`` (what ``graphprof calibrate`` runs).

    .venv/bin/python python/measure_bookkeeping.py [CHUNKS ...]
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from graphprof_dask.calibrate import run_all  # noqa: E402


def main():
    chunks = [int(a) for a in sys.argv[1:]] or [256, 1024, 4096]
    runs, fits, calibration = run_all(["inline", "scatter", "delayed"], chunks, 2,
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


if __name__ == "__main__":
    main()
