"""Rotation safe area: the crop must stay inside the rotated frame (docs/ARCHITECTURE.md, "Edit math")."""
from __future__ import annotations

import math

from core.editmath.box import Box, fit_inside

MAX_ROTATION_DEG = 20.0


def clamp_rotation(degrees: float) -> float:
    """Limit a rotation to ±MAX_ROTATION_DEG."""
    return max(-MAX_ROTATION_DEG, min(MAX_ROTATION_DEG, degrees))


def safe_rect(frame_w: float, frame_h: float, degrees: float) -> Box:
    """Largest-area axis-aligned rectangle inside the frame rotated by ``degrees`` about its
    centre, centred (closed form of the "largest rotated rectangle" problem)."""
    if frame_w <= 0 or frame_h <= 0:
        return Box(frame_w / 2.0, frame_h / 2.0, 0.0, 0.0)
    if degrees == 0.0:
        return Box(0.0, 0.0, frame_w, frame_h)
    a = math.radians(degrees)
    sin_a, cos_a = abs(math.sin(a)), abs(math.cos(a))
    width_is_longer = frame_w >= frame_h
    long_side, short_side = (frame_w, frame_h) if width_is_longer else (frame_h, frame_w)
    if short_side <= 2.0 * sin_a * cos_a * long_side or abs(sin_a - cos_a) < 1e-10:
        # Half constrained: two corners touch the longer sides, the other two sit on the
        # mid-line parallel to them.
        half = 0.5 * short_side
        w, h = (half / sin_a, half / cos_a) if width_is_longer else (half / cos_a, half / sin_a)
    else:
        # Fully constrained: one corner on each side of the rotated frame.
        cos_2a = cos_a * cos_a - sin_a * sin_a
        w = (frame_w * cos_a - frame_h * sin_a) / cos_2a
        h = (frame_h * cos_a - frame_w * sin_a) / cos_2a
    return Box((frame_w - w) / 2.0, (frame_h - h) / 2.0, w, h)


def clamp_to_safe(box: Box, frame_w: float, frame_h: float, degrees: float) -> Box:
    """Shrink ``box`` around its centre (aspect kept) to fit the safe rect, then shift inside."""
    safe = safe_rect(frame_w, frame_h, degrees)
    return fit_inside(box, safe.x, safe.y, safe.width, safe.height)
