"""functools.partial holding a dict, given to dataframe map_partitions."""
import functools

import dask.dataframe as dd
import numpy as np
import pandas as pd


def relabel(part, mapping):
    return part.assign(label=part["code"].map(mapping))


mapping = {i: f"label-{i}" for i in range(20_000)}
pdf = pd.DataFrame({"code": np.arange(24_000) % 20_000, "v": np.arange(24_000, dtype=float)})
ddf = dd.from_pandas(pdf, npartitions=24)
result = ddf.map_partitions(functools.partial(relabel, mapping=mapping))

if __name__ == "__main__":
    print(result.head())
