"""Frame-accurate decoding for the viewer, on a worker thread.

``FrameSource.request(t)`` asks for the picture shown at media time ``t``: the latest frame whose
timestamp is at or before ``t`` (the renderer's rule, so preview and export show the same frame,
for constant and variable frame rates alike). The worker seeks to the keyframe before ``t`` and
decodes forward, or just keeps decoding when ``t`` lies a little ahead of where the decoder is
(stepping and playback never re-seek). Only the newest request matters: while scrubbing, requests
that arrive during a decode replace the one being served, and a decode heading the wrong way is
abandoned. Pictures come back upright (display rotation applied) as QImages through ``frameReady``.
"""
from __future__ import annotations

import atexit
import logging
import math
import sys
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal
from PySide6.QtGui import QImage

from core.media.errors import MediaError
from core.media.probe import MediaInfo, probe

log = logging.getLogger(__name__)

DEFAULT_CACHE_FRAMES = 48
# Keep decoding forward instead of seeking when the target is at most this far ahead (seconds),
# or one keyframe interval when that is known to be longer: a seek would land no closer.
_MIN_FORWARD_REACH = 1.0
_MAX_SEEK_RETRIES = 6
_RECENT_BYTES = 64 * 1024 * 1024  # decoded frames kept for stepping back (20 at 1080p, 5 at 4K)
_OPEN_WAIT_S = 15.0
# Format_RGB32 is 0xffRRGGBB in native byte order: the fastest format for QPainter to draw.
RGB32_LAYOUT = "bgra" if sys.byteorder == "little" else "argb"


def frame_to_qimage(frame: av.VideoFrame, max_height: int | None = None,
                    box: tuple[int, int] | None = None) -> QImage:
    """An upright QImage of ``frame`` (display rotation applied), at most ``max_height`` high and,
    with ``box``, scaled to fit inside ``box`` (w, h): swscale does the scaling while converting,
    so a 4K frame shown in a 1200-pixel viewer costs a 1200-pixel conversion."""
    cw = int(round(-(frame.rotation or 0) / 90.0)) * 90 % 360  # PyAV reports counter-clockwise
    quarter = cw in (90, 270)
    up_w, up_h = (frame.height, frame.width) if quarter else (frame.width, frame.height)
    if max_height and up_h > max_height:
        up_w, up_h = max(2, round(up_w * max_height / up_h)), max_height
    if box is not None and (up_w > box[0] or up_h > box[1]):
        scale = min(box[0] / up_w, box[1] / up_h)
        up_w, up_h = max(2, round(up_w * scale)), max(2, round(up_h * scale))
    w, h = (up_h, up_w) if quarter else (up_w, up_h)  # size before turning upright
    pixels: np.ndarray = frame.to_ndarray(format=RGB32_LAYOUT, width=w, height=h)
    if cw:
        # np.rot90 turns counter-clockwise; the display matrix asks for ``cw`` clockwise.
        pixels = np.ascontiguousarray(np.rot90(pixels, k=-cw // 90))
    return rgb32_image(pixels)


def rgb32_image(pixels: np.ndarray) -> QImage:
    """A QImage owning a copy of packed RGB32 ``pixels`` (h, w, 4) in RGB32_LAYOUT order."""
    pixels = np.ascontiguousarray(pixels)  # swscale output may carry padding after each row
    height, width = pixels.shape[:2]
    image = QImage(pixels.data, width, height, pixels.strides[0], QImage.Format.Format_RGB32)
    return image.copy()  # own the pixels: the numpy buffer dies with the caller


class MediaDecoder:
    """Keyframe-aware PyAV decoding with one frame of look-ahead (which says how long a frame shows)."""

    def __init__(self, path: Path, fps: Fraction) -> None:
        self.container = av.open(str(path), metadata_errors="ignore")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.time_base: Fraction = self.stream.time_base or Fraction(1, 90_000)
        start = self.container.start_time
        # Media time 0 is the container start, as in the renderer and the waveform.
        self.origin = start / av.time_base if start is not None else 0.0
        # A pts rounded to a coarse time base (1 ms in MKV) may sit just after the true time;
        # anything finer must not blur 29.97 into 30 fps.
        self.tol = min(max(1e-6, float(self.time_base) / 2), float(1 / fps) / 4)
        self.key_gap = 0.0
        self._last_key: float | None = None
        self._frames: Iterator[av.VideoFrame] | None = None
        self.current: av.VideoFrame | None = None
        self.next: av.VideoFrame | None = None
        # The frames just decoded, with their ends: stepping or shuttling back over them needs
        # no new decode from the keyframe (a long GOP is seconds of decoding). Bounded in bytes.
        size = self.stream.codec_context.width * self.stream.codec_context.height * 3 // 2
        self._recent: deque[tuple[float, float, av.VideoFrame]] = deque(
            maxlen=max(4, _RECENT_BYTES // max(1, size)))

    def close(self) -> None:
        self._frames = None
        self.current = self.next = None
        self.container.close()

    # -- positioning ---------------------------------------------------------------------------

    def _needs_seek(self, target: float) -> bool:
        if self._frames is None and self.next is None:
            return self.current is None or target < self.current.time
        here = self.current if self.current is not None else self.next
        if here is None or here.time is None or target < here.time:
            return True  # behind the decoder: only a seek goes back
        if self.next is None:
            return False  # at the end: the last frame holds
        return target - self.next.time > max(self.key_gap, _MIN_FORWARD_REACH)

    def _seek(self, target: float) -> None:
        seek_to = target
        for _ in range(_MAX_SEEK_RETRIES):
            self._reset()
            try:
                self.container.seek(max(0, math.floor(seek_to / self.time_base)), stream=self.stream,
                                    backward=True)
            except av.error.FFmpegError as exc:  # unseekable input: restart from the top
                log.debug("seek to %.3f failed (%s); decoding from the start", seek_to, exc)
                self.container.seek(0)
                seek_to = self.origin
            self._frames = self._decode()
            self.next = next(self._frames, None)
            if self.next is None or self.next.time is None or self.next.time <= target or seek_to <= self.origin:
                return
            # Inexact demuxers (MPEG-TS) may land after the target: back off and try again.
            seek_to = max(self.origin, seek_to - max(1.0, 2 * (self.next.time - target)))

    def _reset(self) -> None:
        self._frames = None
        self.current = self.next = None
        self._last_key = None

    def _decode(self) -> Iterator[av.VideoFrame]:
        for packet in self.container.demux(self.stream):
            if packet.is_keyframe and packet.pts is not None:
                key_time = float(packet.pts * self.time_base)
                if self._last_key is not None and key_time > self._last_key:
                    self.key_gap = max(self.key_gap, key_time - self._last_key)
                self._last_key = key_time
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:  # one damaged packet must not end the preview
                continue
            for frame in frames:
                if frame.time is not None:
                    yield frame

    def _recent_at(self, target: float) -> tuple[float, float, av.VideoFrame] | None:
        return next((r for r in self._recent if r[0] <= target < r[1]), None)

    def _step(self) -> None:
        assert self._frames is not None
        if self.current is not None and self.next is not None:
            self._recent.append((self.current.time, self.next.time, self.current))
        self.current, self.next = self.next, next(self._frames, None)
        if self.next is None:
            self._frames = None

    # -- the one query -------------------------------------------------------------------------

    def frame_at(self, t: float, newer: Callable[[], float | None]) -> tuple[float, av.VideoFrame, float, float] | None:
        """(t served, frame, its start, its end) in media seconds. ``newer()`` hands over a
        request that arrived meanwhile: decoding retargets to it (or re-seeks when it cannot be
        reached by decoding forward), so the answer may be for a later request than ``t``."""
        while True:
            target = t + self.origin + self.tol
            if self._needs_seek(target):
                recent = self._recent_at(target)
                if recent is not None:
                    return t, recent[2], recent[0] - self.origin, recent[1] - self.origin
                self._seek(target)
            retarget = False
            while self.next is not None and self.next.time <= target:
                self._step()
                later = newer()
                if later is not None:
                    t = later
                    target = t + self.origin + self.tol
                    if self._needs_seek(target):
                        retarget = True
                        break
            if retarget:
                continue
            shown = self.current if self.current is not None else self.next
            if shown is None:
                return None
            start = shown.time - self.origin
            end = (self.next.time - self.origin) if (self.next is not None and shown is self.current) else math.inf
            if shown is self.next:  # before the first frame: it shows from time 0 on
                start, end = -math.inf, shown.time - self.origin + self.tol
            return t, shown, start, end


# Every running decoder, so interpreter exit can stop them first: Python tearing down a running
# QThread aborts the process.
_LIVE: weakref.WeakSet[_DecodeThread] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for thread in list(_LIVE):
        thread.stop()
        thread.wait(2000)


class _DecodeThread(QThread):
    decoded = Signal(float, QImage)
    opened = Signal(object)  # MediaInfo
    failed = Signal(str)

    def __init__(self, path: Path, cache_frames: int, max_height: int | None) -> None:
        super().__init__()
        self.setObjectName(f"FrameSource:{path.name}")
        self._path = path
        self._max_height = max_height
        self._cache_frames = cache_frames
        self._cond = threading.Condition()
        self._pending: float | None = None
        self._stop = False
        self.info: MediaInfo | None = None
        self.ready = threading.Event()
        # (start, end, image) per decoded frame, most recently used last; worker-thread only.
        self._cache: OrderedDict[float, tuple[float, float, QImage]] = OrderedDict()
        _LIVE.add(self)

    def submit(self, t: float) -> None:
        with self._cond:
            self._pending = t  # replaces any request not yet started: only the newest matters
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._pending = None
            self._cond.notify()

    def _take(self) -> float | None:
        with self._cond:
            t, self._pending = self._pending, None
            return t

    def _wait(self) -> float | None:
        with self._cond:
            while self._pending is None and not self._stop:
                self._cond.wait()
            if self._stop:
                return None
            t, self._pending = self._pending, None
            return t

    def _cached(self, t: float, tol: float) -> QImage | None:
        for key, (start, end, image) in self._cache.items():
            if start <= t + tol < end:
                self._cache.move_to_end(key)
                return image
        return None

    def run(self) -> None:
        try:
            self.info = probe(self._path)
            decoder = MediaDecoder(self._path, self.info.fps)
        except MediaError as exc:
            self.ready.set()
            self.failed.emit(exc.message)
            return
        except (av.error.FFmpegError, OSError, IndexError) as exc:
            self.ready.set()
            log.warning("cannot open %s for preview: %s", self._path, exc)
            self.failed.emit(f"{self._path.name} cannot be previewed: it is not a readable video")
            return
        self.ready.set()
        self.opened.emit(self.info)
        try:
            while (t := self._wait()) is not None:
                image = self._cached(t, decoder.tol)
                if image is None:
                    try:
                        found = decoder.frame_at(t, self._take)
                    except av.error.FFmpegError as exc:
                        log.warning("decoding %s at %.3f s failed: %s", self._path.name, t, exc)
                        decoder._reset()
                        self.failed.emit(f"{self._path.name} could not be decoded at {t:.2f} s")
                        continue
                    if found is None:
                        continue
                    t, frame, start, end = found
                    image = frame_to_qimage(frame, self._max_height)
                    self._cache[frame.time] = (start, end, image)
                    while len(self._cache) > self._cache_frames:
                        self._cache.popitem(last=False)
                if not self._stop:
                    self.decoded.emit(t, image)
        finally:
            decoder.close()


class FrameSource(QObject):
    """Decodes the frames of one video file on its own worker thread.

    ``request(t)`` returns at once; ``frameReady(t, image)`` follows on the UI thread for the
    newest request (``t`` is the requested media time). ``failed(message)`` reports a file that
    cannot be opened or decoded, in words for the user. Call ``close()`` when done.
    """

    frameReady = Signal(float, QImage)
    opened = Signal(object)  # core.media.probe.MediaInfo
    failed = Signal(str)

    def __init__(self, path: Path, *, cache_frames: int = DEFAULT_CACHE_FRAMES,
                 max_height: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path = Path(path)
        self._thread = _DecodeThread(self._path, cache_frames, max_height)
        # Queued across threads: slots run on the UI thread, after the worker emitted.
        self._thread.decoded.connect(self.frameReady)
        self._thread.opened.connect(self.opened)
        self._thread.failed.connect(self.failed)
        self._closed = False
        app = QCoreApplication.instance()
        if app is not None:  # a running decoder thread must never outlive the application
            app.aboutToQuit.connect(self.close)
        self._thread.start()

    @property
    def path(self) -> Path:
        return self._path

    @property
    def info(self) -> MediaInfo | None:
        """The probed media facts, waiting briefly for the worker to open the file."""
        self._thread.ready.wait(_OPEN_WAIT_S)
        return self._thread.info

    @property
    def fps(self) -> Fraction:
        """The media's real (rational) frame rate."""
        info = self.info
        if info is None:
            raise MediaError(self._path, "the video could not be opened")
        return info.fps

    @property
    def size(self) -> tuple[int, int]:
        """Upright (display) width and height in source pixels."""
        info = self.info
        if info is None:
            raise MediaError(self._path, "the video could not be opened")
        return info.display_size

    def request(self, t: float) -> None:
        """Ask for the frame shown at media time ``t`` (seconds); replaces any queued request."""
        if not self._closed:
            self._thread.submit(max(0.0, float(t)))

    def close(self, timeout_ms: int = 3000) -> None:
        """Stop the worker and release the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._thread.stop()
        if not self._thread.wait(timeout_ms):
            log.warning("frame decoder for %s did not stop within %d ms", self._path.name, timeout_ms)

    def __del__(self) -> None:
        # Safety net for an owner that forgot close(): destroying a running QThread aborts.
        try:
            self.close()
        except (RuntimeError, AttributeError):  # the C++ side is already gone
            pass


__all__ = ["DEFAULT_CACHE_FRAMES", "RGB32_LAYOUT", "FrameSource", "MediaDecoder", "frame_to_qimage", "rgb32_image"]
