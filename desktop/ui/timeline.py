"""The timeline: ruler, thumbnails, waveform, and the edit marks of one clip or one game.

Two modes. ``set_clip(clip_doc)`` frames a working clip: times are clip seconds, with crop
keyframes, splits, segment speeds, trim and spotlight regions. ``set_media(duration, fps, clips)``
annotates long game footage: the marked clips are coloured ranges.

Everything is painted in ``drawBackground``/``drawForeground`` (no graphics items): a paint only
touches what is visible (binary search over sorted times), the waveform becomes one image per
paint through numpy (no per-pixel Python), and the background is cached by the view, so moving
the playhead during playback repaints two thin strips. Scene x is ``PAD + t * pixels_per_second``;
zooming changes the scale and keeps the time under the cursor in place.

The view never writes to the library: finished drags and the Delete key emit one gesture each
through ``gestureRequested``.
"""
from __future__ import annotations

import logging
import math
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QLineF, QObject, QPointF, QRectF, QRunnable, QThreadPool, Qt, Signal, Slot
from PySide6.QtGui import (QBrush, QColor, QFontMetricsF, QImage, QKeyEvent, QMouseEvent, QPainter,
                           QPen, QPixmap, QPolygonF, QResizeEvent, QWheelEvent)
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QToolTip, QWidget

from core.editmath import frame_index, frame_time, snap_to_frame
from core.enums import GestureKind
from core.gestures.model import Gesture
from desktop.ui import theme
from desktop.ui.timecode import clock_text, format_timecode
from desktop.ui.timeline_trim import TRIM_END, TRIM_START, dragged_trim, finish_trim, shown_trim, trim_edge_at, trim_span
from desktop.ui.timeline_text import TextBar, lane_height, paint_text_lane, text_bars

log = logging.getLogger(__name__)

PAD = 14.0                # scene px before time 0 and after the end
RULER_H = 30.0
THUMBS_H = 54.0
WAVE_H = 40.0
KEYS_H = 22.0
REGION_LANE_H = 18.0
CLIP_LANE_H = 24.0
MAX_CLIP_LANES = 4
SNAP_PX = 8.0             # snapping reach while dragging
HIT_PX = 7.0              # how close a press must be to grab a diamond or an edge
DRAG_START_PX = 3.0
ZOOM_STEP = 1.5
MAX_FRAME_PX = 48.0       # most zoomed in: one frame this wide
MIN_LABEL_SPACING = 110.0  # px between major ruler ticks (a time code label is ~75 px)
MIN_MINOR_SPACING = 7.0


class TimelineMode(str, Enum):
    EMPTY = "empty"
    CLIP = "clip"
    MEDIA = "media"


def format_speed(speed: float) -> str:
    return f"{speed:g}×"


@dataclass(slots=True)
class _Lane:
    name: str
    top: float
    height: float
    label: str = ""

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def mid(self) -> float:
        return self.top + self.height / 2


@dataclass(slots=True)
class _RegionBar:
    uid: str
    start: float
    end: float
    enabled: bool
    key_times: list[float]
    lane: int


@dataclass(slots=True)
class _MediaClip:
    uid: str
    start: float
    end: float
    rating: int
    name: str
    lane: int = 0


@dataclass(slots=True)
class _Drag:
    kind: str                     # scrub | keyframe | region-* | clip | trim-start | trim-end
    press_x: float                # viewport px
    uid: str = ""
    origin: tuple[float, float] = (0.0, 0.0)
    value: tuple[float, float] = (0.0, 0.0)
    moved: bool = False
    snapped_to: float | None = None


@dataclass(slots=True)
class _Thumbs:
    times: list[float] = field(default_factory=list)
    images: list[QImage | None] = field(default_factory=list)
    pixmaps: dict[int, QPixmap] = field(default_factory=dict)
    aspect: float = 16 / 9


class _ThumbSignals(QObject):
    loaded = Signal(int, object)  # generation, [(index, QImage)]


class _ThumbLoader(QRunnable):
    """Loads and scales thumbnail files off the UI thread, in small batches."""

    BATCH = 32

    def __init__(self, signals: _ThumbSignals, generation: int, items: list[tuple[int, Path]],
                 height: int, cancelled: threading.Event) -> None:
        super().__init__()
        self._signals, self._generation, self._items = signals, generation, items
        self._height, self._cancelled = height, cancelled

    def run(self) -> None:
        batch: list[tuple[int, QImage]] = []
        for index, path in self._items:
            if self._cancelled.is_set():
                return
            image = QImage(str(path))
            if image.isNull():
                log.debug("thumbnail %s could not be read", path)
                continue
            batch.append((index, image.scaledToHeight(self._height, Qt.TransformationMode.SmoothTransformation)))
            if len(batch) >= self.BATCH:
                self._signals.loaded.emit(self._generation, batch)
                batch = []
        if batch and not self._cancelled.is_set():
            self._signals.loaded.emit(self._generation, batch)


class TimelineView(QGraphicsView):
    """Timeline of one working clip (``set_clip``) or of game footage (``set_media``).

    Signals: ``playheadMoved(float)`` (timeline seconds) while scrubbing or stepping;
    ``keyframeSelected(str)``; ``clipSelected(str)``; ``regionSelected(str)``;
    ``gestureRequested(Gesture)``; ``zoomChanged(float)`` (pixels per second).
    """

    playheadMoved = Signal(float)
    keyframeSelected = Signal(str)
    clipSelected = Signal(str)
    regionSelected = Signal(str)
    gestureRequested = Signal(object)
    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # The pool first: children die in creation order, so it drains before the signals go.
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._thumb_signals = _ThumbSignals(self)
        self._thumb_signals.loaded.connect(self._on_thumbs_loaded)
        self._thumb_cancel = threading.Event()
        self._thumb_generation = 0

        self.setObjectName("TimelineView")
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setBackgroundBrush(theme.BG)
        self.horizontalScrollBar().valueChanged.connect(self._on_scrolled)

        self._mode = TimelineMode.EMPTY
        self._duration = 0.0
        self._fps = Fraction(30)
        self._pps = 100.0
        self._fitted = True
        self._frames_timecode = False
        self._playhead = 0.0
        self._follow = False
        self._clip_uid: str | None = None
        self._keyframes: list[tuple[str, float]] = []     # sorted by time
        self._splits: list[tuple[str, float]] = []
        self._segments: list[tuple[float, float, float]] = []  # (start, end, speed)
        self._trim: tuple[float, float] | None = None
        self._regions: list[_RegionBar] = []
        self._region_lanes = 0
        self._text_bars: list[TextBar] = []
        self._clips: list[_MediaClip] = []
        self._clip_starts: list[float] = []
        self._clip_max_len = 0.0
        self._clip_lanes = 1
        self._selected_keyframe: str | None = None
        self._selected_region: str | None = None
        self._lost: tuple[str, float] | None = None  # (working clip, clip time) where tracking lost the player
        self._selected_clip: str | None = None
        self._drag: _Drag | None = None
        self._thumbs = _Thumbs()
        self._peaks: np.ndarray | None = None
        self._peaks_rate = 0.0
        self._peaks_start = 0.0
        self._lanes: dict[str, _Lane] = {}
        self._ruler_font = theme.mono_font(8)
        self._label_font = theme.ui_font(7.5)
        self._clip_font = theme.ui_font(8)
        self._relayout()

    # -- data ----------------------------------------------------------------------------------

    @property
    def mode(self) -> TimelineMode:
        return self._mode

    @property
    def fps(self) -> Fraction:
        return self._fps

    @property
    def duration(self) -> float:
        return self._duration

    def clear(self) -> None:
        self._mode = TimelineMode.EMPTY
        self._duration = 0.0
        self._clip_uid = None
        self._keyframes, self._splits, self._segments, self._regions, self._clips = [], [], [], [], []
        self._clip_starts = []
        self._trim = None
        self._drag = None
        self._relayout()
        self.zoom_to_fit()

    def set_clip(self, clip_doc: Mapping[str, Any]) -> None:
        """Show one working clip (a clip of ``Library.show_project``); times are clip seconds."""
        src = clip_doc["source"]
        edit = clip_doc.get("edit") or {}
        new_clip = clip_doc["uid"] != self._clip_uid or self._mode is not TimelineMode.CLIP
        self._mode = TimelineMode.CLIP
        self._clip_uid = clip_doc["uid"]
        self._fps = Fraction(int(src["fps_num"]), int(src["fps_den"]))
        self._duration = float(src.get("duration") or (src["end"] - src["start"]))
        self._keyframes = sorted(((k["uid"], float(k["time"])) for k in edit.get("crop_keyframes") or ()),
                                 key=lambda k: k[1])
        self._splits = sorted(((s["uid"], float(s["time"])) for s in edit.get("splits") or ()), key=lambda s: s[1])
        self._segments = [(float(s["start"]), float(s["end"]), float(s["speed"])) for s in edit.get("speeds") or ()]
        trim = edit.get("trim")
        self._trim = (float(trim["start"]), float(trim["end"])) if trim else None
        self._regions = []
        lane_ends: list[float] = []
        for r in sorted(edit.get("regions") or (), key=lambda r: (r["start"], r["uid"])):
            lane = next((i for i, end in enumerate(lane_ends) if end <= r["start"]), len(lane_ends))
            if lane == len(lane_ends):
                lane_ends.append(0.0)
            lane_ends[lane] = float(r["end"])
            self._regions.append(_RegionBar(r["uid"], float(r["start"]), float(r["end"]), bool(r.get("enabled", True)),
                                            sorted(float(k["time"]) for k in r.get("keyframes") or ()), lane))
        self._region_lanes = len(lane_ends)
        self._text_bars = text_bars(edit)
        self._clips, self._clip_starts = [], []
        if self._selected_keyframe not in {uid for uid, _t in self._keyframes}:
            self._selected_keyframe = None
        if self._drag is not None and self._drag.kind != "scrub":
            self._drag = None  # the thing being dragged changed under us (e.g. a remote edit)
        self._relayout()
        if new_clip:
            self._playhead = min(self._playhead, self._duration)
            self.zoom_to_fit()
        else:
            self._update_scene_rect()
            self._invalidate()

    def set_media(self, duration: float, fps: Fraction | float, clips: Sequence[Mapping[str, Any]]) -> None:
        """Show game footage of ``duration`` seconds with its marked clips
        (dicts with uid, start, end, rating, name)."""
        new_media = self._mode is not TimelineMode.MEDIA or abs(float(duration) - self._duration) > 1e-6
        self._mode = TimelineMode.MEDIA
        self._clip_uid = None
        self._duration = max(0.0, float(duration))
        self._fps = fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)
        self._keyframes, self._splits, self._segments, self._regions = [], [], [], []
        self._trim = None
        marked = sorted((_MediaClip(str(c["uid"]), float(c["start"]), float(c["end"]), int(c.get("rating") or 0),
                                    str(c.get("name") or "")) for c in clips), key=lambda c: (c.start, c.end))
        lane_ends = [-math.inf] * MAX_CLIP_LANES
        used = 1
        for c in marked:
            lane = next((i for i, end in enumerate(lane_ends) if end <= c.start), MAX_CLIP_LANES - 1)
            lane_ends[lane] = max(lane_ends[lane], c.end)
            c.lane = lane
            used = max(used, lane + 1)
        self._clips = marked
        self._clip_starts = [c.start for c in marked]
        self._clip_max_len = max((c.end - c.start for c in marked), default=0.0)
        self._clip_lanes = used
        if self._selected_clip not in {c.uid for c in marked}:
            self._selected_clip = None
        self._drag = None
        self._relayout()
        if new_media:
            self._playhead = min(self._playhead, self._duration)
            self.zoom_to_fit()
        else:
            self._update_scene_rect()
            self._invalidate()

    def set_thumbnails(self, items: Iterable[tuple[float, QImage | Path | str]], media_start: float = 0.0) -> None:
        """Thumbnails at media times; ``media_start`` is the media time of timeline time 0.
        Files are loaded off the UI thread and appear as they arrive."""
        self._thumb_cancel.set()
        self._thumb_cancel = threading.Event()
        self._thumb_generation += 1
        ordered = sorted(((float(t) - media_start, src) for t, src in items), key=lambda it: it[0])
        thumbs = _Thumbs(times=[t for t, _src in ordered], images=[None] * len(ordered))
        to_load: list[tuple[int, Path]] = []
        for i, (_t, src) in enumerate(ordered):
            if isinstance(src, QImage):
                thumbs.images[i] = src if not src.isNull() else None
            else:
                to_load.append((i, Path(src)))
        first = next((img for img in thumbs.images if img is not None), None)
        if first is not None:
            thumbs.aspect = first.width() / max(1, first.height())
        self._thumbs = thumbs
        if to_load:
            height = max(1, round(THUMBS_H * self.devicePixelRatioF()))
            self._pool.start(_ThumbLoader(self._thumb_signals, self._thumb_generation, to_load, height,
                                          self._thumb_cancel))
        self._invalidate()

    def _on_thumbs_loaded(self, generation: int, batch: list[tuple[int, QImage]]) -> None:
        if generation != self._thumb_generation:
            return
        had_any = any(img is not None for img in self._thumbs.images)
        for index, image in batch:
            if 0 <= index < len(self._thumbs.images):
                self._thumbs.images[index] = image
                self._thumbs.pixmaps.pop(index, None)
        if not had_any and batch:
            first = batch[0][1]
            self._thumbs.aspect = first.width() / max(1, first.height())
        self._invalidate()

    def set_peaks(self, peaks: np.ndarray | None, peaks_per_second: float, media_start: float = 0.0) -> None:
        """Audio peaks (0..1, one per 1/peaks_per_second s of media); ``media_start`` is the
        media time of timeline time 0."""
        arr = None if peaks is None else np.asarray(peaks, dtype=np.float32).reshape(-1)
        self._peaks = arr if arr is not None and arr.size and peaks_per_second > 0 else None
        self._peaks_rate = float(peaks_per_second)
        self._peaks_start = float(media_start)
        self._invalidate()

    def set_frames_timecode(self, on: bool) -> None:
        """Time codes with frames (HH:MM:SS:FF) instead of minutes, seconds and hundredths."""
        self._frames_timecode = on
        self._invalidate()

    def time_text(self, t: float) -> str:
        """A time as the ruler writes it (the transport clock uses the same)."""
        return clock_text(t, self._fps, self._frames_timecode)

    # -- selection and playhead ----------------------------------------------------------------

    def playhead(self) -> float:
        return self._playhead

    def set_playhead(self, t: float, *, follow: bool = False) -> None:
        """Move the playhead without emitting (playback, another widget). ``follow`` keeps it in
        view: playing across the right edge pages the view on; a jump elsewhere centres it."""
        t = min(max(float(t), 0.0), self._duration)
        if t == self._playhead:
            return
        old = self._playhead
        self._playhead = t
        if follow:
            t0, t1 = self.visible_range()
            if t1 < t <= t1 + (t1 - t0) / 8:
                self._scroll_to_scene_x(self.x_for_time(t) - PAD)
            elif not t0 <= t <= t1:
                self._ensure_visible(t)
        self._update_playhead_strip(old)
        self._update_playhead_strip(t)

    def selected_keyframe(self) -> str | None:
        return self._selected_keyframe

    def set_selected_keyframe(self, uid: str | None) -> None:
        self._selected_keyframe = uid
        self._invalidate()

    def set_selected_clip(self, uid: str | None) -> None:
        self._selected_clip = uid
        self._invalidate()

    def set_selected_region(self, uid: str | None) -> None:
        self._selected_region = uid
        self._invalidate()

    def set_lost_marker(self, clip_uid: str | None, t: float | None) -> None:
        """Mark where tracking lost the player on ``clip_uid`` (None: no marker)."""
        self._lost = (clip_uid, t) if clip_uid is not None and t is not None else None
        self.viewport().update()

    # -- zoom and scroll -----------------------------------------------------------------------

    def pixels_per_second(self) -> float:
        return self._pps

    def x_for_time(self, t: float) -> float:
        """Scene x of timeline time ``t``."""
        return PAD + t * self._pps

    def time_at(self, scene_x: float) -> float:
        """Timeline time at scene x (not clamped)."""
        return (scene_x - PAD) / self._pps

    def viewport_x_for_time(self, t: float) -> float:
        return self.x_for_time(t) - self._scroll_x()

    def time_at_viewport_x(self, x: float) -> float:
        return self.time_at(x + self._scroll_x())

    def visible_range(self) -> tuple[float, float]:
        """(first, last) timeline seconds in view, clamped to the media."""
        left = self._scroll_x()
        right = left + self.viewport().width()
        return (max(0.0, self.time_at(left)), min(self._duration, self.time_at(right)))

    def fit_pps(self) -> float:
        width = max(50.0, self.viewport().width() - 2 * PAD)
        return width / self._duration if self._duration > 0 else 100.0

    def max_pps(self) -> float:
        return max(self.fit_pps(), MAX_FRAME_PX * float(self._fps))

    @staticmethod
    def _factor(factor: Any) -> float:
        # A button's clicked(bool) connected straight to zoom_in passes `checked` as the factor.
        return ZOOM_STEP if isinstance(factor, bool) or not factor or factor <= 0 else float(factor)

    @Slot()
    def zoom_in(self, factor: float = ZOOM_STEP, anchor_x: float | None = None) -> None:
        """Zoom in around viewport x ``anchor_x`` (default: the playhead if visible, else the centre)."""
        self._zoom(self._pps * self._factor(factor), anchor_x)

    @Slot()
    def zoom_out(self, factor: float = ZOOM_STEP, anchor_x: float | None = None) -> None:
        self._zoom(self._pps / self._factor(factor), anchor_x)

    @Slot()
    def zoom_to_fit(self) -> None:
        self._fitted = True
        self._apply_pps(self.fit_pps())
        self._scroll_to_scene_x(0.0)

    def _zoom(self, pps: float, anchor_x: float | None) -> None:
        pps = min(max(pps, self.fit_pps()), self.max_pps())
        if anchor_x is None:
            px = self.viewport_x_for_time(self._playhead)
            anchor_x = px if 0 <= px <= self.viewport().width() else self.viewport().width() / 2
        t_anchor = self.time_at_viewport_x(anchor_x)
        self._fitted = pps <= self.fit_pps() + 1e-9
        self._apply_pps(pps)
        self._scroll_to_scene_x(self.x_for_time(t_anchor) - anchor_x)

    def _apply_pps(self, pps: float) -> None:
        changed = abs(pps - self._pps) > 1e-12
        self._pps = pps
        self._update_scene_rect()
        self._invalidate()
        if changed:
            self.zoomChanged.emit(pps)

    def _scroll_x(self) -> float:
        return float(self.horizontalScrollBar().value())

    def _scroll_to_scene_x(self, x: float) -> None:
        bar = self.horizontalScrollBar()
        bar.setValue(int(round(min(max(x, bar.minimum()), bar.maximum()))))

    def _on_scrolled(self, _value: int) -> None:
        self.viewport().update()

    def _update_scene_rect(self) -> None:
        # Exactly the content: padding it to the viewport would make the scroll bars feed back
        # into the viewport size. The view paints the background beyond it anyway.
        width = 2 * PAD + self._duration * self._pps
        self.scene().setSceneRect(QRectF(0.0, 0.0, width, self._content_height()))

    # -- layout --------------------------------------------------------------------------------

    def _relayout(self) -> None:
        lanes: list[_Lane] = [_Lane("ruler", 0.0, RULER_H)]
        y = RULER_H

        def add(name: str, height: float, label: str) -> None:
            nonlocal y
            lanes.append(_Lane(name, y, height, label))
            y += height

        if self._mode is TimelineMode.MEDIA:
            add("clips", CLIP_LANE_H * self._clip_lanes + 6, "CLIPS")
        add("thumbs", THUMBS_H, "VIDEO")
        add("wave", WAVE_H, "AUDIO")
        if self._mode is TimelineMode.CLIP:
            add("keys", KEYS_H, "CROP")
            if self._region_lanes:
                add("regions", REGION_LANE_H * self._region_lanes + 4, "SPOT")
            if self._text_bars:
                add("text", lane_height(self._text_bars), "TEXT")
        self._lanes = {lane.name: lane for lane in lanes}
        # Up to the video and audio lanes; further lanes scroll on a short screen.
        self.setMinimumHeight(int(min(y, RULER_H + THUMBS_H + WAVE_H)) + 14)
        self._update_scene_rect()

    def _content_height(self) -> float:
        return max((lane.bottom for lane in self._lanes.values()), default=RULER_H) + 1

    def lane_rect(self, name: str) -> QRectF | None:
        """Scene rect of a lane ("ruler", "thumbs", "wave", "keys", "regions", "clips")."""
        lane = self._lanes.get(name)
        if lane is None:
            return None
        return QRectF(0.0, lane.top, self.scene().sceneRect().width(), lane.height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self._apply_pps(self.fit_pps())
        else:
            self._update_scene_rect()
        self._invalidate()

    def _invalidate(self) -> None:
        self.resetCachedContent()
        self.viewport().update()

    def _update_playhead_strip(self, t: float) -> None:
        x = self.viewport_x_for_time(t)
        self.viewport().update(int(x) - 8, 0, 17, self.viewport().height())

    # -- painting: background ------------------------------------------------------------------

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, theme.BG)
        t0 = max(0.0, self.time_at(rect.left()) - 1.0 / self._pps)
        t1 = min(self._duration, self.time_at(rect.right()) + 1.0 / self._pps)
        end_x = self.x_for_time(self._duration)
        for lane in self._lanes.values():
            if lane.name == "ruler":
                continue
            band = QRectF(rect.left(), lane.top, rect.width(), lane.height).intersected(rect)
            if band.isEmpty():
                continue
            painter.fillRect(band, theme.PANEL)
            painter.fillRect(QRectF(band.left(), lane.bottom - 1, band.width(), 1), theme.BORDER)
            if band.right() > end_x:  # past the end of the media
                painter.fillRect(QRectF(max(band.left(), end_x), band.top(), band.right() - max(band.left(), end_x),
                                        band.height()), theme.BG)
        self._paint_ruler(painter, rect)
        if self._mode is not TimelineMode.EMPTY and self._duration > 0:
            self._paint_thumbs(painter, rect)
            self._paint_wave(painter, rect)
            if self._mode is TimelineMode.MEDIA:
                self._paint_media_clips(painter, rect, t0, t1)
            else:
                self._paint_segments(painter, rect)
                self._paint_trim(painter, rect)
                self._paint_splits(painter, rect, t0, t1)
                self._paint_keyframes(painter, rect, t0, t1)
                self._paint_regions(painter, rect, t0, t1)
                if "text" in self._lanes:
                    paint_text_lane(painter, self._lanes["text"].top, self._text_bars, self.x_for_time, rect)

    def _paint_ruler(self, p: QPainter, rect: QRectF) -> None:
        lane = self._lanes["ruler"]
        band = QRectF(rect.left(), lane.top, rect.width(), lane.height)
        if not band.intersects(rect):
            return
        p.fillRect(band, theme.PANEL_ALT)
        p.fillRect(QRectF(rect.left(), lane.bottom - 1, rect.width(), 1), theme.BORDER)
        if self._duration <= 0:
            return
        major, minor = self._tick_steps()
        font_pad = QFontMetricsF(self._ruler_font).horizontalAdvance("00:00:00:00") + 8
        t_lo = max(0.0, self.time_at(rect.left() - font_pad))
        t_hi = min(self._duration, self.time_at(rect.right()))
        minors = self._tick_times(minor, t_lo, t_hi)
        majors = self._tick_times(major, t_lo, t_hi)
        xs = PAD + minors * self._pps
        p.setPen(QPen(theme.GRID, 1))
        bottom = lane.bottom - 1
        p.drawLines([QLineF(x, bottom - 5, x, bottom) for x in xs.tolist()])
        p.setPen(QPen(theme.TEXT_DIM, 1))
        p.setFont(self._ruler_font)
        metrics = QFontMetricsF(self._ruler_font)
        for t in majors:
            x = PAD + float(t) * self._pps
            p.drawLine(QPointF(x, bottom - 12), QPointF(x, bottom))
            p.drawText(QPointF(x + 4, lane.top + 4 + metrics.ascent()), self.time_text(float(t)))

    def _tick_steps(self) -> tuple[float, float]:
        """(major, minor) tick spacing in seconds for the zoom: frames when zoomed in, up to hours."""
        frame = float(1 / self._fps)
        candidates = [n * frame for n in (1, 2, 5, 10)] + [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
                                                           7200]
        major = next((c for c in candidates if c * self._pps >= MIN_LABEL_SPACING), candidates[-1])
        minor = major
        for div in (10, 5, 4, 2):
            step = major / div
            if step * self._pps >= MIN_MINOR_SPACING and (major >= 1 or abs(step / frame - round(step / frame)) < 1e-6):
                minor = step
                break
        return major, minor

    def _tick_times(self, step: float, t0: float, t1: float) -> np.ndarray:
        """Tick times in [t0, t1], each moved to the start of the first frame at or after it
        (so a second tick sits on that second's frame 00)."""
        k0, k1 = math.floor(t0 / step), math.ceil(t1 / step)
        ks = np.arange(k0, k1 + 1, dtype=np.float64)
        rate = self._fps.numerator / self._fps.denominator
        frames = np.ceil(ks * step * rate - 1e-6)
        times = frames / rate
        return times[(times >= t0 - 1e-9) & (times <= t1 + 1e-9)]

    def _paint_thumbs(self, p: QPainter, rect: QRectF) -> None:
        lane = self._lanes["thumbs"]
        if not self._thumbs.times or not rect.intersects(QRectF(rect.left(), lane.top, rect.width(), lane.height)):
            return
        height = lane.height - 4
        tw = max(8.0, height * self._thumbs.aspect)
        end_x = self.x_for_time(self._duration)
        # A filmstrip: fixed slots across the visible width, each showing the nearest thumbnail.
        first = math.floor((max(rect.left(), PAD) - PAD) / tw)
        p.save()
        p.setClipRect(QRectF(PAD, lane.top, end_x - PAD, lane.height).intersected(rect))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        x = PAD + first * tw
        times = self._thumbs.times
        while x < min(rect.right(), end_x):
            t = self.time_at(x + tw / 2)
            i = bisect_left(times, t)
            if i > 0 and (i == len(times) or t - times[i - 1] <= times[i] - t):
                i -= 1
            pixmap = self._thumb_pixmap(i)
            target = QRectF(x, lane.top + 2, tw, height)
            if pixmap is not None:
                p.drawPixmap(target, pixmap, QRectF(pixmap.rect()))
            else:
                p.fillRect(target.adjusted(0.5, 0.5, -0.5, -0.5), theme.PANEL_HI)
            p.fillRect(QRectF(x, lane.top + 2, 1, height), QColor(0, 0, 0, 120))
            x += tw
        p.restore()

    def _thumb_pixmap(self, i: int) -> QPixmap | None:
        pixmap = self._thumbs.pixmaps.get(i)
        if pixmap is None:
            image = self._thumbs.images[i]
            if image is None:
                return None
            pixmap = QPixmap.fromImage(image)
            self._thumbs.pixmaps[i] = pixmap
        return pixmap

    def _paint_wave(self, p: QPainter, rect: QRectF) -> None:
        lane = self._lanes["wave"]
        if self._peaks is None:
            return
        x0 = max(math.floor(rect.left()), math.floor(PAD))
        x1 = min(math.ceil(rect.right()), math.ceil(self.x_for_time(self._duration)))
        if x1 <= x0 or not rect.intersects(QRectF(x0, lane.top, x1 - x0, lane.height)):
            return
        image = self._wave_image(x0, x1, int(lane.height) - 4, self.devicePixelRatioF())
        p.drawImage(QPointF(x0, lane.top + 2), image)
        p.fillRect(QRectF(x0, lane.mid, x1 - x0, 1), QColor(theme.WAVEFORM.red(), theme.WAVEFORM.green(),
                                                             theme.WAVEFORM.blue(), 90))

    def _wave_image(self, x0: int, x1: int, height: int, dpr: float = 1.0) -> QImage:
        """The waveform of scene columns [x0, x1) as one ARGB image at device resolution, built
        with numpy: each device column is the max peak of the media time it covers."""
        assert self._peaks is not None
        peaks, rate = self._peaks, self._peaks_rate
        n = peaks.size
        cols, rows = max(1, round((x1 - x0) * dpr)), max(1, round(height * dpr))
        edges = (x0 + np.arange(cols + 1, dtype=np.float64) / dpr - PAD) / self._pps + self._peaks_start
        idx = np.floor(edges * rate).astype(np.int64)
        # A silent sentinel after the data, so the last column reduces up to its own end.
        padded = np.append(peaks, np.float32(0.0))
        bounds = np.clip(idx, 0, n)
        amps = np.maximum.reduceat(padded, bounds)[:-1]
        # reduceat takes the max from each bound up to the next (or the bound alone when zoomed
        # in past the peak rate); columns outside the data show silence.
        amps = np.where((idx[:-1] < n) & (idx[1:] > 0), amps, 0.0)
        half = rows / 2.0
        amps = np.sqrt(np.clip(amps, 0.0, 1.0)) * (half - dpr)  # perceptual: quiet crowd noise stays visible
        ys = np.abs(np.arange(rows, dtype=np.float32)[:, None] + 0.5 - half)
        mask = ys <= np.maximum(amps[None, :], 0.5 * dpr)
        c = theme.WAVEFORM
        argb = np.where(mask, np.uint32(0xFF000000 | (c.red() << 16) | (c.green() << 8) | c.blue()), np.uint32(0))
        argb = np.ascontiguousarray(argb.astype(np.uint32))
        image = QImage(argb.data, cols, rows, argb.strides[0], QImage.Format.Format_ARGB32_Premultiplied).copy()
        image.setDevicePixelRatio(dpr)
        return image

    def _paint_media_clips(self, p: QPainter, rect: QRectF, t0: float, t1: float) -> None:
        lane = self._lanes["clips"]
        if not self._clips or not rect.intersects(QRectF(rect.left(), lane.top, rect.width(), lane.height)):
            return
        lo = bisect_left(self._clip_starts, t0 - self._clip_max_len)
        hi = bisect_right(self._clip_starts, t1)
        pps, top0 = self._pps, lane.top + 3
        # Clips a few pixels wide (a whole game in view) are batched per rating colour into one
        # drawRects call each; only wide ones get rounded corners and a name.
        narrow: dict[int, list[QRectF]] = {}
        wide: list[tuple[QRectF, _MediaClip]] = []
        for c in self._clips[lo:hi]:
            if c.end < t0:
                continue
            x0 = PAD + c.start * pps
            r = QRectF(x0, top0 + c.lane * CLIP_LANE_H, max(2.0, (c.end - c.start) * pps), CLIP_LANE_H - 4)
            if r.width() < 8.0:
                narrow.setdefault(c.rating, []).append(r)
            else:
                wide.append((r, c))
        p.setPen(Qt.PenStyle.NoPen)
        for rating, rects in narrow.items():
            p.setBrush(self._clip_fill(rating))
            p.drawRects(rects)
        if wide:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            for r, c in wide:
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(self._clip_fill(c.rating))
                p.drawRoundedRect(r, 3, 3)
                p.fillRect(QRectF(r.left() + 1, r.top(), r.width() - 2, 2), self._clip_edge(c.rating))
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        selected = next((c for c in self._clips[lo:hi] if c.uid == self._selected_clip), None)
        if selected is not None:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(QPen(theme.HANDLE, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(self._media_clip_rect(selected).adjusted(-1, -1, 1, 1), 4, 4)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    @staticmethod
    def _clip_fill(rating: int) -> QColor:
        fill = QColor(theme.rating_color(rating))
        fill.setAlpha(210)
        return fill

    @staticmethod
    def _clip_edge(rating: int) -> QColor:
        return theme.rating_color(rating).lighter(135)

    def _media_clip_rect(self, c: _MediaClip) -> QRectF:
        lane = self._lanes["clips"]
        x0, x1 = self.x_for_time(c.start), self.x_for_time(c.end)
        width = max(2.0, x1 - x0)  # a short clip at a wide zoom still shows
        return QRectF(x0, lane.top + 3 + c.lane * CLIP_LANE_H, width, CLIP_LANE_H - 4)

    def _paint_segments(self, p: QPainter, rect: QRectF) -> None:
        lane = self._lanes["thumbs"]
        for start, end, speed in self._segments:
            if abs(speed - 1.0) < 1e-9:
                continue
            x0, x1 = self.x_for_time(start), self.x_for_time(end)
            if x1 < rect.left() or x0 > rect.right():
                continue
            tint = QColor(theme.SPEED)
            tint.setAlpha(60)
            top = self._lanes["thumbs"].top
            bottom = self._lanes["wave"].bottom
            p.fillRect(QRectF(x0, top, x1 - x0, bottom - top), tint)
            p.fillRect(QRectF(x0, lane.top, x1 - x0, 2), theme.SPEED)
            self._paint_pill(p, QPointF(max(x0, rect.left()) + 4, lane.top + 5), format_speed(speed), theme.SPEED,
                             max_right=x1 - 3)

    def _paint_pill(self, p: QPainter, at: QPointF, text: str, color: QColor, max_right: float) -> None:
        p.setFont(self._label_font)
        metrics = QFontMetricsF(self._label_font)
        w, h = metrics.horizontalAdvance(text) + 10, metrics.height() + 2
        if at.x() + w > max_right:
            return
        r = QRectF(at.x(), at.y(), w, h)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawRoundedRect(r, h / 2, h / 2)
        p.setPen(theme.ACCENT_TEXT)
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def _paint_trim(self, p: QPainter, rect: QRectF) -> None:
        # The kept range's edges are always drawn as brackets: they are the trim handles.
        trim = shown_trim(self) or (0.0, self._duration)
        top = RULER_H
        bottom = max(lane.bottom for lane in self._lanes.values())
        hatch = QBrush(QColor(255, 255, 255, 18), Qt.BrushStyle.BDiagPattern)
        for a, b in ((0.0, trim[0]), (trim[1], self._duration)):
            if b - a <= 1e-9:
                continue
            r = QRectF(self.x_for_time(a), top, (b - a) * self._pps, bottom - top)
            if not r.intersects(rect):
                continue
            p.fillRect(r, theme.TRIMMED)
            p.fillRect(r, hatch)
        p.setPen(QPen(theme.ACCENT, 2))
        for t, sign in ((trim[0], 1), (trim[1], -1)):
            x = self.x_for_time(t)
            if rect.left() - 8 <= x <= rect.right() + 8:
                p.drawLine(QPointF(x, top + 1), QPointF(x, bottom - 1))
                p.drawLine(QPointF(x, top + 1), QPointF(x + 6 * sign, top + 1))
                p.drawLine(QPointF(x, bottom - 1), QPointF(x + 6 * sign, bottom - 1))

    def _paint_splits(self, p: QPainter, rect: QRectF, t0: float, t1: float) -> None:
        if not self._splits:
            return
        times = [t for _uid, t in self._splits]
        lo, hi = bisect_left(times, t0), bisect_right(times, t1)
        top, bottom = RULER_H, max(lane.bottom for lane in self._lanes.values())
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        for t in times[lo:hi]:
            x = self.x_for_time(t)
            p.setPen(QPen(theme.SPLIT, 2))
            p.drawLine(QPointF(x, top), QPointF(x, bottom))
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.SPLIT)
            p.drawPolygon(QPolygonF([QPointF(x - 5, RULER_H - 8), QPointF(x + 5, RULER_H - 8),
                                     QPointF(x, RULER_H - 1)]))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def _keyframe_time(self, uid: str, t: float) -> float:
        drag = self._drag
        if drag is not None and drag.kind == "keyframe" and drag.uid == uid and drag.moved:
            return drag.value[0]
        return t

    def _paint_keyframes(self, p: QPainter, rect: QRectF, t0: float, t1: float) -> None:
        lane = self._lanes["keys"]
        if not rect.intersects(QRectF(rect.left(), lane.top, rect.width(), lane.height)):
            return
        p.setPen(QPen(theme.GRID, 1, Qt.PenStyle.DotLine))
        p.drawLine(QPointF(max(rect.left(), PAD), lane.mid), QPointF(min(rect.right(), self.x_for_time(self._duration)),
                                                                      lane.mid))
        if not self._keyframes:
            return
        reach = (HIT_PX + 2) / self._pps
        times = [t for _uid, t in self._keyframes]
        lo, hi = bisect_left(times, t0 - reach), bisect_right(times, t1 + reach)
        visible = list(self._keyframes[lo:hi])
        drag = self._drag
        if drag is not None and drag.kind == "keyframe" and drag.moved and all(uid != drag.uid for uid, _t in visible):
            visible.append((drag.uid, drag.value[0]))
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        for uid, t in visible:
            t = self._keyframe_time(uid, t)
            selected = uid == self._selected_keyframe
            size = 6.5 if selected else 5.5
            x = self.x_for_time(t)
            diamond = QPolygonF([QPointF(x, lane.mid - size), QPointF(x + size, lane.mid),
                                 QPointF(x, lane.mid + size), QPointF(x - size, lane.mid)])
            p.setPen(QPen(theme.HANDLE if selected else QColor(0, 0, 0, 160), 1.2))
            p.setBrush(theme.SELECTION if selected else theme.KEYFRAME)
            p.drawPolygon(diamond)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def _region_span(self, r: _RegionBar) -> tuple[float, float]:
        drag = self._drag
        if drag is not None and drag.uid == r.uid and drag.kind.startswith("region") and drag.moved:
            return drag.value
        return r.start, r.end

    def _region_rect(self, r: _RegionBar) -> QRectF:
        lane = self._lanes["regions"]
        start, end = self._region_span(r)
        return QRectF(self.x_for_time(start), lane.top + 2 + r.lane * REGION_LANE_H,
                      max(2.0, (end - start) * self._pps), REGION_LANE_H - 4)

    def _paint_regions(self, p: QPainter, rect: QRectF, t0: float, t1: float) -> None:
        lane = self._lanes.get("regions")
        if lane is None or not rect.intersects(QRectF(rect.left(), lane.top, rect.width(), lane.height)):
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setFont(self._label_font)
        for r in self._regions:
            bar = self._region_rect(r)
            if bar.right() < rect.left() or bar.left() > rect.right():
                continue
            color = QColor(theme.REGION if r.enabled else theme.TEXT_DISABLED)
            fill = QColor(color)
            fill.setAlpha(150 if r.enabled else 70)
            p.setPen(QPen(theme.HANDLE, 1.5) if r.uid == self._selected_region else Qt.PenStyle.NoPen)
            p.setBrush(fill)
            p.drawRoundedRect(bar, 3, 3)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.CHIP_BG)
            shift = bar.left() - self.x_for_time(r.start)
            for t in r.key_times:
                x = self.x_for_time(t) + shift
                if bar.left() - 1 <= x <= bar.right() + 1:
                    p.drawEllipse(QPointF(x, bar.center().y()), 2.6, 2.6)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    # -- painting: foreground ------------------------------------------------------------------

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self._mode is TimelineMode.EMPTY or self._duration <= 0:
            painter.setPen(theme.TEXT_DIM)
            painter.setFont(theme.ui_font(9))
            view = self.mapToScene(self.viewport().rect()).boundingRect()
            painter.drawText(view.adjusted(0, RULER_H, 0, 0), Qt.AlignmentFlag.AlignCenter,
                             "Open a clip or a game to see its timeline")
            return
        bottom = max(lane.bottom for lane in self._lanes.values())
        drag = self._drag
        if drag is not None and drag.snapped_to is not None:
            x = self.x_for_time(drag.snapped_to)
            painter.setPen(QPen(theme.ACCENT, 1, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(x, RULER_H), QPointF(x, bottom))
        if self._mode is TimelineMode.MEDIA:
            self._paint_clip_names(painter, rect)
        if self._lost is not None and self._mode is TimelineMode.CLIP and self._lost[0] == self._clip_uid:
            lost_x = self.x_for_time(self._lost[1])
            painter.setPen(QPen(theme.ERROR, 2))
            painter.drawLine(QPointF(lost_x, RULER_H), QPointF(lost_x, bottom))
        self._paint_lane_labels(painter)
        x = self.x_for_time(self._playhead)
        if rect.left() - 8 <= x <= rect.right() + 8:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(theme.PLAYHEAD, 1.5))
            painter.drawLine(QPointF(x, RULER_H - 10), QPointF(x, bottom))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.PLAYHEAD)
            head = QPolygonF([QPointF(x - 6, 2), QPointF(x + 6, 2), QPointF(x + 6, RULER_H - 14),
                              QPointF(x, RULER_H - 8), QPointF(x - 6, RULER_H - 14)])
            painter.drawPolygon(head)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    def _lane_label_right(self, lane: _Lane) -> float:
        """Scene x where the lane's pinned caption ends (names start after it)."""
        return self._scroll_x() + 4 + QFontMetricsF(self._label_font).horizontalAdvance(lane.label) + 12

    def _paint_clip_names(self, p: QPainter, rect: QRectF) -> None:
        """Names of the marked clips wide enough for one, never under the lane's caption."""
        lane = self._lanes["clips"]
        if not self._clips or not rect.intersects(QRectF(rect.left(), lane.top, rect.width(), lane.height)):
            return
        t0, t1 = self.time_at(rect.left()), self.time_at(rect.right())
        lo = bisect_left(self._clip_starts, t0 - self._clip_max_len)
        hi = bisect_right(self._clip_starts, t1)
        caption_right = self._lane_label_right(lane)
        p.setFont(self._clip_font)
        p.setPen(QColor(10, 10, 12))
        metrics = QFontMetricsF(self._clip_font)
        for c in self._clips[lo:hi]:
            r = self._media_clip_rect(c)
            left = max(r.left() + 5, caption_right) if r.top() < lane.top + 3 + metrics.height() + 4 else r.left() + 5
            width = r.right() - 5 - left
            if width < 26 or r.right() < rect.left():
                continue
            text = metrics.elidedText(c.name or f"★{c.rating}", Qt.TextElideMode.ElideRight, width)
            p.drawText(QRectF(left, r.top(), width, r.height()),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)

    def _paint_lane_labels(self, p: QPainter) -> None:
        # Small captions pinned to the left edge of the view.
        left = self._scroll_x() + 4
        p.setFont(self._label_font)
        metrics = QFontMetricsF(self._label_font)
        for lane in self._lanes.values():
            if not lane.label:
                continue
            w = metrics.horizontalAdvance(lane.label) + 8
            r = QRectF(left, lane.top + 3, w, metrics.height() + 1)
            p.fillRect(r, theme.VEIL)
            p.setPen(theme.TEXT_DIM)
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, lane.label)

    # -- hit testing ---------------------------------------------------------------------------

    def _to_scene(self, pos: QPointF) -> QPointF:
        """Viewport -> scene, keeping sub-pixel precision (mapToScene rounds to whole pixels)."""
        return QPointF(pos.x() + self._scroll_x(), pos.y() + self.verticalScrollBar().value())

    def _lane_at(self, y: float) -> str | None:
        for lane in self._lanes.values():
            if lane.top <= y < lane.bottom:
                return lane.name
        return None

    def _keyframe_at(self, scene: QPointF) -> str | None:
        if not self._keyframes:
            return None
        best, best_d = None, HIT_PX + 1e-9
        reach = HIT_PX / self._pps
        times = [t for _uid, t in self._keyframes]
        t = self.time_at(scene.x())
        for uid, kt in self._keyframes[bisect_left(times, t - reach):bisect_right(times, t + reach)]:
            d = abs(self.x_for_time(kt) - scene.x())
            if d <= best_d:
                best, best_d = uid, d
        return best

    def _region_at(self, scene: QPointF) -> tuple[str, str] | None:
        """(region uid, part) where part is "start", "end" or "move"."""
        for r in reversed(self._regions):
            bar = self._region_rect(r)
            if not bar.adjusted(-HIT_PX / 2, 0, HIT_PX / 2, 0).contains(scene):
                continue
            if abs(scene.x() - bar.left()) <= HIT_PX / 2 + 1:
                return r.uid, "start"
            if abs(scene.x() - bar.right()) <= HIT_PX / 2 + 1:
                return r.uid, "end"
            return r.uid, "move"
        return None

    def _media_clip_at(self, scene: QPointF) -> _MediaClip | None:
        if not self._clips:
            return None
        t = self.time_at(scene.x())
        slack = 2.0 / self._pps  # clips drawn at least 2 px wide
        lo = bisect_left(self._clip_starts, t - self._clip_max_len - slack)
        hi = bisect_right(self._clip_starts, t + slack)
        hit = None
        for c in self._clips[lo:hi]:
            if self._media_clip_rect(c).contains(scene):
                hit = c  # the later-starting one is drawn on top
        return hit

    # -- mouse ---------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._mode is TimelineMode.EMPTY:
            super().mousePressEvent(event)
            return
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        pos = event.position()
        scene = self._to_scene(pos)
        lane = self._lane_at(scene.y())
        edge = trim_edge_at(self, scene)
        if edge is not None:
            span = trim_span(self)
            self._drag = _Drag(edge, pos.x(), "", span, span)
            event.accept()
            return
        if lane == "keys":
            uid = self._keyframe_at(scene)
            if uid is not None:
                t = dict(self._keyframes)[uid]
                self._select_keyframe(uid)
                self._drag = _Drag("keyframe", pos.x(), uid, (t, t), (t, t))
                event.accept()
                return
        elif lane == "regions":
            hit = self._region_at(scene)
            if hit is not None:
                uid, part = hit
                r = next(r for r in self._regions if r.uid == uid)
                if uid != self._selected_region:
                    self._selected_region = uid
                    self.regionSelected.emit(uid)
                    self._invalidate()
                self._drag = _Drag(f"region-{part}", pos.x(), uid, (r.start, r.end), (r.start, r.end))
                event.accept()
                return
        elif lane == "clips":
            clip = self._media_clip_at(scene)
            if clip is not None:
                if clip.uid != self._selected_clip:
                    self._selected_clip = clip.uid
                    self._invalidate()
                self.clipSelected.emit(clip.uid)
                self._drag = _Drag("clip", pos.x(), clip.uid)
                event.accept()
                return
        self._drag = _Drag("scrub", pos.x())
        self._scrub_to(self.time_at(scene.x()))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        drag = self._drag
        if drag is None:
            self._update_hover(pos)
            return
        if not drag.moved and abs(pos.x() - drag.press_x) < DRAG_START_PX and drag.kind != "scrub":
            return
        drag.moved = True
        t = self.time_at_viewport_x(pos.x())
        if drag.kind == "scrub":
            self._scrub_to(t)
        elif drag.kind == "keyframe":
            snapped, target = self._snap(drag.origin[0] + (pos.x() - drag.press_x) / self._pps, exclude=drag.uid)
            drag.value, drag.snapped_to = (snapped, snapped), target
            self._invalidate()
        elif drag.kind.startswith("region"):
            drag.value, drag.snapped_to = self._dragged_region(drag, (pos.x() - drag.press_x) / self._pps)
            self._invalidate()
        elif drag.kind in (TRIM_START, TRIM_END):
            drag.value, drag.snapped_to = dragged_trim(self, drag, (pos.x() - drag.press_x) / self._pps)
            self._invalidate()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag = self._drag
        if drag is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        if drag.kind != "scrub" and (drag.moved or abs(event.position().x() - drag.press_x) >= DRAG_START_PX):
            self.mouseMoveEvent(event)  # the release position counts
        self._drag = None
        if drag.moved and self._clip_uid is not None:
            if drag.kind == "keyframe" and abs(drag.value[0] - drag.origin[0]) > 1e-9:
                self._emit(GestureKind.MOVE_CROP_KEYFRAME, {"keyframe": drag.uid, "time": round(drag.value[0], 6)})
            elif drag.kind.startswith("region") and drag.value != drag.origin:
                start, end = drag.value
                self._emit(GestureKind.UPDATE_REGION, {"region": drag.uid, "start": round(start, 6),
                                                       "end": round(end, 6)})
            elif drag.kind in (TRIM_START, TRIM_END):
                finish_trim(self, drag)
        self._invalidate()
        event.accept()

    def _update_hover(self, pos: QPointF) -> None:
        scene = self._to_scene(pos)
        lane = self._lane_at(scene.y())
        cursor = Qt.CursorShape.ArrowCursor
        if trim_edge_at(self, scene) is not None:
            cursor = Qt.CursorShape.SplitHCursor
        elif lane == "keys" and self._keyframe_at(scene) is not None:
            cursor = Qt.CursorShape.PointingHandCursor
        elif lane == "regions":
            hit = self._region_at(scene)
            if hit is not None:
                cursor = Qt.CursorShape.SizeHorCursor if hit[1] != "move" else Qt.CursorShape.OpenHandCursor
        elif lane == "clips" and self._media_clip_at(scene) is not None:
            cursor = Qt.CursorShape.PointingHandCursor
        self.viewport().setCursor(cursor)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and self._mode is TimelineMode.MEDIA:
            pos = event.pos()  # type: ignore[attr-defined]
            clip = self._media_clip_at(self._to_scene(QPointF(pos)))
            if clip is not None:
                text = (f"{clip.name or 'Clip'}  {'★' * clip.rating}\n"
                        f"{self.time_text(clip.start)} – {self.time_text(clip.end)}")
                QToolTip.showText(event.globalPos(), text, self.viewport())  # type: ignore[attr-defined]
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    def _scrub_to(self, t: float) -> None:
        t = min(max(t, 0.0), self._duration)
        # The frame under the pointer: its start time, so the viewer shows exactly that frame.
        t = min(frame_time(frame_index(t, self._fps), self._fps), self._duration)
        if t != self._playhead:
            self.set_playhead(t)
            self.playheadMoved.emit(t)

    def _select_keyframe(self, uid: str) -> None:
        if uid != self._selected_keyframe:
            self._selected_keyframe = uid
            self._invalidate()
        self.keyframeSelected.emit(uid)

    # -- snapping ------------------------------------------------------------------------------

    def _snap_targets(self, exclude: str) -> list[float]:
        targets = [0.0, self._duration, self._playhead]
        targets += [t for uid, t in self._keyframes if uid != exclude]
        targets += [t for _uid, t in self._splits]
        if self._trim is not None:
            targets += list(self._trim)
        for r in self._regions:
            if r.uid != exclude:
                targets += [r.start, r.end]
        return targets

    def _snap(self, t: float, exclude: str = "") -> tuple[float, float | None]:
        """``t`` pulled onto the nearest playhead / keyframe / split / edge within SNAP_PX, else
        onto the nearest frame start; clamped to the clip. Returns (time, snapped target)."""
        reach = SNAP_PX / self._pps
        best, best_d = None, reach + 1e-12
        for target in self._snap_targets(exclude):
            d = abs(target - t)
            if d <= best_d:
                best, best_d = target, d
        if best is not None:
            return min(max(best, 0.0), self._duration), best
        return min(max(snap_to_frame(t, self._fps), 0.0), self._duration), None

    def _dragged_region(self, drag: _Drag, dt: float) -> tuple[tuple[float, float], float | None]:
        start, end = drag.origin
        frame = float(1 / self._fps)
        if drag.kind == "region-start":
            s, target = self._snap(start + dt, exclude=drag.uid)
            return (min(s, end - frame), end), target
        if drag.kind == "region-end":
            e, target = self._snap(end + dt, exclude=drag.uid)
            return (start, max(e, start + frame)), target
        length = end - start
        s, ts = self._snap(start + dt, exclude=drag.uid)
        e, te = self._snap(end + dt, exclude=drag.uid)
        # Keep the length: follow whichever edge found a real target (the closer one), else frames.
        if ts is not None and (te is None or abs(s - (start + dt)) <= abs(e - (end + dt))):
            new_start, target = s, ts
        elif te is not None:
            new_start, target = e - length, te
        else:
            new_start, target = s, None
        new_start = min(max(new_start, 0.0), max(0.0, self._duration - length))
        return (new_start, new_start + length), target

    # -- keyboard and wheel --------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        mods = event.modifiers()
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self._selected_keyframe and self._clip_uid:
            uid = self._selected_keyframe
            self._selected_keyframe = None
            self._emit(GestureKind.DELETE_CROP_KEYFRAME, {"keyframe": uid})
            self._invalidate()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_out()
        elif key in (Qt.Key.Key_Backslash, Qt.Key.Key_0):
            self.zoom_to_fit()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self._mode is not TimelineMode.EMPTY:
            frames = 10 if mods & Qt.KeyboardModifier.ShiftModifier else 1
            n = frame_index(self._playhead, self._fps) + (frames if key == Qt.Key.Key_Right else -frames)
            self._scrub_to(max(0.0, frame_time(max(0, n), self._fps)))
            self._ensure_visible(self._playhead)
        elif key == Qt.Key.Key_Home and self._mode is not TimelineMode.EMPTY:
            self._scrub_to(0.0)
            self._ensure_visible(0.0)
        elif key == Qt.Key.Key_End and self._mode is not TimelineMode.EMPTY:
            self._scrub_to(self._duration)
            self._ensure_visible(self._duration)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _ensure_visible(self, t: float) -> None:
        x = self.viewport_x_for_time(t)
        if x < 0 or x > self.viewport().width():
            self._scroll_to_scene_x(self.x_for_time(t) - self.viewport().width() / 2)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = delta.y() / 120.0
            if steps:
                self._zoom(self._pps * (1.25 ** steps), event.position().x())
            event.accept()
            return
        # A plain wheel scrolls time (horizontal); trackpads send x directly.
        amount = delta.x() if abs(delta.x()) > abs(delta.y()) else delta.y()
        bar = self.horizontalScrollBar()
        bar.setValue(bar.value() - int(amount * 0.8))
        event.accept()

    # -- gestures ------------------------------------------------------------------------------

    def _emit(self, kind: GestureKind, payload: dict[str, Any]) -> None:
        assert self._clip_uid is not None
        gesture = Gesture(kind, self._clip_uid, payload)
        log.debug("timeline gesture %s %s", kind.value, payload)
        self.gestureRequested.emit(gesture)


__all__ = ["TimelineMode", "TimelineView", "format_speed", "format_timecode"]
