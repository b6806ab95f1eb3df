"""A real cluster for the guard's tests: ``dask scheduler`` and ``dask worker`` started as
separate processes on 127.0.0.1 with fixed free ports, the package and these tests importable
there, torn down (the whole process groups) at the end. Given ``log_dir``, each process's stderr
(its log) is written to a file there, and :meth:`Cluster.log_lines` reads what they logged since
a :meth:`Cluster.log_marks`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

PYDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(PYDIR, "tests")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """``with Cluster(workers=2) as address: ...``"""

    def __init__(self, workers: int = 2, scheduler_args=(), env=None, log_dir=None):
        self.workers = workers
        self.log_dir = log_dir
        self.logs: dict[str, str] = {}  # "scheduler", "worker-0"... -> log file
        self.scheduler_args = list(scheduler_args)
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join([PYDIR, TESTS, self.env.get("PYTHONPATH", "")])
        self.env.update(env or {})
        self.procs: list[subprocess.Popen] = []
        self.address = None

    def _start(self, name, args):
        dask = os.path.join(os.path.dirname(sys.executable), "dask")
        stderr = subprocess.DEVNULL
        if self.log_dir is not None:
            self.logs[name] = os.path.join(self.log_dir, f"{name}.log")
            stderr = open(self.logs[name], "wb")
        try:
            proc = subprocess.Popen([dask, *args], env=self.env, stdout=subprocess.DEVNULL,
                                    stderr=stderr, start_new_session=True)
        finally:
            if stderr is not subprocess.DEVNULL:
                stderr.close()
        self.procs.append(proc)
        return proc

    def log_marks(self) -> dict[str, int]:
        """Where each process's log ends now."""
        return {name: os.path.getsize(path) for name, path in self.logs.items()}

    def log_lines(self, marks=None) -> dict[str, list[str]]:
        """Each process's log lines, from ``marks`` (a :meth:`log_marks`) on."""
        lines = {}
        for name, path in self.logs.items():
            with open(path, "rb") as log:
                log.seek((marks or {}).get(name, 0))
                lines[name] = log.read().decode("utf-8", "replace").splitlines()
        return lines

    def __enter__(self) -> str:
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(port),
                     "--no-dashboard", *self.scheduler_args])
        for i in range(self.workers):
            self._start(f"worker-{i}", ["worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
                         "--no-dashboard", "--memory-limit", "0"])
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(self.workers, timeout=120)
        return self.address

    def __exit__(self, *exc) -> None:
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 20
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
