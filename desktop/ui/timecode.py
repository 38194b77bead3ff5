"""Time codes as the editor shows them: one format for the ruler, its tooltips and the transport
clock. Minutes, seconds and hundredths (like every other time in the app) by default; View ▸
"Time codes in frames" switches both to HH:MM:SS:FF (a library setting)."""
from __future__ import annotations

import math
from fractions import Fraction

from core.editmath import frame_index, frame_time
from desktop.ui.undo import fmt_time

FRAMES_SETTING = "ui.timecode_frames"


def format_timecode(t: float, fps: Fraction) -> str:
    """HH:MM:SS:FF of the frame shown at ``t``: the seconds are real seconds (no drift at 29.97)
    and FF counts frames since the first frame that starts in that second."""
    n = max(0, frame_index(max(0.0, t), fps))
    start = frame_time(n, fps)
    sec = math.floor(start + 1e-9)
    first = math.ceil(sec * fps.numerator / fps.denominator - 1e-6)
    ff = max(0, n - first)
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{ff:02d}"


def clock_text(t: float, fps: Fraction, frames: bool) -> str:
    return format_timecode(t, fps) if frames else fmt_time(t)


__all__ = ["FRAMES_SETTING", "clock_text", "format_timecode"]
