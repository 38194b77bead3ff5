"""Timeline input: hit testing, drags (scrub, keyframe, region edges and bar, marked clip, trim
edges: ``timeline_drag.DragKind``), hover cursors, tooltips, keys and the wheel.

Drags show their value while held and emit ONE gesture on release (through the view's
``_emit``); a click without a drag emits nothing.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QToolTip

from core.editmath import frame_index, frame_time
from core.enums import GestureKind
from desktop.ui.timeline_drag import DRAG_START_PX, HIT_PX, Drag, DragKind, snap
from desktop.ui.timeline_model import MediaClip, TimelineMode, lane_at
from desktop.ui.timeline_trim import dragged_trim, finish_trim, trim_edge_at, trim_span

if TYPE_CHECKING:
    from desktop.ui.timeline import TimelineView

def to_scene(view: TimelineView, pos: QPointF) -> QPointF:
    """Viewport -> scene, keeping sub-pixel precision (mapToScene rounds to whole pixels)."""
    return QPointF(pos.x() + view._scroll_x(), pos.y() + view.verticalScrollBar().value())


def keyframe_at(view: TimelineView, scene: QPointF) -> str | None:
    if not view._keyframes:
        return None
    best, best_d = None, HIT_PX + 1e-9
    reach = HIT_PX / view._pps
    times = [t for _uid, t in view._keyframes]
    t = view.time_at(scene.x())
    for uid, kt in view._keyframes[bisect_left(times, t - reach):bisect_right(times, t + reach)]:
        d = abs(view.x_for_time(kt) - scene.x())
        if d <= best_d:
            best, best_d = uid, d
    return best


def region_at(view: TimelineView, scene: QPointF) -> tuple[str, DragKind] | None:
    """(region uid, the drag a press there starts: its start edge, end edge, or the whole bar)."""
    for r in reversed(view._regions):
        bar = view._region_rect(r)
        if not bar.adjusted(-HIT_PX / 2, 0, HIT_PX / 2, 0).contains(scene):
            continue
        if abs(scene.x() - bar.left()) <= HIT_PX / 2 + 1:
            return r.uid, DragKind.REGION_START
        if abs(scene.x() - bar.right()) <= HIT_PX / 2 + 1:
            return r.uid, DragKind.REGION_END
        return r.uid, DragKind.REGION_MOVE
    return None


def media_clip_at(view: TimelineView, scene: QPointF) -> MediaClip | None:
    if not view._clips:
        return None
    t = view.time_at(scene.x())
    slack = 2.0 / view._pps  # clips drawn at least 2 px wide
    lo = bisect_left(view._clip_starts, t - view._clip_max_len - slack)
    hi = bisect_right(view._clip_starts, t + slack)
    hit = None
    for c in view._clips[lo:hi]:
        if view._media_clip_rect(c).contains(scene):
            hit = c  # the later-starting one is drawn on top
    return hit


def press(view: TimelineView, event: QMouseEvent) -> bool:
    """Start a drag (trim edge, keyframe, region, marked clip, else scrubbing); False when the
    press is not the timeline's (not the left button, or nothing shown)."""
    if event.button() != Qt.MouseButton.LeftButton or view._mode is TimelineMode.EMPTY:
        return False
    view.setFocus(Qt.FocusReason.MouseFocusReason)
    pos = event.position()
    scene = to_scene(view, pos)
    lane = lane_at(view._lanes, scene.y())
    edge = trim_edge_at(view, scene)
    if edge is not None:
        span = trim_span(view)
        view._drag = Drag(edge, pos.x(), "", span, span)
        event.accept()
        return True
    if lane == "keys":
        uid = keyframe_at(view, scene)
        if uid is not None:
            t = dict(view._keyframes)[uid]
            _select_keyframe(view, uid)
            view._drag = Drag(DragKind.KEYFRAME, pos.x(), uid, (t, t), (t, t))
            event.accept()
            return True
    elif lane == "regions":
        hit = region_at(view, scene)
        if hit is not None:
            uid, part = hit
            r = next(r for r in view._regions if r.uid == uid)
            if uid != view._selected_region:
                view._selected_region = uid
                view.regionSelected.emit(uid)
                view._invalidate()
            view._drag = Drag(part, pos.x(), uid, (r.start, r.end), (r.start, r.end))
            event.accept()
            return True
    elif lane == "clips":
        clip = media_clip_at(view, scene)
        if clip is not None:
            if clip.uid != view._selected_clip:
                view._selected_clip = clip.uid
                view._invalidate()
            view.clipSelected.emit(clip.uid)
            view._drag = Drag(DragKind.CLIP, pos.x(), clip.uid)
            event.accept()
            return True
    view._drag = Drag(DragKind.SCRUB, pos.x())
    scrub_to(view, view.time_at(scene.x()))
    event.accept()
    return True


def move(view: TimelineView, event: QMouseEvent) -> None:
    pos = event.position()
    drag = view._drag
    if drag is None:
        _update_hover(view, pos)
        return
    if not drag.moved and abs(pos.x() - drag.press_x) < DRAG_START_PX and drag.kind is not DragKind.SCRUB:
        return
    drag.moved = True
    t = view.time_at_viewport_x(pos.x())
    if drag.kind is DragKind.SCRUB:
        scrub_to(view, t)
    elif drag.kind is DragKind.KEYFRAME:
        snapped, target = snap(view, drag.origin[0] + (pos.x() - drag.press_x) / view._pps, exclude=drag.uid)
        drag.value, drag.snapped_to = (snapped, snapped), target
        view._invalidate()
    elif drag.kind.is_region:
        drag.value, drag.snapped_to = _dragged_region(view, drag, (pos.x() - drag.press_x) / view._pps)
        view._invalidate()
    elif drag.kind.is_trim:
        drag.value, drag.snapped_to = dragged_trim(view, drag, (pos.x() - drag.press_x) / view._pps)
        view._invalidate()


def release(view: TimelineView, event: QMouseEvent) -> bool:
    """End the drag: one gesture for a moved keyframe, region or trim edge. False when no drag
    of the left button was going on."""
    drag = view._drag
    if drag is None or event.button() != Qt.MouseButton.LeftButton:
        return False
    if drag.kind is not DragKind.SCRUB and (drag.moved or abs(event.position().x() - drag.press_x) >= DRAG_START_PX):
        move(view, event)  # the release position counts
    view._drag = None
    if drag.moved and view._clip_uid is not None:
        if drag.kind is DragKind.KEYFRAME and abs(drag.value[0] - drag.origin[0]) > 1e-9:
            view._emit(GestureKind.MOVE_CROP_KEYFRAME, {"keyframe": drag.uid, "time": round(drag.value[0], 6)})
        elif drag.kind.is_region and drag.value != drag.origin:
            start, end = drag.value
            view._emit(GestureKind.UPDATE_REGION, {"region": drag.uid, "start": round(start, 6),
                                                   "end": round(end, 6)})
        elif drag.kind.is_trim:
            finish_trim(view, drag)
    view._invalidate()
    event.accept()
    return True


def _update_hover(view: TimelineView, pos: QPointF) -> None:
    scene = to_scene(view, pos)
    lane = lane_at(view._lanes, scene.y())
    cursor = Qt.CursorShape.ArrowCursor
    if trim_edge_at(view, scene) is not None:
        cursor = Qt.CursorShape.SplitHCursor
    elif lane == "keys" and keyframe_at(view, scene) is not None:
        cursor = Qt.CursorShape.PointingHandCursor
    elif lane == "regions":
        hit = region_at(view, scene)
        if hit is not None:
            moving = hit[1] is DragKind.REGION_MOVE
            cursor = Qt.CursorShape.OpenHandCursor if moving else Qt.CursorShape.SizeHorCursor
    elif lane == "clips" and media_clip_at(view, scene) is not None:
        cursor = Qt.CursorShape.PointingHandCursor
    view.viewport().setCursor(cursor)


def show_tooltip(view: TimelineView, event: QEvent) -> bool:
    """A marked clip's name, rating and times as its tooltip; True when the event was that."""
    if event.type() == QEvent.Type.ToolTip and view._mode is TimelineMode.MEDIA:
        pos = event.pos()  # type: ignore[attr-defined]
        clip = media_clip_at(view, to_scene(view, QPointF(pos)))
        if clip is not None:
            text = (f"{clip.name or 'Clip'}  {'★' * clip.rating}\n"
                    f"{view.time_text(clip.start)} – {view.time_text(clip.end)}")
            QToolTip.showText(event.globalPos(), text, view.viewport())  # type: ignore[attr-defined]
        else:
            QToolTip.hideText()
        return True
    return False


def scrub_to(view: TimelineView, t: float) -> None:
    t = min(max(t, 0.0), view._duration)
    # The frame under the pointer: its start time, so the viewer shows exactly that frame.
    t = min(frame_time(frame_index(t, view._fps), view._fps), view._duration)
    if t != view._playhead:
        view.set_playhead(t)
        view.playheadMoved.emit(t)


def _select_keyframe(view: TimelineView, uid: str) -> None:
    if uid != view._selected_keyframe:
        view._selected_keyframe = uid
        view._invalidate()
    view.keyframeSelected.emit(uid)


def _dragged_region(view: TimelineView, drag: Drag, dt: float) -> tuple[tuple[float, float], float | None]:
    start, end = drag.origin
    frame = float(1 / view._fps)
    if drag.kind is DragKind.REGION_START:
        s, target = snap(view, start + dt, exclude=drag.uid)
        return (min(s, end - frame), end), target
    if drag.kind is DragKind.REGION_END:
        e, target = snap(view, end + dt, exclude=drag.uid)
        return (start, max(e, start + frame)), target
    length = end - start
    s, ts = snap(view, start + dt, exclude=drag.uid)
    e, te = snap(view, end + dt, exclude=drag.uid)
    # Keep the length: follow whichever edge found a real target (the closer one), else frames.
    if ts is not None and (te is None or abs(s - (start + dt)) <= abs(e - (end + dt))):
        new_start, target = s, ts
    elif te is not None:
        new_start, target = e - length, te
    else:
        new_start, target = s, None
    new_start = min(max(new_start, 0.0), max(0.0, view._duration - length))
    return (new_start, new_start + length), target


def key_press(view: TimelineView, event: QKeyEvent) -> bool:
    """Delete the selected keyframe, zoom, step or jump the playhead; False for other keys."""
    key = event.key()
    mods = event.modifiers()
    if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and view._selected_keyframe and view._clip_uid:
        uid = view._selected_keyframe
        view._selected_keyframe = None
        view._emit(GestureKind.DELETE_CROP_KEYFRAME, {"keyframe": uid})
        view._invalidate()
    elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
        view.zoom_in()
    elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
        view.zoom_out()
    elif key in (Qt.Key.Key_Backslash, Qt.Key.Key_0):
        view.zoom_to_fit()
    elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and view._mode is not TimelineMode.EMPTY:
        frames = 10 if mods & Qt.KeyboardModifier.ShiftModifier else 1
        n = frame_index(view._playhead, view._fps) + (frames if key == Qt.Key.Key_Right else -frames)
        scrub_to(view, max(0.0, frame_time(max(0, n), view._fps)))
        view._ensure_visible(view._playhead)
    elif key == Qt.Key.Key_Home and view._mode is not TimelineMode.EMPTY:
        scrub_to(view, 0.0)
        view._ensure_visible(0.0)
    elif key == Qt.Key.Key_End and view._mode is not TimelineMode.EMPTY:
        scrub_to(view, view._duration)
        view._ensure_visible(view._duration)
    else:
        return False
    event.accept()
    return True


def wheel(view: TimelineView, event: QWheelEvent) -> None:
    delta = event.angleDelta()
    if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
        steps = delta.y() / 120.0
        if steps:
            view._zoom(view._pps * (1.25 ** steps), event.position().x())
        event.accept()
        return
    # A plain wheel scrolls time (horizontal); trackpads send x directly.
    amount = delta.x() if abs(delta.x()) > abs(delta.y()) else delta.y()
    bar = view.horizontalScrollBar()
    bar.setValue(bar.value() - int(amount * 0.8))
    event.accept()


__all__ = ["key_press", "keyframe_at", "media_clip_at", "move", "press", "region_at", "release", "scrub_to",
           "show_tooltip", "to_scene", "wheel"]
