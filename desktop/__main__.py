"""``python -m desktop``: the same entry point as the ``reeldesk`` console script."""
from __future__ import annotations

import sys

from desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
