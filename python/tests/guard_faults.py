"""A guard that fails inside its check, for the test that the graph goes on regardless. Lives
in an importable module so that the scheduler process can unpickle it."""

from graphprof.guard import GraphGuard


class FaultyGuard(GraphGuard):
    """Raises from its walk, as a bug in the guard would."""

    def walk(self, scheduler, tasks):
        raise ZeroDivisionError("a bug inside the guard")
