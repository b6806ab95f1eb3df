"""``map_overlap`` over a 2-D array (8 x 8 = 64 chunks of 250 x 250) with a kernel keyword argument: a
256 x 256 float64 ndarray (512 KiB) that the function folds into each chunk. Every overlap chunk
task embeds its own copy of the kernel in its run_spec; the trimmed result (held) is fused with
it. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.array as da
import numpy as np


def make_kernel():
    return np.outer(np.hanning(256), np.hanning(256))


def smooth(block, kernel):
    k = kernel[: block.shape[0], : block.shape[1]]
    return block * k.mean() + block.mean()


kernel = make_kernel()
field = da.ones((2_000, 2_000), chunks=(250, 250))
result = field.map_overlap(smooth, depth=2, boundary="reflect", dtype=float, kernel=kernel)
