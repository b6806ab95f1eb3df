"""Shared by the fidelity tests: find graphprof's binary and Python, export and analyze a program,
get its ground truth (``truth.py``, in a fresh process), compare keys, and print the table."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PROGRAMS = os.path.join(HERE, "programs")
TABLE = os.path.join(HERE, "fidelity-table.md")

_TOKEN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}")


def binary() -> str:
    """graphprof's binary: GRAPHPROF_BIN, else the repository's debug build."""
    path = os.environ.get("GRAPHPROF_BIN") or os.path.join(REPO, "target", "debug", "graphprof")
    if not os.path.isfile(path):
        raise RuntimeError(f"no graphprof binary at {path}: run `cargo build` or set GRAPHPROF_BIN")
    return path


def python() -> str:
    """The Python with dask: GRAPHPROF_PYTHON, else this interpreter."""
    return os.environ.get("GRAPHPROF_PYTHON") or sys.executable


def _run(cmd: list, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, GRAPHPROF_PYTHON=python())
    env.pop("RUST_BACKTRACE", None)
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stderr[-4000:]}")
    return r


def export_and_analyze(program: str, out_dir: str, workers: int = 4) -> tuple[dict, dict]:
    """(graph document, analysis) of ``graphprof dask export PROGRAM:result`` then
    ``graphprof analyze --format json``, as a user runs them."""
    name = os.path.splitext(os.path.basename(program))[0]
    graph_path = os.path.join(out_dir, f"{name}.graph.json")
    _run([binary(), "dask", "export", f"{program}:result", "-o", graph_path])
    analysis = json.loads(_run([binary(), "analyze", graph_path, "--format", "json",
                                "--workers", str(workers)]).stdout)
    with open(graph_path, encoding="utf-8") as fh:
        graph = json.load(fh)
    return graph, analysis


def truth(program: str, out_dir: str) -> dict:
    """The ground truth of ``truth.py`` for ``program``, measured in a fresh process."""
    name = os.path.splitext(os.path.basename(program))[0]
    path = os.path.join(out_dir, f"{name}.truth.json")
    _run([python(), os.path.join(HERE, "truth.py"), program, "-o", path])
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def normal_key(key) -> str:
    """A key with its tokens and uuids blanked: they change from one import of a program to the
    next (by-value pickles carry the module name), the structure does not."""
    if isinstance(key, list):
        key = [normal_key(key[0]), *key[1:]]
        return json.dumps(key)
    return _TOKEN.sub("*", str(key))


def key_counts(keys) -> Counter:
    return Counter(normal_key(k) for k in keys)


def copied_duplicates(analysis: dict) -> list:
    """graphprof's duplicates to compare with objects shared by identity: those of kind "copied"
    where the analysis tells the kinds apart, else all of them."""
    dups = analysis["duplicates"]
    if any("kind" in d for d in dups):
        return [d for d in dups if d.get("kind") == "copied"]
    return list(dups)


def match_duplicates(expected: list, found: list, size_tolerance: float = 0.05) -> tuple[list, list]:
    """Pair each truth duplicate with a graphprof duplicate of the same copy count and a size
    within ``size_tolerance``; return (unmatched truth, unmatched graphprof)."""
    left = list(found)
    missing = []
    for want in sorted(expected, key=lambda d: -d["size_bytes"]):
        hit = None
        for got in left:
            if got["copies"] == want["copies"] and abs(got["size_bytes"] - want["size_bytes"]) <= \
                    size_tolerance * want["size_bytes"]:
                hit = got
                break
        if hit is None:
            missing.append(want)
        else:
            left.remove(hit)
    return missing, left


def error(ours: float, theirs: float) -> float:
    """Relative error of ``ours`` against ``theirs``, as a fraction."""
    if theirs == 0:
        return 0.0 if ours == 0 else float("inf")
    return (ours - theirs) / theirs


def _dups(dups: list) -> str:
    if not dups:
        return "-"
    return ", ".join(f"{d.get('type') or d.get('type_name')} {d['size_bytes'] / 1024:.0f}K x{d['copies']}"
                     for d in dups[:3]) + (" ..." if len(dups) > 3 else "")


def table_rows(results: dict) -> list[str]:
    """Markdown rows: program, wire, materialised, verdicts, keys, duplicates."""
    head = ("| program | wire graphprof | wire distributed | err | materialised graphprof | "
            "one by one | err | fires / warned | tasks g / d | data g / d | edges g / d | "
            "duplicates graphprof | duplicates distributed |")
    rows = [head, "|" + "---|" * 13]
    for name, (graph, analysis, true) in sorted(results.items()):
        if analysis is None:
            rows.append(f"| {name} | error: {graph} |" + " |" * 11)
            continue
        s = analysis["sizes"]
        rows.append(
            f"| {name} | {s['wire_bytes']:,} | {true['wire_bytes']:,} | "
            f"{100 * error(s['wire_bytes'], true['wire_bytes']):+.1f}% | {s['materialised_bytes']:,} | "
            f"{true['materialised_bytes']:,} | "
            f"{100 * error(s['materialised_bytes'], true['materialised_bytes']):+.1f}% | "
            f"{analysis['warning']['fires']} / {true['warned']} | "
            f"{len(graph['tasks'])} / {true['tasks']} | {len(graph.get('data', []))} / {len(true['data_keys'])} | "
            f"{analysis['graph']['edges']} / {true['edges']} | {_dups(copied_duplicates(analysis))} | "
            f"{_dups(true['duplicates'])} |")
    return rows
