"""What the desktop and the Modal detection app agree on: names, limits and the box shape.

Kept apart from ``modal_detect`` so that the desktop's client (and the window's start-up) does not
import the Modal SDK, which takes a third of a second to load."""
from __future__ import annotations

APP_NAME = "reeldesk-detect"
DETECT_FUNCTION = "detect_people"
PROGRESS_DICT = "reeldesk-detect-progress"
MAX_FRAMES = 64  # frames per call: detection is for picking a player, not for tracking

Box = tuple[float, float, float, float, float]  # x, y, width, height, confidence (source pixels)

__all__ = ["APP_NAME", "DETECT_FUNCTION", "MAX_FRAMES", "PROGRESS_DICT", "Box"]
