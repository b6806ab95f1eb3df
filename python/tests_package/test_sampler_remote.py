"""graphprof.MemorySampler on a cluster whose scheduler and worker cannot import graphprof.

A user's remote cluster usually lacks graphprof. Here ``dask scheduler`` and ``dask worker``
(no nanny, so the worker is the process started) run as processes of their own with
``graphprof`` blocked from import (``sys.modules["graphprof"] = None``); the client, this test,
has it. The sampler must still sample every measure, per worker, and save the CLI's files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from distributed import Client  # noqa: E402
from distributed.utils_test import SizeOf  # noqa: E402

from graphprof import MemorySampler  # noqa: E402
from graphprof.sampler.cluster import scheduler_workers  # noqa: E402
from graphprof.sampler.memory_sampler import recordings_in_progress  # noqa: E402

#: Runs a distributed CLI (``scheduler`` or ``worker``) in a process that cannot import graphprof.
LAUNCHER = """\
import sys
sys.modules["graphprof"] = None  # `import graphprof` fails in this process
which = sys.argv.pop(1)
if which == "scheduler":
    from distributed.cli.dask_scheduler import main
else:
    from distributed.cli.dask_worker import main
sys.exit(main())
"""


def _start(tmp_path: Path, which: str, *args: str) -> subprocess.Popen:
    launcher = tmp_path / "launch.py"
    launcher.write_text(LAUNCHER)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    log = open(tmp_path / f"{which}.log", "w")
    return subprocess.Popen([sys.executable, "-I", str(launcher), which, *args], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)


@pytest.fixture
def cluster_without_graphprof(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    processes = [_start(tmp_path, "scheduler", "--scheduler-file", str(scheduler_file),
                        "--no-dashboard", "--host", "127.0.0.1", "--port", "0")]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert scheduler_file.exists(), (tmp_path / "scheduler.log").read_text()
        processes.append(_start(tmp_path, "worker", "--scheduler-file", str(scheduler_file),
                                "--no-nanny", "--nthreads", "1", "--no-dashboard",
                                "--host", "127.0.0.1"))
        with Client(scheduler_file=str(scheduler_file), timeout=30) as client:
            client.wait_for_workers(1, timeout=60)
            yield client, processes[1].pid
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_memory_sampler_needs_no_graphprof_on_the_cluster(cluster_without_graphprof, tmp_path):
    client, worker_pid = cluster_without_graphprof
    # The cluster really cannot import graphprof: a function of it sent by name fails there.
    with pytest.raises(Exception, match="graphprof"):
        client.run_on_scheduler(recordings_in_progress)
    with pytest.raises(Exception, match="graphprof"):
        client.run(recordings_in_progress)
    (address,) = scheduler_workers(client)
    assert client.run(os.getpid) == {address: worker_pid}

    ms = MemorySampler()
    with ms.sample("process", interval=0.05), ms.sample("managed", measure="managed", interval=0.05), \
            ms.sample("rss", measure="rss", interval=0.05):
        ms.mark("compute")
        held = client.submit(SizeOf, 300_000, pure=False)
        held.result()
        ms.mark("held")
        time.sleep(0.6)  # past a heartbeat: the scheduler's process figure is current
        # A phase is marked as it begins (a reading taken once the release has begun is a
        # released one): marking after `del` let a preempted test count 0 as held.
        ms.mark("released")
        del held
        time.sleep(0.3)

    for label in ("process", "managed", "rss"):
        assert len(ms.samples[label]) >= 3, label
        assert set(ms.worker_samples[label]) == {address}, label
    # One worker: the cluster total is that worker's reading, tick by tick.
    for label in ("process", "managed", "rss"):
        assert [b for _, b in ms.samples[label]] == [b for _, b in ms.worker_samples[label][address]]
    managed = [b for _, b in ms.samples["managed"]]
    assert managed[0] == 0 and 300_000 in managed and managed[-1] == 0
    for label in ("process", "rss"):  # a Python process with distributed loaded
        values = [b for _, b in ms.samples[label]]
        assert all(30 * 2**20 < b < 4 * 2**30 for b in values), (label, values)
    # RSS read from the OS agrees with the scheduler's heartbeat figure to within a quarter.
    assert abs(ms.samples["rss"][-1][1] - ms.samples["process"][-1][1]) < ms.samples["rss"][-1][1] / 4
    assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.__dict__.get(
        "_graphprof_memory_samplers", {}))) == 0

    out = tmp_path / "out"
    ms.save(out)
    report = json.loads((out / "report.json").read_text())
    runs = {run["label"]: run for run in report["runs"]}
    held = next(m for m in runs["managed"]["measures"] if m["worker"] is None)
    assert held["measure"] == "dask_managed" and held["held_bytes"] == 300_000
    assert held["after_release_bytes"] == 0
    assert {"memory.png", "dask-managed.png"} <= {p.name for p in out.iterdir()}
