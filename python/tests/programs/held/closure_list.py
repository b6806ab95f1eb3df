"""A closure over a list of 100k floats, mapped over the blocks; ``fixed`` passes the list as an
argument instead, scattered to every worker (inside a list: scattering a dict or list scatters its items) or as ``dask.delayed(coefficients)``, the variant analyze predicts and sample runs."""
import dask
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


def fixed(strategy, client):
    if strategy == "scatter":
        return blocks.map_blocks(scale_with, client.scatter([coefficients], broadcast=True)[0], dtype=float)
    return blocks.map_blocks(scale_with, dask.delayed(coefficients), dtype=float)
