"""Refusing a graph on the scheduler: its tasks err there, and nothing reaches a worker.

The guard's hook runs inside ``update_graph``, after the graph's tasks exist and before
``update_graph`` transitions them (with recommendations it made before the hook: erring a task in
the hook would be undone, ``erred`` -> ``released`` -> ``waiting``). So :func:`hold` restricts
the arriving tasks to :data:`NO_WORKER`, a worker that does not exist, and not loosely: those
transitions leave every runnable one in ``no-worker`` and send nothing anywhere. :func:`err`
runs once ``update_graph`` has returned and errs them as the scheduler errs a task a worker
reported failed (``handle_task_erred``); :func:`unhold` gives them their own restrictions back.
The scheduler's state stays what its own transitions make it, so the next graph runs. Should
erring fail, :func:`dispatch` sends the tasks to the workers, whose specs raise the refusal.
"""

from __future__ import annotations

# The worker a refused task is restricted to until the scheduler errs it: no worker has it.
NO_WORKER = "graphprof-refused: no worker"


def hold(scheduler, keys, error: BaseException) -> dict:
    """Restricts the arriving tasks (``released``, with a spec) to :data:`NO_WORKER` and gives
    them a spec that raises ``error`` (``dask.local.reraise``, importable on any worker), so that
    a later ``client.retry`` of their futures runs nothing of the user's either; returns their
    own restrictions by key, for :func:`unhold`."""
    from dask._task_spec import Task
    from dask.local import reraise

    held = {}
    all_tasks = scheduler.tasks
    for key in keys:
        ts = all_tasks.get(key)
        if ts is None or ts.state != "released" or ts.run_spec is None:
            continue
        held[key] = (ts.worker_restrictions, ts.loose_restrictions)
        ts.worker_restrictions = {NO_WORKER}
        ts.loose_restrictions = False
        ts.run_spec = Task(key, reraise, error)
    return held


def err(scheduler, held: dict, error: BaseException, stimulus_id: str) -> None:
    """Errs the held tasks with ``error``. Each one in ``no-worker`` (runnable: its inputs are
    there) is its own cause, as when a worker reports it failed: ``_propagate_erred`` errs the
    tasks waiting on it and tells the clients that want them. Any left waiting (on a key another
    graph is computing) err through ``released``, as a task whose input erred does."""
    from distributed.core import error_message

    failure = error_message(error)
    failure.pop("status", None)
    all_tasks = scheduler.tasks
    client_msgs: dict = {}
    worker_msgs: dict = {}
    for key in held:
        # One by one, as handle_task_erred does: a task that erring the last one released (no
        # one waits for it any more, nor wants it) is left released, as it would be then.
        ts = all_tasks.get(key)
        if ts is None or ts.state != "no-worker" or ts.worker_restrictions != {NO_WORKER}:
            continue
        recs, to_clients, to_workers = scheduler._transition(
            key, "erred", stimulus_id, cause=key, **failure)
        for messages, new in ((client_msgs, to_clients), (worker_msgs, to_workers)):
            for address, msgs in new.items():
                messages.setdefault(address, []).extend(msgs)
        scheduler._transitions(recs, client_msgs, worker_msgs, stimulus_id)
    scheduler.send_all(client_msgs, worker_msgs)

    waiting = {}
    for key in held:
        ts = all_tasks.get(key)
        if ts is not None and ts.state == "waiting":
            ts.exception_blame = ts
            ts.exception, ts.traceback = failure["exception"], failure["traceback"]
            ts.exception_text = failure["exception_text"]
            ts.traceback_text = failure["traceback_text"]
            waiting[key] = "erred"
    if waiting:
        scheduler.transitions(waiting, stimulus_id)


def unhold(scheduler, held: dict) -> None:
    """Gives the held tasks that still carry :data:`NO_WORKER` their own restrictions back."""
    for key, (workers, loose) in held.items():
        ts = scheduler.tasks.get(key)
        if ts is not None and ts.worker_restrictions == {NO_WORKER}:
            ts.worker_restrictions, ts.loose_restrictions = workers, loose


def dispatch(scheduler, held: dict, stimulus_id: str) -> None:
    """The way out should :func:`err` fail (after :func:`unhold`): the held tasks still in
    ``no-worker`` go to the workers, where their specs raise the refusal (graphprof's refusal
    before the scheduler erred graphs itself: slower, one error per task in the workers' logs)."""
    all_tasks = scheduler.tasks
    runnable = {key: "processing" for key in held
                if key in all_tasks and all_tasks[key].state == "no-worker"}
    if runnable:
        scheduler.transitions(runnable, stimulus_id)
