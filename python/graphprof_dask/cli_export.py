"""``python -m graphprof_dask export my_pipeline.py:result -o graph.json``.

The script is imported as a module named after its file (so an
``if __name__ == "__main__":`` block does not run), with its directory on
``sys.path``; its functions and classes are registered with cloudpickle to be
pickled by value, as they would be when the script runs as ``__main__`` and
sends its graph.  The named module-level variable must be a Dask collection.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys


def load_variable(spec: str):
    if ":" not in spec:
        raise SystemExit(f"graphprof_dask export: expected SCRIPT.py:VARIABLE, got {spec!r}")
    path, var = spec.rsplit(":", 1)
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise SystemExit(f"graphprof_dask export: no such script: {path}")
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

        cloudpickle.register_pickle_by_value(mod)
    except Exception:
        pass
    obj = mod
    for part in var.split("."):
        if not hasattr(obj, part):
            raise SystemExit(f"graphprof_dask export: {os.path.basename(path)} has no variable {var!r}")
        obj = getattr(obj, part)
    return obj


def main(argv) -> int:
    p = argparse.ArgumentParser(prog="python -m graphprof_dask export")
    p.add_argument("target", help="SCRIPT.py:VARIABLE")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--name", default=None)
    p.add_argument("--measure-wire", action="store_true",
                   help="record measured.wire_bytes (with --scheduler: persist there and wrap "
                        "distributed.client.serialize; else the same serialize call offline)")
    p.add_argument("--scheduler", default=None)
    p.add_argument("--timeout-s", type=float, default=10.0)
    p.add_argument("--min-payload-bytes", type=int, default=None)
    a = p.parse_args(argv)
    from .driver import REQUIRED, pip_command

    import importlib

    for mod in REQUIRED:
        try:
            importlib.import_module(mod)
        except Exception as e:
            print(f"graphprof_dask: missing Python package {mod} ({e}); install with: {pip_command()}",
                  file=sys.stderr)
            return 2
    coll = load_variable(a.target)
    import dask

    if not dask.is_dask_collection(coll):
        print(f"graphprof_dask export: {a.target} is a {type(coll).__name__}, not a Dask collection",
              file=sys.stderr)
        return 1
    from .exporter import DEFAULT_MIN_PAYLOAD_BYTES, export

    client = None
    if a.scheduler:
        from distributed import Client

        try:
            client = Client(a.scheduler, timeout=a.timeout_s)
        except Exception as e:
            print(f"graphprof_dask: cannot reach the Dask scheduler at {a.scheduler}: {e}", file=sys.stderr)
            return 3
    try:
        doc = export(coll, a.output, name=a.name or os.path.basename(a.target),
                     measure_wire=a.measure_wire, client=client,
                     min_payload_bytes=a.min_payload_bytes if a.min_payload_bytes is not None
                     else DEFAULT_MIN_PAYLOAD_BYTES,
                     meta={"source": a.target})
    finally:
        if client is not None:
            client.close()
    print(f"graphprof_dask: wrote {a.output}: {len(doc['tasks'])} tasks, "
          f"{len(doc.get('data', []))} data objects", file=sys.stderr)
    return 0
