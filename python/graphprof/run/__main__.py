"""``python -m graphprof.run COMMAND ...``: the entry the binary starts (see :mod:`.commands`)."""

import sys

from .commands import main

sys.exit(main())
