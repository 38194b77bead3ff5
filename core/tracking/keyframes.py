"""From a tracked path to keyframes: few spotlight keyframes that keep the Catmull-Rom curve near
the path, and (reframing) a camera-like crop path turned into crop keyframes the same way.

The simplification inserts keyframes greedily where the real interpolation (core.editmath's
``interpolate``, the one preview and export use) strays furthest from the path, never within
the snap distance of another keyframe, until every sample is within tolerance.
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from itertools import pairwise

import numpy as np

from core.editmath import Box, clamp_to_safe, default_crop, interpolate
from core.editmath.timebase import frame_duration
from core.enums import AspectRatio
from core.gestures.fold import SNAP_FRAMES

SPOT_PROPS = ("x", "y", "rx", "ry")
CROP_PROPS = ("x", "y", "width", "height")
# The spotlight follows the path within this many source pixels; the crop within CROP_TOL_PX.
SPOT_TOL_PX = 3.0
CROP_TOL_PX = 2.0
# The ring around a tracked box (half-axes as a share of the box's width and height).
RING_RX, RING_RY = 0.65, 0.6

# The camera operator: no motion while the player stays within the dead zone (share of the crop
# width around its centre), a spring pulling the player back towards it, bounded acceleration,
# and a look-ahead, since the whole path is known (an operator anticipates the run).
DEAD_ZONE = 0.08
SPRING_PER_S = 3.0
MAX_ACCEL = 0.8   # crop widths per second squared
LOOK_AHEAD_S = 0.25


def _max_error(times: Sequence[float], values: np.ndarray, props: Sequence[str], keep: list[int]) -> np.ndarray:
    """Per sample, the largest distance (over props) of the interpolated curve from the path."""
    kfs = [(times[i], dict(zip(props, values[i], strict=True))) for i in keep]
    curve = np.array([[_at(kfs, x, props)[p] for p in props] for x in times])
    error: np.ndarray = np.abs(curve - values).max(axis=1)
    return error


def _at(kfs: Sequence[tuple[float, dict[str, float]]], t: float, props: Sequence[str]) -> dict[str, float]:
    values = interpolate(kfs, t, props)
    if values is None:  # only without keyframes, and the simplified path always keeps its ends
        raise ValueError("no keyframes to interpolate")
    return values


def simplify(times: Sequence[float], values: np.ndarray, props: Sequence[str], tol: float,
             fps: Fraction) -> list[int]:
    """Indices of the samples to keep as keyframes so that the interpolated curve stays within
    ``tol`` of the path; kept samples are more than SNAP_FRAMES apart.

    A span whose curve strays beyond ``tol`` is halved (a keyframe at its middle sample) while
    halves stay beyond the snap distance, which keeps neighbouring spacings alike, as the
    uniform Catmull-Rom wants; then every keyframe the curve can do without is dropped. Where
    a span is too short to halve (fast turns, and the eased-in first and last spans) the curve
    may stray a few pixels more."""
    n = len(times)
    if n == 0:
        return []
    gap = SNAP_FRAMES * frame_duration(fps) + 1e-6
    t = np.asarray(times, dtype=float)
    if t[-1] - t[0] <= gap:
        return [0]
    keep = [0, n - 1]
    while True:
        err = _max_error(times, values, props, keep)
        split = [(a + b) // 2 for a, b in pairwise(keep)
                 if err[a:b + 1].max() > tol and t[(a + b) // 2] - t[a] > gap and t[b] - t[(a + b) // 2] > gap]
        if not split:
            break
        keep = sorted(keep + split)
    bound = np.maximum(tol, err)
    for i in list(keep[1:-1]):
        trial = [k for k in keep if k != i]
        if (_max_error(times, values, props, trial) <= bound).all():
            keep = trial
    return keep


def spotlight_keyframes(times: Sequence[float], boxes: np.ndarray, fps: Fraction) -> list[dict[str, float]]:
    """Region keyframes (time, x, y, rx, ry) for per-frame boxes ``[cx, cy, w, h]``."""
    values = np.column_stack([boxes[:, 0], boxes[:, 1], RING_RX * boxes[:, 2], RING_RY * boxes[:, 3]])
    keep = simplify(times, values, SPOT_PROPS, SPOT_TOL_PX, fps)
    return [{"time": times[i], **{p: float(values[i, j]) for j, p in enumerate(SPOT_PROPS)}} for i in keep]


def camera_path(times: Sequence[float], centres: np.ndarray, frame_w: float, frame_h: float,
                aspect: AspectRatio, rotation: float) -> np.ndarray:
    """Per-sample crop boxes ``[x, y, width, height]`` of the project's aspect, moved like a
    camera following ``centres`` and kept inside the rotated frame's safe area."""
    size = clamp_to_safe(default_crop(frame_w, frame_h, aspect), frame_w, frame_h, rotation)
    cw, ch = size.width, size.height
    n = len(times)
    dt = (times[-1] - times[0]) / max(1, n - 1) if n > 1 else 1.0
    ahead = max(0, round(LOOK_AHEAD_S / dt)) if dt > 0 else 0
    dead = DEAD_ZONE * np.array([cw, ch])
    a_max = MAX_ACCEL * cw * dt * dt
    k = min(1.0, SPRING_PER_S * dt)
    pos = centres[0].astype(float).copy()
    vel = np.zeros(2)
    out = np.empty((n, 4))
    for i in range(n):
        target = centres[min(n - 1, i + ahead)]
        off = target - pos
        want = np.sign(off) * np.maximum(np.abs(off) - dead, 0.0) * k
        vel += np.clip(want - vel, -a_max, a_max)
        pos += vel
        box = clamp_to_safe(Box(pos[0] - cw / 2, pos[1] - ch / 2, cw, ch), frame_w, frame_h, rotation)
        clamped = np.array(box.center)
        vel[clamped != pos] = 0.0  # against the edge of the picture: stop there, no bounce
        pos = clamped
        out[i] = (box.x, box.y, box.width, box.height)
    return out


def crop_keyframes(times: Sequence[float], crops: np.ndarray, fps: Fraction) -> list[dict[str, float]]:
    keep = simplify(times, crops, CROP_PROPS, CROP_TOL_PX, fps)
    return [{"time": times[i], **{p: float(crops[i, j]) for j, p in enumerate(CROP_PROPS)}} for i in keep]
