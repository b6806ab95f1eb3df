"""The guard's fast pass over task specs (graphprof.guard.walk) finds exactly the objects,
with the same roles, that the exporter's Walker finds, task by task, on ordinary graphs as the
scheduler materialises them: fused blockwise layers, dataframes, delayed with partials, bound
methods and closures, bags."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from graphprof.collect.walk import LiteralContainers, Walker
from graphprof.guard.walk import SpecWalk
from graphprof.seed import Mapper, seed_collection


class _Recording:
    """A cache for the Walker that records what it is asked to size."""

    min_payload_bytes = 1024

    def __init__(self):
        self.ids: list[tuple[int, str]] = []

    def payload_for(self, obj, *, role, context=None, threshold=None):
        self.ids.append((id(obj), role))
        return None


def _materialised(collection) -> dict:
    from dask.base import collections_to_expr
    from distributed.scheduler import _materialize_graph

    expr = collections_to_expr([collection], True).optimize()
    # The graph comes first: distributed 2025.4 returns (dsk, dependencies, annotations), later ones (dsk, annotations).
    return _materialize_graph(expr=expr, validate=False)[0]


class Model:
    def __init__(self):
        self.weights = np.arange(5000.0)

    def predict(self, x):
        return x + self.weights[:1]


def _graphs():
    import dask
    import dask.array as da
    import dask.bag as db
    import dask.dataframe as dd
    import pandas as pd

    mapper = Mapper(5000)
    table = {i: str(i) for i in range(3000)}
    frame = dd.from_pandas(pd.DataFrame({"a": range(400)}), npartitions=8)
    weights = np.ones(3000)

    def scaled(x):
        return x * weights[0]

    model = Model()
    part = functools.partial(np.add, np.arange(2000.0))
    return {
        "seed inline": seed_collection(16, mapper, chunk_size=10),
        "array then sum": seed_collection(8, mapper, chunk_size=10).sum(),
        "dataframe dict argument": frame.map_partitions(lambda df, t: df.assign(b=len(t)), table,
                                                        meta={"a": "i8", "b": "i8"}),
        "delayed partial and bound method": dask.delayed(sum)(
            [dask.delayed(part)(i) for i in range(4)]
            + [dask.delayed(model.predict)(i) for i in range(4)]),
        "closure": da.ones(40, chunks=10).map_blocks(scaled),
        "bag": db.from_sequence(range(40), npartitions=4).map(lambda x, t: x + len(t), table),
    }


@pytest.mark.parametrize("name", list(_graphs()))
def test_the_guard_walk_finds_what_the_exporter_walk_finds(name):
    dsk = _materialised(_graphs()[name])
    from dask import _task_spec as ts

    literals = LiteralContainers.for_payloads(1024)  # one memo: both walks name a dict by one id
    walk = SpecWalk(1024, literals)
    cache = _Recording()
    walker = Walker(cache, literals)
    compared = 0
    for key, spec in dsk.items():
        if isinstance(spec, ts.Alias):
            continue
        cache.ids.clear()
        out: list = []
        if isinstance(spec, ts.Task):
            walker.task_body(spec, out)
        elif isinstance(spec, ts.DataNode):
            walker.value(spec.value, out, "data", None)
        else:
            walker.leaves(spec, out)
        walk.ids.clear()
        walk.objects(spec)
        fast = sorted((i, walk.found[i][1]) for i in walk.ids)
        assert fast == sorted(cache.ids), key
        compared += 1
    assert compared > 0 and walk.found, "the graph embeds objects to compare"


def test_a_partial_that_embeds_nothing_is_not_remembered_one_that_embeds_an_array_is():
    # Dask builds a new partial(arange, like=None) per chunk: remembering each by its identity
    # would never hit and would keep every one of them alive.
    dsk = _materialised(_graphs()["seed inline"])
    walk = SpecWalk(1024)
    for spec in dsk.values():
        walk.objects(spec)
    functions = {getattr(obj, "__name__", None) for obj, role, _, _ in walk.found.values()
                 if role == "function"}
    assert {"arange", "lookup"} <= functions
    assert len(walk._partials) <= 1, "at most the first, before its keyword's type is known"

    walk = SpecWalk(1024)
    for spec in _materialised(_graphs()["delayed partial and bound method"]).values():
        walk.objects(spec)
    remembered = [func for func, _ in walk._partials.values()]
    assert any(isinstance(f, functools.partial) and f.func is np.add for f in remembered)


def test_a_dict_that_dask_rebuilds_in_every_task_is_one_object_found_in_each():
    # dask.bag's map turns its dict argument into a task of the dict's items in every partition
    # (convert_legacy_task): no dict object is shared, only its items. Both walks must see one
    # dict, the user's, embedded in every partition's task.
    dsk = _materialised(_graphs()["bag"])
    walk = SpecWalk(1024)
    tasks_with_it = 0
    for spec in dsk.values():
        walk.ids.clear()
        walk.objects(spec)
        # (map_chunk's empty kwargs dict is rebuilt the same way: small, dropped when sized)
        dicts = [walk.found[i][0] for i in walk.ids if type(walk.found[i][0]) is dict
                 and walk.found[i][0]]
        if dicts:
            tasks_with_it += 1
            assert dicts == [{i: str(i) for i in range(3000)}]
    assert tasks_with_it == 4
    assert sum(type(obj) is dict and len(obj) > 0 for obj, _, _, _ in walk.found.values()) == 1


def test_the_rebuilt_dict_is_one_object_after_a_pickle_round_trip_too():
    # A graph sent as tasks (a culled or rewritten collection) is pickled whole: ints above 256
    # and floats come back as a copy per task, so the items are told apart by value, not identity.
    import cloudpickle

    dsk = cloudpickle.loads(cloudpickle.dumps(_materialised(_graphs()["bag"])))
    walk = SpecWalk(1024)
    tasks_with_it = 0
    for spec in dsk.values():
        walk.ids.clear()
        walk.objects(spec)
        tasks_with_it += any(type(walk.found[i][0]) is dict and walk.found[i][0] for i in walk.ids)
    assert tasks_with_it == 4
    assert sum(type(obj) is dict and len(obj) > 0 for obj, _, _, _ in walk.found.values()) == 1


def test_small_dicts_and_dicts_of_tasks_are_walked_item_by_item():
    from dask import _task_spec as ts

    calls = []

    def counted(x):
        calls.append(x)
        return x

    # Each task its own small dict (below the payload size): not one object per task.
    small = {("f", i): ts.Task(("f", i), len, ts.Dict({"i": i, "name": f"part-{i}"}))
             for i in range(50)}
    # A list holding a task that is not a container: never evaluated by the walk.
    big_items = list(range(1000, 1300))
    with_task = {("g", i): ts.Task(("g", i), len, ts.List(ts.Task(None, counted, i), *big_items))
                 for i in range(5)}
    for dsk in (small, with_task):
        walk = SpecWalk(1024)
        for spec in dsk.values():
            walk.objects(spec)
        assert not any(isinstance(obj, (dict, list)) for obj, _, _, _ in walk.found.values())
    assert calls == []
