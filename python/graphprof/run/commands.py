"""The binary's Python side: ``python -m graphprof.run export SCRIPT.py:VARIABLE -o graph.json``,
``... driver ...`` and ``... calibrate ...`` (see docs/DASK.md). ``python -m graphprof`` is the binary
itself; this module is what the binary starts, from the installed package when its version matches
the binary's, else from the copy the binary embeds."""

from __future__ import annotations

import sys


def _usage() -> int:
    print(
        "usage: python -m graphprof.run export SCRIPT.py:VARIABLE -o GRAPH.json "
        "[--name NAME] [--measure-wire] [--scheduler tcp://HOST:PORT] [--min-payload-bytes N]\n"
        "       python -m graphprof.run driver --strategy inline --strategy scatter ... (see --help)\n"
        "       python -m graphprof.run calibrate --chunks 256 --chunks 1024 [--scheduler ADDR]\n"
        "       python -m graphprof.run watch --scheduler tcp://HOST:PORT",
        file=sys.stderr,
    )
    return 64


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        _usage()
        return 0 if argv else 64
    cmd, rest = argv[0], argv[1:]
    if cmd == "driver":
        from .driver import main as driver_main

        return driver_main(rest)
    if cmd == "watch":
        from .watch import main as watch_main

        return watch_main(rest)
    if cmd == "calibrate":
        from .calibrate import main as calibrate_main

        return calibrate_main(rest)
    if cmd == "export":
        from .export_command import main as export_main

        return export_main(rest)
    return _usage()

