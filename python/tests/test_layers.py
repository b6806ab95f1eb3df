"""graphprof.sampler.layers on a stand-in worker (no cluster: the real-Dask probe is checked by
test_driver.py and tests/dask.rs) and ``SampleResult.layers`` read from a report.json."""

from types import SimpleNamespace

import pytest

pytest.importorskip("dask")

from dask._task_spec import DataNode, Task, TaskRef  # noqa: E402

from graphprof.api.comparison import LAYER_COLUMNS, SampleResult  # noqa: E402
from distributed.utils_test import gen_cluster  # noqa: E402

from graphprof.sampler import layers  # noqa: E402


def task_state(key, state, run_spec=None, nbytes=-1):
    return SimpleNamespace(key=key, state=state, run_spec=run_spec, nbytes=nbytes)


def worker(states, data=None):
    return SimpleNamespace(state=SimpleNamespace(tasks={ts.key: ts for ts in states}),
                           data=data or {})


def lookup(block, table):
    return table[block]


def test_held_layers_counts_results_kept_specs_and_each_embedded_copy():
    tables = [{i: str(i) for i in range(2000)} for _ in range(4)]  # one copy per task
    states = [task_state(("f-1", i), "memory", Task(("f-1", i), lookup, i, tables[i]), nbytes=100)
              for i in range(3)]
    states.append(task_state(("f-1", 3), "released", Task(("f-1", 3), lookup, 3, tables[3])))
    states.append(task_state(("g-2", 0), "memory", Task(("g-2", 0), sum, TaskRef(("f-1", 0))),
                             nbytes=8))
    states.append(task_state(("h-3", 0), "released", None))  # forgotten spec: not counted
    rows = {r["layer"]: r for r in layers.held_layers(worker(states))}
    assert set(rows) == {"f", "g"}
    f = rows["f"]
    assert (f["tasks_in_memory"], f["results_bytes"], f["released_kept"]) == (3, 300, 1)
    one = layers.object_in_memory_bytes(tables[0])
    assert one > 50_000
    assert 4 * one <= f["run_spec_bytes"] < 4 * one + 20_000
    assert f["estimated"], "four alike dicts, one measured"
    assert rows["g"]["run_spec_bytes"] < 2_000 and not rows["g"]["estimated"]


def test_a_shared_object_counts_once_and_the_budget_bounds_the_measurements():
    shared = list(range(10_000))
    states = [task_state(("f-1", i), "memory", Task(("f-1", i), lookup, i, shared), nbytes=1)
              for i in range(5)]
    shared_only = layers.held_layers(worker(states))[0]
    assert shared_only["run_spec_bytes"] < 1.5 * layers.object_in_memory_bytes(shared) + 10_000
    assert not shared_only["estimated"]
    own = [task_state(("d-1", i), "memory", DataNode(("d-1", i), [str(j) for j in range(100 + i)]),
                      nbytes=1)
           for i in range(5)]  # five groups (lengths differ)
    unbounded = layers.held_layers(worker(own))[0]
    bounded = layers.held_layers(worker(own), max_measurements=2)[0]
    assert not unbounded["estimated"] and bounded["estimated"]
    assert bounded["run_spec_bytes"] < unbounded["run_spec_bytes"]


def test_fetched_results_are_counted_per_layer_from_the_run_only():
    log = [{"start": 5.0, "keys": {("f-1", 0): 500, ("f-1", 1): -1}},   # before the run
           {"start": 10.0, "keys": {("f-1", 2): 400, "g-2": 7}},
           {"start": 11.0, "keys": {("f-1", 3): 600}},
           {"start": 12.0}]                                               # another shape: skipped
    states = [task_state(("f-1", 9), "memory", None, nbytes=3)]
    stand_in = worker(states)
    stand_in.transfer_incoming_log = log
    rows = {r["layer"]: r for r in layers.held_layers(stand_in, since=9.0)}
    assert (rows["f"]["fetched"], rows["f"]["fetched_bytes"]) == (2, 1000)
    assert (rows["g"]["fetched"], rows["g"]["fetched_bytes"], rows["g"]["tasks_in_memory"]) == (1, 7, 0)
    everything = {r["layer"]: r for r in layers.held_layers(stand_in)}
    assert (everything["f"]["fetched"], everything["f"]["fetched_bytes"]) == (4, 1500)


def test_sample_result_layers_reads_report_json():
    figures = {"tasks_in_memory": 2, "results_bytes": 16, "released_kept": 1,
               "run_spec_bytes": 900, "estimated": True, "fetched": 1, "fetched_bytes": 8}
    report = {"runs": [{"label": "as-given", "real_dask": {"held_layers": [
        {"layer": "f", "measured": figures,
         "per_worker": [{"worker": 0, "address": "tcp://a:1", "measured": figures}],
         "predicted": {"tasks_in_memory": 2, "results_bytes": 0, "unknown_results": 2,
                       "released_kept": 0, "run_spec_bytes": 800}},
        {"layer": "g", "measured": None, "per_worker": [], "predicted": None}]}},
        {"label": "builtin", "real_dask": None}]}
    result = SampleResult(title="t", report=report, table=None)
    rows = result.layer_rows()
    assert [(r["run"], r["layer"]) for r in rows] == [("as-given", "f"), ("as-given", "g")]
    assert rows[0]["run_spec_bytes"] == 900 and rows[0]["predicted_run_spec_bytes"] == 800
    assert (rows[0]["fetched"], rows[0]["fetched_bytes"]) == (1, 8)
    assert rows[1]["tasks_in_memory"] is None
    assert result.layer_rows(per_worker=True) == [
        {"run": "as-given", "layer": "f", "worker": 0, "address": "tcp://a:1", **figures}]
    frame = result.layers
    assert list(frame.columns) == list(LAYER_COLUMNS) and len(frame) == 2


def _partition(n):
    return list(range(n))


def _count(part):
    return len(part)


@gen_cluster(client=True, nthreads=[("127.0.0.1", 1), ("127.0.0.1", 1)])
async def test_a_result_the_scheduler_moves_is_counted_on_the_worker_that_fetched_it(c, s, a, b):
    """The real in-process scheduler and workers: a result made on one worker and used by a task
    pinned to the other is counted as fetched there (its layer, its size), once, and not on the
    worker that made it; a run started after the move counts nothing."""
    import time

    since = time.time()
    part = c.submit(_partition, 10_000, key=("part-1", 0), workers=[a.address])
    count = c.submit(_count, part, key=("count-2", 0), workers=[b.address])
    assert await count == 10_000
    on_b = {r["layer"]: r for r in layers.held_layers(b, since=since)}
    on_a = {r["layer"]: r for r in layers.held_layers(a, since=since)}
    assert on_b["part"]["fetched"] == 1
    assert on_b["part"]["fetched_bytes"] == a.state.tasks[("part-1", 0)].nbytes > 80_000
    assert on_a["part"]["fetched"] == 0 and "count" not in on_a
    later = {r["layer"]: r for r in layers.held_layers(b, since=time.time() + 60)}
    assert later.get("part", {}).get("fetched", 0) == 0


def test_a_lower_bound_prediction_is_shown_as_one_with_no_error():
    def run(label, **held):
        return {"label": label, "wire_bytes": 10, "wall_time_s": 1.0, "complete": True,
                "held_vs_model": {"predicted_bytes": 4_000_000, "measured_bytes": 50_000_000,
                                  "error_percent": 1150.0, **held}}

    report = {"runs": [run("as-given", lower_bound=True), run("scatter")]}
    rows = {r["strategy"]: r for r in SampleResult(title="t", report=report, table=None).summary_rows()}
    assert rows["as-given"]["predicted"].startswith(">= ") and rows["as-given"]["error"] == "-"
    assert not rows["scatter"]["predicted"].startswith(">") and rows["scatter"]["error"] == "+1150%"
