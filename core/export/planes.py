"""YUV 4:2:0 plane operations of the renderer: views into one flat buffer, the affine warp
(rotate + crop + scale in one pass per plane, through a level table in the same pass: full ->
limited range, the spotlight's dimming)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import av
import cv2
import numpy as np

__all__ = [
    "BLACK", "FULL_RANGE", "LIMITED_RANGE", "Planes", "Rect", "crop", "cv_maps", "even_up", "fit_i420", "frame_planes",
    "rgb_to_yuv", "warp_planes", "yuv_views",
]

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]  # Y, U, V of a yuv420p picture
BLACK = (16, 128, 128)  # limited-range YUV black: what fades and the spotlight's dim go towards
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) of a plane


def frame_planes(frame: av.VideoFrame) -> Planes:
    """Y, U, V of a frame as numpy views (no copy for yuv420p sources)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")  # full-range, 4:2:2, 10-bit... -> 8-bit 4:2:0
    out = []
    for plane in frame.planes:
        a = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        out.append(a[:, : plane.width])
    return out[0], out[1], out[2]


def cv_maps(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x3 inverse maps (destination index -> source index) for cv2.warpAffine on the luma and
    the half-size chroma planes, from a continuous-coordinate map (pixel centres at +0.5)."""
    lin, c = m[:2, :2], m[:2, 2]
    centre = lin @ np.array([0.5, 0.5])
    luma = np.hstack([lin, (centre + c - 0.5)[:, None]])
    chroma = np.hstack([lin, (centre + c / 2.0 - 0.5)[:, None]])
    return luma, chroma


FULL_RANGE = 2  # AVCOL_RANGE_JPEG
_LIMIT_LUMA = np.round(16 + np.arange(256) * (219 / 255)).astype(np.uint8)
_LIMIT_CHROMA = np.round(128 + (np.arange(256) - 128) * (224 / 255)).astype(np.uint8)
LIMITED_RANGE = (_LIMIT_LUMA, _LIMIT_CHROMA, _LIMIT_CHROMA)  # full -> limited range, per plane


def rgb_to_yuv(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """BT.709 limited range, what players assume for HD output."""
    r, g, b = (c / 255.0 for c in rgb)
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 16 + 219 * y, 128 + 224 * (b - y) / 1.8556, 128 + 224 * (r - y) / 1.5748


def even_up(x: float) -> int:
    return max(2, 2 * math.ceil(x / 2))


def yuv_views(buf: np.ndarray, w: int, h: int) -> Planes:
    """Y, U, V views into one flat yuv420p buffer."""
    n = w * h
    return (
        buf[:n].reshape(h, w),
        buf[n: n + n // 4].reshape(h // 2, w // 2),
        buf[n + n // 4:].reshape(h // 2, w // 2),
    )


def crop(a: np.ndarray, r: Rect) -> np.ndarray:
    return a[r[1]:r[3], r[0]:r[2]]


def warp_planes(
    src: Planes, dst: Planes, luma: np.ndarray, chroma: np.ndarray, flags: int,
    tables: Sequence[np.ndarray | None] = (None, None, None),
    keep: Sequence[Rect | None] = (None, None, None),
) -> list[np.ndarray | None]:
    """Warp each plane into ``dst`` through its 256-level table (None: as warped), the table in
    the same pass that writes the picture (no second pass over the frame). Returns, per plane, a
    copy of the warped pixels of its ``keep`` rectangle as they were before the table."""
    kept: list[np.ndarray | None] = []
    for i, (s, d) in enumerate(zip(src, dst, strict=True)):
        m = luma if i == 0 else chroma
        warped = _scaled(s, d.shape, m, flags)
        if warped is None:
            cv2.warpAffine(
                s, m, (d.shape[1], d.shape[0]), dst=d,
                flags=flags | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE,
            )
            warped = d
        r = keep[i]
        kept.append(None if r is None else crop(warped, r).copy())
        table = tables[i]
        if table is not None:
            cv2.LUT(warped, table, dst=d)
        elif warped is not d:
            d[...] = warped
    return kept


def _scaled(src: np.ndarray, shape: tuple[int, ...], m: np.ndarray, flags: int) -> np.ndarray | None:
    """The common unrotated case, ~5x faster than warpAffine: resize the source region by the
    exact scale (cv2.resize's separable fixed-point path); the output is the view of ``shape``
    cut out of it. The cut is on whole output pixels, so the position is within half an output
    pixel of the exact warp. None when the map is not a pure scale + shift."""
    ax, shear_x, bx = m[0]
    shear_y, ay, by = m[1]
    if shear_x != 0 or shear_y != 0 or ax <= 0 or ay <= 0:
        return None
    hd, wd = shape
    hs, ws = src.shape
    taps = 4 if flags == cv2.INTER_LANCZOS4 else 1
    x0 = max(0, math.floor(bx) - taps)
    x1 = min(ws, math.ceil(bx + ax * (wd - 1)) + taps + 1)
    y0 = max(0, math.floor(by) - taps)
    y1 = min(hs, math.ceil(by + ay * (hd - 1)) + taps + 1)
    # Output pixel j of the resized region maps to source x0 + (j + 0.5)·ax - 0.5.
    ox = round((bx - x0 + 0.5) / ax - 0.5)
    oy = round((by - y0 + 0.5) / ay - 0.5)
    if x1 <= x0 or y1 <= y0 or ox < 0 or oy < 0:
        return None
    big = cv2.resize(src[y0:y1, x0:x1], None, fx=1 / ax, fy=1 / ay, interpolation=flags)
    if ox + wd > big.shape[1] or oy + hd > big.shape[0]:
        return None
    cut: np.ndarray = big[oy: oy + hd, ox: ox + wd]
    return cut


def fit_i420(big: np.ndarray, w: int, h: int) -> np.ndarray:
    """An I420 picture (rows, width) of any even size resampled to ``w`` x ``h`` (area when
    shrinking, Lanczos when enlarging), as a new flat buffer."""
    if big.dtype != np.uint8 or big.ndim != 2 or big.shape[0] % 3 or big.shape[0] // 3 % 2 \
            or big.shape[1] % 2:
        raise ValueError(f"expected a uint8 I420 picture (h*3/2, w), got {big.dtype} {big.shape}")
    bh, bw = big.shape[0] * 2 // 3, big.shape[1]
    out = np.empty(w * h * 3 // 2, np.uint8)
    flat = np.ascontiguousarray(big).reshape(-1)
    for plane, view in zip(yuv_views(flat, bw, bh), yuv_views(out, w, h), strict=True):
        shrink = plane.shape[1] > view.shape[1]
        view[...] = cv2.resize(plane, (view.shape[1], view.shape[0]),
                               interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)
    return out
