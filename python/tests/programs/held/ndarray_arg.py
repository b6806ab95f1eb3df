"""map_blocks with a 1 MB ndarray argument; The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.array as da
import numpy as np


def make_weights():
    return np.linspace(0.0, 1.0, 131_072)


def weigh(block, weights):
    return block * weights[: block.shape[0]].sum()


def build(weights):
    return da.ones(48 * 100_000, chunks=100_000).map_blocks(weigh, weights, dtype=float)


weights = make_weights()
result = build(weights)
