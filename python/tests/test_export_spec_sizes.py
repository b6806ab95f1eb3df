"""The exporter's task sizes (``spec_bytes``) take two shortcuts for speed (issue 23 item 10): a
task that calls a function of the user's ``__main__`` goes straight to cloudpickle, and
cloudpickle's lookup of the classes and functions it pickles by reference is remembered across
tasks. Both must give, for every task, exactly the size of the plain path they replace: the
standard pickler first, cloudpickle's own pickler when that raises or names ``__main__``.

Graphs are taken as ``graphprof dask export`` takes them (the script imported, its functions
marked ``__main__``'s): the seed script, programs whose payloads pickle by value (a bound method,
a closure, a partial holding a function of the script, a dict argument), and the seed case from an
importable module, where no shortcut applies.
"""

import io
import os
import pickle

import cloudpickle
import fidelity
import pytest
from dask._task_spec import convert_legacy_graph
from distributed.protocol import deserialize
from graphprof.collect.isolate import fresh_expressions
from graphprof.collect.payloads import PayloadCache
from graphprof.collect.send import (
    as_collections,
    as_distributed_would,
    serialized_graph,
)
from graphprof.collect.task_sizes import _SpecSizer
from graphprof.collect.walk import Walker
from graphprof.run.export_command import load_variable
from graphprof.seed import Mapper, mapper_len_for_bytes, seed_collection

SEED_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(fidelity.HERE)), "fixtures", "dask",
                           "seed_pipeline.py")
PROGRAMS = ["bound_method.py", "closure_list.py", "partial_dict.py", "lookup_table.py",
            os.path.join("held", "dict_arg.py"), os.path.join("held", "bag_map_dict.py")]


def _plain_size(node, has_payloads: bool, sizer: _SpecSizer, ids: set) -> int:
    """The size by the path before the shortcuts: the standard pickler (the sizer's dispatch
    table, or a persistent id per payload), then cloudpickle's own pickler."""

    def persistent_id(obj):
        return (id(obj) & 0xFFFF) if id(obj) in ids else None

    try:
        buf = io.BytesIO()
        pickler = pickle.Pickler(buf, protocol=5)
        if has_payloads and sizer._table is not None:
            pickler.dispatch_table = sizer._table
        elif has_payloads:
            pickler.persistent_id = persistent_id
        pickler.dump(node)
        if b"__main__" not in buf.getvalue():
            return len(buf.getvalue())
    except Exception:  # noqa: BLE001, S110 - the standard pickler refused: cloudpickle follows
        pass
    buf = io.BytesIO()
    pickler = cloudpickle.CloudPickler(buf, protocol=5)
    pickler.persistent_id = persistent_id
    try:
        pickler.dump(node)
    except Exception:  # noqa: BLE001 - the sizer's own figure for a task nothing can pickle
        return 64
    return len(buf.getvalue())


def _compare(collection, user_module) -> tuple[int, int]:
    """(tasks compared, tasks sent straight to cloudpickle); asserts every size is the plain one."""
    with as_distributed_would(None):
        _, header, frames, _ = serialized_graph(as_collections(collection))
        with fresh_expressions():
            dsk = convert_legacy_graph(dict(deserialize(header, frames).__dask_graph__()))
            cache = PayloadCache(1024, user_module)
            walker = Walker(cache)
            rows = []
            for key, node in dsk.items():
                _, payloads = walker.task(node, key)
                rows.append((key, node, bool(payloads), walker.main_functions))
            literal_nodes = [node for node, value in walker.literals.nodes.values()
                             if value is not None and cache.is_payload_object(value)]
            objects = [obj for obj, _ in cache.payload_objects()] + literal_nodes
            sizer = _SpecSizer(objects)
            ids = {id(obj) for obj in objects}
            direct = 0
            for key, node, has_payloads, main in rows:
                by_value = bool(main) and walker.names_main(main)
                direct += by_value
                fast = sizer(node, has_payloads, by_value)
                assert fast == _plain_size(node, has_payloads, sizer, ids), key
                # Without the first shortcut, the second alone gives the same.
                assert sizer(node, has_payloads, False) == fast, key
    return len(rows), direct


def test_the_seed_script_goes_straight_to_cloudpickle_with_the_plain_sizes(monkeypatch):
    monkeypatch.setenv("CHUNKS", "64")
    collection, module = load_variable(f"{SEED_SCRIPT}:result")
    tasks, direct = _compare(collection, module)
    assert tasks == 128
    assert direct == 64  # every lookup task; none of the aliases


@pytest.mark.parametrize("program", PROGRAMS,
                         ids=[os.path.splitext(os.path.basename(p))[0] for p in PROGRAMS])
def test_programs_keep_the_plain_sizes(program):
    collection, module = load_variable(f"{os.path.join(fidelity.PROGRAMS, program)}:result")
    tasks, _ = _compare(collection, module)
    assert tasks > 0


def test_an_importable_function_keeps_the_standard_pickler():
    collection = seed_collection(16, Mapper(mapper_len_for_bytes(240 * 1024)))
    tasks, direct = _compare(collection, None)
    assert tasks == 32
    assert direct == 0
