"""Export frame size: a preset per aspect, and when an upscaler runs (docs/ARCHITECTURE.md, "Edit math").

The output size is chosen, never derived from the crop: an upscaled export is exactly as large as
the plain one. The upscaler only runs on frames whose crop is smaller than the output.
"""
from __future__ import annotations

import math
from fractions import Fraction

from core.enums import AspectRatio

# Short sides of the presets, the first is the default (1080x1920, 1920x1080, 1080x1080, 1080x1350).
SHORT_SIDES = (1080, 1440, 2160)


def _even(x: Fraction) -> int:
    """Nearest even integer (halves up), at least 2: encoders need even sizes."""
    return max(2, 2 * math.floor(x / 2 + Fraction(1, 2)))


def output_size(aspect: AspectRatio, short_side: int = SHORT_SIDES[0]) -> tuple[int, int]:
    """(width, height) of the preset of ``aspect`` whose short side is ``short_side``."""
    if short_side not in SHORT_SIDES:
        raise ValueError(f"output size must have a short side of "
                         f"{', '.join(map(str, SHORT_SIDES))}, got {short_side}")
    r = aspect.ratio
    if r >= 1:
        return _even(short_side * r), short_side
    return short_side, _even(short_side / r)


def size_presets(aspect: AspectRatio) -> tuple[tuple[int, int], ...]:
    """Every preset of ``aspect``, the default first."""
    return tuple(output_size(aspect, s) for s in SHORT_SIDES)


def parse_size(text: str, aspect: AspectRatio) -> tuple[int, int]:
    """A preset from ``WIDTHxHEIGHT`` or its short side (``1440`` / ``1440p``); ValueError names
    the presets of the aspect otherwise."""
    value = text.strip().lower().removesuffix("p")
    presets = size_presets(aspect)
    for w, h in presets:
        if value in (f"{w}x{h}", str(min(w, h))):
            return w, h
    choices = ", ".join(f"{w}x{h}" for w, h in presets)
    raise ValueError(f"{text!r} is not an output size of a {aspect.value} reel; choose {choices}")


def needs_upscale(crop: tuple[float, float], output: tuple[int, int]) -> bool:
    """Whether a frame whose crop is ``crop`` (source pixels) must be enlarged to fill ``output``."""
    return crop[0] < output[0] or crop[1] < output[1]
