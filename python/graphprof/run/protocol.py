"""The driver's side of the line protocol (docs/DASK.md): the writer of its stdout, and the check
of the Python packages it needs, whose failure is the protocol's first event.

Shared by the driver (``graphprof sample --engine dask``) and ``dask export``'s command line.
"""

from __future__ import annotations

import json
import os
import sys
import threading

REQUIRED = ("dask", "distributed", "pandas", "numpy", "cloudpickle")
# What `dask export` only looks for, not imports: importing pandas takes ~0.4 s (of 1.7 s for the
# export of a small array program), and only a program that uses it needs it imported.
FOUND_NOT_IMPORTED = ("pandas",)
# The versions graphprof supports: the `[dask]` extra of pyproject.toml (a test keeps them equal),
# ranges that keep what a user already has when it is recent enough. python/requirements.txt pins
# the set CI tests. The driver is embedded without either file.
SUPPORTED = {
    "dask": "dask>=2025.4.1",
    "distributed": "distributed>=2025.4.1",
    "pandas": "pandas>=2.0.3",
    "numpy": "numpy>=1.26.4",
    "cloudpickle": "cloudpickle>=3.0.0",
}


class Proto:
    """Writes protocol lines to the real stdout (a dup of fd 1 taken before
    fd 1 is pointed at stderr), one complete line per write, thread-safe."""

    def __init__(self, stream=None):
        self._lock = threading.Lock()
        if stream is None:
            fd = os.dup(1)
            stream = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
            # From here on, anything written to fd 1 (prints, child processes,
            # C libraries) lands on stderr, never in the protocol stream.
            sys.stdout.flush()
            os.dup2(2, 1)
            sys.stdout = sys.stderr
        self._out = stream

    def emit(self, event: str, **fields) -> None:
        obj = {"event": event}
        obj.update(fields)
        line = json.dumps(obj, separators=(",", ":"), default=str)
        with self._lock:
            try:
                self._out.write(line + "\n")
                self._out.flush()
            except (BrokenPipeError, ValueError):
                pass

    def emit_lines(self, lines) -> None:
        """Writes lines that are already JSON objects (the sampler's readings) in one write."""
        if not lines:
            return
        text = "\n".join(lines) + "\n"
        with self._lock:
            try:
                self._out.write(text)
                self._out.flush()
            except (BrokenPipeError, ValueError):
                pass


def pip_command() -> str:
    exe = sys.executable or "python3"
    return f"{exe} -m pip install " + " ".join(f"'{SUPPORTED[p]}'" for p in REQUIRED)


def unusable_packages(found_only=()) -> list[tuple[str, Exception]]:
    """The REQUIRED packages that cannot be used, each with why (ImportError, or what a broken
    install raises): each is imported, but those in `found_only` are only looked for."""
    import importlib
    import importlib.util

    unusable = []
    for mod in REQUIRED:
        try:
            if mod not in found_only:
                importlib.import_module(mod)
            elif importlib.util.find_spec(mod) is None:
                raise ModuleNotFoundError(f"No module named '{mod}'")
        except Exception as e:  # noqa: BLE001 - ImportError or a broken install
            unusable.append((mod, e))
    return unusable


def check_dependencies(proto: Proto) -> bool:
    missing = [f"{mod} ({type(e).__name__}: {e})" for mod, e in unusable_packages()]
    if missing:
        text = "missing Python packages for --engine dask: " + ", ".join(missing)
        print(f"graphprof: {text}; install with: {pip_command()}", file=sys.stderr)
        proto.emit("error", kind="missing_dependency", text=text, pip=pip_command())
        return False
    return True
