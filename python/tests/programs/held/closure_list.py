"""A closure over a list of 100k floats, mapped over the blocks. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.array as da


def make_coefficients():
    return [i / 7 for i in range(100_000)]


def make_scaler(coefficients):
    return lambda block: block * coefficients[len(block) % len(coefficients)]


def scale_with(block, coefficients):
    return block * coefficients[len(block) % len(coefficients)]


blocks = da.ones(32 * 100_000, chunks=100_000)
coefficients = make_coefficients()
result = blocks.map_blocks(make_scaler(coefficients), dtype=float)
