"""The renderer's spotlight on YUV planes at the output size: dim outside the regions, optional fill,
ring (or ground shape). Every number (which regions, fade, place, ring width, dim level) comes from
``core.editmath.spotlight``, which the editor's viewer draws from too. The render's warp does the
dimming in its own pass over the picture (``Spotlight.dimming``); the blends compute only the
pixels their anti-aliased masks cover."""
from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from core.editmath.spotlight import Ellipse, dim_opacity, ring_ellipse, ring_width
from core.export.planes import BLACK, Planes, Rect, crop as _crop, rgb_to_yuv as _rgb_to_yuv
from core.export.spec import OverlayStyle

__all__ = ["Dimming", "Spotlight"]

_SHIFT = 4  # cv2 drawing: 4 fractional bits, so rings move smoothly by sub-pixels


@dataclass(frozen=True, slots=True)
class Dimming:
    """How the spotlight dims a picture, per plane: the level table for outside the regions and
    the box around their bodies (whose undimmed pixels ``Spotlight.apply`` blends back in)."""
    tables: tuple[np.ndarray, np.ndarray, np.ndarray]
    boxes: tuple[Rect, Rect, Rect]


class Spotlight:
    """Draws regions onto YUV planes: dim outside, optional fill, ring (or ground shape)."""

    def __init__(self, style: OverlayStyle, w: int, h: int) -> None:
        self._style = style
        self._color = _rgb_to_yuv(style.rgb)
        self._stroke = ring_width(style.stroke, w, h)
        self._masks = (np.zeros((h, w), np.uint8), np.zeros((h // 2, w // 2), np.uint8))

    def dimming(self, shapes: Sequence[tuple[Ellipse, float]]) -> Dimming | None:
        """The dimming of ``shapes`` (as in ``apply``), or None when they dim nothing."""
        level = 1.0 - dim_opacity(self._style.dim, [alpha for _body, alpha in shapes])
        if level >= 1.0:
            return None
        boxes = [_union(_bounds(mask.shape, body, scale, -1) for body, _alpha in shapes)
                 for mask, scale in ((self._masks[0], 1.0), (self._masks[1], 0.5), (self._masks[1], 0.5))]
        luma, chroma = _dim_table(BLACK[0], level), _dim_table(BLACK[1], level)
        return Dimming((luma, chroma, chroma), (boxes[0], boxes[1], boxes[2]))

    def apply(self, planes: Planes, shapes: Sequence[tuple[Ellipse, float]],
              undimmed: Sequence[np.ndarray] | None = None) -> None:
        """Draw (body ellipse in output pixels, opacity) shapes of ``_spotlight_shapes``.
        ``undimmed``: the planes are already dimmed by ``dimming(shapes)``'s tables (the warp
        did it) and these are the pixels of its boxes from before."""
        style = self._style
        dim = self.dimming(shapes)
        for i, plane in enumerate(planes):
            scale = 1.0 if i == 0 else 0.5
            mask = self._masks[0 if i == 0 else 1]
            if dim is not None:
                # Dim everything, then restore the inside of the union of ellipses.
                box = dim.boxes[i]
                if undimmed is None:
                    keep = _crop(plane, box).copy()
                    cv2.LUT(plane, dim.tables[i], dst=plane)
                else:
                    keep = undimmed[i]
                for body, _alpha in shapes:
                    _ellipse(mask, body, scale, -1)
                _blend(plane, mask, box, keep, 1.0)
            for body, alpha in shapes:
                shape = ring_ellipse(body, style.shape)
                if style.fill_opacity > 0:
                    box = _ellipse(mask, shape, scale, -1)
                    _blend(plane, mask, box, self._color[i], style.fill_opacity * alpha)
                if self._stroke > 0:
                    thickness = max(1, round(self._stroke * scale))
                    box = _ellipse(mask, shape, scale, thickness)
                    _blend(plane, mask, box, self._color[i], alpha)


@functools.lru_cache(maxsize=64)  # asked twice per frame; the level changes only while fading
def _dim_table(black: int, level: float) -> np.ndarray:
    """Levels moved towards ``black`` to ``level`` (1: unchanged) of their distance."""
    table: np.ndarray = np.clip(black + (np.arange(256) - black) * level + 0.5, 0, 255).astype(np.uint8)
    table.flags.writeable = False
    return table


def _ellipse(mask: np.ndarray, shape: Ellipse, scale: float, thickness: int) -> Rect:
    """Draw an anti-aliased ellipse (filled if thickness < 0) into ``mask``; return its bounds,
    clipped to the mask."""
    cx, cy, rx, ry = shape.x * scale - 0.5, shape.y * scale - 0.5, shape.rx * scale, shape.ry * scale
    f = 1 << _SHIFT  # (cx, cy): continuous coords -> cv2 pixel-centre coords
    cv2.ellipse(
        mask, (round(cx * f), round(cy * f)), (max(1, round(rx * f)), max(1, round(ry * f))),
        0, 0, 360, 255, thickness, cv2.LINE_AA, _SHIFT,
    )
    return _bounds(mask.shape, shape, scale, thickness)


def _bounds(size: tuple[int, ...], shape: Ellipse, scale: float, thickness: int) -> Rect:
    """Where ``_ellipse`` draws, clipped to a mask of ``size``."""
    cx, cy, rx, ry = shape.x * scale - 0.5, shape.y * scale - 0.5, shape.rx * scale, shape.ry * scale
    pad = max(thickness, 0) / 2 + 2
    h, w = size
    return (
        max(0, math.floor(cx - rx - pad)), max(0, math.floor(cy - ry - pad)),
        min(w, math.ceil(cx + rx + pad) + 1), min(h, math.ceil(cy + ry + pad) + 1),
    )


def _union(rects: Iterable[Rect]) -> Rect:
    rs = list(rects)
    return (min(r[0] for r in rs), min(r[1] for r in rs),
            max(r[2] for r in rs), max(r[3] for r in rs))


def _blend(
    plane: np.ndarray, mask: np.ndarray, r: Rect, target: float | np.ndarray, opacity: float
) -> None:
    """plane += (target - plane) · mask · opacity inside ``r``; then clear the mask there.

    Only the pixels the mask covers are computed (a ring is a thin line in a large box). An
    opaque blend towards a picture (``target`` an array, ``opacity`` 1) copies it where the mask
    is full: the formula gives exactly that (255 · float32(1/255) is 1), so only the
    anti-aliased edge is computed."""
    if r[2] <= r[0] or r[3] <= r[1]:
        return
    region, m = _crop(plane, r), _crop(mask, r)
    covered = m
    if isinstance(target, np.ndarray) and opacity == 1.0:
        cv2.copyTo(target, cv2.inRange(m, 255, 255), region)  # in place: region is a view
        covered = cv2.inRange(m, 1, 254)
    points = cv2.findNonZero(covered)
    if points is not None:
        xs, ys = points[:, 0, 0], points[:, 0, 1]
        at = (ys + r[1]) * plane.shape[1] + (xs + r[0])  # flat indexes: faster than (ys, xs) pairs
        flat = np.reshape(plane, -1, copy=False)  # the planes of yuv_views are contiguous
        goal = target.reshape(-1)[ys * target.shape[1] + xs] if isinstance(target, np.ndarray) else target
        p = flat[at].astype(np.float32)
        weight = np.reshape(mask, -1, copy=False)[at].astype(np.float32) * np.float32(opacity / 255.0)
        p += (np.asarray(goal, np.float32) - p) * weight
        flat[at] = (p + 0.5).astype(np.uint8)
    m[...] = 0
