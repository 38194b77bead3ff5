"""Garbage-collector settings for a window that plays video.

CPython's full (generation 2) collection walks every container object that is alive. After the
window has started that is ~200,000 objects (modules, widgets, SQLAlchemy's mappers), and the
walk holds the GIL for 100 ms or more on a 2-core laptop: a stall of the picture while playing.
Nothing built at start-up becomes garbage while the window runs, so it is moved to the permanent
generation once; later full collections then walk only what was made since.
"""
from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_heap() -> None:
    """Exclude everything alive now from later garbage collections (cheap: no walk happens)."""
    gc.freeze()
    log.debug("froze %d start-up objects out of the garbage collector", gc.get_freeze_count())


__all__ = ["freeze_startup_heap"]
