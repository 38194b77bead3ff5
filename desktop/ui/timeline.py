"""The timeline: ruler, thumbnails, waveform, and the edit marks of one clip or one game.

Two modes. ``set_clip(clip_doc)`` frames a working clip: times are clip seconds, with crop
keyframes, splits, segment speeds, trim and spotlight regions. ``set_media(duration, fps, clips)``
annotates long game footage: the marked clips are coloured ranges.

This module is the widget: its data (``timeline_model``), time scale and zoom (``timeline_scale``),
layout and Qt event entry points. Painting lives in ``timeline_paint`` (``drawBackground`` /
``drawForeground``, no graphics items; the background is cached by the view, so moving the playhead
during playback repaints two thin strips), mouse/keyboard/wheel input and snapping in
``timeline_interaction`` (drags typed by ``DragKind``), thumbnails in ``timeline_thumbs``.

The view never writes to the library: finished drags and the Delete key emit one gesture each
through ``gestureRequested``.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QRectF, QThreadPool, Qt, Signal, Slot
from PySide6.QtGui import QImage, QKeyEvent, QMouseEvent, QPainter, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

from core.enums import GestureKind
from core.gestures.model import Gesture
from desktop.ui import theme
from desktop.ui import timeline_interaction as interaction
from desktop.ui.timecode import clock_text
from desktop.ui.timeline_drag import Drag, DragKind
from desktop.ui.timeline_model import (
    CLIP_LANE_H,
    REGION_LANE_H,
    RULER_H,
    THUMBS_H,
    WAVE_H,
    Lane,
    MediaClip,
    RegionBar,
    TimelineMode,
    build_lanes,
    media_clips,
    region_bars,
)
from desktop.ui.timeline_paint import draw_background, draw_foreground
from desktop.ui.timeline_scale import MAX_FRAME_PX, PAD, ZOOM_STEP
from desktop.ui.timeline_text import TextBar, lane_height, text_bars
from desktop.ui.timeline_thumbs import ThumbLoader, ThumbSignals, Thumbs

log = logging.getLogger(__name__)


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
        self._thumb_signals = ThumbSignals(self)
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
        self._regions: list[RegionBar] = []
        self._region_lanes = 0
        self._text_bars: list[TextBar] = []
        self._clips: list[MediaClip] = []
        self._clip_starts: list[float] = []
        self._clip_max_len = 0.0
        self._clip_lanes = 1
        self._selected_keyframe: str | None = None
        self._selected_region: str | None = None
        self._lost: tuple[str, float] | None = None  # (working clip, clip time) where tracking lost the player
        self._selected_clip: str | None = None
        self._drag: Drag | None = None
        self._thumbs = Thumbs()
        self._peaks: np.ndarray | None = None
        self._peaks_rate = 0.0
        self._peaks_start = 0.0
        self._lanes: dict[str, Lane] = {}
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
        self._regions, self._region_lanes = region_bars(edit.get("regions") or ())
        self._text_bars = text_bars(edit)
        self._clips, self._clip_starts = [], []
        if self._selected_keyframe not in {uid for uid, _t in self._keyframes}:
            self._selected_keyframe = None
        if self._drag is not None and self._drag.kind is not DragKind.SCRUB:
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
        marked, used = media_clips(clips)
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
        thumbs = Thumbs(times=[t for t, _src in ordered], images=[None] * len(ordered))
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
            self._pool.start(ThumbLoader(self._thumb_signals, self._thumb_generation, to_load, height,
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
        self._lanes = build_lanes(self._mode, self._clip_lanes, self._region_lanes,
                                  lane_height(self._text_bars) if self._text_bars else 0.0)
        # Up to the video and audio lanes; further lanes scroll on a short screen.
        self.setMinimumHeight(int(min(self._content_height() - 1, RULER_H + THUMBS_H + WAVE_H)) + 14)
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

    # -- geometry shared by painting and hit testing ---------------------------------------------

    def _media_clip_rect(self, c: MediaClip) -> QRectF:
        lane = self._lanes["clips"]
        x0, x1 = self.x_for_time(c.start), self.x_for_time(c.end)
        width = max(2.0, x1 - x0)  # a short clip at a wide zoom still shows
        return QRectF(x0, lane.top + 3 + c.lane * CLIP_LANE_H, width, CLIP_LANE_H - 4)

    def _region_span(self, r: RegionBar) -> tuple[float, float]:
        drag = self._drag
        if drag is not None and drag.uid == r.uid and drag.kind.is_region and drag.moved:
            return drag.value
        return r.start, r.end

    def _region_rect(self, r: RegionBar) -> QRectF:
        lane = self._lanes["regions"]
        start, end = self._region_span(r)
        return QRectF(self.x_for_time(start), lane.top + 2 + r.lane * REGION_LANE_H,
                      max(2.0, (end - start) * self._pps), REGION_LANE_H - 4)

    def _ensure_visible(self, t: float) -> None:
        x = self.viewport_x_for_time(t)
        if x < 0 or x > self.viewport().width():
            self._scroll_to_scene_x(self.x_for_time(t) - self.viewport().width() / 2)

    # -- Qt events: painted by timeline_paint, input handled by timeline_interaction -----------

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # type: ignore[override]  # Qt passes QRectF
        draw_background(self, painter, rect)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # type: ignore[override]  # Qt passes QRectF
        draw_foreground(self, painter, rect)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if not interaction.press(self, event):
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        interaction.move(self, event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if not interaction.release(self, event):
            super().mouseReleaseEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:
        return interaction.show_tooltip(self, event) or super().viewportEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not interaction.key_press(self, event):
            super().keyPressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        interaction.wheel(self, event)

    # -- gestures ------------------------------------------------------------------------------

    def _emit(self, kind: GestureKind, payload: dict[str, Any]) -> None:
        assert self._clip_uid is not None
        gesture = Gesture(kind, self._clip_uid, payload)
        log.debug("timeline gesture %s %s", kind.value, payload)
        self.gestureRequested.emit(gesture)

__all__ = ["TimelineView"]
