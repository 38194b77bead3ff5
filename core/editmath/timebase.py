"""Frame/second conversions against a media's real (rational) frame rate.

Everything is plain float arithmetic on the fraction's numerator/denominator: these run per
frame, and ``Fraction`` arithmetic is ~50x slower than floats.
"""
from __future__ import annotations

import math
from fractions import Fraction

# In frames: absorbs float error so a time produced by frame_time(i) maps back to i even for
# hours of 29.97 fps footage (error there is ~1e-10 frames), while staying far below a frame.
_FRAME_EPS = 1e-6


def frame_duration(fps: Fraction) -> float:
    """Length of one frame in seconds."""
    return fps.denominator / fps.numerator


def frame_index(t: float, fps: Fraction) -> int:
    """Index of the frame shown at time ``t`` (floor; a time on a boundary belongs to that frame).

    Negative times give negative indices; callers clamp to their media.
    """
    return math.floor(t * fps.numerator / fps.denominator + _FRAME_EPS)


def frame_time(i: int, fps: Fraction) -> float:
    """Start time of frame ``i`` in seconds."""
    return i * fps.denominator / fps.numerator


def snap_to_frame(t: float, fps: Fraction) -> float:
    """Start time of the frame start nearest to ``t`` (halves round up)."""
    return frame_time(math.floor(t * fps.numerator / fps.denominator + 0.5), fps)
