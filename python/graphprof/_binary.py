"""Finding the ``graphprof`` binary that the wheel installs beside this package (as ruff's does).

Order: ``$GRAPHPROF_BIN`` when set, the interpreter's scripts directory (the scheme's, then the
user scheme's), the directory of ``sys.executable``, then ``PATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

NAME = "graphprof" + (".exe" if sys.platform == "win32" else "")


class BinaryNotFound(FileNotFoundError):
    """The graphprof binary is not installed where this package looks for it."""


def find_graphprof_bin() -> str:
    """The path of the graphprof binary; raises :class:`BinaryNotFound` naming where it looked."""
    override = os.environ.get("GRAPHPROF_BIN")
    if override:
        return override
    candidates = [Path(sysconfig.get_path("scripts")) / NAME]
    user_scheme = {"nt": "nt_user", "posix": "posix_user"}.get(os.name)
    if user_scheme and user_scheme in sysconfig.get_scheme_names():
        candidates.append(Path(sysconfig.get_path("scripts", scheme=user_scheme)) / NAME)
    candidates.append(Path(sys.executable).parent / NAME)
    for path in candidates:
        if path.is_file():
            return str(path)
    on_path = shutil.which("graphprof")
    if on_path:
        return on_path
    raise BinaryNotFound(
        f"graphprof binary not found (looked in {', '.join(str(c.parent) for c in candidates)} and PATH); "
        "reinstall with `pip install graphprof`, or set GRAPHPROF_BIN"
    )


def run(args: list[str], *, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the binary with ``args`` (``input`` on its stdin); a non-zero exit raises
    ``RuntimeError`` with its stderr line."""
    done = subprocess.run([find_graphprof_bin(), *args], capture_output=True, text=True, input=input)
    if check and done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        raise RuntimeError(f"graphprof {' '.join(args[:1])}: {message}")
    return done
