"""A dataframe groupby-apply whose function is a closure over a dict (20,000 int -> float,
~2 MB in memory): ``df.groupby("key").apply(closure, meta=...)`` over 8 partitions (with a
distributed Client the shuffle is p2p). Each apply task embeds its own copy of the closure's dict
in its run_spec, kept while its output partition (held, real data) is. ``fixed`` passes the dict
as an argument instead, scattered to every worker (inside a list) or as ``dask.delayed(weights)``
(``groupby.apply`` hands such an argument to the function unresolved, so the fix shuffles on the
key and runs the same per-group function in ``map_partitions``)."""
import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd


def make_weights():
    return {i: 1.0 + i / 20_000 for i in range(20_000)}


def make_scorer(weights):
    def score_group(group):
        w = np.array([weights[c] for c in group["code"].to_numpy()])
        return pd.DataFrame({"n": [len(group)], "total": [float((group["v"].to_numpy() * w).sum())]})
    return score_group


def score_group_with(group, weights):
    w = np.array([weights[c] for c in group["code"].to_numpy()])
    return pd.DataFrame({"n": [len(group)], "total": [float((group["v"].to_numpy() * w).sum())]})


META = pd.DataFrame({"n": pd.Series(dtype="i8"), "total": pd.Series(dtype="f8")})


def frame():
    n = 40_000
    pdf = pd.DataFrame({"key": np.arange(n) % 64, "code": np.arange(n) % 20_000, "v": np.ones(n)})
    return dd.from_pandas(pdf, npartitions=8)


weights = make_weights()
result = frame().groupby("key").apply(make_scorer(weights), meta=META)


def apply_groups(part, weights):
    return part.groupby("key").apply(score_group_with, weights)


def fixed(strategy, client):
    # groupby.apply passes a Future or Delayed argument to the function as is: the fix shuffles
    # on the key and applies per partition, where map_partitions resolves the argument.
    arg = client.scatter([weights], broadcast=True)[0] if strategy == "scatter" else dask.delayed(weights)
    return frame().shuffle("key").map_partitions(apply_groups, arg, meta=META)
