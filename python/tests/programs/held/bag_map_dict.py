"""A bag ``map(label, lookup)`` over 200,000 ints in 20 partitions, with a dict argument (20,000
int -> str, ~2.6 MB in memory): each partition task embeds its own copy of the dict in its
run_spec, kept while its partition (held: a list of 10,000 strs) is. ``fixed`` passes the dict
scattered to every worker (inside a list: scattering a dict scatters its items) or as
``dask.delayed(lookup)``."""
import dask
import dask.bag as db


def make_lookup():
    return {i: f"name-{i:06d}" for i in range(20_000)}


def label(n, lookup):
    return lookup[n % 20_000]


numbers = db.from_sequence(range(200_000), npartitions=20)
lookup = make_lookup()
result = numbers.map(label, lookup)


def fixed(strategy, client):
    if strategy == "scatter":
        return numbers.map(label, client.scatter([lookup], broadcast=True)[0])
    return numbers.map(label, dask.delayed(lookup))
