"""The package shipped to a cluster that lacks it, as a zip of every module under ``graphprof/``:
to the workers of an existing cluster (the seed case's Mapper and functions must be importable
there, so that a broadcast reaches every worker) and to the scheduler (``graphprof watch``'s guard).
"""

from __future__ import annotations

import os
import zipfile

#: The package's folder (``graphprof/``).
PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def package_zip(directory: str, name: str = "graphprof.zip") -> str:
    """Writes every ``.py`` file of the package, subpackages included, to ``directory/name``
    under ``graphprof/``; returns the zip's path."""
    path = os.path.join(directory, name)
    with zipfile.ZipFile(path, "w") as archive:
        for root, dirs, files in os.walk(PACKAGE):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for file in sorted(files):
                if file.endswith(".py"):
                    source = os.path.join(root, file)
                    archive.write(source, os.path.join("graphprof", os.path.relpath(source, PACKAGE)))
    return path
