"""A bag ``map(label, lookup)`` over 200,000 ints in 20 partitions, with a dict argument (20,000
int -> str, ~2.6 MB in memory): each partition task embeds its own copy of the dict in its
run_spec, kept while its partition (held: a list of 10,000 strs) is. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask.bag as db


def make_lookup():
    return {i: f"name-{i:06d}" for i in range(20_000)}


def label(n, lookup):
    return lookup[n % 20_000]


numbers = db.from_sequence(range(200_000), npartitions=20)
lookup = make_lookup()
result = numbers.map(label, lookup)
