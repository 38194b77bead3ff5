"""Export frame size, with or without AI upscaling (DESIGN §5)."""
from __future__ import annotations

import math
from fractions import Fraction

from core.enums import AspectRatio

UPSCALE_FACTOR = 4
MAX_UPSCALED_W = 2560
MAX_UPSCALED_H = 1440
_SHORT_SIDE = 1080  # without upscaling the short side is 1080 (1080x1920, 1920x1080, ...)


def _even(x: Fraction) -> int:
    """Nearest even integer (halves up), at least 2: encoders need even sizes."""
    return max(2, 2 * math.floor(x / 2 + Fraction(1, 2)))


def _default_size(aspect: AspectRatio) -> tuple[int, int]:
    r = aspect.ratio
    if r >= 1:
        return _even(_SHORT_SIDE * r), _SHORT_SIDE
    return _SHORT_SIDE, _even(_SHORT_SIDE / r)


def output_size(
    aspect: AspectRatio, smallest_crop: tuple[float, float] | None, upscale: bool
) -> tuple[int, int]:
    """(width, height) of the export.

    Upscaled: the smallest crop x4, fitted inside to the exact ratio (the limiting side wins, so
    nothing is invented beyond the x4), capped at 2560x1440 keeping the ratio, rounded to even
    numbers. No upscaling, or an unknown / empty smallest crop: the 1080-short-side default.
    """
    if not upscale or smallest_crop is None:
        return _default_size(aspect)
    cw, ch = smallest_crop
    if cw <= 0 or ch <= 0:
        return _default_size(aspect)
    r = aspect.ratio
    # Fractions keep the ratio exact until the final rounding (floats convert losslessly).
    w, h = Fraction(cw) * UPSCALE_FACTOR, Fraction(ch) * UPSCALE_FACTOR
    if w > h * r:
        w = h * r
    else:
        h = w / r
    scale = min(Fraction(1), Fraction(MAX_UPSCALED_W) / w, Fraction(MAX_UPSCALED_H) / h)
    return _even(w * scale), _even(h * scale)
