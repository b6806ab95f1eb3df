"""A dataframe reduction: ``map_partitions(shift, offsets).sum()`` over 32 partitions, where
``offsets`` is a list of 60,000 floats (~1.9 MB in memory) passed as an argument. Each partition
task embeds its own copy of the list; only the reduced Series (a few values) is held, and the
worker that runs the final aggregation keeps the run_specs of the partition tasks it ran.
The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.dataframe as dd
import numpy as np
import pandas as pd


def make_offsets():
    return [i * 0.001 for i in range(60_000)]


def shift(part, offsets):
    return part.assign(v=part["v"] + offsets[len(part) % len(offsets)])


def build(offsets):
    n = 32 * 5_000
    pdf = pd.DataFrame({"a": np.arange(n), "v": np.ones(n)})
    meta = pd.DataFrame({"a": pd.Series(dtype="i8"), "v": pd.Series(dtype="f8")})
    return dd.from_pandas(pdf, npartitions=32).map_partitions(shift, offsets, meta=meta).sum()


offsets = make_offsets()
result = build(offsets)
