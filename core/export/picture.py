"""One clip's output pictures: decode, rotate + animated crop (+ upscale) as one warp, spotlight.

Everything works on yuv420p planes (no RGB round trip: the source's colours pass through). The
export pipeline and the program view (the preview of the output) both draw through this module,
at their own output size, so preview and render cannot disagree. Crop boxes come from
``core.editmath.crop_at`` and spotlight shapes from ``core.editmath.interpolate``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import av
import cv2
import numpy as np

from core.editmath import Box, crop_at, interpolate
from core.enums import OverlayShape, Upscaler
from core.export.spec import ClipSpec, OutputSettings, OverlayStyle

if TYPE_CHECKING:
    from core.export.program import Placement

__all__ = ["BLACK", "ClipPictures", "Planes", "RenderError", "Upscale", "media_origin", "yuv_views"]

_REGION_PROPS = ("x", "y", "rx", "ry")
_GROUND_FLATTEN = 0.2  # ground shape: the region's width, this fraction of its height
_STROKE_REFERENCE = 1080  # OverlayStyle.stroke is in pixels of a 1080-pixel short side
_SHIFT = 4  # cv2 drawing: 4 fractional bits, so rings move smoothly by sub-pixels
BLACK = (16, 128, 128)  # limited-range YUV black: what fades go through
# Re-seek instead of decoding forward when a random-access request (the program view) lies this
# many seconds past the decoder: seeking lands on the keyframe before, never further away.
_SEEK_AHEAD_S = 2.0

# RGB uint8 picture (h, w, 3) in, the same picture upscaled (normally x4) out.
Upscale = Callable[[np.ndarray], np.ndarray]
Planes = tuple[np.ndarray, np.ndarray, np.ndarray]  # Y, U, V of a yuv420p picture


class RenderError(RuntimeError):
    """The render could not be done (missing or unreadable source, encoder failure...)."""


def media_origin(container: av.container.InputContainer) -> float:
    """Media time 0 in container seconds: the container start, shared by audio and video so
    they stay in sync (players show the same)."""
    start = container.start_time
    return start / av.time_base if start is not None else 0.0


class _FrameSource:
    """Decoder answering "the latest frame at or before media time t": sequential for the export,
    seeking (keyframe before, then forward) when asked out of order."""

    def __init__(self, path: Path, first_time: float, frame_s: float) -> None:
        try:
            self._container = av.open(str(path))
        except av.FFmpegError as e:
            raise RenderError(f"cannot open {path}: {e}") from e
        self._path = path
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.origin = media_origin(self._container)
        # A pts rounded to a coarse time base (1 ms in MKV) may sit just after the true time;
        # anything finer must not blur 29.97 into 30 fps (33 us apart after one frame).
        self._tol = min(max(1e-6, float(self._stream.time_base or 0) / 2), frame_s / 4)
        self._frame_s = frame_s
        self._current: av.VideoFrame | None = None
        self._next: av.VideoFrame | None = None
        self.index = 0  # counts frames taken, so callers can tell a repeat from a new frame
        self._start(self.origin + first_time, rewind=False)

    def _start(self, target: float, rewind: bool) -> None:
        """Decode from the keyframe at or before container time ``target`` (``rewind``: from the
        top when that is the start; otherwise the freshly opened file already is there)."""
        seek = target > self.origin + 0.001
        self._frames = self._decode_from(target if seek else (self.origin if rewind else None))
        first = next(self._frames, None)
        if seek and (first is None or (first.time or 0.0) > target + self._frame_s):
            # A broken index can land the seek after the target: decode from the start instead.
            self._frames = self._decode_from(self.origin)
            first = next(self._frames, None)
        if first is None:
            raise RenderError(f"{self._path.name} has no pictures at {target - self.origin:.3f} s")
        self._current, self._next = None, first
        self.index += 1  # a new position: its first picture is never taken for a repeat

    def _decode_from(self, t: float | None) -> Iterator[av.VideoFrame]:
        """Frames from the keyframe at or before media time ``t`` (None: where we are)."""
        stream = self._stream
        try:
            if t is not None:
                self._container.seek(
                    math.floor(t / stream.time_base), stream=stream, backward=True
                )
            yield from self._container.decode(stream)
        except av.FFmpegError as e:
            raise RenderError(f"cannot decode {self._path.name}: {e}") from e

    def frame_at(self, t: float) -> av.VideoFrame:
        t += self.origin + self._tol
        # The export asks in order; the program view may jump: back, or far ahead, seeks.
        here, ahead = self._current, self._next
        if (here is not None and here.time is not None and here.time > t) or (
            ahead is not None and ahead.time is not None and t - ahead.time > _SEEK_AHEAD_S
        ):
            self._start(t - self._tol, rewind=True)
        while self._next is not None and (self._next.time is None or self._next.time <= t):
            self._current, self._next = self._next, next(self._frames, None)
            self.index += 1
        # Before the first frame (a stream starting late) show the first one.
        shown = self._current if self._current is not None else self._next
        assert shown is not None  # __init__ made sure there is a first frame
        return shown

    def close(self) -> None:
        self._container.close()


def _planes(frame: av.VideoFrame) -> Planes:
    """Y, U, V of a frame as numpy views (no copy for yuv420p sources)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")  # full-range, 4:2:2, 10-bit... -> 8-bit 4:2:0
    out = []
    for plane in frame.planes:
        a = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        out.append(a[:, : plane.width])
    return out[0], out[1], out[2]


def _upright_to_stored(cw: int, stored_w: int, stored_h: int) -> np.ndarray:
    """Upright (displayed) continuous coords -> stored frame coords, for a display matrix that
    turns the stored frame ``cw`` degrees clockwise."""
    return {
        0: np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float64),
        90: np.array([[0, 1, 0], [-1, 0, stored_h], [0, 0, 1]], np.float64),
        180: np.array([[-1, 0, stored_w], [0, -1, stored_h], [0, 0, 1]], np.float64),
        270: np.array([[0, -1, stored_w], [1, 0, 0], [0, 0, 1]], np.float64),
    }[cw]


def _unrotate(clip: ClipSpec) -> np.ndarray:
    """Rotated-picture coords -> source coords (spec pixels): the inverse of turning the picture
    ``clip.rotation`` degrees clockwise about the frame centre."""
    a = math.radians(clip.rotation)
    c, s = math.cos(a), math.sin(a)
    cx, cy = clip.width / 2.0, clip.height / 2.0
    return np.array([[c, s, cx - c * cx - s * cy], [-s, c, cy + s * cx - c * cy], [0, 0, 1]])


def _crop_to(box: Box, out_w: int, out_h: int) -> np.ndarray:
    """Output continuous coords -> rotated-picture coords of the crop box."""
    return np.array([
        [box.width / out_w, 0, box.x], [0, box.height / out_h, box.y], [0, 0, 1]
    ])


def _cv_maps(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x3 inverse maps (destination index -> source index) for cv2.warpAffine on the luma and
    the half-size chroma planes, from a continuous-coordinate map (pixel centres at +0.5)."""
    lin, c = m[:2, :2], m[:2, 2]
    centre = lin @ np.array([0.5, 0.5])
    luma = np.hstack([lin, (centre + c - 0.5)[:, None]])
    chroma = np.hstack([lin, (centre + c / 2.0 - 0.5)[:, None]])
    return luma, chroma


class ClipPictures:
    """Renders the pictures of one placed clip into its own YUV buffer."""

    def __init__(
        self, placement: Placement, out: OutputSettings, realesrgan: Upscale | None
    ) -> None:
        self.placement = p = placement
        clip = p.clip
        self._clip = clip
        self._w, self._h = out.width, out.height
        self._flags = cv2.INTER_LANCZOS4 if out.upscaler is Upscaler.LANCZOS else cv2.INTER_LINEAR
        self._upscale = realesrgan if out.upscaler is Upscaler.REALESRGAN else None
        self._crop_track = clip.crop_track()
        self._regions = [
            (r, tuple((k.time, {"x": k.x, "y": k.y, "rx": k.rx, "ry": k.ry})
                      for k in sorted(r.keyframes, key=lambda k: k.time)))
            for r in clip.regions if r.enabled and r.keyframes
        ]
        self._spotlight = Spotlight(clip.style, self._w, self._h) if self._regions else None
        self._unrotate = _unrotate(clip)
        self.buf = np.empty(self._w * self._h * 3 // 2, np.uint8)
        self._views = yuv_views(self.buf, self._w, self._h)
        first = clip.src_start + p.timeline.output_to_source(0.0)
        self._source = _FrameSource(p.path, first, clip.fps_den / clip.fps_num)
        self._last_key: tuple | None = None

    def close(self) -> None:
        self._source.close()

    def render(self, t_out: float) -> np.ndarray:
        p, clip = self.placement, self._clip
        s = p.timeline.output_to_source(t_out - p.start)  # clip time of this output frame
        frame = self._source.frame_at(clip.src_start + s)
        box = crop_at(self._crop_track, s, clip.width, clip.height, clip.aspect, clip.rotation)
        shapes = self._spotlight_shapes(s, box)
        key = (self._source.index, box, shapes)
        if key == self._last_key:  # slow motion on a still crop: the same picture again
            return self.buf
        self._last_key = key
        self._warp(frame, box)
        if shapes:
            self._spotlight.apply(self._views, shapes)  # type: ignore[union-attr]
        return self.buf

    def _source_map(self, frame: av.VideoFrame, box: Box, out_w: int, out_h: int) -> np.ndarray:
        """Output continuous coords -> stored-frame continuous coords: crop, rotation, the
        source's real size (a proxy may be smaller) and its display matrix, as one affine."""
        cw = round(-(frame.rotation or 0)) % 360
        cw = cw if cw in (0, 90, 180, 270) else 0
        up_w, up_h = (frame.height, frame.width) if cw in (90, 270) else (frame.width, frame.height)
        scale = np.diag([up_w / self._clip.width, up_h / self._clip.height, 1.0])
        return (
            _upright_to_stored(cw, frame.width, frame.height)
            @ scale @ self._unrotate @ _crop_to(box, out_w, out_h)
        )

    def _warp(self, frame: av.VideoFrame, box: Box) -> None:
        # Phone footage is often full range; the output is limited range like all H.264 players
        # expect, so squeeze it (on the warped planes: cheaper than a swscale pass).
        full = frame.color_range == _FULL_RANGE or frame.format.name.startswith("yuvj")
        src = _planes(frame)
        if self._upscale is None:
            luma, chroma = _cv_maps(self._source_map(frame, box, self._w, self._h))
            _warp_planes(src, self._views, luma, chroma, self._flags)
            if full:
                _to_limited_range(self._views)
            return
        # AI upscaling: crop to a quarter of the output size, upscale, fit exactly.
        iw, ih = _even_up(self._w / 4), _even_up(self._h / 4)
        small = np.empty(iw * ih * 3 // 2, np.uint8)
        luma, chroma = _cv_maps(self._source_map(frame, box, iw, ih))
        _warp_planes(src, yuv_views(small, iw, ih), luma, chroma, cv2.INTER_LINEAR)
        if full:
            _to_limited_range(yuv_views(small, iw, ih))
        rgb = cv2.cvtColor(small.reshape(ih * 3 // 2, iw), cv2.COLOR_YUV2RGB_I420)
        big = np.asarray(self._upscale(rgb))
        if big.dtype != np.uint8 or big.ndim != 3 or big.shape[2] != 3:
            raise RenderError(
                f"upscaler returned {big.dtype} {big.shape}, expected uint8 (h, w, 3)"
            )
        interp = cv2.INTER_AREA if big.shape[1] > self._w else cv2.INTER_LANCZOS4
        fitted = cv2.resize(big, (self._w, self._h), interpolation=interp)
        self.buf[:] = cv2.cvtColor(fitted, cv2.COLOR_RGB2YUV_I420).reshape(-1)

    def _spotlight_shapes(self, s: float, box: Box) -> tuple[tuple[float, ...], ...]:
        """(cx, cy, rx, ry, alpha) in output pixels of each region showing at clip time s."""
        if not self._regions:
            return ()
        to_out = np.linalg.inv(self._unrotate @ _crop_to(box, self._w, self._h))
        sx, sy = self._w / box.width, self._h / box.height
        fade = self._clip.style.fade_out
        shapes = []
        for region, track in self._regions:
            if not region.start <= s < region.end:
                continue
            v = interpolate(track, s, _REGION_PROPS)
            assert v is not None  # regions without keyframes were dropped above
            alpha = 1.0 if fade <= 0 else min(1.0, (region.end - s) / fade)
            cx, cy, _ = to_out @ np.array([v["x"], v["y"], 1.0])
            shapes.append((float(cx), float(cy), v["rx"] * sx, v["ry"] * sy, alpha))
        return tuple(shapes)


_FULL_RANGE = 2  # AVCOL_RANGE_JPEG
_LIMIT_LUMA = np.round(16 + np.arange(256) * (219 / 255)).astype(np.uint8)
_LIMIT_CHROMA = np.round(128 + (np.arange(256) - 128) * (224 / 255)).astype(np.uint8)


def _to_limited_range(planes: Planes) -> None:
    for i, plane in enumerate(planes):
        cv2.LUT(plane, _LIMIT_LUMA if i == 0 else _LIMIT_CHROMA, dst=plane)


def _even_up(x: float) -> int:
    return max(2, 2 * math.ceil(x / 2))


def yuv_views(buf: np.ndarray, w: int, h: int) -> Planes:
    """Y, U, V views into one flat yuv420p buffer."""
    n = w * h
    return (
        buf[:n].reshape(h, w),
        buf[n: n + n // 4].reshape(h // 2, w // 2),
        buf[n + n // 4:].reshape(h // 2, w // 2),
    )


def _warp_planes(
    src: Planes, dst: Planes, luma: np.ndarray, chroma: np.ndarray, flags: int
) -> None:
    for i, (s, d) in enumerate(zip(src, dst)):
        m = luma if i == 0 else chroma
        if not _scale_plane(s, d, m, flags):
            cv2.warpAffine(
                s, m, (d.shape[1], d.shape[0]), dst=d,
                flags=flags | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE,
            )


def _scale_plane(src: np.ndarray, dst: np.ndarray, m: np.ndarray, flags: int) -> bool:
    """The common unrotated case, ~5x faster than warpAffine: resize the source region by the
    exact scale (cv2.resize's separable fixed-point path) and cut the output out of it. The cut
    is on whole output pixels, so the position is within half an output pixel of the exact warp.
    Returns False (nothing done) when the map is not a pure scale + shift."""
    ax, shear_x, bx = m[0]
    shear_y, ay, by = m[1]
    if shear_x != 0 or shear_y != 0 or ax <= 0 or ay <= 0:
        return False
    hd, wd = dst.shape
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
        return False
    big = cv2.resize(src[y0:y1, x0:x1], None, fx=1 / ax, fy=1 / ay, interpolation=flags)
    if ox + wd > big.shape[1] or oy + hd > big.shape[0]:
        return False
    dst[...] = big[oy: oy + hd, ox: ox + wd]
    return True


def _rgb_to_yuv(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """BT.709 limited range, what players assume for HD output."""
    r, g, b = (c / 255.0 for c in rgb)
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 16 + 219 * y, 128 + 224 * (b - y) / 1.8556, 128 + 224 * (r - y) / 1.5748


class Spotlight:
    """Draws regions onto YUV planes: dim outside, optional fill, ring (or ground shape)."""

    def __init__(self, style: OverlayStyle, w: int, h: int) -> None:
        self._style = style
        self._color = _rgb_to_yuv(style.rgb)
        self._stroke = style.stroke * min(w, h) / _STROKE_REFERENCE
        self._masks = (np.zeros((h, w), np.uint8), np.zeros((h // 2, w // 2), np.uint8))

    def apply(self, planes: Planes, shapes: Sequence[tuple[float, ...]]) -> None:
        style = self._style
        ground = style.shape is OverlayShape.GROUND
        for i, plane in enumerate(planes):
            scale = 1.0 if i == 0 else 0.5
            mask = self._masks[0 if i == 0 else 1]
            black = BLACK[0 if i == 0 else 1]
            level = 1.0 - style.dim * max(s[4] for s in shapes)
            if level < 1.0:
                # Dim everything, then restore the inside of the union of ellipses.
                box = _union(_ellipse(mask, s[:4], scale, -1) for s in shapes)
                keep = _crop(plane, box).copy()
                lut = np.clip(black + (np.arange(256) - black) * level + 0.5, 0, 255)
                cv2.LUT(plane, lut.astype(np.uint8), dst=plane)
                _blend(plane, mask, box, keep, 1.0)
            for cx, cy, rx, ry, alpha in shapes:
                shape = (cx, cy + ry, rx, ry * _GROUND_FLATTEN) if ground else (cx, cy, rx, ry)
                if style.fill_opacity > 0:
                    box = _ellipse(mask, shape, scale, -1)
                    _blend(plane, mask, box, self._color[i], style.fill_opacity * alpha)
                if self._stroke > 0:
                    thickness = max(1, round(self._stroke * scale))
                    box = _ellipse(mask, shape, scale, thickness)
                    _blend(plane, mask, box, self._color[i], alpha)


Rect = tuple[int, int, int, int]


def _ellipse(mask: np.ndarray, shape: Sequence[float], scale: float, thickness: int) -> Rect:
    """Draw an anti-aliased ellipse (filled if thickness < 0) into ``mask``; return its bounds,
    clipped to the mask."""
    cx, cy, rx, ry = (v * scale for v in shape[:4])
    cx, cy = cx - 0.5, cy - 0.5  # continuous coords -> cv2 pixel-centre coords
    f = 1 << _SHIFT
    cv2.ellipse(
        mask, (round(cx * f), round(cy * f)), (max(1, round(rx * f)), max(1, round(ry * f))),
        0, 0, 360, 255, thickness, cv2.LINE_AA, _SHIFT,
    )
    pad = max(thickness, 0) / 2 + 2
    h, w = mask.shape
    return (
        max(0, math.floor(cx - rx - pad)), max(0, math.floor(cy - ry - pad)),
        min(w, math.ceil(cx + rx + pad) + 1), min(h, math.ceil(cy + ry + pad) + 1),
    )


def _union(rects: Iterable[Rect]) -> Rect:
    rs = list(rects)
    return (min(r[0] for r in rs), min(r[1] for r in rs),
            max(r[2] for r in rs), max(r[3] for r in rs))


def _crop(a: np.ndarray, r: Rect) -> np.ndarray:
    return a[r[1]:r[3], r[0]:r[2]]


def _blend(
    plane: np.ndarray, mask: np.ndarray, r: Rect, target: float | np.ndarray, opacity: float
) -> None:
    """plane += (target - plane) · mask · opacity inside ``r``; then clear the mask there."""
    if r[2] <= r[0] or r[3] <= r[1]:
        return
    region = _crop(plane, r)
    m = _crop(mask, r).astype(np.float32) * np.float32(opacity / 255.0)
    p = region.astype(np.float32)
    p += (np.asarray(target, np.float32) - p) * m
    region[...] = (p + 0.5).astype(np.uint8)
    _crop(mask, r)[...] = 0

