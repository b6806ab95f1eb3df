"""``python -m graphprof.run watch --scheduler tcp://HOST:PORT``: what ``graphprof watch`` runs.

Connects to the scheduler, makes sure a :class:`graphprof.guard.GraphGuard` is registered there (the
package's code is uploaded to the scheduler first, as ``Client.upload_file`` does, so the
scheduler need not have graphprof installed; a guard already there, from ``--preload`` say, is
kept), sets on it the thresholds given as ``--warn-duplicated BYTES`` etc. (they stay after
watch exits), then prints one JSON line per event of topic ``graphprof`` as it arrives: first
``{"event": "watching", "registered": true, "already_registered": ..., "changed": ...,
"thresholds": ...}`` (``registered``: a guard is on the scheduler, as the text line says;
``already_registered``: it was there before this watch), then ``{"event": "finding", "time": ...,
<the guard's report>}``. Exits 0 when the scheduler goes away or on SIGINT/SIGTERM, 3 when it
cannot be reached, 2 when dask or distributed is missing.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading

from .ship import package_zip

EXIT_MISSING = 2
EXIT_UNREACHABLE = 3
UPLOAD_NAME = "graphprof-guard-code"
THRESHOLDS = ("warn_duplicated", "warn_materialised", "refuse_duplicated", "refuse_materialised")


def _emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graphprof.run watch")
    parser.add_argument("--scheduler", required=True)
    parser.add_argument("--timeout-s", type=float, default=10.0)
    for name in THRESHOLDS:
        parser.add_argument("--" + name.replace("_", "-"), type=int, metavar="BYTES")
    args = parser.parse_args(argv)
    thresholds = {name: getattr(args, name) for name in THRESHOLDS
                  if getattr(args, name) is not None}
    try:
        from distributed import Client
        from distributed.diagnostics.plugin import SchedulerUploadFile
    except ImportError as error:
        print(f"graphprof: {error}; install with: pip install 'graphprof[dask]'",
              file=sys.stderr)
        return EXIT_MISSING
    from ..guard.plugin import TOPIC, ensure_guard

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        client = Client(args.scheduler, timeout=args.timeout_s)
    except Exception as error:
        print(f"graphprof: cannot reach the scheduler {args.scheduler} within "
              f"{args.timeout_s:g} s: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    try:
        with tempfile.TemporaryDirectory(prefix="graphprof-watch-") as directory:
            client.register_plugin(SchedulerUploadFile(package_zip(directory, "graphprof_guard_code.zip"), load=True),
                                   name=UPLOAD_NAME)
        guard = client.run_on_scheduler(ensure_guard, thresholds=thresholds)

        def on_event(event) -> None:
            when, report = event
            record = {"event": "finding", "time": when}
            record.update(report if isinstance(report, dict) else {"message": str(report)})
            _emit(record)

        client.subscribe_topic(TOPIC, on_event)
        _emit({"event": "watching", "scheduler": args.scheduler, "registered": True,
               "already_registered": not guard["registered"], "changed": guard["changed"],
               "thresholds": guard["thresholds"]})
        while not stop.is_set() and client.status == "running":
            stop.wait(0.2)
    finally:
        try:
            client.close(timeout=5)
        except Exception:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
