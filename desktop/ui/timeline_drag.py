"""What a timeline drag is (``DragKind``, ``Drag``) and where a dragged time snaps to.

A drag snaps onto the playhead, a crop keyframe, a split, a trim or region edge or the clip's
ends within ``SNAP_PX`` (else onto the nearest frame start), clamped to the clip.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from core.editmath import snap_to_frame

if TYPE_CHECKING:
    from desktop.ui.timeline import TimelineView

SNAP_PX = 8.0             # snapping reach while dragging
HIT_PX = 7.0              # how close a press must be to grab a diamond or an edge
DRAG_START_PX = 3.0


class DragKind(str, Enum):
    SCRUB = "scrub"
    KEYFRAME = "keyframe"
    REGION_START = "region-start"
    REGION_END = "region-end"
    REGION_MOVE = "region-move"
    CLIP = "clip"
    TRIM_START = "trim-start"
    TRIM_END = "trim-end"

    @property
    def is_region(self) -> bool:
        return self in (DragKind.REGION_START, DragKind.REGION_END, DragKind.REGION_MOVE)

    @property
    def is_trim(self) -> bool:
        return self in (DragKind.TRIM_START, DragKind.TRIM_END)


@dataclass(slots=True)
class Drag:
    kind: DragKind
    press_x: float                # viewport px
    uid: str = ""
    origin: tuple[float, float] = (0.0, 0.0)
    value: tuple[float, float] = (0.0, 0.0)
    moved: bool = False
    snapped_to: float | None = None


def _snap_targets(view: TimelineView, exclude: str) -> list[float]:
    targets = [0.0, view._duration, view._playhead]
    targets += [t for uid, t in view._keyframes if uid != exclude]
    targets += [t for _uid, t in view._splits]
    if view._trim is not None:
        targets += list(view._trim)
    for r in view._regions:
        if r.uid != exclude:
            targets += [r.start, r.end]
    return targets


def snap(view: TimelineView, t: float, exclude: str = "") -> tuple[float, float | None]:
    """``t`` pulled onto the nearest playhead / keyframe / split / edge within SNAP_PX, else
    onto the nearest frame start; clamped to the clip. Returns (time, snapped target)."""
    reach = SNAP_PX / view._pps
    best, best_d = None, reach + 1e-12
    for target in _snap_targets(view, exclude):
        d = abs(target - t)
        if d <= best_d:
            best, best_d = target, d
    if best is not None:
        return min(max(best, 0.0), view._duration), best
    return min(max(snap_to_frame(t, view._fps), 0.0), view._duration), None


__all__ = ["DRAG_START_PX", "HIT_PX", "SNAP_PX", "Drag", "DragKind", "snap"]
