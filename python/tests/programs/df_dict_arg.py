"""Dataframe map_partitions with a dict argument."""
import dask.dataframe as dd
import numpy as np
import pandas as pd


def apply_rates(part, rates):
    return part.assign(cost=part["v"] * part["code"].map(rates))


rates = {i: i * 0.5 for i in range(30_000)}
pdf = pd.DataFrame({"code": np.arange(32_000) % 30_000, "v": np.ones(32_000)})
ddf = dd.from_pandas(pdf, npartitions=32)
result = ddf.map_partitions(apply_rates, rates)

if __name__ == "__main__":
    print(result.cost.sum().compute())
