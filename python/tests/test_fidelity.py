"""graphprof's figures against distributed's own, on ordinary Dask programs (``programs/``).

For each program, ``graphprof dask export PROGRAM.py:result`` and ``graphprof analyze --format
json`` (the real binary) are compared with the ground truth ``truth.py`` takes from distributed in
a fresh process: the bytes ``distributed.client.serialize`` sends during a real ``persist`` and
whether "Sending large graph" is warned, the tasks the scheduler materialises (keys, data objects,
edges, each run_spec pickled one by one) and the objects tasks share by identity.

Asserted per program: wire within 5%, warning verdict equal, materialised within 10%, no phantom
keys (same task keys, data objects and edge count), duplicated objects exact (same copy counts,
sizes within 5%).  ``pytest -s`` prints the table; it is also written to ``fidelity-table.md``.
"""

import glob
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

import fidelity

PROGRAMS = sorted(p for p in glob.glob(os.path.join(fidelity.PROGRAMS, "*.py")))
NAMES = [os.path.splitext(os.path.basename(p))[0] for p in PROGRAMS]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """name -> (graph, analysis, truth) for every program, two at a time (2 cores)."""
    out = str(tmp_path_factory.mktemp("fidelity"))

    def one(program):
        try:
            true = fidelity.truth(program, out)
            graph, analysis = fidelity.export_and_analyze(program, out)
            return graph, analysis, true
        except Exception as e:  # reported per program by the tests below
            return str(e).splitlines()[0][:200] + "\n" + str(e), None, None

    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(NAMES, pool.map(one, PROGRAMS)))
    rows = fidelity.table_rows(done)
    text = "\n".join(["## graphprof against distributed, per program", "", *rows, ""])
    with open(fidelity.TABLE, "w", encoding="utf-8") as fh:
        fh.write(text)
    print("\n" + text)
    return done


def _get(results, name):
    graph, analysis, true = results[name]
    if analysis is None:
        pytest.fail(f"{name}: export, analyze or truth failed: {graph}")
    return graph, analysis, true


def test_every_kind_is_covered():
    kinds = {"lookup_table", "bound_method", "closure_list", "partial_dict", "df_dict_arg",
             "df_frame_arg", "groupby_apply", "merge_small", "set_index", "bag_pipeline",
             "delayed_shared", "distinct_literals", "reduction", "from_array"}
    assert kinds <= set(NAMES), kinds - set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_wire_within_5_percent(results, name):
    _, analysis, true = _get(results, name)
    ours, theirs = analysis["sizes"]["wire_bytes"], true["wire_bytes"]
    err = fidelity.error(ours, theirs)
    assert abs(err) <= 0.05, f"{name}: graphprof wire {ours:,} B, distributed sent {theirs:,} B ({err:+.1%})"


@pytest.mark.parametrize("name", NAMES)
def test_warning_verdict_equal(results, name):
    _, analysis, true = _get(results, name)
    assert analysis["warning"]["fires"] == true["warned"], (
        f"{name}: graphprof says the warning fires={analysis['warning']['fires']} "
        f"(wire {analysis['warning']['wire_bytes']:,} B), distributed warned={true['warned']} "
        f"(sent {true['wire_bytes']:,} B)")


def test_both_verdicts_are_covered(results):
    warned = {name: results[name][2]["warned"] for name in NAMES if results[name][2] is not None}
    assert warned.get("distinct_literals") is True, warned
    assert warned.get("lookup_table") is False, warned


@pytest.mark.parametrize("name", NAMES)
def test_materialised_within_10_percent(results, name):
    _, analysis, true = _get(results, name)
    ours, theirs = analysis["sizes"]["materialised_bytes"], true["materialised_bytes"]
    err = fidelity.error(ours, theirs)
    assert abs(err) <= 0.10, (f"{name}: graphprof materialised {ours:,} B, the scheduler's tasks "
                              f"pickled one by one {theirs:,} B ({err:+.1%})")


@pytest.mark.parametrize("name", NAMES)
def test_no_phantom_keys(results, name):
    graph, analysis, true = _get(results, name)
    ours = fidelity.key_counts(t["key"] for t in graph["tasks"])
    theirs = fidelity.key_counts(true["keys"])
    assert ours == theirs, (f"{name}: tasks only in graphprof's graph: {dict(ours - theirs)}; "
                            f"only on the scheduler: {dict(theirs - ours)}")
    ours_data = fidelity.key_counts(d["key"] for d in graph.get("data", []))
    theirs_data = fidelity.key_counts(true["data_keys"])
    assert ours_data == theirs_data, f"{name}: data objects {dict(ours_data)} vs the scheduler's {dict(theirs_data)}"
    assert analysis["graph"]["edges"] == true["edges"], (
        f"{name}: {analysis['graph']['edges']} edges, the scheduler has {true['edges']}")


@pytest.mark.parametrize("name", NAMES)
def test_duplicated_objects_exact(results, name):
    _, analysis, true = _get(results, name)
    found = fidelity.copied_duplicates(analysis)
    missing, extra = fidelity.match_duplicates(true["duplicates"], found)
    assert not missing and not extra, (
        f"{name}: objects shared by tasks on the scheduler but not reported (or wrong copies/size): "
        f"{[(d['type'], d['size_bytes'], d['copies']) for d in missing]}; reported but not shared: "
        f"{[(d.get('type_name'), d['size_bytes'], d['copies']) for d in extra]}")
