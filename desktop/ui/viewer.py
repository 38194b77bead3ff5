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
from enum import Enum
from fractions import Fraction
from typing import Any, Mapping

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (QColor, QFocusEvent, QImage, QMouseEvent, QPainter,
                           QPainterPath, QPaintEvent, QPen, QPixmap, QResizeEvent, QTransform)
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
from desktop.ui import theme
from desktop.ui.text_layer import TextLayer

log = logging.getLogger(__name__)

SNAP_FRAMES = 10              # "within 10 frames of a keyframe updates it" (docs/ARCHITECTURE.md, "Edit math")
MARGIN = 14                   # logical px between the widget edge and the frame
HANDLE_SIZE = 9.0             # logical px
HANDLE_HIT = 9.0              # logical px: how close a press must be to grab a handle
MIN_CROP_FRACTION = 0.06      # smallest crop height, as a fraction of the frame height
MIN_REGION_RADIUS = 4.0       # source px
NUDGE_COMMIT_MS = 500         # a pause this long ends a burst of crop nudges (one undo step)

_CORNERS = ("tl", "tr", "br", "bl")
_CURSORS = {"tl": Qt.CursorShape.SizeFDiagCursor, "br": Qt.CursorShape.SizeFDiagCursor,
            "tr": Qt.CursorShape.SizeBDiagCursor, "bl": Qt.CursorShape.SizeBDiagCursor,
            "t": Qt.CursorShape.SizeVerCursor, "b": Qt.CursorShape.SizeVerCursor,
            "l": Qt.CursorShape.SizeHorCursor, "r": Qt.CursorShape.SizeHorCursor}


class ViewerMode(str, Enum):
    PLAIN = "plain"          # just the picture (marking clips in game footage)
    FRAME = "frame"          # crop box editor
    SPOTLIGHT = "spotlight"  # spotlight region editor


@dataclass(frozen=True, slots=True)
class OverlayShapes:
    """The spotlight overlay as painted at one time, in widget px: every number from
    ``core.editmath.spotlight``. ``regions``: (uid, body ellipse, drawn ring, opacity)."""
    regions: tuple[tuple[str, Ellipse, Ellipse, float], ...]
    ring_width: float
    dim: float


@dataclass(slots=True)
class _Drag:
    kind: str                 # "move" | "resize" | "region-move" | "region-rx" | "region-ry"
    press: QPointF            # widget px
    handle: str = ""
    box: Box | None = None
    region: str = ""
    ellipse: Ellipse | None = None
    moved: bool = False


def _fraction(value: Any) -> Fraction:
    return value if isinstance(value, Fraction) else Fraction(value).limit_denominator(1_000_000)


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
        self._drag: _Drag | None = None
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

    # -- painting ------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:
        return QSize(720, 420)

    def minimumSizeHint(self) -> QSize:
        return QSize(160, 100)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), theme.BG)
            fr = self.frame_rect()
            if fr.isEmpty():
                self._paint_placeholder(p, "No video")
                return
            # Painted area: whole device pixels (at most one short of the exact frame), so the
            # picture and the dim veil end on the same pixel row instead of a blended seam.
            dpr = self.devicePixelRatioF()
            fr = QRectF(fr.left(), fr.top(), math.floor(fr.width() * dpr + 1e-6) / dpr,
                        math.floor(fr.height() * dpr + 1e-6) / dpr)
            p.fillRect(fr, QColor(0, 0, 0))
            self._paint_picture(p, fr)
            if self._clip_uid is None or self._mode is ViewerMode.PLAIN:
                return
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            if self._mode is ViewerMode.FRAME:
                self._paint_frame_mode(p, fr)
            else:
                self._paint_spotlight_mode(p, fr)
            box = self.crop_box()
            if box is not None:
                self._text.paint(p, self.box_to_widget(box), self._t)
        finally:
            p.end()

    def _paint_placeholder(self, p: QPainter, text: str) -> None:
        p.setPen(theme.TEXT_DIM)
        p.setFont(theme.ui_font(10))
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, text)

    def _paint_picture(self, p: QPainter, fr: QRectF) -> None:
        if self._image is None:
            return
        rot = self._effective_rotation()
        dpr = self.devicePixelRatioF()
        if not rot and self._fits(round(fr.width() * dpr), round(fr.height() * dpr)):
            p.drawImage(fr, self._image)  # converted to this size by playback: a plain blit
            return
        if not rot:
            # Into exactly the frame rect: the pixmap is whole device pixels, the rect may not be,
            # and a seam would show between the picture and the dim veil.
            pixmap = self._scaled_pixmap(fr)
            p.drawPixmap(fr, pixmap, QRectF(pixmap.rect()))
            return
        p.save()
        p.setClipRect(fr)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setTransform(self.picture_transform())
        p.drawImage(QRectF(0, 0, self._src_w, self._src_h), self._image)
        p.restore()

    def _fits(self, w: int, h: int) -> bool:
        """Playback converts pictures to the display size on its worker: within two pixels of
        it, the picture is drawn as is (a smooth rescale here costs the UI thread milliseconds)."""
        assert self._image is not None
        return abs(self._image.width() - w) <= 2 and abs(self._image.height() - h) <= 2

    def _scaled_pixmap(self, fr: QRectF) -> QPixmap:
        """The frame scaled once to device pixels (crisp on HiDPI), reused while only overlays change."""
        assert self._image is not None
        dpr = self.devicePixelRatioF()
        w, h = max(1, round(fr.width() * dpr)), max(1, round(fr.height() * dpr))
        key = (self._image.cacheKey(), w, h)
        if self._scaled is None or self._scaled[0] != key:
            scaled = self._image.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio,
                                        Qt.TransformationMode.SmoothTransformation)
            pixmap = QPixmap.fromImage(scaled)
            pixmap.setDevicePixelRatio(dpr)
            self._scaled = (key, pixmap)
        return self._scaled[1]

    def _paint_frame_mode(self, p: QPainter, fr: QRectF) -> None:
        box = self.crop_box()
        if box is None:
            return
        rect = self.box_to_widget(box)
        outside = QPainterPath()
        outside.setFillRule(Qt.FillRule.OddEvenFill)
        outside.addRect(fr)
        outside.addRect(rect)
        p.fillPath(outside, theme.DIM)
        if self._rotation:
            self._paint_rotation_guides(p)
        # Rule-of-thirds guides help place the player.
        p.setPen(QPen(QColor(255, 255, 255, 55), 1))
        for i in (1, 2):
            x = rect.left() + rect.width() * i / 3
            y = rect.top() + rect.height() * i / 3
            p.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            p.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
        p.setPen(QPen(theme.ACCENT, 1.6))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(rect)
        self._paint_handles(p, self._crop_handles(rect).values())
        on_key = self._snap_keyframe() is not None
        label = f"{self._aspect.value}  ·  {round(box.width)}×{round(box.height)}"
        if self._rotation:
            label += f"  ·  {self._rotation:+.1f}°"
        self._paint_chip(p, QPointF(rect.left() + 6, rect.top() + 6), label,
                         "◆ keyframe" if on_key else "")

    def _paint_rotation_guides(self, p: QPainter) -> None:
        # The rotated picture's outline and the safe area the crop is kept inside.
        p.save()
        p.setClipRect(self.frame_rect().adjusted(0, 0, -0.5, -0.5))
        p.setTransform(self.picture_transform(), True)
        p.setPen(QPen(QColor(255, 255, 255, 90), 0, Qt.PenStyle.SolidLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(QRectF(0, 0, self._src_w, self._src_h))
        p.restore()
        safe = self.box_to_widget(safe_rect(self._src_w, self._src_h, self._rotation))
        p.setPen(QPen(QColor(255, 255, 255, 120), 1, Qt.PenStyle.DashLine))
        p.drawRect(safe)

    def _paint_handles(self, p: QPainter, centres: Any) -> None:
        p.setPen(QPen(theme.BORDER, 1))
        p.setBrush(theme.HANDLE)
        half = HANDLE_SIZE / 2
        for c in centres:
            p.drawRect(QRectF(c.x() - half, c.y() - half, HANDLE_SIZE, HANDLE_SIZE))

    def _paint_chip(self, p: QPainter, at: QPointF, text: str, badge: str = "") -> None:
        font = theme.ui_font(8)
        p.setFont(font)
        metrics = p.fontMetrics()
        full = f"{text}   {badge}" if badge else text
        w = metrics.horizontalAdvance(full) + 14
        h = metrics.height() + 6
        chip = QRectF(at.x(), at.y(), w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.CHIP_BG)
        p.drawRoundedRect(chip, 4, 4)
        p.setPen(theme.TEXT)
        text_rect = chip.adjusted(7, 0, -7, 0)
        p.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        if badge:
            p.setPen(theme.KEYFRAME)
            p.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, badge)

    def _paint_spotlight_mode(self, p: QPainter, fr: QRectF) -> None:
        box = self.crop_box()
        style = self._style
        color = QColor(style.get("color") or DEFAULT_OVERLAY_STYLE["color"])
        overlay = self.overlay_shapes()
        if overlay.dim > 0:
            holes = QPainterPath()
            for _uid, body, _ring, _alpha in overlay.regions:
                hole = QPainterPath()
                hole.addEllipse(_rect(body))
                holes = holes.united(hole)
            outside = QPainterPath()
            outside.addRect(fr)
            p.fillPath(outside.subtracted(holes), QColor(0, 0, 0, round(255 * overlay.dim)))
        if box is not None:
            # The output framing, for reference: the ring must sit inside it to be seen.
            p.setPen(QPen(QColor(255, 255, 255, 110), 1, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(self.box_to_widget(box))
        fill = float(style.get("fill_opacity") or 0.0)
        for uid, body, ring, alpha in overlay.regions:
            rect = _rect(ring)
            if fill > 0:
                c = QColor(color)
                c.setAlphaF(fill * alpha)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(c)
                p.drawEllipse(rect)
            if overlay.ring_width > 0:
                c = QColor(color)
                c.setAlphaF(alpha)
                p.setPen(QPen(c, max(2.0, overlay.ring_width)))  # at least 2 px: visible when zoomed out
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawEllipse(rect)
            if uid == self._selected_region or (self._drag is not None and self._drag.region == uid):
                p.setPen(QPen(theme.REGION, 1, Qt.PenStyle.DashLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(_rect(body))
                self._paint_handles(p, self._region_handles(_rect(body)).values())
        if not overlay.regions:
            self._paint_chip(p, QPointF(fr.left() + 8, fr.top() + 8), "No spotlight at this time")

    # -- hit testing ---------------------------------------------------------------------------

    @staticmethod
    def _crop_handles(rect: QRectF) -> dict[str, QPointF]:
        cx, cy = rect.center().x(), rect.center().y()
        return {"tl": rect.topLeft(), "t": QPointF(cx, rect.top()), "tr": rect.topRight(),
                "r": QPointF(rect.right(), cy), "br": rect.bottomRight(), "b": QPointF(cx, rect.bottom()),
                "bl": rect.bottomLeft(), "l": QPointF(rect.left(), cy)}

    @staticmethod
    def _region_handles(rect: QRectF) -> dict[str, QPointF]:
        cx, cy = rect.center().x(), rect.center().y()
        return {"l": QPointF(rect.left(), cy), "r": QPointF(rect.right(), cy),
                "t": QPointF(cx, rect.top()), "b": QPointF(cx, rect.bottom())}

    @staticmethod
    def _near(a: QPointF, b: QPointF) -> bool:
        return abs(a.x() - b.x()) <= HANDLE_HIT and abs(a.y() - b.y()) <= HANDLE_HIT

    def _crop_hit(self, pos: QPointF) -> tuple[str, str] | None:
        box = self.crop_box()
        if box is None:
            return None
        rect = self.box_to_widget(box)
        for name in _CORNERS + ("t", "r", "b", "l"):  # corners win where they overlap edges
            if self._near(pos, self._crop_handles(rect)[name]):
                return "resize", name
        if rect.contains(pos):
            return "move", ""
        return None

    def _region_hit(self, pos: QPointF) -> tuple[str, str, Ellipse] | None:
        to_widget = self._widget_map()
        shapes = [(uid, e, _rect(to_widget.ellipse(e))) for uid, e, _alpha in self.region_ellipses()]
        for uid, e, body in reversed(shapes):  # the one drawn last is on top
            if uid == self._selected_region:
                for name, c in self._region_handles(body).items():
                    if self._near(pos, c):
                        return ("region-rx" if name in ("l", "r") else "region-ry"), uid, e
        for uid, e, body in reversed(shapes):
            rx, ry = body.width() / 2, body.height() / 2
            if rx <= 0 or ry <= 0:
                continue
            dx, dy = (pos.x() - body.center().x()) / rx, (pos.y() - body.center().y()) / ry
            if dx * dx + dy * dy <= 1.0:
                return "region-move", uid, e
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
                self._drag = _Drag(kind=hit[0], press=pos, handle=hit[1], box=self.crop_box())
        elif self._mode is ViewerMode.SPOTLIGHT:
            box = self.crop_box()
            rhit = None if box is not None and self._text.press(pos, self.box_to_widget(box), self._t) \
                else self._region_hit(pos)
            if rhit is not None:
                kind, uid, e = rhit
                if uid != self._selected_region:
                    self._selected_region = uid
                    self.regionSelected.emit(uid)
                self._drag = _Drag(kind=kind, press=pos, region=uid, ellipse=e)
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
            if drag.kind in ("move", "resize"):
                if self._override_box is not None and self._override_box != drag.box:
                    self._emit_crop(self._override_box)
            elif self._override_region is not None and self._override_region[1] != drag.ellipse:
                self._emit_region(drag.region, self._override_region[1])
        self.update()

    def _apply_drag(self, drag: _Drag, pos: QPointF) -> None:
        if not drag.moved and (pos - drag.press).manhattanLength() < 1:
            return
        drag.moved = True
        s = self.scale()
        if drag.kind == "move" and drag.box is not None:
            dx, dy = (pos.x() - drag.press.x()) / s, (pos.y() - drag.press.y()) / s
            self._override_box = self._moved_box(drag.box, dx, dy)
        elif drag.kind == "resize" and drag.box is not None:
            self._override_box = self._resized_box(drag.box, drag.handle, self.widget_to_source(pos))
        elif drag.ellipse is not None:
            self._override_region = (drag.region, self._dragged_ellipse(drag, pos))
        self.update()

    def _update_hover_cursor(self, pos: QPointF) -> None:
        cursor = Qt.CursorShape.ArrowCursor
        if self._clip_uid is not None and self._mode is ViewerMode.FRAME:
            hit = self._crop_hit(pos)
            if hit is not None:
                cursor = _CURSORS[hit[1]] if hit[0] == "resize" else Qt.CursorShape.SizeAllCursor
        elif self._clip_uid is not None and self._mode is ViewerMode.SPOTLIGHT:
            rhit = self._region_hit(pos)
            if rhit is not None:
                cursor = {"region-rx": Qt.CursorShape.SizeHorCursor,
                          "region-ry": Qt.CursorShape.SizeVerCursor}.get(rhit[0], Qt.CursorShape.SizeAllCursor)
        self.setCursor(cursor)

    # -- geometry of edits ---------------------------------------------------------------------

    def _safe(self) -> Box:
        return safe_rect(self._src_w, self._src_h, self._rotation)

    def _moved_box(self, start: Box, dx: float, dy: float) -> Box:
        safe = self._safe()
        x = min(max(start.x + dx, safe.x), safe.x + safe.width - start.width)
        y = min(max(start.y + dy, safe.y), safe.y + safe.height - start.height)
        return Box(x, y, start.width, start.height)

    def _resized_box(self, start: Box, handle: str, p: QPointF) -> Box:
        """Resize from ``handle`` towards source point ``p``, aspect locked, the opposite corner
        (or edge centre) fixed, kept inside the rotation safe area."""
        r = start.width / start.height if start.height > 0 else float(self._aspect.ratio)
        safe = self._safe()
        sx0, sy0, sx1, sy1 = safe.x, safe.y, safe.x + safe.width, safe.y + safe.height
        min_w = max(8.0, self._src_h * MIN_CROP_FRACTION) * r
        cx, cy = start.center
        if handle in _CORNERS:
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

    def _dragged_ellipse(self, drag: _Drag, pos: QPointF) -> Ellipse:
        e = drag.ellipse
        assert e is not None
        s = self.scale()
        if drag.kind == "region-move":
            to_src, _ok = self.picture_transform().inverted()
            centre_w = self.picture_transform().map(QPointF(e.x, e.y)) + (pos - drag.press)
            c = to_src.map(centre_w)
            return Ellipse(min(max(c.x(), 0.0), self._src_w), min(max(c.y(), 0.0), self._src_h), e.rx, e.ry)
        centre_w = self.picture_transform().map(QPointF(e.x, e.y))
        if drag.kind == "region-rx":
            rx = abs(pos.x() - centre_w.x()) / s
            return Ellipse(e.x, e.y, min(max(rx, MIN_REGION_RADIUS), self._src_w), e.ry)
        # Handles sit on the region's body ellipse (also for the ground shape): centre = region centre.
        ry = abs(pos.y() - centre_w.y()) / s
        return Ellipse(e.x, e.y, e.rx, min(max(ry, MIN_REGION_RADIUS), self._src_h))

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
        self._override_box = self._moved_box(box, dx, dy)
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


def _rect(e: Ellipse) -> QRectF:
    """The bounding rect QPainter draws an ellipse in."""
    return QRectF(e.x - e.rx, e.y - e.ry, 2 * e.rx, 2 * e.ry)


__all__ = ["CROP_PROPS", "OverlayShapes", "VideoViewer", "ViewerMode"]
