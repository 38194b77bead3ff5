"""The timeline's time scale: scene x is ``PAD + t * pixels_per_second``; ruler tick spacing.

Zooming changes the scale (between the whole media fitting the view and ``MAX_FRAME_PX`` per
frame) and keeps the time under the cursor in place; ticks land on frame starts.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

PAD = 14.0                # scene px before time 0 and after the end
ZOOM_STEP = 1.5
MAX_FRAME_PX = 48.0       # most zoomed in: one frame this wide
MIN_LABEL_SPACING = 110.0  # px between major ruler ticks (a time code label is ~75 px)
MIN_MINOR_SPACING = 7.0


def tick_steps(fps: Fraction, pps: float) -> tuple[float, float]:
    """(major, minor) tick spacing in seconds at ``pps`` pixels per second: frames when zoomed
    in, up to hours."""
    frame = float(1 / fps)
    candidates = [n * frame for n in (1, 2, 5, 10)] + [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
                                                       7200]
    major = next((c for c in candidates if c * pps >= MIN_LABEL_SPACING), candidates[-1])
    minor = major
    for div in (10, 5, 4, 2):
        step = major / div
        if step * pps >= MIN_MINOR_SPACING and (major >= 1 or abs(step / frame - round(step / frame)) < 1e-6):
            minor = step
            break
    return major, minor


def tick_times(step: float, t0: float, t1: float, fps: Fraction) -> np.ndarray:
    """Tick times in [t0, t1], each moved to the start of the first frame at or after it
    (so a second tick sits on that second's frame 00)."""
    k0, k1 = math.floor(t0 / step), math.ceil(t1 / step)
    ks = np.arange(k0, k1 + 1, dtype=np.float64)
    rate = fps.numerator / fps.denominator
    frames = np.ceil(ks * step * rate - 1e-6)
    times = frames / rate
    return times[(times >= t0 - 1e-9) & (times <= t1 + 1e-9)]


__all__ = ["MAX_FRAME_PX", "MIN_LABEL_SPACING", "MIN_MINOR_SPACING", "PAD", "ZOOM_STEP", "tick_steps", "tick_times"]
