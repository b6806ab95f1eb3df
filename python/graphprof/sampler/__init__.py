"""Sampling cluster memory: the ``graphprof.MemorySampler`` drop-in (:mod:`.memory_sampler`, in
the user's process, with the recorder it sends to the scheduler), and the sampling thread of
``graphprof sample --engine dask``'s driver (:mod:`.thread`) with its cluster probes
(:mod:`.cluster`: worker addresses, heartbeats, settling after a release), and what each worker
holds per layer while the results are held (:mod:`.layers`, run on the workers).

May import the shared ``graphprof._binary`` and ``graphprof._deps``, and :mod:`graphprof.collect`
(the per-layer probe sizes objects as the exporter does); :mod:`graphprof.run` imports it.
Importing this package needs only the standard library.
"""

from .memory_sampler import MemorySampler

__all__ = ["MemorySampler"]
