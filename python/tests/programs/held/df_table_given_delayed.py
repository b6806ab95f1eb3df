"""The dataframe pipeline of ``df_table_arg.py`` written already fixed:
``map_partitions(price, dask.delayed(table))``, the 30,000-row table (~1.1 MB in memory) once in the graph (one task
whose value is the table), fetched once by each worker that needs it; the 32 partitions (real
data) are held. It has no ``fixed``: nothing is embedded twice, so ``graphprof rewrite`` and
``sample`` run it as given for every strategy, and graphprof predicts the same for all three."""
import dask
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
result = build(dask.delayed(table))
