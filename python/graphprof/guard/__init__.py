"""The live guard, on the scheduler: the plugin (:mod:`.plugin`), its pass over a task spec
(:mod:`.walk`), its model of duplicated, materialised and held bytes (:mod:`.model`) and what
refusing a graph does to the scheduler's tasks (:mod:`.refusal`).
``graphprof watch``'s side, which registers it, runs in the binary's subprocess (``graphprof.run.watch``).

``dask scheduler --preload graphprof.guard`` imports this package and calls :func:`dask_setup`;
``client.register_plugin(graphprof.GraphGuard())`` uses the class. Needs distributed. May import
:mod:`graphprof.collect` (the guard shares the exporter's walk and payload sizing), nothing else.
"""

from .plugin import (
    CONFIG_PREFIX,
    DEFAULTS,
    PLUGIN_NAME,
    REFUSED,
    TOPIC,
    GraphGuard,
    dask_setup,
    ensure_guard,
    message,
)

__all__ = [
    "CONFIG_PREFIX",
    "DEFAULTS",
    "GraphGuard",
    "PLUGIN_NAME",
    "REFUSED",
    "TOPIC",
    "dask_setup",
    "ensure_guard",
    "message",
]
