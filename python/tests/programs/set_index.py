"""set_index on an unsorted column: a p2p shuffle when a distributed Client runs it."""
import dask.dataframe as dd
import numpy as np
import pandas as pd

rng = np.random.default_rng(2)
pdf = pd.DataFrame({"x": rng.random(30_000), "y": np.arange(30_000)})
ddf = dd.from_pandas(pdf, npartitions=16)
result = ddf.set_index("x")

if __name__ == "__main__":
    print(result.head())
