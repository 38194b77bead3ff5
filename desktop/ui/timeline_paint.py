"""Painting the timeline (``TimelineView.drawBackground`` / ``drawForeground``): lanes, ruler,
filmstrip, waveform, marked clips, speeds, trim, splits, crop keyframes, spotlight regions, the
playhead and the pinned lane captions.

A paint only touches what is visible (binary search over sorted times); the waveform becomes one
image per paint through numpy (no per-pixel Python).
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QImage, QPainter, QPen, QPolygonF

from desktop.ui import theme
from desktop.ui.timeline_drag import HIT_PX, DragKind
from desktop.ui.timeline_model import CLIP_LANE_H, RULER_H, Lane, MediaClip, TimelineMode, format_speed
from desktop.ui.timeline_scale import PAD, tick_steps, tick_times
from desktop.ui.timeline_text import paint_text_lane
from desktop.ui.timeline_trim import shown_trim

if TYPE_CHECKING:
    from desktop.ui.timeline import TimelineView


def draw_background(view: TimelineView, painter: QPainter, rect: QRectF) -> None:
    painter.fillRect(rect, theme.BG)
    t0 = max(0.0, view.time_at(rect.left()) - 1.0 / view._pps)
    t1 = min(view._duration, view.time_at(rect.right()) + 1.0 / view._pps)
    end_x = view.x_for_time(view._duration)
    for lane in view._lanes.values():
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
    _paint_ruler(view, painter, rect)
    if view._mode is not TimelineMode.EMPTY and view._duration > 0:
        _paint_thumbs(view, painter, rect)
        _paint_wave(view, painter, rect)
        if view._mode is TimelineMode.MEDIA:
            _paint_media_clips(view, painter, rect, t0, t1)
        else:
            _paint_segments(view, painter, rect)
            _paint_trim(view, painter, rect)
            _paint_splits(view, painter, rect, t0, t1)
            _paint_keyframes(view, painter, rect, t0, t1)
            _paint_regions(view, painter, rect, t0, t1)
            if "text" in view._lanes:
                paint_text_lane(painter, view._lanes["text"].top, view._text_bars, view.x_for_time, rect)


def _paint_ruler(view: TimelineView, p: QPainter, rect: QRectF) -> None:
    lane = view._lanes["ruler"]
    band = QRectF(rect.left(), lane.top, rect.width(), lane.height)
    if not band.intersects(rect):
        return
    p.fillRect(band, theme.PANEL_ALT)
    p.fillRect(QRectF(rect.left(), lane.bottom - 1, rect.width(), 1), theme.BORDER)
    if view._duration <= 0:
        return
    major, minor = tick_steps(view._fps, view._pps)
    font_pad = QFontMetricsF(view._ruler_font).horizontalAdvance("00:00:00:00") + 8
    t_lo = max(0.0, view.time_at(rect.left() - font_pad))
    t_hi = min(view._duration, view.time_at(rect.right()))
    minors = tick_times(minor, t_lo, t_hi, view._fps)
    majors = tick_times(major, t_lo, t_hi, view._fps)
    xs = PAD + minors * view._pps
    p.setPen(QPen(theme.GRID, 1))
    bottom = lane.bottom - 1
    p.drawLines([QLineF(x, bottom - 5, x, bottom) for x in xs.tolist()])
    p.setPen(QPen(theme.TEXT_DIM, 1))
    p.setFont(view._ruler_font)
    metrics = QFontMetricsF(view._ruler_font)
    for t in majors:
        x = PAD + float(t) * view._pps
        p.drawLine(QPointF(x, bottom - 12), QPointF(x, bottom))
        p.drawText(QPointF(x + 4, lane.top + 4 + metrics.ascent()), view.time_text(float(t)))


def _paint_thumbs(view: TimelineView, p: QPainter, rect: QRectF) -> None:
    lane = view._lanes["thumbs"]
    if not view._thumbs.times or not rect.intersects(QRectF(rect.left(), lane.top, rect.width(), lane.height)):
        return
    height = lane.height - 4
    tw = max(8.0, height * view._thumbs.aspect)
    end_x = view.x_for_time(view._duration)
    # A filmstrip: fixed slots across the visible width, each showing the nearest thumbnail.
    first = math.floor((max(rect.left(), PAD) - PAD) / tw)
    p.save()
    p.setClipRect(QRectF(PAD, lane.top, end_x - PAD, lane.height).intersected(rect))
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    x = PAD + first * tw
    times = view._thumbs.times
    while x < min(rect.right(), end_x):
        t = view.time_at(x + tw / 2)
        i = bisect_left(times, t)
        if i > 0 and (i == len(times) or t - times[i - 1] <= times[i] - t):
            i -= 1
        pixmap = view._thumbs.pixmap(i)
        target = QRectF(x, lane.top + 2, tw, height)
        if pixmap is not None:
            p.drawPixmap(target, pixmap, QRectF(pixmap.rect()))
        else:
            p.fillRect(target.adjusted(0.5, 0.5, -0.5, -0.5), theme.PANEL_HI)
        p.fillRect(QRectF(x, lane.top + 2, 1, height), QColor(0, 0, 0, 120))
        x += tw
    p.restore()


def _paint_wave(view: TimelineView, p: QPainter, rect: QRectF) -> None:
    lane = view._lanes["wave"]
    if view._peaks is None:
        return
    x0 = max(math.floor(rect.left()), math.floor(PAD))
    x1 = min(math.ceil(rect.right()), math.ceil(view.x_for_time(view._duration)))
    if x1 <= x0 or not rect.intersects(QRectF(x0, lane.top, x1 - x0, lane.height)):
        return
    image = wave_image(view, x0, x1, int(lane.height) - 4, view.devicePixelRatioF())
    p.drawImage(QPointF(x0, lane.top + 2), image)
    p.fillRect(QRectF(x0, lane.mid, x1 - x0, 1), QColor(theme.WAVEFORM.red(), theme.WAVEFORM.green(),
                                                         theme.WAVEFORM.blue(), 90))


def wave_image(view: TimelineView, x0: int, x1: int, height: int, dpr: float = 1.0) -> QImage:
    """The waveform of scene columns [x0, x1) as one ARGB image at device resolution, built
    with numpy: each device column is the max peak of the media time it covers."""
    assert view._peaks is not None
    peaks, rate = view._peaks, view._peaks_rate
    n = peaks.size
    cols, rows = max(1, round((x1 - x0) * dpr)), max(1, round(height * dpr))
    edges = (x0 + np.arange(cols + 1, dtype=np.float64) / dpr - PAD) / view._pps + view._peaks_start
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


def _paint_media_clips(view: TimelineView, p: QPainter, rect: QRectF, t0: float, t1: float) -> None:
    lane = view._lanes["clips"]
    if not view._clips or not rect.intersects(QRectF(rect.left(), lane.top, rect.width(), lane.height)):
        return
    lo = bisect_left(view._clip_starts, t0 - view._clip_max_len)
    hi = bisect_right(view._clip_starts, t1)
    pps, top0 = view._pps, lane.top + 3
    # Clips a few pixels wide (a whole game in view) are batched per rating colour into one
    # drawRects call each; only wide ones get rounded corners and a name.
    narrow: dict[int, list[QRectF]] = {}
    wide: list[tuple[QRectF, MediaClip]] = []
    for c in view._clips[lo:hi]:
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
        p.setBrush(_clip_fill(rating))
        p.drawRects(rects)
    if wide:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        for r, c in wide:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(_clip_fill(c.rating))
            p.drawRoundedRect(r, 3, 3)
            p.fillRect(QRectF(r.left() + 1, r.top(), r.width() - 2, 2), _clip_edge(c.rating))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    selected = next((c for c in view._clips[lo:hi] if c.uid == view._selected_clip), None)
    if selected is not None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(theme.HANDLE, 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(view._media_clip_rect(selected).adjusted(-1, -1, 1, 1), 4, 4)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)


def _clip_fill(rating: int) -> QColor:
    fill = QColor(theme.rating_color(rating))
    fill.setAlpha(210)
    return fill


def _clip_edge(rating: int) -> QColor:
    return theme.rating_color(rating).lighter(135)


def _paint_segments(view: TimelineView, p: QPainter, rect: QRectF) -> None:
    lane = view._lanes["thumbs"]
    for start, end, speed in view._segments:
        if abs(speed - 1.0) < 1e-9:
            continue
        x0, x1 = view.x_for_time(start), view.x_for_time(end)
        if x1 < rect.left() or x0 > rect.right():
            continue
        tint = QColor(theme.SPEED)
        tint.setAlpha(60)
        top = view._lanes["thumbs"].top
        bottom = view._lanes["wave"].bottom
        p.fillRect(QRectF(x0, top, x1 - x0, bottom - top), tint)
        p.fillRect(QRectF(x0, lane.top, x1 - x0, 2), theme.SPEED)
        _paint_pill(view, p, QPointF(max(x0, rect.left()) + 4, lane.top + 5), format_speed(speed), theme.SPEED,
                         max_right=x1 - 3)


def _paint_pill(view: TimelineView, p: QPainter, at: QPointF, text: str, color: QColor, max_right: float) -> None:
    p.setFont(view._label_font)
    metrics = QFontMetricsF(view._label_font)
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


def _paint_trim(view: TimelineView, p: QPainter, rect: QRectF) -> None:
    # The kept range's edges are always drawn as brackets: they are the trim handles.
    trim = shown_trim(view) or (0.0, view._duration)
    top = RULER_H
    bottom = max(lane.bottom for lane in view._lanes.values())
    hatch = QBrush(QColor(255, 255, 255, 18), Qt.BrushStyle.BDiagPattern)
    for a, b in ((0.0, trim[0]), (trim[1], view._duration)):
        if b - a <= 1e-9:
            continue
        r = QRectF(view.x_for_time(a), top, (b - a) * view._pps, bottom - top)
        if not r.intersects(rect):
            continue
        p.fillRect(r, theme.TRIMMED)
        p.fillRect(r, hatch)
    p.setPen(QPen(theme.ACCENT, 2))
    for t, sign in ((trim[0], 1), (trim[1], -1)):
        x = view.x_for_time(t)
        if rect.left() - 8 <= x <= rect.right() + 8:
            p.drawLine(QPointF(x, top + 1), QPointF(x, bottom - 1))
            p.drawLine(QPointF(x, top + 1), QPointF(x + 6 * sign, top + 1))
            p.drawLine(QPointF(x, bottom - 1), QPointF(x + 6 * sign, bottom - 1))


def _paint_splits(view: TimelineView, p: QPainter, rect: QRectF, t0: float, t1: float) -> None:
    if not view._splits:
        return
    times = [t for _uid, t in view._splits]
    lo, hi = bisect_left(times, t0), bisect_right(times, t1)
    top, bottom = RULER_H, max(lane.bottom for lane in view._lanes.values())
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    for t in times[lo:hi]:
        x = view.x_for_time(t)
        p.setPen(QPen(theme.SPLIT, 2))
        p.drawLine(QPointF(x, top), QPointF(x, bottom))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.SPLIT)
        p.drawPolygon(QPolygonF([QPointF(x - 5, RULER_H - 8), QPointF(x + 5, RULER_H - 8),
                                 QPointF(x, RULER_H - 1)]))
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)


def _keyframe_time(view: TimelineView, uid: str, t: float) -> float:
    drag = view._drag
    if drag is not None and drag.kind is DragKind.KEYFRAME and drag.uid == uid and drag.moved:
        return drag.value[0]
    return t


def _paint_keyframes(view: TimelineView, p: QPainter, rect: QRectF, t0: float, t1: float) -> None:
    lane = view._lanes["keys"]
    if not rect.intersects(QRectF(rect.left(), lane.top, rect.width(), lane.height)):
        return
    p.setPen(QPen(theme.GRID, 1, Qt.PenStyle.DotLine))
    p.drawLine(QPointF(max(rect.left(), PAD), lane.mid), QPointF(min(rect.right(), view.x_for_time(view._duration)),
                                                                  lane.mid))
    if not view._keyframes:
        return
    reach = (HIT_PX + 2) / view._pps
    times = [t for _uid, t in view._keyframes]
    lo, hi = bisect_left(times, t0 - reach), bisect_right(times, t1 + reach)
    visible = list(view._keyframes[lo:hi])
    drag = view._drag
    dragging = drag is not None and drag.kind is DragKind.KEYFRAME and drag.moved
    if drag is not None and dragging and all(uid != drag.uid for uid, _t in visible):
        visible.append((drag.uid, drag.value[0]))
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    for uid, t in visible:
        t = _keyframe_time(view, uid, t)
        selected = uid == view._selected_keyframe
        size = 6.5 if selected else 5.5
        x = view.x_for_time(t)
        diamond = QPolygonF([QPointF(x, lane.mid - size), QPointF(x + size, lane.mid),
                             QPointF(x, lane.mid + size), QPointF(x - size, lane.mid)])
        p.setPen(QPen(theme.HANDLE if selected else QColor(0, 0, 0, 160), 1.2))
        p.setBrush(theme.SELECTION if selected else theme.KEYFRAME)
        p.drawPolygon(diamond)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)


def _paint_regions(view: TimelineView, p: QPainter, rect: QRectF, t0: float, t1: float) -> None:
    lane = view._lanes.get("regions")
    if lane is None or not rect.intersects(QRectF(rect.left(), lane.top, rect.width(), lane.height)):
        return
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setFont(view._label_font)
    for r in view._regions:
        bar = view._region_rect(r)
        if bar.right() < rect.left() or bar.left() > rect.right():
            continue
        color = QColor(theme.REGION if r.enabled else theme.TEXT_DISABLED)
        fill = QColor(color)
        fill.setAlpha(150 if r.enabled else 70)
        p.setPen(QPen(theme.HANDLE, 1.5) if r.uid == view._selected_region else Qt.PenStyle.NoPen)
        p.setBrush(fill)
        p.drawRoundedRect(bar, 3, 3)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.CHIP_BG)
        shift = bar.left() - view.x_for_time(r.start)
        for t in r.key_times:
            x = view.x_for_time(t) + shift
            if bar.left() - 1 <= x <= bar.right() + 1:
                p.drawEllipse(QPointF(x, bar.center().y()), 2.6, 2.6)
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)


def draw_foreground(view: TimelineView, painter: QPainter, rect: QRectF) -> None:
    if view._mode is TimelineMode.EMPTY or view._duration <= 0:
        painter.setPen(theme.TEXT_DIM)
        painter.setFont(theme.ui_font(9))
        shown = view.mapToScene(view.viewport().rect()).boundingRect()
        painter.drawText(shown.adjusted(0, RULER_H, 0, 0), Qt.AlignmentFlag.AlignCenter,
                         "Open a clip or a game to see its timeline")
        return
    bottom = max(lane.bottom for lane in view._lanes.values())
    drag = view._drag
    if drag is not None and drag.snapped_to is not None:
        x = view.x_for_time(drag.snapped_to)
        painter.setPen(QPen(theme.ACCENT, 1, Qt.PenStyle.DashLine))
        painter.drawLine(QPointF(x, RULER_H), QPointF(x, bottom))
    if view._mode is TimelineMode.MEDIA:
        _paint_clip_names(view, painter, rect)
    if view._lost is not None and view._mode is TimelineMode.CLIP and view._lost[0] == view._clip_uid:
        lost_x = view.x_for_time(view._lost[1])
        painter.setPen(QPen(theme.ERROR, 2))
        painter.drawLine(QPointF(lost_x, RULER_H), QPointF(lost_x, bottom))
    _paint_lane_labels(view, painter)
    x = view.x_for_time(view._playhead)
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


def lane_label_right(view: TimelineView, lane: Lane) -> float:
    """Scene x where the lane's pinned caption ends (names start after it)."""
    return view._scroll_x() + 4 + QFontMetricsF(view._label_font).horizontalAdvance(lane.label) + 12


def _paint_clip_names(view: TimelineView, p: QPainter, rect: QRectF) -> None:
    """Names of the marked clips wide enough for one, never under the lane's caption."""
    lane = view._lanes["clips"]
    if not view._clips or not rect.intersects(QRectF(rect.left(), lane.top, rect.width(), lane.height)):
        return
    t0, t1 = view.time_at(rect.left()), view.time_at(rect.right())
    lo = bisect_left(view._clip_starts, t0 - view._clip_max_len)
    hi = bisect_right(view._clip_starts, t1)
    caption_right = lane_label_right(view, lane)
    p.setFont(view._clip_font)
    p.setPen(QColor(10, 10, 12))
    metrics = QFontMetricsF(view._clip_font)
    for c in view._clips[lo:hi]:
        r = view._media_clip_rect(c)
        left = max(r.left() + 5, caption_right) if r.top() < lane.top + 3 + metrics.height() + 4 else r.left() + 5
        width = r.right() - 5 - left
        if width < 26 or r.right() < rect.left():
            continue
        text = metrics.elidedText(c.name or f"★{c.rating}", Qt.TextElideMode.ElideRight, width)
        p.drawText(QRectF(left, r.top(), width, r.height()),
                   Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)


def _paint_lane_labels(view: TimelineView, p: QPainter) -> None:
    # Small captions pinned to the left edge of the view.
    left = view._scroll_x() + 4
    p.setFont(view._label_font)
    metrics = QFontMetricsF(view._label_font)
    for lane in view._lanes.values():
        if not lane.label:
            continue
        w = metrics.horizontalAdvance(lane.label) + 8
        r = QRectF(left, lane.top + 3, w, metrics.height() + 1)
        p.fillRect(r, theme.VEIL)
        p.setPen(theme.TEXT_DIM)
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, lane.label)


__all__ = ["draw_background", "draw_foreground", "lane_label_right", "wave_image"]
