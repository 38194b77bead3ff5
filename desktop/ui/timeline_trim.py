"""Trimming a working clip by dragging its trim edges on the timeline (like an NLE's clip ends).

The edges are the trim's start and end, or the clip's ends when nothing is trimmed. A press on
one (in the picture and sound lanes, where nothing else is grabbed) starts a drag that snaps like
every other timeline drag; the release sends ONE ``set_trim`` gesture (one undo step). Splits and
"drop first/last segment" keep working: they set the same trim.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF

from core.enums import GestureKind

from desktop.ui.timeline_drag import HIT_PX, Drag, DragKind, snap
from desktop.ui.timeline_model import TimelineMode, lane_at

if TYPE_CHECKING:
    from desktop.ui.timeline import TimelineView

TRIM_LANES = ("thumbs", "wave")


def trim_span(view: "TimelineView") -> tuple[float, float]:
    """The kept range (clip seconds): the trim, or the whole clip."""
    return view._trim if view._trim is not None else (0.0, view._duration)


def trim_edge_at(view: "TimelineView", scene: QPointF) -> DragKind | None:
    """DragKind.TRIM_START / TRIM_END when ``scene`` is on a trim edge of a clip timeline, else None."""
    if view._mode is not TimelineMode.CLIP or lane_at(view._lanes, scene.y()) not in TRIM_LANES:
        return None
    start, end = trim_span(view)
    ds, de = abs(scene.x() - view.x_for_time(start)), abs(scene.x() - view.x_for_time(end))
    if min(ds, de) > HIT_PX:
        return None
    # Both edges close (a very short kept range): take the nearer; on a tie, the one the pointer is inside of.
    if ds < de or (ds == de and scene.x() >= view.x_for_time(start)):
        return DragKind.TRIM_START
    return DragKind.TRIM_END


def dragged_trim(view: "TimelineView", drag: "Drag", dt: float) -> tuple[tuple[float, float], float | None]:
    """The trim while an edge is dragged ``dt`` seconds: snapped, and at least one frame kept."""
    start, end = drag.origin
    frame = float(1 / view._fps)
    if drag.kind is DragKind.TRIM_START:
        s, target = snap(view, start + dt)
        return (min(max(s, 0.0), end - frame), end), target
    e, target = snap(view, end + dt)
    return (start, max(min(e, view._duration), start + frame)), target


def finish_trim(view: "TimelineView", drag: "Drag") -> None:
    """Emit the trim once, on release, if the drag changed it."""
    if drag.value == drag.origin:
        return
    start, end = drag.value
    if start <= 1e-9 and end >= view._duration - 1e-9:
        view._emit(GestureKind.CLEAR_TRIM, {})
    else:
        view._emit(GestureKind.SET_TRIM, {"start": round(start, 6), "end": round(end, 6)})


def shown_trim(view: "TimelineView") -> tuple[float, float] | None:
    """The trim to paint: the dragged one while an edge is held."""
    drag = view._drag
    if drag is not None and drag.kind.is_trim and drag.moved:
        return drag.value
    return view._trim


__all__ = ["dragged_trim", "finish_trim", "shown_trim", "trim_edge_at", "trim_span"]
