"""The live guard on a real cluster (``dask scheduler`` and ``dask worker`` processes): the seed
case inline at 1024 chunks draws one warning naming the Mapper and its copy count at the
default thresholds; scatter and delayed draw none; a refusing guard fails the inline graph's
futures (persist and compute) with one message within 2 s, on the scheduler alone (one line in its
log, none in the workers'), while a fixed graph then runs; a guard that fails inside leaves the
graph running and says so once."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from guard_cluster import Cluster

distributed = pytest.importorskip("distributed")

CHUNKS = 1024
MAPPER_LEN = 30000  # ~236 KiB pickled: 1024 copies are ~241 MB, over the default 100 MB


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(workers=2, log_dir=tmp_path_factory.mktemp("guard-logs"))
    with cluster:
        yield cluster


@pytest.fixture(scope="module")
def address(cluster):
    return cluster.address


@pytest.fixture
def client(address):
    from distributed import Client

    with Client(address, timeout=60) as client:
        yield client


def _executed(client) -> int:
    """Tasks the workers have executed so far, all of them."""
    return sum(client.run(lambda dask_worker: dask_worker.state.executed_count).values())


def _expected_sum(chunks: int) -> int:
    return int((np.arange(chunks * 1000) % MAPPER_LEN).sum())


def _guard_warnings(record) -> list[str]:
    return [str(w.message) for w in record if str(w.message).startswith("graphprof")]


def _run(client, arg, chunks=CHUNKS):
    """Persist the seed case with ``arg``, wait for it, check its result, release it; return the
    guard's warnings this client received."""
    from distributed import futures_of, wait

    from graphprof.seed import seed_collection

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        x = seed_collection(chunks, arg).persist()
        wait(futures_of(x), timeout=300)
        deadline = time.monotonic() + 5  # the warning travels on the client's stream
        while not _guard_warnings(record) and time.monotonic() < deadline:
            time.sleep(0.05)
        head = x[:5].compute()
    np.testing.assert_array_equal(head, np.arange(5))
    del x
    return _guard_warnings(record)


def test_seed_inline_draws_one_warning_naming_the_mapper(client):
    from graphprof.guard import GraphGuard
    from graphprof.seed import Mapper

    client.register_plugin(GraphGuard())
    before = len(client.get_events("graphprof"))
    found = _run(client, Mapper(MAPPER_LEN))
    assert len(found) == 1, found
    text = found[0]
    assert "Mapper" in text and f"{CHUNKS} copies" in text, text
    assert "an argument of lookup" in text and "scatter" in text, text
    assert client.id in text, "the warning names the client that sent the graph"
    events = [e for _, e in client.get_events("graphprof")[before:]]
    assert [e["verdict"] for e in events] == ["warn"]
    culprit = events[0]["culprits"][0]
    assert culprit["type"] == "Mapper" and culprit["copies"] == CHUNKS
    assert culprit["kind"] == "copied"
    assert culprit["duplicated_bytes"] == (CHUNKS - 1) * culprit["size_bytes"]
    assert culprit["layer"] and culprit["example_key"]


def test_a_bag_map_with_a_dict_draws_one_warning_naming_the_dict(client):
    # dask.bag rebuilds the dict argument from its items in every partition's task: no dict
    # object is shared on the scheduler, only its items; the workers still build 40 dicts.
    import dask.bag as db

    from graphprof.guard import GraphGuard

    client.register_plugin(GraphGuard(warn_duplicated="10 MB"))
    before = len(client.get_events("graphprof"))
    table = {i: str(i) * 3 for i in range(30_000)}
    bag = db.from_sequence(range(4_000), npartitions=40).map(lambda x, t: len(t[x]), table)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        total = bag.sum().compute()
        deadline = time.monotonic() + 5  # the warning travels on the client's stream
        while not _guard_warnings(record) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert total == sum(len(table[i]) for i in range(4_000))
    found = _guard_warnings(record)
    assert len(found) == 1 and "dict of 30,000 items" in found[0] and "40 copies" in found[0], found
    events = [e for _, e in client.get_events("graphprof")[before:]]
    assert [e["verdict"] for e in events] == ["warn"]
    culprit = events[0]["culprits"][0]
    assert culprit["type"] == "dict" and culprit["copies"] == 40 and culprit["kind"] == "copied"


@pytest.mark.parametrize("strategy", ["scatter", "delayed"])
def test_scatter_and_delayed_draw_none(client, strategy):
    import dask

    from graphprof.guard import GraphGuard
    from graphprof.seed import Mapper, make_mapper

    client.register_plugin(GraphGuard())
    before = len(client.get_events("graphprof"))
    if strategy == "scatter":
        arg = client.scatter(Mapper(MAPPER_LEN), broadcast=True)
    else:
        arg = dask.delayed(make_mapper)(MAPPER_LEN)
    assert _run(client, arg) == []
    assert client.get_events("graphprof")[before:] == ()


def _refusal_lines(lines) -> list[str]:
    from graphprof.guard import REFUSED

    return [line for line in lines if REFUSED in line]


def test_a_refused_graph_fails_on_the_scheduler_alone_then_a_fixed_one_runs(
        cluster, client):
    # Before the scheduler erred refused graphs itself, each refused task ran on a worker and
    # raised there: persist's futures failed after ~4 s (17-20 s on a busy machine), the workers
    # logged 1,024 "Compute Failed" errors (7,168 lines) and the scheduler nothing.
    from distributed import futures_of, wait

    from graphprof.guard import REFUSED, GraphGuard
    from graphprof.seed import Mapper, seed_collection

    client.register_plugin(GraphGuard(refuse_duplicated="100 MB"))
    mapper = Mapper(MAPPER_LEN)
    # Warm: the scheduler's first dask.array graph imports dask.array there (~1 s when busy).
    assert int(seed_collection(4, mapper).sum().compute()) == _expected_sum(4)
    marks = cluster.log_marks()
    executed = _executed(client)
    persisted = seed_collection(CHUNKS, mapper).persist()
    futures = futures_of(persisted)
    wait(futures, timeout=300)
    assert all(f.status == "error" for f in futures)
    # What makes the refusal fast (python/bench/bench_refusal.py times it; a shared machine's
    # seconds are no test): the scheduler errs the tasks itself, and no worker runs any.
    assert _executed(client) == executed, "a refused task ran on a worker"
    messages = {str(f.exception()) for f in futures}
    assert len(messages) == 1, "one clear error for every future"
    message = messages.pop()
    assert message.startswith(REFUSED) and "Mapper" in message and f"{CHUNKS} copies" in message
    assert "Fix: send it once: pass client.scatter(obj, broadcast=True)" in message, message
    said = _refusal_lines(cluster.log_lines(marks)["scheduler"])
    assert len(said) == 1 and "Mapper" in said[0] and f"{CHUNKS} copies" in said[0], said
    assert " - WARNING - " in said[0] and client.id in said[0], said

    computed = seed_collection(CHUNKS, mapper).sum()
    after_persist = cluster.log_marks()
    with pytest.raises(RuntimeError, match=REFUSED) as refused:
        computed.compute()
    assert _executed(client) == executed, "a refused task ran on a worker"
    assert "Mapper" in str(refused.value) and f"{CHUNKS} copies" in str(refused.value)
    said = _refusal_lines(cluster.log_lines(after_persist)["scheduler"])
    assert len(said) == 1 and "Mapper" in said[0], said
    assert len(_refusal_lines(msg for _, msg in client.get_scheduler_logs(n=1000))) >= 2

    del persisted, futures
    fixed = seed_collection(CHUNKS, client.scatter(mapper, broadcast=True))
    assert int(fixed.sum().compute()) == _expected_sum(CHUNKS)
    verdicts = [e["verdict"] for _, e in client.get_events("graphprof")]
    assert verdicts[-2:] == ["refuse", "refuse"]
    logs = cluster.log_lines(marks)
    worker_errors = [line for name, lines in logs.items() if name != "scheduler"
                     for line in lines
                     if " - ERROR - " in line or "Compute Failed" in line or REFUSED in line]
    assert worker_errors == [], f"{len(worker_errors)} error lines from the workers"
    assert len(_refusal_lines(logs["scheduler"])) == 2, "one line per refused graph"


def test_a_guard_failing_inside_leaves_the_graph_running(client):
    from graphprof.seed import Mapper, seed_collection
    from guard_faults import FaultyGuard

    client.register_plugin(FaultyGuard(warn_duplicated=1))
    before = len(client.get_events("graphprof"))
    mapper = Mapper(MAPPER_LEN)
    for _ in range(2):
        assert int(seed_collection(64, mapper).sum().compute()) == _expected_sum(64)
    errors = [e for _, e in client.get_events("graphprof")[before:]]
    assert [e["verdict"] for e in errors] == ["error"], "logged once"
    assert "a bug inside the guard" in errors[0]["message"]


def test_preload_reads_its_thresholds_from_dask_config():
    from distributed import Client

    from graphprof.seed import Mapper

    env = {"DASK_GRAPHPROF__GUARD__WARN_DUPLICATED": "1 MB"}
    with Cluster(workers=1, scheduler_args=["--preload", "graphprof.guard"],
                 env=env) as address, Client(address, timeout=60) as client:
        found = _run(client, Mapper(MAPPER_LEN), chunks=16)
        assert len(found) == 1 and "16 copies" in found[0], found
        assert "warn_duplicated 1 MB" in found[0], found
