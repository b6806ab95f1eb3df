"""Sampling cluster memory: the ``graphprof.MemorySampler`` drop-in (:mod:`.memory_sampler`, in
the user's process, with the recorder it sends to the scheduler), and the sampling thread of
``graphprof sample --engine dask``'s driver (:mod:`.thread`) with its cluster probes
(:mod:`.cluster`: worker addresses, heartbeats, settling after a release).

May import only the shared ``graphprof._binary`` and ``graphprof._deps``; :mod:`graphprof.run`
imports it. Importing this package needs only the standard library.
"""

from .memory_sampler import MemorySampler

__all__ = ["MemorySampler"]
