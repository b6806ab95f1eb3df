"""The held level is read once distributed's Active Memory Manager has dropped the replicas no
task waits for (graphprof.sampler.cluster.settle_replicas), on a real LocalCluster on 127.0.0.1:
the AMM's own clock is set far out (60 s), so only the pass graphprof asks for can drop one."""

import dask
import pytest
from distributed import Client, LocalCluster, wait

from graphprof.sampler.cluster import scheduler_workers, settle_replicas


def _used_on_both_workers(client):
    """A list scattered to both workers and used by a task on each: two replicas, no waiter."""
    [obj] = client.scatter([list(range(20_000))], broadcast=True)
    workers = sorted(scheduler_workers(client))
    futures = [client.submit(len, obj, workers=[w], pure=False) for w in workers]
    wait(futures)
    assert [f.result() for f in futures] == [20_000, 20_000]
    assert len(client.who_has([obj])[obj.key]) == 2
    return obj, futures


def _holders(client, key):
    held = client.run(lambda dask_worker: key in dask_worker.data)
    return sorted(addr for addr, has in held.items() if has)


@pytest.mark.parametrize("start", [True, False], ids=["amm-on", "amm-off"])
def test_the_amm_pass_drops_an_unwaited_replica_only_where_the_amm_runs(start):
    config = {"distributed.scheduler.active-memory-manager.start": start,
              "distributed.scheduler.active-memory-manager.interval": "60s"}
    with dask.config.set(config), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None) as cluster, Client(cluster) as client:
        obj, futures = _used_on_both_workers(client)
        dropped = settle_replicas(client)
        if start:
            # One pass dropped the second replica, and the worker has let go of it already.
            assert dropped == 1
            assert len(client.who_has([obj])[obj.key]) == 1
            assert len(_holders(client, obj.key)) == 1
            # Nothing left to drop: a second pass drops nothing.
            assert settle_replicas(client) == 0
        else:
            # A cluster configured without the AMM keeps what it keeps: graphprof starts nothing.
            assert dropped is None
            assert len(_holders(client, obj.key)) == 2
        del futures
