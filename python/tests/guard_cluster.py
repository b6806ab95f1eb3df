"""A real cluster for the guard's tests: ``dask scheduler`` and ``dask worker`` started as
separate processes on 127.0.0.1 with fixed free ports, the package and these tests importable
there, torn down (the whole process groups) at the end."""

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

    def __init__(self, workers: int = 2, scheduler_args=(), env=None):
        self.workers = workers
        self.scheduler_args = list(scheduler_args)
        self.env = dict(os.environ)
        self.env["PYTHONPATH"] = os.pathsep.join([PYDIR, TESTS, self.env.get("PYTHONPATH", "")])
        self.env.update(env or {})
        self.procs: list[subprocess.Popen] = []
        self.address = None

    def _start(self, args):
        dask = os.path.join(os.path.dirname(sys.executable), "dask")
        proc = subprocess.Popen([dask, *args], env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(proc)
        return proc

    def __enter__(self) -> str:
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self._start(["scheduler", "--host", "127.0.0.1", "--port", str(port),
                     "--no-dashboard", *self.scheduler_args])
        for _ in range(self.workers):
            self._start(["worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
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
