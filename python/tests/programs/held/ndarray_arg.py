"""map_blocks with a 1 MB ndarray argument; ``fixed`` builds the same collection with the array
scattered to every worker (inside a list: scattering a dict or list scatters its items) or as ``dask.delayed(weights)``, the variant analyze predicts and sample runs."""
import dask
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


def fixed(strategy, client):
    if strategy == "scatter":
        return build(client.scatter([weights], broadcast=True)[0])
    return build(dask.delayed(weights))
