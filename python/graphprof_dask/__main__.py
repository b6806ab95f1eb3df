"""``python -m graphprof_dask ...``: the old name of ``python -m graphprof.dask_run ...`` (one release)."""

import sys

from graphprof.dask_run import main

if __name__ == "__main__":
    sys.exit(main())
