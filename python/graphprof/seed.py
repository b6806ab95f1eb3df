"""The seed case: a Mapper object looked up by every block of a map_blocks.

The Mapper class lives in this importable module (not ``__main__``) so that
``client.scatter(mapper, broadcast=True)`` really reaches every worker.
"""

import numpy as np
import pandas as pd


class Mapper:
    """Wraps ``pd.Series(range(n))``; ``mapper(block)`` looks each element up."""

    def __init__(self, n):
        self.series = pd.Series(np.arange(n, dtype=np.int64))

    def __call__(self, block):
        vals = self.series.to_numpy()
        return vals[np.asarray(block) % len(vals)]


def make_mapper(n):
    return Mapper(n)


def lookup(block, mapper):
    return mapper(block)


def mapper_len_for_bytes(payload_bytes):
    """Series length whose pickled Mapper is about ``payload_bytes`` (8 B per element
    plus ~1.5 KiB of pickle framing for the Series and its index)."""
    return max(1, (int(payload_bytes) - 1500) // 8)


def strategy_argument(strategy, n, client=None):
    """The Mapper argument of the seed case under ``strategy``: the object itself (``inline``),
    one task that builds it (``delayed``), or one future broadcast to every worker (``scatter``,
    needs ``client``)."""
    if strategy == "inline":
        return Mapper(n)
    if strategy == "delayed":
        import dask

        return dask.delayed(make_mapper)(n)
    if strategy == "scatter":
        return client.scatter(Mapper(n), broadcast=True)
    raise ValueError(f"the seed case has no strategy {strategy!r}")


def seed_collection(chunks, arg, chunk_size=1000):
    import dask.array as da

    x = da.arange(chunks * chunk_size, chunks=chunk_size)
    return x.map_blocks(lookup, arg, dtype=np.int64, meta=np.empty((0,), dtype=np.int64))
