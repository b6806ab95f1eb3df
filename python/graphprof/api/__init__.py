"""The notebook API, in the user's process: :mod:`.analysis` (``analyze``, ``export``, the typed
:class:`~.analysis.Analysis`) and :mod:`.comparison` (``sample``), whose
:class:`~.sample_result.SampleResult` keeps its notebook views in :mod:`.sample_result` and its
plot in :mod:`.sample_plot`.

Both call the ``graphprof`` binary for the work (``graphprof analyze``, ``graphprof sample``); the
package's ``__init__`` re-exports them. May import: :mod:`graphprof.collect` (to export a
collection in-process), the shared ``graphprof._binary`` and ``graphprof._deps``. Nothing imports
this room but the public API and :mod:`graphprof.pytest`.
"""
