"""``python -m graphprof.run export my_pipeline.py:result -o graph.json``.

The script is imported as a module named after its file (so an
``if __name__ == "__main__":`` block does not run), with its directory on
``sys.path``. Its functions and classes are then marked as ``__main__``'s, as
they are when the script runs and sends its graph: cloudpickle pickles them by
value, as distributed does for the user's script. The bytes still differ a little
from an in-process export's (module attributes, a closure's ``__module__``);
digests are over a canonical pickle (``export_payloads.content_digest``), so one
object has one digest whether it was exported here or in-process
(``graphprof.export`` from the script).
The named module-level variable must be a Dask collection, or a list or tuple
of them (as ``dask.compute`` takes).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys


def load_variable(spec: str):
    if ":" not in spec:
        raise SystemExit(f"graphprof dask export: expected SCRIPT.py:VARIABLE, got {spec!r}")
    path, var = spec.rsplit(":", 1)
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise SystemExit(f"graphprof dask export: no such script: {path}")
    modname = os.path.splitext(os.path.basename(path))[0].replace("-", "_").replace(".", "_")
    d = os.path.dirname(path)
    if d not in sys.path:
        sys.path.insert(0, d)
    spec_ = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec_)
    sys.modules[modname] = mod
    spec_.loader.exec_module(mod)
    try:
        import cloudpickle

        # What is not reachable from the module's globals (an inline lambda) is still
        # pickled by value, as the workers cannot import the script.
        cloudpickle.register_pickle_by_value(mod)
    except Exception:
        pass
    _as_main(mod, modname)
    obj = mod
    for part in var.split("."):
        if not hasattr(obj, part):
            where = os.path.basename(path)
            if part == var.split(".")[0] and _defined_under_main_guard(path, part):
                raise SystemExit(
                    f"graphprof dask export: {where}: {part!r} is defined under "
                    f"`if __name__ == \"__main__\":`, which export does not run; define it at "
                    f"module level (the guarded block may still use it)")
            raise SystemExit(f"graphprof dask export: {where} has no variable {var!r}")
        obj = getattr(obj, part)
    return obj, mod


def _as_main(mod, modname: str) -> None:
    """Mark the script's own functions and classes as ``__main__``'s (see the docstring)."""
    import types

    def mark(obj, depth=0):
        if getattr(obj, "__module__", None) != modname or depth > 3:
            return
        try:
            obj.__module__ = "__main__"
        except (AttributeError, TypeError):
            return
        if isinstance(obj, type):
            for member in vars(obj).values():
                target = getattr(member, "__func__", member)
                if isinstance(target, (types.FunctionType, type)):
                    mark(target, depth + 1)

    for value in list(vars(mod).values()):
        if isinstance(value, (types.FunctionType, type)):
            mark(value)
    # By-value functions carry their module's __name__ in their globals.
    vars(mod)["__name__"] = "__main__"


def _defined_under_main_guard(path: str, name: str) -> bool:
    """Whether ``name`` is assigned inside an ``if __name__ == "__main__":`` block."""
    import ast

    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return False
    for node in tree.body:
        if not (isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
                and "__name__" in ast.unparse(node.test)):
            continue
        for inner in ast.walk(node):
            targets = []
            if isinstance(inner, ast.Assign):
                targets = inner.targets
            elif isinstance(inner, (ast.AnnAssign, ast.AugAssign)):
                targets = [inner.target]
            for target in targets:
                if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)):
                    return True
    return False


def main(argv) -> int:
    p = argparse.ArgumentParser(prog="python -m graphprof.run export")
    p.add_argument("target", help="SCRIPT.py:VARIABLE")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--name", default=None)
    p.add_argument("--measure-wire", action="store_true",
                   help="record measured.wire_bytes (with --scheduler: persist there and wrap "
                        "distributed.client.serialize; else the same serialize call offline)")
    p.add_argument("--scheduler", default=None)
    p.add_argument("--timeout-s", type=float, default=10.0)
    p.add_argument("--min-payload-bytes", type=int, default=None)
    p.add_argument("--no-run-outputs", action="store_true",
                   help="run none of the collection's tasks (results of non-array outputs stay unknown)")
    a = p.parse_args(argv)
    from .protocol import FOUND_NOT_IMPORTED, pip_command, unusable_packages

    for mod, e in unusable_packages(found_only=FOUND_NOT_IMPORTED)[:1]:
        print(f"graphprof: missing Python package {mod} ({e}); install with: {pip_command()}",
              file=sys.stderr)
        return 2
    coll, mod = load_variable(a.target)
    import dask

    items = coll if isinstance(coll, (list, tuple)) else [coll]
    if not items or not all(dask.is_dask_collection(c) for c in items):
        what = type(coll).__name__
        if isinstance(coll, (list, tuple)):
            what = f"{what} holding something other than Dask collections"
        print(f"graphprof dask export: {a.target} is a {what}, not a Dask collection",
              file=sys.stderr)
        return 1
    from ..collect.graph import DEFAULT_MIN_PAYLOAD_BYTES, export

    client = None
    if a.scheduler:
        from distributed import Client

        try:
            client = Client(a.scheduler, timeout=a.timeout_s)
        except Exception as e:
            print(f"graphprof: cannot reach the Dask scheduler at {a.scheduler}: {e}", file=sys.stderr)
            return 3
    try:
        doc = export(coll, a.output, name=a.name or os.path.basename(a.target),
                     measure_wire=a.measure_wire, client=client,
                     min_payload_bytes=a.min_payload_bytes if a.min_payload_bytes is not None
                     else DEFAULT_MIN_PAYLOAD_BYTES,
                     meta={"source": a.target}, user_module=mod, run_outputs=not a.no_run_outputs)
    finally:
        if client is not None:
            client.close()
    print(f"graphprof: wrote {a.output}: {len(doc['tasks'])} tasks, "
          f"{len(doc.get('data', []))} data objects", file=sys.stderr)
    sampled = doc["meta"].get("output_bytes_sampled")
    if sampled:
        print(f"graphprof: sized {sampled['sized']} of {sampled['outputs']} outputs' results by running "
              f"{sampled['runs']} of their subgraphs here ({sampled['seconds']:.1f} s; --no-run-outputs "
              f"turns this off)", file=sys.stderr)
    return 0
