"""The sampling driver on a real LocalCluster (loopback only), run from the
package written to a temp dir as graphprof's binary does."""

import json
import os
import socket
import statistics
import subprocess
import sys
import time

import pytest

PAYLOAD = 240 * 1024


def run_driver(embedded_pkg, args, timeout=240, python=None):
    env = dict(os.environ, PYTHONPATH=embedded_pkg)
    t0 = time.monotonic()
    r = subprocess.run([python or sys.executable, "-m", "graphprof.run", "driver", *args],
                       env=env, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - t0
    events = [json.loads(ln) for ln in r.stdout.splitlines()]  # every line is JSON
    return r, events, took


def held_rss(events, label):
    """Sum over workers of the median RSS during the label's held phase."""
    phases = {e["phase"]: e["t"] for e in events if e["event"] == "phase" and e["label"] == label}
    lo, hi = phases["held"], phases["released"]
    per = {}
    for e in events:
        if e["event"] == "sample" and e["label"] == label and e["measure"] == "rss" and lo <= e["t"] <= hi:
            per.setdefault(e["worker"], []).append(e["bytes"])
    assert len(per) == 2, per.keys()
    return sum(statistics.median(v) for v in per.values())


@pytest.fixture(scope="module")
def runs(embedded_pkg):
    out = {}
    for chunks in (64, 256):
        r, ev, _ = run_driver(embedded_pkg, [
            "--strategy", "scatter", "--strategy", "inline", "--chunks", str(chunks),
            "--payload-bytes", str(PAYLOAD), "--workers", "2", "--interval-ms", "100", "--hold-s", "1.5"])
        errors = [e for e in ev if e["event"] == "error"]
        assert r.returncode == 0, (errors, r.stderr[-3000:])
        out[chunks] = ev
    return out


def test_protocol_shape(runs):
    for chunks, ev in runs.items():
        assert ev[0]["event"] == "hello" and ev[0]["protocol"] == 1
        assert ev[0]["dask"] and ev[0]["distributed"] and ev[0]["python"]
        assert ev[-1] == {"event": "end"}
        workers = [e for e in ev if e["event"] == "workers"][0]["workers"]
        assert [w["id"] for w in workers] == [0, 1]
        assert all(w["address"].startswith("tcp://127.0.0.1:") and w["pid"] > 0 for w in workers)
        # The LocalCluster's own memory_limit, the budget of "how many chunks fit".
        assert all(w["memory_limit"] > 100 << 20 for w in workers)
        # 100 ms is shorter than the heartbeat, but rss moves at every interval and the
        # scheduler's figures are read when a heartbeat brings them: nothing to warn about.
        assert not any(e["event"] == "warning" for e in ev)
        for label in ("scatter", "inline"):
            # One reading per worker and measure at a time, times increasing.
            seen = [(e["t"], e["measure"], e["worker"]) for e in ev
                    if e["event"] == "sample" and e["label"] == label]
            assert len(seen) == len(set(seen))
            rss_t = [t for t, m, w in seen if m == "rss" and w == 0]
            assert rss_t == sorted(rss_t)
        for label in ("scatter", "inline"):
            seq = [e["phase"] for e in ev if e["event"] == "phase" and e["label"] == label]
            assert seq == ["submit", "compute", "held", "released"]
            ts = [e["t"] for e in ev if e["event"] == "phase" and e["label"] == label]
            assert ts == sorted(ts)
            done = [e for e in ev if e["event"] == "done" and e["label"] == label]
            assert len(done) == 1 and done[0]["complete"] is True
            prog = [e for e in ev if e["event"] == "progress" and e["label"] == label]
            assert prog[-1]["done"] == prog[-1]["total"] == 2 * chunks or prog[-1]["done"] == prog[-1]["total"]
            measures = {e["measure"] for e in ev if e["event"] == "sample" and e["label"] == label}
            assert measures == {"rss", "dask_process", "dask_managed"}
            assert {e["worker"] for e in ev if e["event"] == "sample" and e["label"] == label} == {0, 1}
        wire = {e["label"]: e for e in ev if e["event"] == "wire"}
        assert wire["inline"]["warning"] is False and wire["inline"]["warning_text"] is None
        # inline's message is scatter's plus one Mapper, at any chunk count
        assert 0.9 * PAYLOAD < wire["inline"]["wire_bytes"] - wire["scatter"]["wire_bytes"] < 1.1 * PAYLOAD


def test_inline_rss_exceeds_scatter_and_grows_with_chunks(runs):
    inl = {c: held_rss(ev, "inline") for c, ev in runs.items()}
    sca = {c: held_rss(ev, "scatter") for c, ev in runs.items()}
    # one live Mapper per held task: (256 - 64) chunks x ~240 KiB ~ 47 MB more
    assert inl[256] - inl[64] > 0.5 * (256 - 64) * PAYLOAD, (inl, sca)
    assert inl[256] > sca[256] + 0.5 * 256 * PAYLOAD, (inl, sca)
    assert inl[64] > sca[64], (inl, sca)
    # scatter grows only by results and bookkeeping
    assert (sca[256] - sca[64]) < 0.5 * (inl[256] - inl[64]), (inl, sca)


def test_unreachable_scheduler_fails_fast(embedded_pkg):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # a closed port on loopback
    r, ev, took = run_driver(embedded_pkg, ["--scheduler", f"tcp://127.0.0.1:{port}", "--timeout-s", "3",
                                            "--strategy", "inline", "--chunks", "4"], timeout=60)
    assert r.returncode == 3, r.stderr[-2000:]
    assert took < 3 + 15
    errs = [e for e in ev if e["event"] == "error"]
    assert len(errs) == 1 and errs[0]["kind"] == "unreachable"
    assert f"127.0.0.1:{port}" in errs[0]["text"]
    assert r.stderr.strip()


def test_missing_dependency(embedded_pkg, tmp_path):
    # A bare virtual environment: the driver's package on PYTHONPATH, no dask.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "bare")], check=True)
    py = str(tmp_path / "bare" / "bin" / "python")
    r, ev, _ = run_driver(embedded_pkg, ["--strategy", "inline"], timeout=60, python=py)
    assert r.returncode == 2
    errs = [e for e in ev if e["event"] == "error"]
    assert len(errs) == 1 and errs[0]["kind"] == "missing_dependency"
    assert errs[0]["pip"].split()[1:4] == ["-m", "pip", "install"] and "dask" in errs[0]["pip"]
    assert "distributed" in errs[0]["pip"]


def test_the_missing_dependency_line_asks_for_the_supported_ranges():
    """The driver's pip line names the `[dask]` extra's ranges (what pyproject.toml declares),
    quoted for a shell, never an exact pin that would force a user's versions."""
    import tomllib

    from graphprof.run.protocol import REQUIRED, SUPPORTED, pip_command

    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(here, "pyproject.toml"), "rb") as fh:
        extra = tomllib.load(fh)["project"]["optional-dependencies"]["dask"]
    declared = {req.split(">=")[0].strip().lower(): req for req in extra}
    for name, wanted in SUPPORTED.items():
        assert declared[name] == wanted
    line = pip_command()
    assert "==" not in line
    for name in REQUIRED:
        assert f"'{SUPPORTED[name]}'" in line


def test_worker_dies_mid_run(embedded_pkg):
    import signal

    env = dict(os.environ, PYTHONPATH=embedded_pkg)
    p = subprocess.Popen([sys.executable, "-m", "graphprof.run", "driver", "--strategy", "inline",
                          "--strategy", "scatter", "--chunks", "64", "--workers", "2",
                          "--interval-ms", "100", "--hold-s", "8"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    events = []
    try:
        for line in p.stdout:
            e = json.loads(line)
            events.append(e)
            if e["event"] == "phase" and e["phase"] == "held":
                pid = [x for x in events if x["event"] == "workers"][0]["workers"][0]["pid"]
                os.kill(pid, signal.SIGKILL)  # a worker process this test's driver started
        rc = p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert rc == 4
    errs = [e for e in events if e["event"] == "error"]
    assert errs and errs[0]["kind"] == "worker_died"
    done = [e for e in events if e["event"] == "done"]
    assert len(done) == 1 and done[0]["label"] == "inline" and done[0]["complete"] is False
    assert any(e["event"] == "sample" for e in events)
    assert events[-1] == {"event": "end"}


@pytest.mark.parametrize("in_memory, pickled", [
    (1_858_968, 119_808),   # a dict of 20,000 ints (15.5x its pickle)
    (950_000, 50_000),      # a set of ints (19x)
    (1_800_000, 400_000),   # a list of floats (4.5x)
    (2_100_000, 100_000),   # 21x: beyond what a list of ints reaches
    (325_683, 321_536),     # an ndarray (1.0x)
    (245_760, None),        # only the pickled size is known
])
def test_a_replays_synthetic_object_has_the_recorded_sizes(in_memory, pickled):
    # What a worker deserialises per task must hold the recorded in-memory size, and the pickle
    # that travels must be the recorded one: a numpy buffer of the in-memory size put a dict's
    # 16x into the wire and into the allocator's behaviour as a single buffer.
    from graphprof.run.replay import measured_sizes, synthetic_object

    obj = synthetic_object(in_memory, pickled)
    got_pickled, got_held = measured_sizes(obj)
    assert abs(got_held - in_memory) <= 0.03 * in_memory, (got_held, in_memory)
    if pickled is not None:
        assert abs(got_pickled - pickled) <= 0.03 * pickled, (got_pickled, pickled)


def test_layers_event_says_what_each_worker_holds_per_layer(runs):
    ev = runs[256]
    layers = {e["label"]: e for e in ev if e["event"] == "layers"}
    assert set(layers) == {"scatter", "inline"}
    for label, event in layers.items():
        order = [(e["event"], e.get("phase")) for e in ev if e.get("label") == label
                 and (e["event"] == "layers" or e["event"] == "phase")]
        # Read once the held level is read (the heap the probe leaves is not held memory), the
        # results still alive (every `lookup` result in memory, below): just after the released
        # mark, before the results are dropped.
        assert order.index(("layers", None)) == order.index(("phase", "released")) + 1, order
        assert len(event["workers"]) == 2 and event["probe_s"] >= 0
    summed = {}
    for label, event in layers.items():
        for rows in event["workers"].values():
            for row in rows:
                assert set(row) == {"layer", "tasks_in_memory", "results_bytes", "released_kept",
                                    "run_spec_bytes", "estimated", "fetched", "fetched_bytes"}
                total = summed.setdefault((label, row["layer"]), dict.fromkeys(row, 0))
                for field in ("tasks_in_memory", "results_bytes", "released_kept", "run_spec_bytes"):
                    total[field] += row[field]
    # The results are held as `lookup` (8,000 B each); inline's fused tasks are released but
    # keep their run_specs, each with its own Mapper.
    for label in ("inline", "scatter"):
        assert summed[(label, "lookup")]["tasks_in_memory"] == 256
        assert summed[(label, "lookup")]["results_bytes"] == 256 * 8000
    inline_specs = sum(t["run_spec_bytes"] for (label, _), t in summed.items() if label == "inline")
    scatter_specs = sum(t["run_spec_bytes"] for (label, _), t in summed.items() if label == "scatter")
    assert summed[("inline", "arange-lookup")]["released_kept"] == 256
    assert summed[("inline", "arange-lookup")]["run_spec_bytes"] > 0.9 * 256 * PAYLOAD
    assert scatter_specs < 0.05 * inline_specs, summed


def test_the_workers_lookup_is_fetched_not_the_clients_cached_copy():
    """The driver counts a worker gone after 3 lookups in a row without it. `client.scheduler_info()`
    fetches the scheduler's identity, then returns the client's cached copy, which the client's
    own periodic update (asking for no workers) can replace in between: with that update every
    2 ms, 28 to 36 of 300 such lookups came back short: every worker "gone" at once, as in a CI run
    that failed under load.
    The driver's lookup fetches its own answer: every one is whole."""
    import dask
    from distributed import Client, LocalCluster

    from graphprof.sampler.cluster import _current_addrs, scheduler_workers

    with dask.config.set({"distributed.client.scheduler-info-interval": "2ms"}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                         host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client:
        client.wait_for_workers(2, timeout=60)
        expected = set(cluster.scheduler.workers)
        assert len(expected) == 2
        short = [n for n in range(300) if _current_addrs(client) != expected]
        assert short == []
        assert all(set(scheduler_workers(client)) == expected for _ in range(50))
