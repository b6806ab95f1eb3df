"""map_blocks with a lookup table: the seed case (a Mapper holding a pd.Series, one argument)."""
import dask.array as da
import numpy as np
import pandas as pd


class Mapper:
    def __init__(self, n):
        self.table = pd.Series(np.arange(n) * 2)

    def __call__(self, block):
        return self.table.values[block % len(self.table)]


def lookup(block, mapper):
    return mapper(block)


mapper = Mapper(30_000)
x = da.arange(64_000, chunks=1_000)
result = x.map_blocks(lookup, mapper, dtype=np.int64)

if __name__ == "__main__":
    print(result.sum().compute())
