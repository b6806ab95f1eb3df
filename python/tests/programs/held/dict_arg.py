"""Dataframe map_partitions with a dict of 50k ints as an argument (embedded in every task);
The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.dataframe as dd
import numpy as np
import pandas as pd


def make_rates():
    return {i: 3 * i for i in range(50_000)}


def apply_rates(part, rates):
    return part.assign(cost=part["v"] * part["code"].map(rates.get))


def build(rates):
    pdf = pd.DataFrame({"code": np.arange(3_200) % 50_000, "v": np.ones(3_200)})
    meta = pd.DataFrame({"code": pd.Series(dtype="i8"), "v": pd.Series(dtype="f8"), "cost": pd.Series(dtype="f8")})
    return dd.from_pandas(pdf, npartitions=32).map_partitions(apply_rates, rates, meta=meta)


rates = make_rates()
result = build(rates)
