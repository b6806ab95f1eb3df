"""What graphprof.MemorySampler adds to distributed's: per-worker series, local RSS, files.

Each on a real cluster: the in-process scheduler and workers of ``gen_cluster``, or a
LocalCluster with worker processes for RSS.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import time

import pytest

pytest.importorskip("distributed")

from distributed import Client, LocalCluster  # noqa: E402
from distributed.utils_test import SizeOf, gen_cluster  # noqa: E402

from graphprof import MemorySampler  # noqa: E402
from graphprof.sampler import recordings_in_progress  # noqa: E402


@gen_cluster(client=True)
async def test_per_worker_series_sum_to_the_cluster_total(c, s, a, b):
    ms = MemorySampler()
    async with ms.sample("m", measure="managed", interval=0.005):
        fa = c.submit(SizeOf, 300_000, workers=[a.address], pure=False)
        fb = c.submit(SizeOf, 100_000, workers=[b.address], pure=False)
        await c.gather([fa, fb])
        await asyncio.sleep(0.05)
    per = ms.worker_samples["m"]
    assert set(per) == {a.address, b.address}
    assert per[a.address][-1][1] == 300_000 and per[b.address][-1][1] == 100_000
    assert ms.samples["m"][-1][1] == 400_000
    df = ms.to_pandas(per_worker=True)
    assert list(df.columns.names) == ["label", "worker"]
    assert df[("m", a.address)].dropna().iloc[-1] == 300_000
    assert recordings_in_progress(s) == 0


@gen_cluster(client=True)
async def test_every_measure_distributed_accepts_and_a_bad_one_is_refused(c, s, a, b):
    from distributed.scheduler import MemoryState

    measures = [m for m in dir(MemoryState) if not m.startswith("_")
                and isinstance(getattr(s.memory, m, None), int)]
    assert {"process", "managed", "unmanaged", "spilled", "optimistic"} <= set(measures)
    ms = MemorySampler()
    for m in measures:
        async with ms.sample(m, measure=m, interval=0.01):
            await asyncio.sleep(0.02)
        assert ms.samples[m] and ms.measures[m] == m
    with pytest.raises(ValueError, match="MemoryState"):
        async with ms.sample("bad", measure="no_such_measure"):
            pass
    assert recordings_in_progress(s) == 0


def test_rss_reads_local_worker_processes():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        pids = client.run(os.getpid)
        assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
        ms = MemorySampler()
        with ms.sample("rss", measure="rss", interval=0.02), ms.sample("p", interval=0.02):
            client.submit(sum, range(1000)).result()
    rss = ms.samples["rss"]
    assert len(rss) >= 1 and rss[0][1] > 10 * 2**20  # two Python processes with dask loaded
    per = ms.worker_samples["rss"]
    assert set(per) == set(pids)
    first_ts = rss[0][0]
    assert sum(w[0][1] for w in per.values() if w[0][0] == first_ts) == rss[0][1]


def test_save_writes_the_cli_files(tmp_path):
    pytest.importorskip("matplotlib")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        ms = MemorySampler()
        with ms.sample("run 1", client=client, measure="managed", interval=0.01):
            held = client.submit(SizeOf, 50_000, pure=False)
            held.result()
            time.sleep(0.1)
    written = {p.name for p in ms.save(tmp_path)}
    assert written == {"report.json", "samples.csv", "memory.png", "memory.svg"}
    with open(tmp_path / "samples.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["label", "time_s", "measure", "worker", "bytes"]
    assert {r["measure"] for r in rows} == {"dask_managed"}
    assert rows[0]["time_s"] == "0.000000" and rows[0]["worker"] == ""
    assert any(r["worker"] for r in rows)  # the per-worker rows
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["runs"][0]["label"] == "run 1" and report["runs"][0]["peak_bytes"] >= 50_000
    assert (tmp_path / "memory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
