"""``python -m graphprof ARGS``: run the graphprof binary installed beside this package.

The same arguments, the same exit code: on POSIX the process becomes the binary (``os.execvp``).
"""

from __future__ import annotations

import os
import subprocess
import sys

from ._binary import BinaryNotFound, find_graphprof_bin


def main() -> int:
    try:
        binary = find_graphprof_bin()
    except BinaryNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if sys.platform == "win32":  # no exec on Windows: run it and pass its exit code on
        return subprocess.run([binary, *sys.argv[1:]]).returncode
    os.execvp(binary, [binary, *sys.argv[1:]])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
