"""The viewer's modes and edit geometry: what a drag is (``ViewerDragKind``), where the handles sit, and
how a dragged crop box moves or resizes (aspect locked, inside the rotation safe area).

Pure geometry on ``core.editmath.Box`` in source pixels (handles in widget pixels): no widget state.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QTransform

from core.editmath import Box
from core.editmath.spotlight import Ellipse

HANDLE_SIZE = 9.0             # logical px
HANDLE_HIT = 9.0              # logical px: how close a press must be to grab a handle
MIN_CROP_FRACTION = 0.06      # smallest crop height, as a fraction of the frame height
MIN_REGION_RADIUS = 4.0       # source px

CORNERS = ("tl", "tr", "br", "bl")
EDGES = ("t", "r", "b", "l")
CURSORS = {"tl": Qt.CursorShape.SizeFDiagCursor, "br": Qt.CursorShape.SizeFDiagCursor,
           "tr": Qt.CursorShape.SizeBDiagCursor, "bl": Qt.CursorShape.SizeBDiagCursor,
           "t": Qt.CursorShape.SizeVerCursor, "b": Qt.CursorShape.SizeVerCursor,
           "l": Qt.CursorShape.SizeHorCursor, "r": Qt.CursorShape.SizeHorCursor}


class ViewerMode(str, Enum):
    PLAIN = "plain"          # just the picture (marking clips in game footage)
    FRAME = "frame"          # crop box editor
    SPOTLIGHT = "spotlight"  # spotlight region editor


class ViewerDragKind(str, Enum):
    MOVE = "move"                # the crop box
    RESIZE = "resize"            # a crop handle
    REGION_MOVE = "region-move"  # a spotlight region's centre
    REGION_RX = "region-rx"      # its left/right handle
    REGION_RY = "region-ry"      # its top/bottom handle

    @property
    def is_crop(self) -> bool:
        return self in (ViewerDragKind.MOVE, ViewerDragKind.RESIZE)


REGION_CURSORS = {ViewerDragKind.REGION_RX: Qt.CursorShape.SizeHorCursor,
                  ViewerDragKind.REGION_RY: Qt.CursorShape.SizeVerCursor}


@dataclass(slots=True)
class ViewerDrag:
    kind: ViewerDragKind
    press: QPointF            # widget px
    handle: str = ""
    box: Box | None = None
    region: str = ""
    ellipse: Ellipse | None = None
    moved: bool = False


def ellipse_rect(e: Ellipse) -> QRectF:
    """The bounding rect QPainter draws an ellipse in."""
    return QRectF(e.x - e.rx, e.y - e.ry, 2 * e.rx, 2 * e.ry)


def crop_handles(rect: QRectF) -> dict[str, QPointF]:
    cx, cy = rect.center().x(), rect.center().y()
    return {"tl": rect.topLeft(), "t": QPointF(cx, rect.top()), "tr": rect.topRight(),
            "r": QPointF(rect.right(), cy), "br": rect.bottomRight(), "b": QPointF(cx, rect.bottom()),
            "bl": rect.bottomLeft(), "l": QPointF(rect.left(), cy)}


def region_handles(rect: QRectF) -> dict[str, QPointF]:
    cx, cy = rect.center().x(), rect.center().y()
    return {"l": QPointF(rect.left(), cy), "r": QPointF(rect.right(), cy),
            "t": QPointF(cx, rect.top()), "b": QPointF(cx, rect.bottom())}


def near(a: QPointF, b: QPointF) -> bool:
    return abs(a.x() - b.x()) <= HANDLE_HIT and abs(a.y() - b.y()) <= HANDLE_HIT


def moved_box(start: Box, dx: float, dy: float, safe: Box) -> Box:
    """``start`` moved by (dx, dy) source px, stopped at the safe area's edges."""
    x = min(max(start.x + dx, safe.x), safe.x + safe.width - start.width)
    y = min(max(start.y + dy, safe.y), safe.y + safe.height - start.height)
    return Box(x, y, start.width, start.height)


def resized_box(start: Box, handle: str, p: QPointF, safe: Box, ratio: float, frame_h: float) -> Box:
    """Resize from ``handle`` towards source point ``p``, aspect locked (``ratio``: the
    project's, for a degenerate box), the opposite corner (or edge centre) fixed, kept inside
    the rotation safe area and no smaller than MIN_CROP_FRACTION of ``frame_h``."""
    r = start.width / start.height if start.height > 0 else ratio
    sx0, sy0, sx1, sy1 = safe.x, safe.y, safe.x + safe.width, safe.y + safe.height
    min_w = max(8.0, frame_h * MIN_CROP_FRACTION) * r
    cx, cy = start.center
    if handle in CORNERS:
        sgx = 1.0 if "r" in handle else -1.0
        sgy = 1.0 if "b" in handle else -1.0
        ax = start.x if sgx > 0 else start.x + start.width
        ay = start.y if sgy > 0 else start.y + start.height
        w = max(sgx * (p.x() - ax), sgy * (p.y() - ay) * r)
        room_x = (sx1 - ax) if sgx > 0 else (ax - sx0)
        room_y = (sy1 - ay) if sgy > 0 else (ay - sy0)
        w = min(max(w, min_w), room_x, room_y * r)
        h = w / r
        return Box(ax if sgx > 0 else ax - w, ay if sgy > 0 else ay - h, w, h)
    if handle in ("l", "r"):
        sg = 1.0 if handle == "r" else -1.0
        ax = start.x if sg > 0 else start.x + start.width
        room_x = (sx1 - ax) if sg > 0 else (ax - sx0)
        w = min(max(sg * (p.x() - ax), min_w), room_x, 2 * min(cy - sy0, sy1 - cy) * r)
        h = w / r
        return Box(ax if sg > 0 else ax - w, cy - h / 2, w, h)
    sg = 1.0 if handle == "b" else -1.0
    ay = start.y if sg > 0 else start.y + start.height
    room_y = (sy1 - ay) if sg > 0 else (ay - sy0)
    h = min(max(sg * (p.y() - ay), min_w / r), room_y, 2 * min(cx - sx0, sx1 - cx) / r)
    w = h * r
    return Box(cx - w / 2, ay if sg > 0 else ay - h, w, h)


def dragged_ellipse(drag: ViewerDrag, pos: QPointF, to_widget: QTransform, scale: float,
                    frame_w: float, frame_h: float) -> Ellipse:
    """The region being dragged to widget point ``pos``: its centre moved with the pointer (kept
    on the frame), or the radius of the grabbed handle set. ``to_widget`` maps unrotated source
    px to widget px, ``scale`` is widget px per source px."""
    e = drag.ellipse
    assert e is not None
    if drag.kind is ViewerDragKind.REGION_MOVE:
        to_src, _ok = to_widget.inverted()
        c = to_src.map(to_widget.map(QPointF(e.x, e.y)) + (pos - drag.press))
        return Ellipse(min(max(c.x(), 0.0), frame_w), min(max(c.y(), 0.0), frame_h), e.rx, e.ry)
    # Handles sit on the region's body ellipse (also for the ground shape): centre = region centre.
    centre_w = to_widget.map(QPointF(e.x, e.y))
    if drag.kind is ViewerDragKind.REGION_RX:
        rx = abs(pos.x() - centre_w.x()) / scale
        return Ellipse(e.x, e.y, min(max(rx, MIN_REGION_RADIUS), frame_w), e.ry)
    ry = abs(pos.y() - centre_w.y()) / scale
    return Ellipse(e.x, e.y, e.rx, min(max(ry, MIN_REGION_RADIUS), frame_h))


__all__ = ["CORNERS", "CURSORS", "EDGES", "HANDLE_HIT", "HANDLE_SIZE", "MIN_CROP_FRACTION", "MIN_REGION_RADIUS",
           "REGION_CURSORS", "ViewerDrag", "ViewerDragKind", "ViewerMode", "crop_handles", "dragged_ellipse",
           "ellipse_rect", "moved_box", "near", "region_handles", "resized_box"]
