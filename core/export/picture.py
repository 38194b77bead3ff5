"""One clip's output pictures: decode, rotate + animated crop (+ upscale) as one warp, spotlight.

Everything works on yuv420p planes (no RGB round trip: the source's colours pass through). The
export pipeline and the program view (the preview of the output) both draw through this module,
at their own output size, so preview and render cannot disagree. Crop boxes come from
``core.editmath.crop_at`` and every spotlight number (which regions, fade, place, ground shape,
ring width, dim) from ``core.editmath.spotlight``, which the editor's viewer uses too; the
spotlight is drawn by ``core.export.spotlight_draw``.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import av
import cv2
import numpy as np

from core.editmath import Box, crop_at, needs_upscale
from core.editmath.spotlight import Ellipse, OutputMap, RegionTrack, shown_regions
from core.enums import Upscaler
from core.export.planes import (
    BLACK,
    FULL_RANGE,
    LIMITED_RANGE,
    Planes,
    cv_maps,
    even_up,
    fit_i420,
    frame_planes,
    warp_planes,
    yuv_views,
)
from core.export.spec import ClipSpec, OutputSettings
from core.export.spotlight_draw import Dimming, Spotlight
from core.text import TextOverlay

if TYPE_CHECKING:
    from core.export.program import Placement

__all__ = ["BLACK", "ClipPictures", "EPS", "Planes", "RenderError", "Source", "Upscale", "is_url",
           "media_origin", "open_source", "where", "yuv_views"]

EPS = 1e-6  # seconds of float slop when placing output times on clips and source frames
# Re-seek instead of decoding forward when a random-access request (the program view) lies this
# many seconds past the decoder: seeking lands on the keyframe before, never further away.
_SEEK_AHEAD_S = 2.0
_HTTP_TIMEOUT_US = str(60_000_000)  # a stalled connection fails the read after a minute
# Frames per model call. On an H200 the model ran as fast per frame at 1, 4 or 8 (bench_realesrgan);
# 4 frames of a 608x1080 crop peak at 17.6 GiB, so a 24 GB card still holds a batch.
AI_BATCH = 4
_MISSING_S = 0.5  # a source with no picture for this long where a clip needs one is damaged

# A batch of crops at their native source pixels, each one yuv420p (I420) uint8 array of shape
# (h·3/2, w), and the output (width, height) in; the pictures enlarged out, I420 again, at the
# output size or any other (they are resampled). Colour conversion and resampling are the
# upscaler's (on its GPU); a batch holds up to AI_BATCH consecutive frames of one clip.
Upscale = Callable[[list[np.ndarray], tuple[int, int]], list[np.ndarray]]
Source = Path | str  # a media file, or an http(s) URL (a presigned R2 GET in the cloud)


class RenderError(RuntimeError):
    """The render could not be done (missing or unreadable source, encoder failure...)."""


def media_origin(container: av.container.InputContainer) -> float:
    """Media time 0 in container seconds: the container start, shared by audio and video so
    they stay in sync (players show the same)."""
    start = container.start_time
    return start / av.time_base if start is not None else 0.0


def where(clip: ClipSpec) -> str:
    return f"clip {clip.uid} (media {clip.media_hash[:12]})"


def is_url(source: Source) -> bool:
    return isinstance(source, str) and source.startswith(("http://", "https://"))


def open_source(source: Source) -> av.container.InputContainer:
    """Open a file, or a URL read over HTTP with range requests: a seek fetches only the bytes
    from there on, so a 5 s clip of a 2 h game reads a few MB, not the game."""
    # Over HTTP the stream info is probed from 1 s of packets, not FFmpeg's default 5 s (the
    # container headers hold the rest).
    options = {"rw_timeout": _HTTP_TIMEOUT_US, "analyzeduration": "1000000"} if is_url(source) else {}
    return av.open(str(source), options=options)


class _FrameSource:
    """Decoder answering "the latest frame at or before media time t": sequential for the export,
    seeking (keyframe before, then forward) when asked out of order. A source that has no
    picture near t (it ends early: truncated, or has a hole) is an error naming ``where`` rather
    than a frozen picture."""

    def __init__(self, path: Source, first_time: float, frame_s: float, where: str) -> None:
        try:
            self._container = open_source(path)
        except av.FFmpegError as e:
            raise RenderError(f"cannot open {path}: {e}") from e
        self._path = path
        self._where = where
        self._missing_s = max(_MISSING_S, 4 * frame_s)
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
            raise RenderError(
                f"the source of {self._where} has no pictures at {target - self.origin:.3f} s")
        self._current, self._next = None, first
        self.index += 1  # a new position: its first picture is never taken for a repeat

    def _decode_from(self, t: float | None) -> Iterator[av.VideoFrame]:
        """Frames from the keyframe at or before media time ``t`` (None: where we are)."""
        stream = self._stream
        try:
            if t is not None:
                if stream.time_base is None:  # seeking needs it; a video stream without one is broken
                    raise RenderError(f"the source of {self._where} has no time base")
                self._container.seek(
                    math.floor(t / stream.time_base), stream=stream, backward=True
                )
            yield from self._container.decode(stream)
        except av.FFmpegError as e:
            raise RenderError(f"cannot decode the source of {self._where}: {e}") from e

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
        if shown.time is not None and t - shown.time > self._missing_s:
            ends = "ends" if self._next is None else "has a gap"
            raise RenderError(
                f"the source of {self._where} {ends} at {shown.time - self.origin:.2f} s but the "
                f"clip needs {t - self.origin - self._tol:.2f} s; the file is damaged or "
                f"truncated ({self._path})"
            )
        return shown

    def close(self) -> None:
        self._container.close()


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


class ClipPictures:
    """Renders the pictures of one placed clip into its own YUV buffer."""

    def __init__(
        self, placement: Placement, out: OutputSettings, realesrgan: Upscale | None
    ) -> None:
        self.placement = p = placement
        clip = p.clip
        self._clip = clip
        self._w, self._h = out.width, out.height
        self._upscaler = out.upscaler
        self._model = realesrgan if out.upscaler is Upscaler.REALESRGAN else None
        self._fps_num, self._fps_den = out.fps_num, out.fps_den
        # AI upscaling works a batch ahead: output frame -> (source frame index, box, picture)
        self._ahead: dict[int, tuple[int, Box, np.ndarray | None]] = {}
        self._crop_track = clip.crop_track()
        self._regions = tuple(
            RegionTrack(r.uid, r.start, r.end, r.enabled,
                        tuple((k.time, {"x": k.x, "y": k.y, "rx": k.rx, "ry": k.ry})
                              for k in sorted(r.keyframes, key=lambda k: k.time)))
            for r in clip.regions if r.enabled and r.keyframes
        )
        self._spotlight = Spotlight(clip.style, self._w, self._h) if self._regions else None
        self._text = TextOverlay(clip.text_regions, self._w, self._h)
        self._unrotate = _unrotate(clip)
        self.buf = np.empty(self._w * self._h * 3 // 2, np.uint8)
        self._views = yuv_views(self.buf, self._w, self._h)
        self._own = self.buf  # render() draws here unless given another buffer
        first = clip.src_start + p.timeline.output_to_source(0.0)
        self._source = _FrameSource(p.path, first, clip.fps_den / clip.fps_num, where(clip))
        self._last_key: tuple[object, ...] | None = None  # (source index, box, shapes, texts)

    def close(self) -> None:
        self._source.close()

    def framed(self, s: float) -> np.ndarray:
        """The clip's picture at clip time ``s`` (rotation, crop, scale) without its overlays: a
        title card's background."""
        self._warp(self._source.frame_at(self._clip.src_start + s), self._box(s), self._views)
        return self.buf

    def render(self, t_out: float, into: np.ndarray | None = None) -> np.ndarray:
        """The picture at output time ``t_out``, drawn in ``into`` (a flat yuv420p buffer: the
        encoder's frame, so nothing is copied after) or in the clip's own buffer."""
        p, clip = self.placement, self._clip
        s = p.timeline.output_to_source(t_out - p.start)  # clip time of this output frame
        frame: av.VideoFrame | None = None
        picture: np.ndarray | None = None
        if self._model is not None:
            k = round(t_out * self._fps_num / self._fps_den)
            if k not in self._ahead:
                self._prepare_batch(k)
            index, box, picture = self._ahead.pop(k)
        else:
            frame = self._source.frame_at(clip.src_start + s)
            index = self._source.index
            box = self._box(s)
        shapes = self._spotlight_shapes(s, box)
        texts = self._text.state(s)
        key = (index, box, shapes, texts)
        last = self.buf
        self._aim(into)
        if key == self._last_key:  # slow motion on a still crop: the same picture again
            if self.buf is not last:  # drawn in the previous frame's buffer, still intact
                np.copyto(self.buf, last)
            return self.buf
        self._last_key = key
        undimmed: list[np.ndarray] | None = None
        if picture is not None:
            self.buf[:] = picture
        else:
            assert frame is not None
            # The spotlight's dimming goes into the warp's own pass over the picture.
            dim = self._spotlight.dimming(shapes) if self._spotlight is not None and shapes else None
            undimmed = self._warp(frame, box, self._views, dim)
        if shapes:
            assert self._spotlight is not None  # shapes come only from regions, which made it
            self._spotlight.apply(self._views, shapes, undimmed)
        self._text.draw(self._views, texts)  # output space: after the crop, unmoved by it
        return self.buf

    def _aim(self, into: np.ndarray | None) -> None:
        buf = self._own if into is None else into
        if buf is not self.buf:
            self.buf, self._views = buf, yuv_views(buf, self._w, self._h)

    def _source_map(self, frame: av.VideoFrame, box: Box, out_w: int, out_h: int) -> np.ndarray:
        """Output continuous coords -> stored-frame continuous coords: crop, rotation, the
        source's real size (a proxy may be smaller) and its display matrix, as one affine."""
        cw = round(-(frame.rotation or 0)) % 360
        cw = cw if cw in (0, 90, 180, 270) else 0
        up_w, up_h = (frame.height, frame.width) if cw in (90, 270) else (frame.width, frame.height)
        scale = np.diag([up_w / self._clip.width, up_h / self._clip.height, 1.0])
        affine: np.ndarray = (
            _upright_to_stored(cw, frame.width, frame.height)
            @ scale @ self._unrotate @ _crop_to(box, out_w, out_h)
        )
        return affine

    def _box(self, s: float) -> Box:
        clip = self._clip
        return crop_at(self._crop_track, s, clip.width, clip.height, clip.aspect, clip.rotation)

    def _warp(
        self, frame: av.VideoFrame, box: Box, views: Planes, dim: Dimming | None = None
    ) -> list[np.ndarray] | None:
        """The output picture straight from the source (no AI): one warp per plane, Lanczos when
        the Lanczos upscaler enlarges a crop smaller than the output; with ``dim`` (the
        spotlight's) dimmed, and its boxes' undimmed pixels returned for ``Spotlight.apply``."""
        # Phone footage is often full range; the output is limited range like all H.264 players
        # expect, so squeeze it (in the warp's table: cheaper than a swscale pass).
        upscale = self._upscaler is Upscaler.LANCZOS and needs_upscale(
            self._native_size(frame, box), (self._w, self._h))
        luma, chroma = cv_maps(self._source_map(frame, box, self._w, self._h))
        limited = LIMITED_RANGE if _full_range(frame) else (None, None, None)
        tables = limited if dim is None else [
            d if lim is None else d[lim] for lim, d in zip(limited, dim.tables, strict=True)]
        kept = warp_planes(frame_planes(frame), views, luma, chroma,
                           cv2.INTER_LANCZOS4 if upscale else cv2.INTER_LINEAR, tables,
                           (None, None, None) if dim is None else dim.boxes)
        if dim is None:
            return None
        return [k if lim is None else cv2.LUT(k, lim) for k, lim in zip(kept, limited, strict=True)
                if k is not None]

    def _native_crop(self, frame: av.VideoFrame, box: Box) -> np.ndarray | None:
        """The crop at its native pixels (nothing shrunk before the model) as I420, or None when
        it is not smaller than the output (no upscaling then)."""
        native = self._native_size(frame, box)
        if not needs_upscale(native, (self._w, self._h)):
            return None
        iw, ih = even_up(native[0]), even_up(native[1])
        small = np.empty(iw * ih * 3 // 2, np.uint8)
        views = yuv_views(small, iw, ih)
        luma, chroma = cv_maps(self._source_map(frame, box, iw, ih))
        warp_planes(frame_planes(frame), views, luma, chroma, cv2.INTER_LINEAR,
                    LIMITED_RANGE if _full_range(frame) else (None, None, None))
        return small.reshape(ih * 3 // 2, iw)

    def _prepare_batch(self, k: int) -> None:
        """Output frames k, k+1, ... of this clip (up to AI_BATCH): decode them, cut their
        crops and enlarge all of them in ONE model call; a repeated source frame (slow motion)
        is enlarged once."""
        p, clip = self.placement, self._clip
        items = []
        for j in range(k, k + AI_BATCH):
            t = j * self._fps_den / self._fps_num
            if j > k and t >= p.end - EPS:
                break
            s = p.timeline.output_to_source(t - p.start)
            frame = self._source.frame_at(clip.src_start + s)
            items.append((j, self._source.index, self._box(s), frame))
        crops: dict[tuple[int, Box], np.ndarray | None] = {}
        for _j, index, box, frame in items:
            if (index, box) not in crops:
                crops[(index, box)] = self._native_crop(frame, box)
        small = {key: crop for key, crop in crops.items() if crop is not None}
        wanted = list(small)
        assert self._model is not None
        bigs = list(self._model(list(small.values()), (self._w, self._h))) if wanted else []
        if len(bigs) != len(wanted):
            raise RenderError(f"upscaler returned {len(bigs)} pictures for {len(wanted)} frames")
        pictures: dict[tuple[int, Box], np.ndarray] = {}
        try:
            for key, big in zip(wanted, bigs, strict=True):
                pictures[key] = fit_i420(np.asarray(big), self._w, self._h)
        except ValueError as e:
            raise RenderError(f"upscaler output: {e}") from None
        for j, index, box, frame in items:
            if (index, box) not in pictures:  # crop big enough: no model
                buf = np.empty(self._w * self._h * 3 // 2, np.uint8)
                self._warp(frame, box, yuv_views(buf, self._w, self._h))
                pictures[(index, box)] = buf
            self._ahead[j] = (index, box, pictures[(index, box)])

    def _native_size(self, frame: av.VideoFrame, box: Box) -> tuple[float, float]:
        """The crop box in pixels of the decoded frame (a proxy may be smaller than the spec)."""
        turned = round(-(frame.rotation or 0)) % 180 == 90
        up_w, up_h = (frame.height, frame.width) if turned else (frame.width, frame.height)
        return box.width * up_w / self._clip.width, box.height * up_h / self._clip.height

    def _spotlight_shapes(self, s: float, box: Box) -> tuple[tuple[Ellipse, float], ...]:
        """(body ellipse in output pixels, opacity) of each region showing at clip time s."""
        if not self._regions:
            return ()
        clip = self._clip
        out = OutputMap(clip.width, clip.height, clip.rotation, box, self._w, self._h)
        return tuple((out.ellipse(r.ellipse), r.alpha)
                     for r in shown_regions(self._regions, s, clip.style.fade_out))


def _full_range(frame: av.VideoFrame) -> bool:
    return frame.color_range == FULL_RANGE or frame.format.name.startswith("yuvj")
