"""A dask.delayed fan-out/fan-in: 64 ``measure(i, lookup)`` leaves, each given the same list of
40,000 floats (~1.3 MB in memory), then a binary tree of ``add`` (63 tasks) down to one total.
Each leaf embeds its own copy of the list in its run_spec; only the total (a float) is held, and
the worker that runs the root keeps the run_specs of the ancestors it ran. The fixes are ``graphprof.rewrite``'s, as ``sample`` runs them and ``analyze`` predicts them: the object embedded in every task scattered to every worker, or put once in the graph as ``dask.delayed(obj)``; where the task's function is what carries it, the function moves."""
import dask


def make_lookup():
    return [i / 3 for i in range(40_000)]


def measure(i, lookup):
    return sum(lookup[i * 500:(i + 1) * 500])


def add(a, b):
    return a + b


def build(lookup, leaves=64):
    level = [dask.delayed(measure)(i, lookup) for i in range(leaves)]
    while len(level) > 1:
        level = [dask.delayed(add)(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


lookup = make_lookup()
result = build(lookup)
