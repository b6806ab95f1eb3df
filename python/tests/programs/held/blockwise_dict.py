"""``da.blockwise`` with a dict argument (8,000 int -> float, ~0.7 MB in memory;
``dask.sizeof`` 0.84 MB, under the 1e6 above which dask.array's ``normalize_arg`` would move it
into a task of its own): an elementwise
lookup over a 2-D array of 6 x 6 = 36 chunks of 300 x 300 ints, index ``"ij"``, the dict with
index ``None``. Each of the 36 tasks embeds its own copy of the dict in its run_spec, kept while
the chunk (held) is. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.array as da
import numpy as np


def make_table():
    return {i: i * 1.5 for i in range(8_000)}


def look_up(block, table):
    flat = block.ravel()
    return np.fromiter((table[v] for v in flat[:1000]), float, count=min(1000, flat.size)).sum() + block * 0.5


codes = da.arange(1_800 * 1_800, chunks=300 * 300).reshape((1_800, 1_800)).rechunk((300, 300)) % 8_000


def build(table):
    return da.blockwise(look_up, "ij", codes, "ij", table, None, dtype=float)


table = make_table()
result = build(table)
