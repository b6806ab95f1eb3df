"""One label's run for the driver (:mod:`.driver`): the baseline, the submit (with the send caught
as distributed makes it), the compute, the held phase (begun once distributed's Active Memory
Manager has dropped the replicas no task waits for:
:func:`graphprof.sampler.cluster.settle_replicas`) and the release, each marked on the sampling
thread (:mod:`graphprof.sampler.thread`), the results checked, what the workers hold per layer
once the results are held (the ``layers`` event, :mod:`graphprof.sampler.layers`), and the
``done`` event with the held medians. Also the sampler the driver makes and how long the
baseline is read.
"""

from __future__ import annotations

import sys
import time

from ..sampler.cluster import Absences, _current_addrs, _wait_settled, settle_replicas, wait_heartbeats
from ..sampler.layers import probe as probe_layers
from ..sampler.thread import Sampler


def run_strategy(proto, client, sampler, label, strategy, workload,
                 hold_s, compute_timeout_s, initial_addrs, interval_s, baseline_s):
    """Returns (complete, error_kind or None)."""
    from distributed import futures_of

    from ..collect.send import capture_send
    from .workloads import _Raw, who_has_summary

    absences = Absences()
    # The scheduler's figures are the last heartbeat's: wait for one from every worker after
    # the warm-up before the baseline is read, then read the baseline for baseline_s.
    wait_heartbeats(client, sampler.scheduler)
    t0 = time.monotonic()
    sampler.set_label(label, t0)

    def phase(p):
        sampler.set_phase(p)
        proto.emit("phase", label=label, phase=p, t=round(time.monotonic() - t0, 4))

    # A baseline before submit, long enough for the scheduler's view (heartbeats) to be current.
    sampler.set_phase("baseline")
    time.sleep(baseline_s)
    phase("submit")
    submitted = time.time()  # the clock of the workers' transfer logs (the per-layer probe)
    x, keep = workload.build(label, strategy, client, proto)
    arg = None
    if keep and strategy == "scatter":
        proto.emit("broadcast", label=label, **who_has_summary(client, keep))
    with capture_send() as sent:
        # A raw graph (culled, replayed) goes as tasks; a collection through client.persist.
        # (Not hasattr(x, "dsk"): a Delayed answers every attribute with a new Delayed.)
        persisted = x.persist(client) if isinstance(x, _Raw) else client.persist(x)
    for w in sent.warnings:
        print(f"graphprof: {w.category.__name__}: {w.message}", file=sys.stderr)
    warn_text = sent.large_graph_warning
    proto.emit("wire", label=label, wire_bytes=sent.sizes[-1] if sent.sizes else None,
               warning=warn_text is not None, warning_text=warn_text)
    del x
    futs = futures_of(persisted)
    total = len(futs)
    phase("compute")
    complete, err = True, None
    last_done = -1
    deadline = time.monotonic() + compute_timeout_s
    while True:
        done = sum(1 for f in futs if f.status == "finished")
        bad = [f for f in futs if f.status in ("error", "cancelled", "lost")]
        if done != last_done:
            proto.emit("progress", label=label, done=done, total=total)
            last_done = done
        if done == total:
            break
        gone = absences.gone(initial_addrs, _current_addrs(client))
        if gone or sampler.missing:
            proto.emit("error", kind="worker_died",
                       text=f"worker(s) left the cluster during '{label}': {sorted(gone or sampler.missing)}")
            complete, err = False, "worker_died"
            break
        if bad:
            f = bad[0]
            try:
                exc = f.exception(timeout=1)
            except Exception as e:  # noqa: BLE001
                exc = e
            proto.emit("error", kind="task_failed", text=f"task {f.key!r} {f.status}: {exc!r}")
            complete, err = False, "task_failed"
            break
        if time.monotonic() > deadline:
            proto.emit("error", kind="task_failed",
                       text=f"'{label}' did not finish within {compute_timeout_s:g} s ({done}/{total} done)")
            complete, err = False, "timeout"
            break
        time.sleep(min(interval_s, 0.1))

    if complete:
        # The held level is the cluster's state once the Active Memory Manager has dropped the
        # replicas no task waits for any more, not a moment within its 2 s clock.
        dropped = settle_replicas(client)
        if dropped:
            proto.emit("replicas", label=label, dropped=dropped)
        phase("held")
        end = time.monotonic() + hold_s
        while time.monotonic() < end:
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))
            gone = absences.gone(initial_addrs, _current_addrs(client, cached=True))
            if gone or sampler.missing:
                proto.emit("error", kind="worker_died",
                           text=f"worker(s) left the cluster while '{label}' was held: {sorted(gone or sampler.missing)}")
                complete, err = False, "worker_died"
                break
    phase("released")
    if complete:
        # Once the held level is read, with the results still alive: the results check gathers
        # a few of them (serialised on the workers) and the per-layer probe pickles and loads
        # the objects it sizes; the heap either leaves on the workers is neither the program's
        # held memory (bag_closure_frame as given: 84.4 MiB held with both before the level,
        # test_held's 64 MB without) nor, once they are done, released by the program.
        try:
            workload.check(label, strategy, client, futs, proto)
        except Exception as e:  # noqa: BLE001
            proto.emit("results", label=label, reference=None, compared=0, equal=False,
                       text=f"{type(e).__name__}: {e}")
        # What each worker holds per layer, read on the workers.
        probe_layers(client, proto, label, since=submitted)
    # Drop every reference; the client releases the keys. (client.cancel on keys a rewrite's
    # graph also names tripped an assertion in the scheduler's stimulus_cancel and broke the
    # client's stream, so that a later restart never saw its workers come back.)
    import gc

    del persisted, futs, keep, arg
    gc.collect()
    _wait_settled(client, sampler, interval_s)
    sampler.flush()
    summary = sampler.held_summary(label)
    proto.emit("done", label=label, complete=complete,
               wire_bytes=sent.sizes[-1] if sent.sizes else None, held_median=summary,
               sampler_cpu_s=round(sampler.cpu_s.get(label, 0.0), 6))
    return complete, err


def baseline_seconds(interval_s, local, heartbeat_s):
    """How long the baseline is read once the scheduler's view is current (run_strategy waits
    for a heartbeat first): a few readings of RSS on a LocalCluster (at least 0.1 s), one
    heartbeat's reading of the scheduler's figures on a --scheduler cluster."""
    if local:
        return min(1.0, max(5 * interval_s, 0.1))
    return max(min(1.0, 5 * interval_s), heartbeat_s)


def make_sampler(proto, client, cluster, workers, local, interval_s, heartbeat_s):
    """The sampling thread: on a LocalCluster it reads the in-process scheduler directly each
    interval (as MemorySampler's callback does) and RSS from /proc; on a --scheduler cluster the
    scheduler's figures take an RPC, so they are read once per heartbeat (they only change then),
    and no warning is needed for an interval shorter than the heartbeat."""
    scheduler = getattr(cluster, "scheduler", None) if local else None
    return Sampler(proto, client, workers, local, interval_s, scheduler=scheduler,
                   scheduler_every_s=0.0 if scheduler is not None else heartbeat_s)


