"""The live guard: a scheduler plugin that checks every graph a running cluster receives.

On every ``update_graph`` it looks at the arriving tasks as the scheduler holds them (once per
task, with the exporter's walk, :mod:`.export_walk`). The scheduler deserialised the graph once,
so an object that several tasks' specs share is one Python object there, and the workers will
deserialise it once per task. Each such object is sized once (pickled as distributed ships it,
:class:`.export_payloads.PayloadCache`; in memory where cheap), grouped by content, and costed
with the one model (:mod:`.guard_model`, the rules of ``graphprof analyze``).

Above ``warn_duplicated`` (default 100 MB of copies beyond the first) or ``warn_materialised``
(default off), the client that sent the graph gets a Python warning naming the object and the
fix, and the finding is logged as a scheduler event on topic ``graphprof``. Above
``refuse_duplicated`` / ``refuse_materialised`` the graph is refused on the scheduler
(:mod:`.refusal`): none of its tasks is sent to a worker, the scheduler errs them as soon as
``update_graph`` is done, as it would a task a worker reported failed (a ``RuntimeError`` with the
refusal message), every future fails at once with that one message, the scheduler logs one line
naming the culprit (logger ``distributed.scheduler.graphprof``), the workers see nothing, and the
next graph is checked afresh.

Use: ``client.register_plugin(GraphGuard())``, ``dask scheduler --preload graphprof.guard``
(options through Dask config ``graphprof.guard.warn-duplicated`` etc.), or ``graphprof watch``.
An error inside the guard is logged once and the graph goes on.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
from typing import Optional

from distributed.diagnostics.plugin import SchedulerPlugin

from ..collect.payloads import PayloadCache, human_bytes, in_memory_bytes
from ..collect.payloads import describe as describe_object
from .walk import SpecWalk
from .model import COPIED, ContentUse, assess, over, parse_bytes, totals
from .refusal import dispatch, err, hold, unhold

# A child of the scheduler's logger: its lines are in the scheduler's log wherever that is read
# (the process's stderr, ``client.get_scheduler_logs()``, the dashboard).
logger = logging.getLogger("distributed.scheduler.graphprof")

TOPIC = "graphprof"
PLUGIN_NAME = "graphprof-guard"
CONFIG_PREFIX = "graphprof.guard."
DEFAULTS = {"warn-duplicated": "100 MB", "warn-materialised": None,
            "refuse-duplicated": None, "refuse-materialised": None}
# The in-memory size loads the pickle twice: only for objects up to this size.
IN_MEMORY_LIMIT_BYTES = 64 * 2**20
FIX_ARGUMENT = ("send it once: pass client.scatter(obj, broadcast=True) instead of the object "
                "(one copy on every worker), or dask.delayed(obj) (the object once in the graph, "
                "one copy kept)")
FIX_FUNCTION = ("the function itself carries it (a bound method's instance or a closure's "
                "captured value): move the object out into an argument of a module-level "
                "function, then pass client.scatter(obj, broadcast=True) or dask.delayed(obj) "
                "as that argument")
REFUSED = "graphprof refused this graph"
THRESHOLD_NAMES = ("warn_duplicated", "warn_materialised", "refuse_duplicated",
                   "refuse_materialised")


class GraphGuard(SchedulerPlugin):
    """Checks every graph the scheduler receives; warns about, or refuses, graphs whose tasks
    share an object that the workers would deserialise once per task."""

    name = PLUGIN_NAME

    def __init__(self, warn_duplicated="100 MB", warn_materialised=None,
                 refuse_duplicated=None, refuse_materialised=None,
                 min_payload_bytes: int = 1024):
        self.thresholds = {
            "warn_duplicated": parse_bytes(warn_duplicated),
            "warn_materialised": parse_bytes(warn_materialised),
            "refuse_duplicated": parse_bytes(refuse_duplicated),
            "refuse_materialised": parse_bytes(refuse_materialised),
        }
        self.min_payload_bytes = int(min_payload_bytes)
        self._error_logged = False
        self.scheduler = None

    @classmethod
    def from_config(cls, **overrides) -> "GraphGuard":
        """A guard with the thresholds of Dask config ``graphprof.guard.*``, less those given."""
        import dask

        options = {key.replace("-", "_"): dask.config.get(CONFIG_PREFIX + key, default)
                   for key, default in DEFAULTS.items()}
        options.update(overrides)
        return cls(**options)

    async def start(self, scheduler) -> None:
        self.scheduler = scheduler

    # ------------------------------------------------------------------ the hook
    def update_graph(self, scheduler, *, client=None, keys=None, tasks=None,
                     stimulus_id=None, **kwargs) -> None:
        try:
            started = time.perf_counter()
            report = self.check(scheduler, tasks or ())
            if report is None:
                return
            report["client"] = client
            report["stimulus_id"] = stimulus_id
            report["guard_seconds"] = round(time.perf_counter() - started, 6)
            if report["verdict"] == "refuse":
                self.refuse(scheduler, tasks or (), report)
            else:
                self.warn_client(scheduler, client, report)
            scheduler.log_event(TOPIC, report)
        except Exception as error:  # never break the cluster
            self.internal_error(scheduler, error)

    def internal_error(self, scheduler, error: Exception) -> None:
        """Logs the first internal error (with its traceback) and an event; later ones quietly."""
        if self._error_logged:
            logger.debug("graphprof guard: internal error again: %r", error)
            return
        self._error_logged = True
        logger.exception("graphprof guard: internal error, the graph goes on unchecked")
        try:
            scheduler.log_event(TOPIC, {"graphprof": 1, "verdict": "error",
                                        "message": f"graphprof guard: internal error, graphs go "
                                                   f"on unchecked: {error!r}"})
        except Exception:
            pass

    # ------------------------------------------------------------------ the check
    def walk(self, scheduler, tasks) -> tuple[SpecWalk, dict, int]:
        """One pass over the arriving tasks: per object id, [tasks, held tasks, first key] (an
        object a task embeds twice is one copy: pickle shares it inside one task's message).

        Tasks of one layer embed the same objects: they are counted by what they embed (the
        tuple of object ids, and whether the task is held), one dict update per task, and the
        counts are spread over the objects once at the end."""
        from dask._task_spec import Alias

        walk = SpecWalk(self.min_payload_bytes)
        objects, ids = walk.objects, walk.ids
        shapes: dict[tuple, list] = {}  # (ids..., held) -> [tasks, first key]
        get_shape = shapes.get
        all_tasks = scheduler.tasks
        walked = 0
        for key in tasks:
            ts = all_tasks.get(key)
            if ts is None:
                continue
            spec = ts.run_spec
            if spec is None or isinstance(spec, Alias) or ts.state != "released":
                continue
            walked += 1
            ids.clear()
            objects(spec)
            if not ids:
                continue
            # Held: nothing depends on it, or only held aliases.
            held = 1
            for d in ts.dependents:
                if d.dependents or not isinstance(d.run_spec, Alias):
                    held = 0
                    break
            ids.append(held)
            shape = tuple(ids)
            seen = get_shape(shape)
            if seen is None:
                shapes[shape] = [1, key]
            else:
                seen[0] += 1
        uses: dict[int, list] = {}
        for shape, (count, key) in shapes.items():
            held = shape[-1] * count
            for i in dict.fromkeys(shape[:-1]):
                use = uses.get(i)
                if use is None:
                    uses[i] = [count, held, key]
                else:
                    use[0] += count
                    use[1] += held
        ids.clear()
        return walk, uses, walked

    def check(self, scheduler, tasks) -> Optional[dict]:
        """The report for the arriving tasks, or None when no threshold is crossed."""
        walk, uses, walked = self.walk(scheduler, tasks)
        cache = PayloadCache(self.min_payload_bytes)
        by_digest: dict[str, dict] = {}
        for i, (count, held, key) in uses.items():
            if count < 2:
                continue
            obj, role, threshold, task = walk.found[i]
            info = cache.info(obj)  # the one pickle of this object
            limit = self.min_payload_bytes if threshold is None else threshold
            if info is None or info["size_bytes"] < max(limit, 1):
                continue
            entry = by_digest.get(info["digest"])
            if entry is None:
                entry = by_digest[info["digest"]] = {
                    "use": ContentUse(size_bytes=info["size_bytes"], copies=0, objects=0),
                    "object": obj, "role": role, "task": task, "key": key, "tasks": 0}
            entry["use"].copies += count
            entry["use"].objects += 1
            entry["use"].held_copies += held
            entry["tasks"] += count
        if not by_digest:
            return None
        assessed = [(entry, assess(entry["use"])) for entry in by_digest.values()]
        total = totals(a for _, a in assessed)
        t = self.thresholds
        refuse = (over(total["duplicated_bytes"], t["refuse_duplicated"])
                  or over(total["materialised_bytes"], t["refuse_materialised"]))
        warn = (over(total["duplicated_bytes"], t["warn_duplicated"])
                or over(total["materialised_bytes"], t["warn_materialised"]))
        if not (refuse or warn):
            return None
        assessed.sort(key=lambda ea: (ea[1].kind != COPIED, -ea[1].duplicated_bytes,
                                      -ea[1].materialised_bytes))
        culprits = [self.culprit(cache, walk, entry, a) for entry, a in assessed[:5]]
        total = totals(assess(entry["use"]) for entry, _ in assessed)  # in-memory sizes known now
        verdict = "refuse" if refuse else "warn"
        report = {"graphprof": 1, "verdict": verdict, "tasks": walked,
                  "thresholds": {k: v for k, v in t.items() if v is not None},
                  **total, "culprits": culprits}
        report["message"] = message(report)
        return report

    def culprit(self, cache: PayloadCache, walk: SpecWalk, entry: dict, a) -> dict:
        """One object's finding: what it is, its sizes, where, and the fix."""
        from dask.utils import key_split

        obj, use = entry["object"], entry["use"]
        context = walk.context(entry["task"])
        if use.size_bytes <= IN_MEMORY_LIMIT_BYTES:
            data = cache._by_id[id(obj)][2]
            use.in_memory_bytes = in_memory_bytes(data)
            a = assess(use)
        text = describe_object(obj, cache.pickled_size)
        if context and entry["role"] != "function":
            text = f"{text}, {context}"
        key = entry["key"]
        role = entry["role"]
        if role == "data" and context:
            role = "argument"  # a literal node shared by the tasks' calls: their argument
        return {
            "type": type(obj).__name__, "role": role, "description": text,
            "kind": a.kind, "size_bytes": use.size_bytes, "in_memory_bytes": use.in_memory_bytes,
            "copies": a.copies, "objects": use.objects, "duplicated_bytes": a.duplicated_bytes,
            "materialised_bytes": a.materialised_bytes, "held_bytes": a.held_bytes,
            "held_bytes_at_least": a.held_bytes_at_least,
            "held_duplicated_bytes": a.held_duplicated_bytes,
            "layer": key_split(key), "example_key": str(key),
            "fix": FIX_FUNCTION if role == "function" else FIX_ARGUMENT,
        }

    # ------------------------------------------------------------------ acting
    def warn_client(self, scheduler, client, report: dict) -> None:
        """A ``UserWarning`` to the client that sent the graph, and to it alone (the scheduler
        writes distributed's own ``warn`` event on that client's stream only)."""
        if client is None:
            return
        text = report["message"] + f" [graph sent by {client}]"
        event = (time.time(), {"message": pickle.dumps(text),
                               "category": pickle.dumps(UserWarning)})
        scheduler.report({"op": "event", "topic": "warn", "event": event}, client=client)

    def refuse(self, scheduler, tasks, report: dict) -> None:
        """Holds the refused graph's tasks on the scheduler (:func:`.refusal.hold`), logs one
        line naming the culprit, and errs the tasks (:func:`.refusal.err`) as soon as
        ``update_graph`` has returned (the next turn of the scheduler's event loop)."""
        error = RuntimeError(report["message"])
        held = hold(scheduler, tasks, error)
        logger.warning("%s [graph sent by %s; %d tasks erred on the scheduler, none sent to a "
                       "worker]", report["message"].replace("\n", " "), report.get("client"),
                       len(held))
        stimulus_id = f"graphprof-refused-{time.time()}"
        asyncio.get_running_loop().call_soon(self.err_refused, scheduler, held, error,
                                             stimulus_id)

    def err_refused(self, scheduler, held: dict, error: Exception, stimulus_id: str) -> None:
        """Errs the held tasks and gives them their own restrictions back. Should erring fail,
        the tasks it left go to the workers, where their specs raise the refusal."""
        try:
            err(scheduler, held, error, stimulus_id)
        except Exception as failure:  # never break the cluster
            self.internal_error(scheduler, failure)
            unhold(scheduler, held)
            try:
                dispatch(scheduler, held, stimulus_id)
            except Exception as again:
                logger.debug("graphprof guard: dispatching the refused tasks failed: %r", again)
        else:
            unhold(scheduler, held)


def message(report: dict) -> str:
    """One paragraph: what crossed which threshold, the culprit, the fix."""
    top = report["culprits"][0]
    refused = report["verdict"] == "refuse"
    head = (f"{REFUSED}: " if refused else "graphprof: ")
    what = top["description"]
    if top["role"] == "function":
        what = f"the tasks' function {what}"
    limits = ", ".join(f"{k} {decimal_bytes(v)}" for k, v in report["thresholds"].items()
                       if k.startswith("refuse" if refused else "warn"))
    text = (f"{head}{top['copies']} tasks of layer {top['layer']} (e.g. {top['example_key']}) "
            f"embed one {top['type']} ({what}; {human_bytes(top['size_bytes'])} pickled"
            + (f", {human_bytes(top['in_memory_bytes'])} in memory"
               if top.get("in_memory_bytes") else "")
            + f"): the workers will deserialise {top['copies']} copies of it, "
            f"{human_bytes(top['duplicated_bytes'])} beyond the first "
            f"({human_bytes(report['duplicated_bytes'])} duplicated, "
            f"{human_bytes(report['materialised_bytes'])} materialised in this graph; {limits}); "
            f"held in memory while the results are held: "
            f"{human_bytes(report['held_bytes_at_least'])} to {human_bytes(report['held_bytes'])} "
            f"of copies (the scheduler cannot know which worker keeps which task's copies, nor the "
            f"results' sizes; graphprof analyze predicts one figure). "
            f"Fix: {top['fix']}.")
    others = len(report["culprits"]) - 1
    if others:
        text += f" {others} more shared object(s) in the event on topic '{TOPIC}'."
    return text


def decimal_bytes(n: int) -> str:
    """A threshold as Dask writes its own ("100 MB"): decimal units."""
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


def ensure_guard(dask_scheduler=None, options: Optional[dict] = None,
                 thresholds: Optional[dict] = None) -> dict:
    """Registers a guard on this scheduler unless one is there (``graphprof watch`` calls it
    through ``run_on_scheduler``) and sets on it the ``thresholds`` given (bytes by the guard's
    names, ``warn_duplicated``...; the others stay as they are, or as Dask config says for a new
    guard); returns whether it registered one, whether thresholds changed, and those in force."""
    given = {k: parse_bytes(v) for k, v in (thresholds or {}).items()}
    unknown = set(given) - set(THRESHOLD_NAMES)
    if unknown:
        raise ValueError(f"not a threshold of the guard: {', '.join(sorted(unknown))}")
    existing = dask_scheduler.plugins.get(PLUGIN_NAME)
    changed = False
    if existing is None:
        existing = (GraphGuard(**options) if options
                    else GraphGuard.from_config(**given))
        dask_scheduler.add_plugin(existing, name=PLUGIN_NAME)
        existing.scheduler = dask_scheduler
        registered = True
    else:
        registered = False
        in_force = getattr(existing, "thresholds", None)
        if given and isinstance(in_force, dict):
            changed = any(in_force.get(k) != v for k, v in given.items())
            in_force.update(given)
    return {"registered": registered, "changed": changed,
            "thresholds": {k: v for k, v in getattr(existing, "thresholds", {}).items()
                           if v is not None}}


def dask_setup(scheduler) -> None:
    """``dask scheduler --preload graphprof.guard``: a guard with Dask config's thresholds."""
    scheduler.add_plugin(GraphGuard.from_config(), name=PLUGIN_NAME)
