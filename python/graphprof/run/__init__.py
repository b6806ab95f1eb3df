"""What the binary starts: ``python -m graphprof.run COMMAND`` (:mod:`.commands` dispatches): the
driver of ``graphprof sample --engine dask`` (:mod:`.driver`, one strategy's run in
:mod:`.strategy`), what it runs per label (:mod:`.workloads`, graph replays in :mod:`.replay`), the
rewrite of a collection for a fix (:mod:`.rewriter`, also ``graphprof.rewrite``), the line protocol
(:mod:`.protocol`), ``graphprof dask export``'s command (:mod:`.export_command`) and
``graphprof dask calibrate`` (:mod:`.calibrate`), ``graphprof watch``'s side (:mod:`.watch`), and the
package zipped for a cluster that lacks it (:mod:`.ship`).

The top room: may import :mod:`graphprof.collect`, :mod:`graphprof.sampler`,
:mod:`graphprof.guard` (``watch`` registers the plugin), ``graphprof.seed`` and the shared modules; only the public API
(``graphprof.rewrite``) imports it back.
"""
