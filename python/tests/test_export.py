"""The exporter on real Dask collections (no mocks)."""

import json
import os
import subprocess
import sys

import cloudpickle
import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from graphcheck import check_graph, payload_uses, wire_model
from graphprof.collect.graph import export
from graphprof.collect.send import serialized_graph
from graphprof.seed import Mapper, make_mapper, mapper_len_for_bytes, seed_collection

PAYLOAD = 240 * 1024


@pytest.fixture(scope="module")
def mapper():
    return Mapper(mapper_len_for_bytes(PAYLOAD))


def _load(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.mark.parametrize("chunks", [64, 256])
def test_inline_map_blocks(tmp_path, mapper, chunks):
    x = seed_collection(chunks, mapper)
    wire_before = serialized_graph(x)[3]
    doc = export(x, tmp_path / "g.json", name=f"inline {chunks}")
    assert doc == _load(tmp_path / "g.json")
    check_graph(doc)
    # exporting must not change what the client sends
    assert serialized_graph(x)[3] == wire_before

    pickled = len(cloudpickle.dumps(mapper))
    uses = payload_uses(doc)
    mapper_uses = {d: u for d, u in uses.items() if abs(u[0][2] - pickled) <= 0.03 * pickled}
    assert len(mapper_uses) == 1, uses.keys()
    (digest, use), = mapper_uses.items()
    lookup_tasks = [i for i, t in enumerate(doc["tasks"]) if t["function"] == "lookup"]
    assert len(lookup_tasks) == chunks
    assert sorted(i for i, _, _ in use) == lookup_tasks  # in every mapped task, once
    assert len({oid for _, oid, _ in use}) == 1  # the same Python object
    assert abs(use[0][2] - pickled) <= 0.03 * pickled
    # chunk results are known: 1000 int64 per chunk
    assert all(doc["tasks"][i].get("output_bytes") == 8000 for i in lookup_tasks)
    # the wire model agrees with what distributed's serialize produces
    assert abs(wire_model(doc) - wire_before) <= 0.10 * wire_before
    assert doc["meta"]["wire_bytes_offline"] == wire_before


def test_delayed_has_no_duplicated_payload(tmp_path):
    n = mapper_len_for_bytes(PAYLOAD)
    x = seed_collection(64, dask.delayed(make_mapper)(n))
    doc = export(x, tmp_path / "g.json", measure_wire=True)
    check_graph(doc)
    assert all(len(u) == 1 for u in payload_uses(doc).values())
    builder = [t for t in doc["tasks"] if t["function"] == "make_mapper"]
    assert len(builder) == 1
    lookups = [t for t in doc["tasks"] if t["function"] == "lookup"]
    assert lookups and all(any(a.get("ref") == builder[0]["key"] for a in t["args"]) for t in lookups)
    assert doc["measured"]["wire_bytes"] == doc["meta"]["wire_bytes_offline"]


def test_scatter_and_measured_wire(tmp_path, mapper):
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        fut = client.scatter(mapper, broadcast=True)
        x = seed_collection(64, fut)
        doc = export(x, tmp_path / "s.json", measure_wire=True, client=client)
        check_graph(doc)
        assert all(len(u) == 1 for u in payload_uses(doc).values())
        assert len(doc["data"]) == 1
        d = doc["data"][0]
        assert d["key"] == fut.key
        pickled = len(cloudpickle.dumps(mapper))
        assert abs(d["size_bytes"] - pickled) <= 0.03 * pickled
        lookups = [t for t in doc["tasks"] if t["function"] == "lookup"]
        assert len(lookups) == 64 and all({"ref": fut.key} in t["args"] for t in lookups)
        assert doc["measured"]["source"] == "distributed.client.serialize"
        ws = doc["measured"]["wire_bytes"]
        assert ws < 64 * 1024  # no Mapper in the message
        assert abs(wire_model(doc) - ws) <= 0.10 * ws

        # inline: the size distributed computed, through a real client
        xi = seed_collection(64, mapper)
        doci = export(xi, tmp_path / "i.json", measure_wire=True, client=client)
        wi = doci["measured"]["wire_bytes"]
        # The copy that was persisted sends within 0.1% of what the user's first send is.
        assert abs(wi - doci["meta"]["wire_bytes_offline"]) <= 0.001 * wi
        assert abs(wire_model(doci) - wi) <= 0.10 * wi
        assert wi - ws > 0.9 * pickled  # inline = scatter + one Mapper


def test_array_reduction(tmp_path):
    x = da.arange(100_000, chunks=1000).sum()
    doc = export(x, tmp_path / "r.json")
    check_graph(doc)
    assert len(doc["tasks"]) > 100
    final = [t for t in doc["tasks"] if t.get("output_bytes") == 8]
    assert final, "the scalar result's size is known"


def _pick(n, table):
    return table[n % 5_000]


def _relabel(n, table):
    return table[n % 5_000] + "!"


def test_a_result_is_sized_without_the_objects_it_shares_with_its_tasks(tmp_path):
    """A bag that returns the dict's own strings holds a list of references on the worker (the
    strings live in the task's copy of the dict, counted there); one that builds new strings
    holds them too. The exporter runs the outputs' subgraphs and must tell the two apart."""
    import dask.bag as db

    table = {i: f"name-{i:06d}" for i in range(5_000)}
    numbers = db.from_sequence(range(10_000), npartitions=2)
    shared = export(numbers.map(_pick, table), tmp_path / "shared.json")
    built = export(numbers.map(_relabel, table), tmp_path / "built.json")

    def outputs(doc):
        sizes = [t["output_bytes"] for t in doc["tasks"]
                 if t.get("function") != "alias" and "output_bytes" in t]
        assert len(sizes) == 2, doc["meta"].get("output_bytes_sampled")
        return sizes

    # 5,000 references in a list (8 bytes each and the list's header), not the strings.
    assert all(5_000 * 8 <= size < 5_000 * 8 * 1.5 for size in outputs(shared)), outputs(shared)
    # 5,000 new 12-character strings (~60 bytes each) besides the references.
    assert all(size > 5_000 * 8 + 5_000 * 50 for size in outputs(built)), outputs(built)


def test_dataframe_groupby(tmp_path):
    pdf = pd.DataFrame({"k": np.arange(20_000) % 13, "v": np.arange(20_000, dtype=float)})
    ddf = dd.from_pandas(pdf, npartitions=8)
    res = ddf.groupby("k").v.agg(["sum", "mean"])
    doc = export(res, tmp_path / "gb.json")
    check_graph(doc)
    # the 8 partitions of literal data are payloads, each its own object
    uses = payload_uses(doc)
    assert len(uses) >= 8 and all(len(u) == 1 for u in uses.values())
    assert len({u[0][1] for u in uses.values()}) == len(uses)


def test_cli_export_from_embedded_package(tmp_path, embedded_pkg):
    script = tmp_path / "my_pipeline.py"
    script.write_text(
        "import numpy as np, pandas as pd, dask.array as da\n"
        "class Table:\n"
        "    def __init__(self, n): self.s = pd.Series(range(n))\n"
        "def f(b, t): return t.s.to_numpy()[b % len(t.s)]\n"
        "table = Table(20_000)\n"
        "result = da.arange(32_000, chunks=1000).map_blocks(f, table, dtype=np.int64,\n"
        "    meta=np.empty((0,), dtype=np.int64))\n"
        "if __name__ == '__main__':\n"
        "    raise SystemExit('must not run')\n"
    )
    out = tmp_path / "graph.json"
    env = dict(os.environ, PYTHONPATH=embedded_pkg)
    r = subprocess.run([sys.executable, "-m", "graphprof.run", "export", f"{script}:result", "-o", str(out)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    doc = _load(out)
    check_graph(doc)
    uses = [u for u in payload_uses(doc).values() if len(u) == 32]
    assert len(uses) == 1 and len({oid for _, oid, _ in uses[0]}) == 1
    assert not list(tmp_path.glob(".graphprof-*"))  # no temp file left behind

    r = subprocess.run([sys.executable, "-m", "graphprof.run", "export", f"{script}:nope", "-o", str(out)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "nope" in r.stderr


def test_the_export_of_an_array_program_does_not_import_pandas(tmp_path, embedded_pkg):
    """`dask export` checks that pandas is installed without importing it (~0.4 s): a program of
    arrays never needs it. The export runs in a fresh interpreter, which then says whether pandas
    was imported."""
    script = tmp_path / "arrays.py"
    script.write_text("import dask.array as da\n"
                      "result = da.ones((400, 400), chunks=(100, 100)).map_blocks(lambda b: b + 1).sum()\n")
    out = tmp_path / "graph.json"
    code = ("import sys\n"
            "from graphprof.run.export_command import main\n"
            f"rc = main([{str(script) + ':result'!r}, '-o', {str(out)!r}])\n"
            "print(rc, 'pandas' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, PYTHONPATH=embedded_pkg))
    assert r.stdout.split() == ["0", "False"], r.stderr
    check_graph(_load(out))


def test_a_global_of_a_session_without_a_file_is_named(tmp_path):
    """A notebook's (or ``python -c``'s) globals live in a ``__main__`` without ``__file__``: the
    culprit is named all the same ("mapper in __main__"; "in the notebook" under IPython), as the
    CLI names a script's ("mapper in pipeline.py")."""
    import subprocess
    import sys

    code = (
        "from graphprof.seed import Mapper, seed_collection\n"
        "from graphprof.collect.graph import build_graph\n"
        "mapper = Mapper(30000)\n"
        "table = {i: 3 * i for i in range(50000)}\n"
        "import dask.array as da\n"
        "x = seed_collection(16, mapper)\n"
        "y = da.ones(6400, chunks=100).map_blocks(lambda b, t: b, table, dtype=float)\n"
        "names = sorted(c.get('variable') or '' for c in build_graph([x, y])['contents'])\n"
        "print(names)\n"
    )
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=here), timeout=300)
    assert done.returncode == 0, done.stderr
    assert "mapper in __main__" in done.stdout and "table in __main__" in done.stdout, done.stdout
