"""The pytest plugin (entry point ``pytest11`` = :mod:`graphprof.pytest.plugin`): hooks and
options in :mod:`.plugin`, what a ``graphprof`` marker checks and its message in :mod:`.marks`.

May import :mod:`graphprof.api` (the analysis it checks), only when a test is checked. Nothing
imports this room. (Inside it, ``import pytest`` is the pytest package: imports are absolute.)
"""
