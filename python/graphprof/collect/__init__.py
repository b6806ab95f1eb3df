"""Walking a Dask collection as distributed's scheduler would see it: what the client sends
(:mod:`.send`), the materialised tasks and their dependencies (:mod:`.walk`), the objects they embed,
sized pickled and in memory and named (:mod:`.payloads`, :mod:`.digest`, :mod:`.task_sizes`), the
graph document ``graphprof dask export`` writes (:mod:`.graph`), with the user's collection left as
it was (:mod:`.isolate`). Runs in the user's process or the binary's export command.

The bottom room: it imports no other room of the package (only the standard library, and dask,
distributed, cloudpickle inside the functions that need them). :mod:`graphprof.guard`,
:mod:`graphprof.run` and :mod:`graphprof.api` import it.
"""
