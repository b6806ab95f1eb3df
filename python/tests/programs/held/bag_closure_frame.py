"""A bag ``map_partitions`` whose function is a closure over a 25,000-row pandas frame (an int,
a float and an object-dtype str column, ~2 MB in memory): each of the 16 partitions joins its 12,500 records to the frame and
returns a list of tuples (real data, held). As given, each partition task embeds its own copy of
the frame in its run_spec, kept while its result is held. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.bag as db
import numpy as np
import pandas as pd


def make_frame():
    n = 25_000
    return pd.DataFrame({"id": np.arange(n), "price": np.arange(n) * 0.25,
                         "name": pd.Series([f"item-{i}" for i in range(n)], dtype=object)})


def make_enricher(frame):
    def enrich(records):
        prices = frame["price"].to_numpy()
        return [(r, prices[r % len(prices)] * 2.0, r % 7) for r in records]
    return enrich


def enrich_with(records, frame):
    prices = frame["price"].to_numpy()
    return [(r, prices[r % len(prices)] * 2.0, r % 7) for r in records]


records = db.from_sequence(range(16 * 12_500), npartitions=16)
frame = make_frame()
result = records.map_partitions(make_enricher(frame))
