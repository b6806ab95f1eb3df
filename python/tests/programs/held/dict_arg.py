"""Dataframe map_partitions with a dict of 50k ints as an argument (embedded in every task);
``fixed`` builds the same collection with the dict scattered to every worker (inside a list:
scattering a dict scatters its items) or built by a delayed task."""
import dask
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


def fixed(strategy, client):
    if strategy == "scatter":
        return build(client.scatter([rates], broadcast=True)[0])
    return build(dask.delayed(make_rates)())
