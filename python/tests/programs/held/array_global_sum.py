"""An array reduction whose chunk function reads a module-level 1 MB ndarray (131,072 float64):
``x.map_blocks(weigh).sum()`` over 64 chunks, a scalar result. The function is pickled by value
with the global, so each of the 64 chunk tasks (fused with the partial sum) embeds its own copy;
only the scalar is held, and the worker that runs the final aggregate keeps the run_specs of the
chunk tasks it ran. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.array as da
import numpy as np

WEIGHTS = np.linspace(0.0, 1.0, 131_072)


def weigh(block):
    return block * WEIGHTS[: block.shape[0]]


def weigh_with(block, weights):
    return block * weights[: block.shape[0]]


blocks = da.ones(64 * 100_000, chunks=100_000)
result = blocks.map_blocks(weigh, dtype=float).sum()
