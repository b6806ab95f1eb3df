"""What graphprof.MemorySampler adds to distributed's: per-worker series, local RSS, phases, the CLI's files.

Each on a real cluster: the in-process scheduler and workers of ``gen_cluster``, or a
LocalCluster with worker processes for RSS.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from distributed import Client, LocalCluster  # noqa: E402
from distributed.utils_test import SizeOf, gen_cluster  # noqa: E402

from graphprof import MemorySampler  # noqa: E402
from graphprof._binary import find_graphprof_bin  # noqa: E402
from graphprof.sampler.cluster import scheduler_workers  # noqa: E402
from graphprof.sampler.memory_sampler import recordings_in_progress  # noqa: E402


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


def _png_size(path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _managed(dask_scheduler):
    return dask_scheduler.memory.managed


def _wait_for_managed(client, expected, timeout_s=60.0):
    deadline = time.monotonic() + timeout_s
    while (managed := client.run_on_scheduler(_managed)) != expected:
        assert time.monotonic() < deadline, f"the scheduler's managed memory stayed {managed}, not {expected}"
        time.sleep(0.01)


def test_marks_are_placed_on_the_time_base_of_the_samples(tmp_path, monkeypatch):
    """A sample's first reading comes some time after the sample began (a call to the scheduler:
    seconds on a loaded machine). Its phases are counted from that reading, as its samples are,
    so a reading taken after ``mark("released")`` counts as released, one before it as held."""
    import graphprof.sampler.memory_sampler as module

    ms = MemorySampler()
    clock = iter([100.0, 100.5, 100.7])  # the sample begins; "held"; "released"
    monkeypatch.setattr(module.time, "time", lambda: next(clock))
    token = ms._begin()
    ms.mark("held")
    ms.mark("released")
    monkeypatch.undo()
    worker = "tcp://127.0.0.1:40000"
    # The first reading came 0.3 s after the sample began; the next two fall in "held" and
    # "released".
    readings = [(100.3, 0, {worker: 0}), (100.6, 50_000, {worker: 50_000}), (100.75, 0, {worker: 0})]
    ms._keep("run 1", "key", "managed", 0.01, token, readings)
    assert [phase for phase, _ in ms.phases["run 1"]] == ["held", "released"]
    assert [at for _, at in ms.phases["run 1"]] == pytest.approx([0.2, 0.4])
    ms.save(tmp_path / "ours")
    report = json.loads((tmp_path / "ours" / "report.json").read_text())
    managed = next(m for m in report["runs"][0]["measures"] if m["worker"] is None)
    assert managed["held_bytes"] == 50_000 and managed["after_release_bytes"] == 0


def test_save_writes_what_graphprof_sample_writes(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        ms = MemorySampler()
        with ms.sample("run 1", client=client, measure="managed", interval=0.01), \
                ms.sample("whole", client=client, interval=0.01):
            ms.mark("compute")
            held = client.submit(SizeOf, 50_000, pure=False)
            held.result()
            ms.mark("held")
            # Each phase lasts until the scheduler shows it and readings at 10 ms have followed
            # (a release reaches the scheduler when it does: seconds on a loaded machine).
            _wait_for_managed(client, 50_000)
            time.sleep(0.3)
            # A phase is marked as it begins (a reading taken once the release has begun is a
            # released one): marking after `del` let a preempted test count 0 as held.
            ms.mark("released")
            del held
            _wait_for_managed(client, 0)
            time.sleep(0.3)
        addresses = sorted(scheduler_workers(client))
    ours = tmp_path / "ours"
    written = {p.name for p in ms.save(ours)}
    assert written == {"report.json", "samples.csv", "memory.png", "memory.svg",
                       "dask-managed.png", "dask-managed.svg"}
    theirs = tmp_path / "cli"
    subprocess.run([find_graphprof_bin(), "sample", "--chunks", "16", "-q", "-o", str(theirs)], check=True)

    schema = json.loads((Path(__file__).resolve().parents[2] / "docs/sample-report.schema.json").read_text())
    report = json.loads((ours / "report.json").read_text())
    cli_report = json.loads((theirs / "report.json").read_text())
    jsonschema.validate(report, schema)
    jsonschema.validate(cli_report, schema)
    assert report["schema"] == cli_report["schema"] == "graphprof-sample"
    assert set(report["runs"][0]) == set(cli_report["runs"][0])
    assert report["parameters"]["workers"] == 2
    assert report["parameters"]["source"].endswith(f"workers 0={addresses[0]}, 1={addresses[1]}")
    run = next(r for r in report["runs"] if r["label"] == "run 1")
    assert [m["phase"] for m in run["phases"]] == ["compute", "held", "released"]
    managed = next(m for m in run["measures"] if m["measure"] == "dask_managed" and m["worker"] is None)
    assert managed["held_bytes"] == 50_000 and managed["after_release_bytes"] == 0
    assert managed["peak_bytes"] == 50_000
    assert {m["worker"] for m in run["measures"]} == {None, 0, 1}

    with open(ours / "samples.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert (ours / "samples.csv").read_text().splitlines()[0] == (theirs / "samples.csv").read_text().splitlines()[0]
    assert {r["measure"] for r in rows} == {"dask_managed", "dask_process"}
    assert {r["worker"] for r in rows} == {"", "0", "1"}
    assert len([r for r in rows if r["label"] == "run 1" and r["worker"] == ""]) == len(ms.samples["run 1"])
    for name in ("memory", "dask-managed"):
        assert _png_size(ours / f"{name}.png") == _png_size(theirs / "memory.png")
        svg = (ours / f"{name}.svg").read_text()
        assert svg.startswith("<svg") and "graphprof.MemorySampler" in svg


@gen_cluster(client=True)
async def test_save_leaves_out_measures_the_cli_does_not_name_and_refuses_a_foreign_folder(c, s, a, b):
    import tempfile

    ms = MemorySampler()
    async with ms.sample("spilled", measure="spilled", interval=0.01):
        await asyncio.sleep(0.02)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        with pytest.raises(ValueError, match="nothing to save"), pytest.warns(UserWarning, match="'spilled'"):
            ms.save(out / "a")
        async with ms.sample("p", interval=0.01):
            await asyncio.sleep(0.02)
        with pytest.warns(UserWarning, match="'spilled'"):
            assert {p.name for p in ms.save(out / "b")} >= {"report.json", "samples.csv", "memory.png"}
        report = json.loads((out / "b" / "report.json").read_text())
        assert [r["label"] for r in report["runs"]] == ["p"]
        (out / "c").mkdir()
        (out / "c" / "notes.txt").write_text("the user's")
        with pytest.warns(UserWarning), pytest.raises(RuntimeError, match="not empty"):
            ms.save(out / "c")
        with pytest.warns(UserWarning):
            ms.save(out / "c", force=True)
        assert (out / "c" / "notes.txt").read_text() == "the user's"
