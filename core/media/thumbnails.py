"""Thumbnail strips: one small JPEG every N seconds, decoded and encoded with PyAV, cached per media.

Decoding a two-hour file front to back is slow, so each thumbnail seeks to the keyframe before its
time and decodes forward; when the next target is closer than the keyframe spacing seen so far the
decoder just keeps going instead (a seek would land on the same keyframe and redo the work).
"""
from __future__ import annotations

import json
import logging
import math
import os
import uuid
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.media.errors import MediaError, MediaErrorKind, OperationCancelled, from_os_error
from core.media.probe import open_media

log = logging.getLogger(__name__)

THUMBS_DIR = "thumbnails"
MANIFEST = "strip.json"
_JPEG_QSCALE = 4  # 2 (best) .. 31 (worst)
_FF_QP2LAMBDA = 118
_MAX_SEEK_RETRIES = 3


def thumbnail_strip_path(cache_dir: Path, media_hash: str) -> Path:
    """Folder holding the thumbnail strip of one media file."""
    return Path(cache_dir) / THUMBS_DIR / media_hash


def thumbnail_name(index: int) -> str:
    return f"thumb_{index:05d}.jpg"


def generate_thumbnails(
    video: Path,
    out_dir: Path,
    *,
    every_s: float = 2.0,
    height: int = 90,
    cancelled: Callable[[], bool] | None = None,
) -> list[Path]:
    """Write ``thumb_00000.jpg``… (the frame at 0, every_s, 2·every_s… seconds) into ``out_dir``.

    Thumbnails are upright (display rotation applied) and ``height`` pixels high. Raises
    :class:`OperationCancelled` (removing what it wrote) when ``cancelled()`` turns true.
    """
    if not every_s > 0:
        raise ValueError("every_s must be positive")
    if height < 8:
        raise ValueError("height must be at least 8 pixels")
    video, out_dir = Path(video), Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise from_os_error(out_dir, exc, doing="creating the thumbnail folder") from exc
    written: list[Path] = []
    try:
        with open_media(video) as container:
            if not container.streams.video:
                raise MediaError(video, "not a video: no video stream", MediaErrorKind.NO_VIDEO)
            stream = container.streams.video[0]
            stream.codec_context.thread_type = "AUTO"
            duration = _duration(container, stream)
            cursor = _Cursor(container, stream)
            encoder: _JpegEncoder | None = None
            count = max(1, math.ceil(duration / every_s - 1e-9))
            for index in range(count):
                if cancelled is not None and cancelled():
                    raise OperationCancelled(f"thumbnails of {video.name} cancelled")
                frame = cursor.frame_at(index * every_s)
                if frame is None:  # the file is shorter than its header claims
                    break
                if encoder is None:
                    encoder = _JpegEncoder(frame, stream, height)
                target = out_dir / thumbnail_name(index)
                _write_atomic(target, encoder.encode(frame))
                written.append(target)
    except BaseException as exc:
        for path in written:
            path.unlink(missing_ok=True)
        if isinstance(exc, av.error.FFmpegError):  # demuxing a damaged file
            raise MediaError(video, "damaged video: reading it failed", MediaErrorKind.UNDECODABLE) from exc
        raise
    if not written:
        raise MediaError(video, "no frame could be decoded for thumbnails", MediaErrorKind.UNDECODABLE)
    return written


def ensure_thumbnails(
    video: Path,
    cache_dir: Path,
    media_hash: str,
    *,
    every_s: float = 2.0,
    height: int = 90,
    cancelled: Callable[[], bool] | None = None,
) -> list[Path]:
    """The cached strip for ``media_hash``; (re)generated when missing, incomplete or made differently."""
    folder = thumbnail_strip_path(cache_dir, media_hash)
    cached = load_strip(folder, every_s=every_s, height=height)
    if cached is not None:
        return cached
    for stale in folder.glob("thumb_*.jpg") if folder.is_dir() else ():
        stale.unlink(missing_ok=True)
    paths = generate_thumbnails(video, folder, every_s=every_s, height=height, cancelled=cancelled)
    # The manifest is written last: its presence means the strip is complete.
    manifest = {"every_s": every_s, "height": height, "count": len(paths)}
    _write_atomic(folder / MANIFEST, json.dumps(manifest).encode("utf-8"))
    return paths


def load_strip(folder: Path, *, every_s: float, height: int) -> list[Path] | None:
    """The strip's files when its manifest matches and every file exists, else None."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
        count = int(manifest["count"])
        if manifest["every_s"] != every_s or manifest["height"] != height:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    paths = [Path(folder) / thumbnail_name(i) for i in range(count)]
    return paths if all(p.is_file() for p in paths) else None


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    if container.duration:
        return container.duration / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


class _Cursor:
    """Hands out the first frame at or after a time, seeking only when that saves decoding."""

    def __init__(self, container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> None:
        self.container = container
        self.stream = stream
        self.time_base: Fraction = stream.time_base or Fraction(1, 90_000)
        rate = stream.average_rate or stream.guessed_rate or 30
        self.eps = 0.5 / float(rate)  # half a frame: timestamps are rounded
        # Times asked for are from the media's start; MPEG-TS and others start at an arbitrary clock.
        self.origin = float(stream.start_time * self.time_base) if stream.start_time is not None else 0.0
        self.pos: float | None = None  # time of the last decoded frame
        self.last_key: float | None = None
        self.key_gap = 0.0  # largest keyframe spacing known (a lower bound while inside a long GOP)
        self.frames: Iterator[av.VideoFrame] | None = None

    def frame_at(self, t: float) -> av.VideoFrame | None:
        t += self.origin
        # Seeking pays only if a keyframe lies between where the decoder is and t.
        if self.frames is None or self.pos is None or t < self.pos or t - self.pos > self.key_gap:
            return self._seek_and_decode(t)
        return self._decode_until(t)

    def _seek_and_decode(self, t: float) -> av.VideoFrame | None:
        seek_to = t
        for _ in range(_MAX_SEEK_RETRIES):
            self._seek(seek_to)
            frame = self._decode_until(t, first_only=True)
            # Inexact demuxers (MPEG-TS) may land after t: back off and try again.
            if frame is None or frame.time is None or frame.time <= t + self.eps or seek_to <= 0:
                break
            seek_to = max(0.0, seek_to - max(1.0, 2 * (frame.time - t)))
        if frame is None or (frame.time is not None and frame.time >= t - self.eps):
            return frame
        return self._decode_until(t)

    def _seek(self, t: float) -> None:
        self.frames = None
        self.pos = None
        self.last_key = None
        try:
            self.container.seek(int(t / self.time_base), stream=self.stream, backward=True, any_frame=False)
        except av.error.FFmpegError as exc:  # unseekable input: restart from the top
            log.debug("seek to %.3f failed (%s); decoding from the start", t, exc)
            self.container.seek(0)
        self.frames = self._decode()

    def _decode(self) -> Iterator[av.VideoFrame]:
        for packet in self.container.demux(self.stream):
            if packet.is_keyframe and packet.pts is not None:
                key_time = float(packet.pts * self.time_base)
                if self.last_key is not None and key_time > self.last_key:
                    self.key_gap = max(self.key_gap, key_time - self.last_key)
                self.last_key = key_time
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:  # one damaged packet should not end the strip
                continue
            yield from frames

    def _decode_until(self, t: float, *, first_only: bool = False) -> av.VideoFrame | None:
        assert self.frames is not None
        for frame in self.frames:
            if frame.time is None:
                continue
            self.pos = frame.time
            if self.last_key is not None:
                self.key_gap = max(self.key_gap, frame.time - self.last_key)
            if first_only or frame.time >= t - self.eps:
                return frame
        self.frames = None
        return None


class _JpegEncoder:
    """Scales (respecting pixel aspect and display rotation) and encodes frames as baseline JPEG."""

    def __init__(self, first: av.VideoFrame, stream: av.video.stream.VideoStream, height: int) -> None:
        sar = stream.sample_aspect_ratio or Fraction(1)
        self.rotation = int(round(-(first.rotation or 0) / 90.0)) * 90 % 360  # clockwise
        aspect = Fraction(first.width, first.height) * sar
        if self.rotation in (90, 270):
            aspect = 1 / aspect
        self.width = max(2, int(round(height * aspect / 2)) * 2)
        self.height = height + height % 2
        self.ctx = av.CodecContext.create("mjpeg", "w")
        self.ctx.width, self.ctx.height = self.width, self.height
        self.ctx.pix_fmt = "yuvj420p"  # full-range YUV, what JPEG viewers expect
        self.ctx.time_base = Fraction(1, 1)
        self.ctx.qscale = True
        self.ctx.global_quality = _JPEG_QSCALE * _FF_QP2LAMBDA
        self.count = 0

    def encode(self, frame: av.VideoFrame) -> bytes:
        if self.rotation:
            # Scale first (cheap, small), then turn the pixels upright; np.rot90 turns counter-clockwise.
            w, h = (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)
            rgb: np.ndarray = frame.reformat(width=w, height=h, format="rgb24").to_ndarray()
            rgb = np.ascontiguousarray(np.rot90(rgb, k=-self.rotation // 90))
            small = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuvj420p")
        else:
            small = frame.reformat(width=self.width, height=self.height, format="yuvj420p")
        small.pts = self.count  # the encoder insists on increasing timestamps
        small.time_base = self.ctx.time_base
        self.count += 1
        packets = self.ctx.encode(small)
        return b"".join(bytes(p) for p in packets)


def _write_atomic(target: Path, data: bytes) -> None:
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temp, "wb") as fh:
            fh.write(data)
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise from_os_error(target, exc, doing="writing the cache") from exc
