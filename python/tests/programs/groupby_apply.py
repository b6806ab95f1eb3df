"""groupby-apply with a user function (a shuffle under distributed; pandas 3 leaves the grouping column out of the groups)."""
import dask.dataframe as dd
import numpy as np
import pandas as pd


def normalise(group):
    return group.assign(z=(group["v"] - group["v"].mean()) / (group["v"].std() + 1.0))


rng = np.random.default_rng(0)
pdf = pd.DataFrame({"k": rng.integers(0, 50, 20_000), "v": rng.random(20_000)})
ddf = dd.from_pandas(pdf, npartitions=16)
result = ddf.groupby("k").apply(normalise, meta={"v": "f8", "z": "f8"})

if __name__ == "__main__":
    print(result.z.mean().compute())
