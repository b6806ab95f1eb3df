"""A two-step array chain ending in a partial reduction: ``x.map_blocks(scale, factors)`` on a
2-D array of 8 x 8 = 64 chunks (250 x 250), then ``.mean(axis=0)`` (8 output chunks held),
with ``factors`` a 720 KB float64 ndarray (90,000 values) as the map_blocks argument (under
the 1e6 bytes above which dask.array's ``normalize_arg`` moves an argument into a task of its own,
as it does any list of 10 items or more). The 64
chunk tasks (fused with the partial means) embed a copy each; the workers that run the tree
reduction's last steps keep the run_specs of the chunk tasks they ran. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.array as da
import numpy as np


def make_factors():
    return 1.0 + np.arange(90_000) * 1e-6


def scale(block, factors):
    return block * factors[block.shape[0] % len(factors)]


field = da.ones((2_000, 2_000), chunks=(250, 250))
factors = make_factors()
result = field.map_blocks(scale, factors, dtype=float).mean(axis=0)
