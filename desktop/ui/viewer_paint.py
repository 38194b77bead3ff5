"""Painting the viewer: the picture (a plain blit when playback converted it to the display size),
the crop editor (dim outside, thirds, handles, size chip) and the spotlight editor. Every spotlight
number painted (which regions, fade, place, ground shape, ring width, dim) comes from
``core.editmath.spotlight`` through ``VideoViewer.overlay_shapes``, as the renderer draws them.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap

from core.editmath import safe_rect
from core.editmath.spotlight import DEFAULT_OVERLAY_STYLE
from desktop.ui import theme
from desktop.ui.viewer_edit import HANDLE_SIZE, ViewerMode, crop_handles, ellipse_rect, region_handles

if TYPE_CHECKING:
    from desktop.ui.viewer import VideoViewer


def paint_viewer(view: VideoViewer) -> None:
    """The whole viewer: the picture letterboxed, then the mode's editor and the text overlays."""
    p = QPainter(view)
    try:
        p.fillRect(view.rect(), theme.BG)
        fr = view.frame_rect()
        if fr.isEmpty():
            _paint_placeholder(view, p, "No video")
            return
        # Painted area: whole device pixels (at most one short of the exact frame), so the
        # picture and the dim veil end on the same pixel row instead of a blended seam.
        dpr = view.devicePixelRatioF()
        fr = QRectF(fr.left(), fr.top(), math.floor(fr.width() * dpr + 1e-6) / dpr,
                    math.floor(fr.height() * dpr + 1e-6) / dpr)
        p.fillRect(fr, QColor(0, 0, 0))
        _paint_picture(view, p, fr)
        if view._clip_uid is None or view._mode is ViewerMode.PLAIN:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if view._mode is ViewerMode.FRAME:
            _paint_frame_mode(view, p, fr)
        else:
            _paint_spotlight_mode(view, p, fr)
        box = view.crop_box()
        if box is not None:
            view._text.paint(p, view.box_to_widget(box), view._t)
    finally:
        p.end()


def _paint_placeholder(view: VideoViewer, p: QPainter, text: str) -> None:
    p.setPen(theme.TEXT_DIM)
    p.setFont(theme.ui_font(10))
    p.drawText(view.rect(), Qt.AlignmentFlag.AlignCenter, text)


def _paint_picture(view: VideoViewer, p: QPainter, fr: QRectF) -> None:
    if view._image is None:
        return
    rot = view._effective_rotation()
    dpr = view.devicePixelRatioF()
    if not rot and _fits(view, round(fr.width() * dpr), round(fr.height() * dpr)):
        p.drawImage(fr, view._image)  # converted to this size by playback: a plain blit
        return
    if not rot:
        # Into exactly the frame rect: the pixmap is whole device pixels, the rect may not be,
        # and a seam would show between the picture and the dim veil.
        pixmap = _scaled_pixmap(view, fr)
        p.drawPixmap(fr, pixmap, QRectF(pixmap.rect()))
        return
    p.save()
    p.setClipRect(fr)
    p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    p.setTransform(view.picture_transform())
    p.drawImage(QRectF(0, 0, view._src_w, view._src_h), view._image)
    p.restore()


def _fits(view: VideoViewer, w: int, h: int) -> bool:
    """Playback converts pictures to the display size on its worker: within two pixels of
    it, the picture is drawn as is (a smooth rescale here costs the UI thread milliseconds)."""
    assert view._image is not None
    return abs(view._image.width() - w) <= 2 and abs(view._image.height() - h) <= 2


def _scaled_pixmap(view: VideoViewer, fr: QRectF) -> QPixmap:
    """The frame scaled once to device pixels (crisp on HiDPI), reused while only overlays change."""
    assert view._image is not None
    dpr = view.devicePixelRatioF()
    w, h = max(1, round(fr.width() * dpr)), max(1, round(fr.height() * dpr))
    key = (view._image.cacheKey(), w, h)
    if view._scaled is None or view._scaled[0] != key:
        scaled = view._image.scaled(w, h, Qt.AspectRatioMode.IgnoreAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
        pixmap = QPixmap.fromImage(scaled)
        pixmap.setDevicePixelRatio(dpr)
        view._scaled = (key, pixmap)
    return view._scaled[1]


def _paint_frame_mode(view: VideoViewer, p: QPainter, fr: QRectF) -> None:
    box = view.crop_box()
    if box is None:
        return
    rect = view.box_to_widget(box)
    outside = QPainterPath()
    outside.setFillRule(Qt.FillRule.OddEvenFill)
    outside.addRect(fr)
    outside.addRect(rect)
    p.fillPath(outside, theme.DIM)
    if view._rotation:
        _paint_rotation_guides(view, p)
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
    _paint_handles(view, p, crop_handles(rect).values())
    on_key = view._snap_keyframe() is not None
    label = f"{view._aspect.value}  ·  {round(box.width)}×{round(box.height)}"
    if view._rotation:
        label += f"  ·  {view._rotation:+.1f}°"
    _paint_chip(view, p, QPointF(rect.left() + 6, rect.top() + 6), label,
                     "◆ keyframe" if on_key else "")


def _paint_rotation_guides(view: VideoViewer, p: QPainter) -> None:
    # The rotated picture's outline and the safe area the crop is kept inside.
    p.save()
    p.setClipRect(view.frame_rect().adjusted(0, 0, -0.5, -0.5))
    p.setTransform(view.picture_transform(), True)
    p.setPen(QPen(QColor(255, 255, 255, 90), 0, Qt.PenStyle.SolidLine))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(QRectF(0, 0, view._src_w, view._src_h))
    p.restore()
    safe = view.box_to_widget(safe_rect(view._src_w, view._src_h, view._rotation))
    p.setPen(QPen(QColor(255, 255, 255, 120), 1, Qt.PenStyle.DashLine))
    p.drawRect(safe)


def _paint_handles(view: VideoViewer, p: QPainter, centres: Any) -> None:
    p.setPen(QPen(theme.BORDER, 1))
    p.setBrush(theme.HANDLE)
    half = HANDLE_SIZE / 2
    for c in centres:
        p.drawRect(QRectF(c.x() - half, c.y() - half, HANDLE_SIZE, HANDLE_SIZE))


def _paint_chip(view: VideoViewer, p: QPainter, at: QPointF, text: str, badge: str = "") -> None:
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


def _paint_spotlight_mode(view: VideoViewer, p: QPainter, fr: QRectF) -> None:
    box = view.crop_box()
    style = view._style
    color = QColor(style.get("color") or DEFAULT_OVERLAY_STYLE["color"])
    overlay = view.overlay_shapes()
    if overlay.dim > 0:
        holes = QPainterPath()
        for _uid, body, _ring, _alpha in overlay.regions:
            hole = QPainterPath()
            hole.addEllipse(ellipse_rect(body))
            holes = holes.united(hole)
        outside = QPainterPath()
        outside.addRect(fr)
        p.fillPath(outside.subtracted(holes), QColor(0, 0, 0, round(255 * overlay.dim)))
    if box is not None:
        # The output framing, for reference: the ring must sit inside it to be seen.
        p.setPen(QPen(QColor(255, 255, 255, 110), 1, Qt.PenStyle.DashLine))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(view.box_to_widget(box))
    fill = float(style.get("fill_opacity") or 0.0)
    for uid, body, ring, alpha in overlay.regions:
        rect = ellipse_rect(ring)
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
        if uid == view._selected_region or (view._drag is not None and view._drag.region == uid):
            p.setPen(QPen(theme.REGION, 1, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(ellipse_rect(body))
            _paint_handles(view, p, region_handles(ellipse_rect(body)).values())
    if not overlay.regions:
        _paint_chip(view, p, QPointF(fr.left() + 8, fr.top() + 8), "No spotlight at this time")


__all__ = ["paint_viewer"]
