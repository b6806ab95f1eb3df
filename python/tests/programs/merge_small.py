"""Merge a dask dataframe with a small pandas frame."""
import dask.dataframe as dd
import numpy as np
import pandas as pd

stores = pd.DataFrame({"store": np.arange(15_000), "region": np.arange(15_000) % 7,
                       "size": np.linspace(1, 2, 15_000)})
rng = np.random.default_rng(1)
sales = pd.DataFrame({"store": rng.integers(0, 15_000, 30_000), "amount": rng.random(30_000)})
ddf = dd.from_pandas(sales, npartitions=20)
result = ddf.merge(stores, on="store", how="left")

if __name__ == "__main__":
    print(len(result))
