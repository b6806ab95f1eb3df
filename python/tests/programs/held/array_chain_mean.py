"""A two-step array chain ending in a partial reduction: ``x.map_blocks(scale, factors)`` on a
2-D array of 8 x 8 = 64 chunks (250 x 250), then ``.mean(axis=0)`` (8 output chunks held),
with ``factors`` a list of 50,000 floats (~1.6 MB in memory) as the map_blocks argument. The 64
chunk tasks (fused with the partial means) embed a copy each; the workers that run the tree
reduction's last steps keep the run_specs of the chunk tasks they ran. ``fixed`` passes the list
scattered to every worker (inside a list) or as ``dask.delayed(factors)``."""
import dask
import dask.array as da


def make_factors():
    return [1.0 + i * 1e-6 for i in range(50_000)]


def scale(block, factors):
    return block * factors[block.shape[0] % len(factors)]


field = da.ones((2_000, 2_000), chunks=(250, 250))
factors = make_factors()
result = field.map_blocks(scale, factors, dtype=float).mean(axis=0)


def fixed(strategy, client):
    arg = client.scatter([factors], broadcast=True)[0] if strategy == "scatter" else dask.delayed(factors)
    return field.map_blocks(scale, arg, dtype=float).mean(axis=0)
