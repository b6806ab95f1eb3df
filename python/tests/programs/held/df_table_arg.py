"""Dataframe ``map_partitions(price, table)`` where ``table`` is a small pandas frame (30,000 rows:
an int code, a float rate, a str label; ~1.1 MB in memory) passed as an argument: each of the 32
partition tasks embeds its own copy of the table in its run_spec, kept while the partition
(held, real data) is. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.dataframe as dd
import numpy as np
import pandas as pd


def make_table():
    n = 30_000
    return pd.DataFrame({"code": np.arange(n), "rate": np.arange(n) * 0.01,
                         "label": [f"label-{i:05d}" for i in range(n)]})


def price(part, table):
    rates = table["rate"].to_numpy()
    return part.assign(cost=part["v"] * rates[part["code"].to_numpy() % len(rates)])


def build(table):
    n = 32 * 4_000
    pdf = pd.DataFrame({"code": np.arange(n) % 29_989, "v": np.ones(n)})
    meta = pd.DataFrame({"code": pd.Series(dtype="i8"), "v": pd.Series(dtype="f8"),
                         "cost": pd.Series(dtype="f8")})
    return dd.from_pandas(pdf, npartitions=32).map_partitions(price, table, meta=meta)


table = make_table()
result = build(table)
