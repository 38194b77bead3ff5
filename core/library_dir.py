"""Where the library lives by default: small on purpose, so that the window's start-up can find the
folder without loading the database code (``core.library`` re-exports both names)."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_HOME = "REELDESK_HOME"


def default_library_dir() -> Path:
    """``REELDESK_HOME`` if set, else the per-user data folder."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("ReelDesk", "ReelDesk")) / "Library"


__all__ = ["ENV_HOME", "default_library_dir"]
