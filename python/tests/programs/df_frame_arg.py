"""Dataframe map_partitions with a pandas frame argument (a small reference table)."""
import dask.dataframe as dd
import numpy as np
import pandas as pd


def enrich(part, reference):
    return part.merge(reference, on="code", how="left")


reference = pd.DataFrame({"code": np.arange(20_000), "weight": np.linspace(0, 1, 20_000),
                          "group": np.arange(20_000) % 13})
pdf = pd.DataFrame({"code": np.arange(24_000) % 20_000, "v": np.ones(24_000)})
ddf = dd.from_pandas(pdf, npartitions=24)
result = ddf.map_partitions(enrich, reference)

if __name__ == "__main__":
    print(result.weight.sum().compute())
