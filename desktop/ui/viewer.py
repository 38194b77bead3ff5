"""The video viewer: the current frame letterboxed, with the framing and spotlight editors on top.

Coordinates. *Source* pixels are the upright media frame (the library's ``source.width/height``).
Crop boxes live in the *rotated picture* (the frame turned ``rotation`` degrees clockwise about its
centre, same size as the source), exactly as the renderer reads them; spotlight regions live in
unrotated source pixels and are drawn as axis-aligned ellipses around their rotated centre, again
as the renderer draws them. Every box and ellipse shown comes from ``core.editmath`` (``crop_at``;
``core.editmath.spotlight`` for which regions show, their fade, place, ground shape, ring width and
dim), the functions the export uses, so what the editor sees is what gets rendered.

The viewer never writes to the library: a finished drag or nudge emits ONE gesture through
``gestureRequested`` and the main window applies it.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFocusEvent, QImage, QMouseEvent, QPaintEvent, QPixmap, QResizeEvent, QTransform
from PySide6.QtWidgets import QSizePolicy, QWidget

from core.editmath import Box, crop_at, find_snap_keyframe, safe_rect
from core.editmath.crop import CROP_PROPS
from core.editmath.spotlight import (
    DEFAULT_OVERLAY_STYLE,
    Ellipse,
    OutputMap,
    RegionTrack,
    dim_opacity,
    ring_ellipse,
    ring_width,
    shown_regions,
)
from core.enums import AspectRatio, GestureKind, OverlayShape
from core.gestures.model import Gesture
from desktop.ui.text_layer import TextLayer
from desktop.ui.viewer_edit import (CORNERS, CURSORS, EDGES, HANDLE_SIZE, REGION_CURSORS, ViewerDrag, ViewerDragKind,
                                    ViewerMode, crop_handles, dragged_ellipse, ellipse_rect, moved_box, near,
                                    region_handles, resized_box)
from desktop.ui.viewer_paint import paint_viewer

log = logging.getLogger(__name__)

SNAP_FRAMES = 10              # "within 10 frames of a keyframe updates it" (docs/ARCHITECTURE.md, "Edit math")
MARGIN = 14                   # logical px between the widget edge and the frame
NUDGE_COMMIT_MS = 500         # a pause this long ends a burst of crop nudges (one undo step)

@dataclass(frozen=True, slots=True)
class OverlayShapes:
    """The spotlight overlay as painted at one time, in widget px: every number from
    ``core.editmath.spotlight``. ``regions``: (uid, body ellipse, drawn ring, opacity)."""
    regions: tuple[tuple[str, Ellipse, Ellipse, float], ...]
    ring_width: float
    dim: float


class VideoViewer(QWidget):
    """Shows one frame letterboxed; in FRAME and SPOTLIGHT mode edits the clip's framing.

    Signals: ``gestureRequested(Gesture)`` once per finished drag / nudge;
    ``regionSelected(str)`` when a spotlight region is clicked.
    """

    gestureRequested = Signal(object)
    regionSelected = Signal(str)
    displaySizeChanged = Signal(int, int)  # device px of the picture: playback converts frames to it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("VideoViewer")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._mode = ViewerMode.PLAIN
        self._image: QImage | None = None
        self._scaled: tuple[tuple[int, int, int], QPixmap] | None = None
        self._src_w = 0.0
        self._src_h = 0.0
        self._t = 0.0
        self._clip_uid: str | None = None
        self._aspect = AspectRatio.PORTRAIT
        self._fps = Fraction(30)
        self._duration = 0.0
        self._rotation = 0.0
        self._crop_track: list[tuple[float, Mapping[str, float]]] = []
        self._crop_keyframes: list[tuple[str, float]] = []
        self._regions: list[RegionTrack] = []
        self._region_keyframes: dict[str, list[tuple[str, float]]] = {}  # uid -> (keyframe uid, time)
        self._style: dict[str, Any] = dict(DEFAULT_OVERLAY_STYLE)
        self._selected_region: str | None = None
        # What the user is dragging (or has just dropped, until the clip document catches up).
        self._override_box: Box | None = None
        self._override_region: tuple[str, Ellipse] | None = None
        self._drag: ViewerDrag | None = None
        self._nudging = False
        self._nudge_start: Box | None = None
        self._nudge_timer = QTimer(self)
        self._nudge_timer.setSingleShot(True)
        self._nudge_timer.setInterval(NUDGE_COMMIT_MS)
        self._nudge_timer.timeout.connect(self._commit_nudge)
        self._text = TextLayer()  # text overlays, in the crop box (output space); dragged in SPOTLIGHT

    # -- public API ----------------------------------------------------------------------------

    @property
    def mode(self) -> ViewerMode:
        return self._mode

    @mode.setter
    def mode(self, mode: ViewerMode | str) -> None:
        self.set_mode(mode)

    def set_mode(self, mode: ViewerMode | str) -> None:
        mode = ViewerMode(mode)
        if mode is not self._mode:
            self._cancel_interaction()
            self._mode = mode
            self.update()

    def set_frame(self, image: QImage | None) -> None:
        """Show this picture (any size: a proxy is stretched to the source frame)."""
        self._image = image if image is not None and not image.isNull() else None
        if self._src_w <= 0 and self._image is not None:
            self._src_w, self._src_h = float(self._image.width()), float(self._image.height())
        self.update()

    def set_source_size(self, width: float, height: float) -> None:
        """The upright source frame size in pixels (what crop and region coordinates refer to)."""
        self._src_w, self._src_h = float(width), float(height)
        self._report_size()
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._report_size()

    def _report_size(self) -> None:
        fr, dpr = self.frame_rect(), self.devicePixelRatioF()
        if not fr.isEmpty():
            self.displaySizeChanged.emit(math.ceil(fr.width() * dpr), math.ceil(fr.height() * dpr))

    def set_clip(self, clip_doc: Mapping[str, Any] | None, aspect: AspectRatio | str = AspectRatio.PORTRAIT) -> None:
        """Edit this working clip (a clip of ``Library.show_project``) for a project of ``aspect``."""
        self._aspect = AspectRatio(aspect)
        self._text.set_clip(clip_doc)
        if clip_doc is None:
            self._clip_uid = None
            self._crop_track, self._crop_keyframes, self._regions = [], [], []
            self._rotation = 0.0
            self._cancel_interaction()
            self.update()
            return
        src = clip_doc["source"]
        edit = clip_doc.get("edit") or {}
        self._clip_uid = clip_doc["uid"]
        self._src_w, self._src_h = float(src["width"]), float(src["height"])
        self._fps = Fraction(int(src["fps_num"]), int(src["fps_den"]))
        self._duration = float(src.get("duration") or (src["end"] - src["start"]))
        self._rotation = float(edit.get("rotation") or 0.0)
        kfs = sorted(edit.get("crop_keyframes") or (), key=lambda k: k["time"])
        self._crop_track = [(float(k["time"]), k) for k in kfs]
        self._crop_keyframes = [(k["uid"], float(k["time"])) for k in kfs]
        self._regions = [RegionTrack.from_doc(r) for r in edit.get("regions") or ()]
        self._region_keyframes = {r.uid: [(str(k["uid"]), t) for t, k in r.track] for r in self._regions}
        self._style = {**DEFAULT_OVERLAY_STYLE, **(edit.get("overlay_style") or {})}
        if self._selected_region not in {r.uid for r in self._regions}:
            self._selected_region = None
        if self._drag is None and not self._nudging:
            self._override_box = None
            self._override_region = None
        self.update()

    def set_time(self, t: float) -> None:
        """The playhead in clip seconds (what the shown frame is)."""
        t = float(t)
        if t != self._t:
            self._t = t
            if self._drag is None and not self._nudging:
                self._override_box = None
                self._override_region = None
            self.update()

    def time(self) -> float:
        return self._t

    def set_selected_region(self, uid: str | None) -> None:
        self._selected_region = uid
        self.update()

    def crop_box(self) -> Box | None:
        """The crop shown at the playhead (source pixels of the rotated picture)."""
        if self._clip_uid is None or self._src_w <= 0:
            return None
        if self._override_box is not None:
            return self._override_box
        return crop_at(self._crop_track, self._t, self._src_w, self._src_h, self._aspect, self._rotation)

    def region_ellipses(self) -> list[tuple[str, Ellipse, float]]:
        """(uid, ellipse, opacity) of each enabled region showing at the playhead."""
        override = self._override_region
        return [(r.uid, override[1] if override is not None and override[0] == r.uid else r.ellipse, r.alpha)
                for r in shown_regions(self._regions, self._t, float(self._style.get("fade_out") or 0.0))]

    def overlay_shapes(self) -> OverlayShapes:
        """What the spotlight overlay paints at the playhead, in widget px."""
        shape = OverlayShape(self._style["shape"])
        regions = []
        for uid, e, alpha in self.region_ellipses():
            body = self._widget_map().ellipse(e)
            regions.append((uid, body, ring_ellipse(body, shape), alpha))
        box = self.crop_box()
        out = self.box_to_widget(box) if box is not None else self.frame_rect()
        return OverlayShapes(tuple(regions), ring_width(float(self._style.get("stroke") or 0.0),
                                                        out.width(), out.height()),
                             dim_opacity(float(self._style.get("dim") or 0.0), [r[3] for r in regions]))

    # -- coordinates ---------------------------------------------------------------------------

    def frame_rect(self) -> QRectF:
        """Where the source frame sits in the widget (logical px), letterboxed and centred."""
        area = QRectF(self.rect()).adjusted(MARGIN, MARGIN, -MARGIN, -MARGIN)
        if self._src_w <= 0 or self._src_h <= 0 or area.width() <= 0 or area.height() <= 0:
            return QRectF()
        scale = min(area.width() / self._src_w, area.height() / self._src_h)
        w, h = self._src_w * scale, self._src_h * scale
        # Top-left on a whole device pixel (crisp edges); the size keeps the exact source aspect
        # so one scale maps both axes.
        dpr = self.devicePixelRatioF()
        left = round((area.center().x() - w / 2) * dpr) / dpr
        top = round((area.center().y() - h / 2) * dpr) / dpr
        return QRectF(left, top, w, h)

    def scale(self) -> float:
        """Widget px per source px."""
        fr = self.frame_rect()
        return fr.width() / self._src_w if self._src_w > 0 and not fr.isEmpty() else 1.0

    def source_to_widget(self, p: QPointF) -> QPointF:
        """Rotated-picture (crop) source px -> widget px."""
        fr, s = self.frame_rect(), self.scale()
        return QPointF(fr.x() + p.x() * s, fr.y() + p.y() * s)

    def widget_to_source(self, p: QPointF) -> QPointF:
        """Widget px -> rotated-picture (crop) source px."""
        fr, s = self.frame_rect(), self.scale()
        return QPointF((p.x() - fr.x()) / s, (p.y() - fr.y()) / s)

    def box_to_widget(self, box: Box) -> QRectF:
        tl = self.source_to_widget(QPointF(box.x, box.y))
        s = self.scale()
        return QRectF(tl.x(), tl.y(), box.width * s, box.height * s)

    def picture_transform(self) -> QTransform:
        """Unrotated source px -> widget px: the picture turned clockwise about its centre."""
        fr, s = self.frame_rect(), self.scale()
        t = QTransform().translate(fr.x(), fr.y()).scale(s, s)
        rot = self._effective_rotation()
        if rot:
            cx, cy = self._src_w / 2.0, self._src_h / 2.0
            t = QTransform().translate(cx, cy).rotate(rot).translate(-cx, -cy) * t
        return t

    def _widget_map(self) -> OutputMap:
        """Unrotated source px -> widget px: the whole turned picture shown in the frame rect
        (the same mapping as ``picture_transform``, as the renderer's spotlight uses it)."""
        fr = self.frame_rect()
        return OutputMap(self._src_w, self._src_h, self._effective_rotation(), Box(0.0, 0.0, self._src_w, self._src_h),
                         fr.width(), fr.height(), fr.x(), fr.y())

    def _effective_rotation(self) -> float:
        return self._rotation if self._mode is not ViewerMode.PLAIN and self._clip_uid else 0.0

    # -- painting (viewer_paint) ----------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(720, 420)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 100)

    def paintEvent(self, event: QPaintEvent) -> None:
        paint_viewer(self)

    # -- hit testing ---------------------------------------------------------------------------

    def _crop_hit(self, pos: QPointF) -> tuple[ViewerDragKind, str] | None:
        box = self.crop_box()
        if box is None:
            return None
        rect = self.box_to_widget(box)
        handles = crop_handles(rect)
        for name in CORNERS + EDGES:  # corners win where they overlap edges
            if near(pos, handles[name]):
                return ViewerDragKind.RESIZE, name
        if rect.contains(pos):
            return ViewerDragKind.MOVE, ""
        return None

    def _region_hit(self, pos: QPointF) -> tuple[ViewerDragKind, str, Ellipse] | None:
        to_widget = self._widget_map()
        shapes = [(uid, e, ellipse_rect(to_widget.ellipse(e))) for uid, e, _alpha in self.region_ellipses()]
        for uid, e, body in reversed(shapes):  # the one drawn last is on top
            if uid == self._selected_region:
                for name, c in region_handles(body).items():
                    if near(pos, c):
                        return (ViewerDragKind.REGION_RX if name in ("l", "r") else ViewerDragKind.REGION_RY), uid, e
        for uid, e, body in reversed(shapes):
            rx, ry = body.width() / 2, body.height() / 2
            if rx <= 0 or ry <= 0:
                continue
            dx, dy = (pos.x() - body.center().x()) / rx, (pos.y() - body.center().y()) / ry
            if dx * dx + dy * dy <= 1.0:
                return ViewerDragKind.REGION_MOVE, uid, e
        return None

    # -- mouse ---------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._clip_uid is None:
            super().mousePressEvent(event)
            return
        pos = event.position()
        if self._mode is ViewerMode.FRAME:
            hit = self._crop_hit(pos)
            if hit is not None:
                self._commit_nudge()
                self._drag = ViewerDrag(kind=hit[0], press=pos, handle=hit[1], box=self.crop_box())
        elif self._mode is ViewerMode.SPOTLIGHT:
            box = self.crop_box()
            rhit = None if box is not None and self._text.press(pos, self.box_to_widget(box), self._t) \
                else self._region_hit(pos)
            if rhit is not None:
                kind, uid, e = rhit
                if uid != self._selected_region:
                    self._selected_region = uid
                    self.regionSelected.emit(uid)
                self._drag = ViewerDrag(kind=kind, press=pos, region=uid, ellipse=e)
        self.update()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._text.move(pos):
            self.update()
            return
        if self._drag is None:
            self._update_hover_cursor(pos)
            return
        self._apply_drag(self._drag, pos)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag = self._drag
        if self._text.dragging and event.button() == Qt.MouseButton.LeftButton:
            moved = self._text.release(event.position())
            if moved is not None:
                self.gestureRequested.emit(moved)
            self.update()
            return
        if drag is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        self._apply_drag(drag, event.position())  # a drag may end without a final move event
        self._drag = None
        if drag.moved:
            if drag.kind.is_crop:
                if self._override_box is not None and self._override_box != drag.box:
                    self._emit_crop(self._override_box)
            elif self._override_region is not None and self._override_region[1] != drag.ellipse:
                self._emit_region(drag.region, self._override_region[1])
        self.update()

    def _apply_drag(self, drag: ViewerDrag, pos: QPointF) -> None:
        if not drag.moved and (pos - drag.press).manhattanLength() < 1:
            return
        drag.moved = True
        s = self.scale()
        if drag.kind is ViewerDragKind.MOVE and drag.box is not None:
            dx, dy = (pos.x() - drag.press.x()) / s, (pos.y() - drag.press.y()) / s
            self._override_box = moved_box(drag.box, dx, dy, self._safe())
        elif drag.kind is ViewerDragKind.RESIZE and drag.box is not None:
            self._override_box = resized_box(drag.box, drag.handle, self.widget_to_source(pos), self._safe(),
                                             float(self._aspect.ratio), self._src_h)
        elif drag.ellipse is not None:
            self._override_region = (drag.region, dragged_ellipse(drag, pos, self.picture_transform(), self.scale(),
                                                                  self._src_w, self._src_h))
        self.update()

    def _update_hover_cursor(self, pos: QPointF) -> None:
        cursor = Qt.CursorShape.ArrowCursor
        if self._clip_uid is not None and self._mode is ViewerMode.FRAME:
            hit = self._crop_hit(pos)
            if hit is not None:
                cursor = CURSORS[hit[1]] if hit[0] is ViewerDragKind.RESIZE else Qt.CursorShape.SizeAllCursor
        elif self._clip_uid is not None and self._mode is ViewerMode.SPOTLIGHT:
            rhit = self._region_hit(pos)
            if rhit is not None:
                cursor = REGION_CURSORS.get(rhit[0], Qt.CursorShape.SizeAllCursor)
        self.setCursor(cursor)

    # -- geometry of edits (viewer_edit) --------------------------------------------------------

    def _safe(self) -> Box:
        return safe_rect(self._src_w, self._src_h, self._rotation)

    # -- keyboard ------------------------------------------------------------------------------

    def nudge(self, dx: float, dy: float) -> None:
        """Move the crop by (dx, dy) source px (the window's Alt+arrow shortcuts). A burst of
        nudges is shown at once and committed as ONE gesture when the keys rest."""
        if self._mode is not ViewerMode.FRAME or self._clip_uid is None or self._drag is not None:
            return
        box = self.crop_box()
        if box is None:
            return
        if not self._nudging:
            self._nudging = True
            self._nudge_start = box
        self._override_box = moved_box(box, dx, dy, self._safe())
        self._nudge_timer.start()
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self._commit_nudge()
        super().focusOutEvent(event)

    def _commit_nudge(self) -> None:
        self._nudge_timer.stop()
        if not self._nudging:
            return
        self._nudging = False
        if self._override_box is not None and self._override_box != self._nudge_start:
            self._emit_crop(self._override_box)

    def _cancel_interaction(self) -> None:
        self._nudge_timer.stop()
        self._drag = None
        self._nudging = False
        self._override_box = None
        self._override_region = None

    # -- gestures ------------------------------------------------------------------------------

    def _gesture_time(self) -> float:
        return round(min(max(self._t, 0.0), self._duration if self._duration > 0 else self._t), 6)

    def _snap_keyframe(self) -> str | None:
        return find_snap_keyframe(self._crop_keyframes, self._t, self._fps, SNAP_FRAMES)

    def _box_payload(self, box: Box) -> dict[str, float]:
        # Rounded for tidy payloads, then pulled back inside the frame the library checks against.
        w = min(round(box.width, 3), self._src_w)
        h = min(round(box.height, 3), self._src_h)
        x = min(max(round(box.x, 3), 0.0), self._src_w - w)
        y = min(max(round(box.y, 3), 0.0), self._src_h - h)
        return {"x": x, "y": y, "width": w, "height": h}

    def _emit_crop(self, box: Box) -> None:
        assert self._clip_uid is not None
        payload: dict[str, Any] = self._box_payload(box)
        snap = self._snap_keyframe()
        if snap is not None:
            gesture = Gesture(GestureKind.UPDATE_CROP_KEYFRAME, self._clip_uid, {"keyframe": snap, **payload})
        else:
            gesture = Gesture(GestureKind.ADD_CROP_KEYFRAME, self._clip_uid, {"time": self._gesture_time(), **payload})
        log.debug("viewer gesture %s %s", gesture.kind.value, dict(gesture.payload))
        self.gestureRequested.emit(gesture)

    def _emit_region(self, region_uid: str, e: Ellipse) -> None:
        assert self._clip_uid is not None
        region = next((r for r in self._regions if r.uid == region_uid), None)
        if region is None:
            return
        values = {"x": round(e.x, 3), "y": round(e.y, 3), "rx": round(e.rx, 3), "ry": round(e.ry, 3)}
        snap = find_snap_keyframe(self._region_keyframes[region_uid], self._t, self._fps, SNAP_FRAMES)
        if snap is not None:
            gesture = Gesture(GestureKind.UPDATE_REGION_KEYFRAME, self._clip_uid,
                              {"region": region_uid, "keyframe": snap, **values})
        else:
            gesture = Gesture(GestureKind.ADD_REGION_KEYFRAME, self._clip_uid,
                              {"region": region_uid, "time": self._gesture_time(), **values})
        log.debug("viewer gesture %s %s", gesture.kind.value, dict(gesture.payload))
        self.gestureRequested.emit(gesture)


__all__ = ["CROP_PROPS", "HANDLE_SIZE", "OverlayShapes", "VideoViewer", "ViewerMode"]
