"""Crop boxes: default framing, clamping, aspect changes, keyframe snapping (docs/ARCHITECTURE.md, "Edit math")."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

from core.editmath.box import Box, fit_inside
from core.editmath.interpolation import interpolate
from core.editmath.rotation import clamp_to_safe
from core.enums import AspectRatio

__all__ = [
    "CROP_PROPS",
    "Box",
    "clamp_box",
    "crop_at",
    "default_crop",
    "find_snap_keyframe",
    "refit_crop",
]

CROP_PROPS: tuple[str, ...] = ("x", "y", "width", "height")
# Tolerance for "same distance" when breaking snap ties (float times like 1.1 - 1.0).
_TIE_EPS = 1e-9


def _default_height(frame_w: float, frame_h: float, ratio: float) -> float:
    """Height of the largest box of width/height ``ratio`` that fits the frame."""
    return frame_h if frame_w >= frame_h * ratio else frame_w / ratio


def default_crop(frame_w: float, frame_h: float, aspect: AspectRatio) -> Box:
    """Largest box of the aspect that fits the frame, centred."""
    r = aspect.ratio
    num, den = r.numerator, r.denominator
    if frame_w * den >= frame_h * num:  # frame at least as wide as the ratio: full height
        h = float(frame_h)
        w = frame_h * num / den
    else:
        w = float(frame_w)
        h = frame_w * den / num
    return Box((frame_w - w) / 2.0, (frame_h - h) / 2.0, w, h)


def clamp_box(box: Box, frame_w: float, frame_h: float) -> Box:
    """Shrink around the centre (aspect kept) if larger than the frame, then shift inside."""
    return fit_inside(box, 0.0, 0.0, frame_w, frame_h)


def refit_crop(box: Box, new_aspect: AspectRatio, frame_w: float, frame_h: float) -> Box:
    """Re-frame ``box`` for a new project aspect, keeping its centre and zoom.

    zoom = box.height / height of the default crop of the box's *own* ratio (width/height),
    i.e. the linear scale against the largest box of that ratio. The result is the new aspect's
    default crop scaled by that zoom, centred where the box was, then clamped to the frame.
    Default maps to default, and without clamping 9:16 -> 16:9 -> 9:16 returns the box.
    """
    if box.width <= 0 or box.height <= 0:
        return default_crop(frame_w, frame_h, new_aspect)
    zoom = box.height / _default_height(frame_w, frame_h, box.width / box.height)
    target = default_crop(frame_w, frame_h, new_aspect)
    w, h = target.width * zoom, target.height * zoom
    cx, cy = box.center
    return clamp_box(Box(cx - w / 2.0, cy - h / 2.0, w, h), frame_w, frame_h)


def find_snap_keyframe(
    keyframes: Sequence[tuple[str, float]], t: float, fps: Fraction, frames: int = 10
) -> str | None:
    """Uid of the nearest keyframe within ``frames`` frames of ``t`` (adding a keyframe there
    updates it instead). Ties go to the earlier time; at equal times to the later in sequence,
    the one interpolation uses."""
    limit = frames * fps.denominator / fps.numerator + 1e-9
    best_uid: str | None = None
    best_dt = best_time = 0.0
    for uid, time in keyframes:
        dt = abs(time - t)
        if dt > limit:
            continue
        if (
            best_uid is None
            or dt < best_dt - _TIE_EPS
            or (dt <= best_dt + _TIE_EPS and time <= best_time)
        ):
            best_uid, best_dt, best_time = uid, dt, time
    return best_uid


def crop_at(
    keyframes: Sequence[tuple[float, Mapping[str, float]]],
    t: float,
    frame_w: float,
    frame_h: float,
    aspect: AspectRatio,
    rotation_deg: float = 0.0,
) -> Box:
    """The crop at source time ``t``: interpolated keyframes (sorted by time) or the default
    crop, kept inside the rotation safe area (which is the whole frame at 0°)."""
    values = interpolate(keyframes, t, CROP_PROPS)
    if values is None:
        box = default_crop(frame_w, frame_h, aspect)
    else:
        box = Box(values["x"], values["y"], values["width"], values["height"])
        if box.width <= 0 or box.height <= 0:
            # Only reachable via Catmull-Rom overshoot on wild keyframes; fall back sanely.
            box = default_crop(frame_w, frame_h, aspect)
    return clamp_to_safe(box, frame_w, frame_h, rotation_deg)
