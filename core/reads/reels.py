"""The reels list: each project with its clip count and output length."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from core.enums import AspectRatio
from core.library import Library

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReelSummary:
    uid: str
    name: str
    aspect: AspectRatio
    clip_count: int
    output_duration: float  # seconds
    readable: bool = True  # False: half-merged from another device, listed without its contents


def read_reels(library: Library) -> list[ReelSummary]:
    """Projects that are not deleted, in the order every device shares."""
    reels = []
    for p in library.projects():
        try:
            doc = library.show_project(p["uid"])
        except Exception:  # a project half-merged from another device: list it anyway
            log.info("cannot read project %s", p["uid"], exc_info=True)
            reels.append(ReelSummary(p["uid"], p["name"], AspectRatio(p["aspect"]), 0, 0.0, readable=False))
            continue
        reels.append(ReelSummary(p["uid"], p["name"], AspectRatio(p["aspect"]), len(doc["clips"]),
                                 float(doc["output_duration"])))
    return reels
